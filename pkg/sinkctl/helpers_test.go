package sinkctl_test

import (
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

func ossStore(t *testing.T, endpoint, secret, token string) *ossstore.Store {
	t.Helper()
	return osskit.Store(t, endpoint, "sink", ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: secret, SecurityToken: token})
}
