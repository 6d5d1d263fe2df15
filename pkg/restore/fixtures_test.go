package restore_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
)

// newClusterID starts a kfake cluster with the given cluster id.
func newClusterID(t *testing.T, id string, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	return kafkatest.NewCluster(t, kfake.ClusterID(id), kfake.SeedTopics(partitions, topics...))
}
