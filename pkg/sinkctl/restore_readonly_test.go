package sinkctl_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestRestoreReadOnlyBucket restores from an OSS bucket (the real SDK
// against osstest) that refuses every write with 403 AccessDenied, as a
// read-only key or a WORM retention policy does: without --checkpoint-dir
// the restore fails before producing anything and says what to do; with
// it, the restore completes, and a second run finds everything done.
func TestRestoreReadOnlyBucket(t *testing.T) {
	t.Parallel()
	const secret, token = "very-secret-key-value", "sts-token-value"
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", secret, token))
	fill(t, ossStore(t, srv.Endpoint(), secret, token), format.Encoder{Format: format.JSONL})
	for _, op := range []osstest.Op{osstest.OpPut, osstest.OpAppend, osstest.OpDelete} {
		srv.SetFault(op, osstest.Fault{Before: 1, Status: 403, Code: "AccessDenied"})
	}
	env := map[string]string{
		"OSS_BUCKET": "sink", "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token,
	}
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(2, "restored")).ListenAddrs()
	args := []string{"restore", "--topic", "orders", "--target-topic", "restored", "--brokers", strings.Join(addrs, ","), "--chunk", "3"}
	ends := func() int64 { return kafkatest.TopicLen(t, addrs, "restored") }

	r := run(env, false, args...)
	if r.code != sinkctl.ExitFailed || !strings.Contains(r.stderr, "--checkpoint-dir") || !strings.Contains(r.stderr, "nothing was produced") ||
		strings.Contains(r.stderr+r.stdout, secret) {
		t.Fatalf("read-only bucket: %+v", r)
	}
	if n := ends(); n != 0 {
		t.Fatalf("%d records produced", n)
	}

	dir := filepath.Join(t.TempDir(), "checkpoints")
	r = run(env, false, append(args, "--checkpoint-dir", dir)...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") || !strings.Contains(r.stdout, "checkpoints: in directory "+dir) {
		t.Fatalf("--checkpoint-dir: %+v", r)
	}
	var files []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}); err != nil || len(files) != 2 {
		t.Fatalf("checkpoint files %v, %v", files, err)
	}
	r = run(env, false, append(args, "--checkpoint-dir", dir, "--json")...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, `"skipped_by_checkpoint": 20`) || ends() != 20 {
		t.Fatalf("again: %+v", r)
	}
}
