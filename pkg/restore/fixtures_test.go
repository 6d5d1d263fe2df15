package restore_test

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// newClusterID starts a kfake cluster with the given cluster id.
func newClusterID(t *testing.T, id string, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(id), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// createTopic creates a topic of one partition.
func createTopic(c *kfake.Cluster, name string) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	adm, err := sarama.NewClusterAdmin(c.ListenAddrs(), cfg)
	if err != nil {
		return err
	}
	defer adm.Close()
	return adm.CreateTopic(name, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
}
