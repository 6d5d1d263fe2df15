package sinkctl_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestStatusLsCatOSS: status, ls and cat read OSS (through the SDK,
// against the test server) configured as the function is, prefix from
// OSS_PREFIX; keys are accepted with or without the prefix.
func TestStatusLsCatOSS(t *testing.T) {
	const secret, token = "very-secret-key-value", "sts-token-value"
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", secret, token))
	env := map[string]string{
		"OSS_BUCKET": "sink", "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token,
	}
	fill(t, ossStore(t, srv.Endpoint(), secret, token), format.Encoder{Format: format.JSONL})

	r := run(env, false, "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != sinkctl.ExitOK || err != nil || len(st.Partitions) != 2 {
		t.Fatalf("status: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	for _, p := range st.Partitions {
		if p.StoreCommitted != 9 || p.StoreRecords != 10 || p.HighWatermark != nil || p.Open == nil {
			t.Errorf("status: partition %+v", p)
		}
	}

	r = run(env, false, "ls", "--json", "orders/")
	var objs lsJSON
	if err := json.Unmarshal([]byte(r.stdout), &objs); r.code != sinkctl.ExitOK || err != nil {
		t.Fatalf("ls: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	var records int64
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, "backup/orders/partition_") {
			t.Errorf("ls: %+v", o)
		}
		records += o.Records
	}
	if records != 20 {
		t.Fatalf("ls: %d records, want 20:\n%s", records, r.stdout)
	}
	// cat, the first object of partition 0 named without the prefix.
	r = run(env, false, "cat", strings.TrimPrefix(objs[0].Key, "backup/"))
	want := ""
	for off := objs[0].FirstOffset; off <= objs[0].LastOffset; off++ {
		want += fmt.Sprintf("value %d/%d\n", objs[0].Partition, off)
	}
	if r.code != sinkctl.ExitOK || r.stdout != want {
		t.Fatalf("cat: exit %d, %q, want %q\n%s", r.code, r.stdout, want, r.stderr)
	}
	// Not a data object: one line saying so.
	r = run(env, false, "cat", "backup/orders/.oss_meta_file_partition_0")
	if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, "not a data object") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("cat meta object: exit %d, %q", r.code, r.stderr)
	}
}
