package sinkctl_test

import (
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

func ossStore(t *testing.T, endpoint, secret, token string) *ossstore.Store {
	t.Helper()
	st, err := ossstore.New(ossstore.Config{Endpoint: endpoint, Bucket: "sink"},
		ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: secret, SecurityToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
