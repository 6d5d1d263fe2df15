package sinkctl_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// restoreStore writes 10 JSONL records per partition of topic "src"
// (2 partitions, offsets 0..9) into a new directory.
func restoreStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st := fixture.Local(t, dir)
	s, err := sink.New(sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(4))
	if err != nil {
		t.Fatal(err)
	}
	var recs []events.Record
	for p := int32(0); p < 2; p++ {
		for o := int64(0); o < 10; o++ {
			recs = append(recs, events.Record{Topic: "src", Partition: p, Offset: o, Timestamp: 1700000000000 + o,
				Key: []byte("k"), HasKey: true, Value: []byte("v"), Headers: []byte(`[{"key":"h","value":"x"}]`)})
		}
	}
	if _, err := s.Write(t.Context(), st, recs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRestoreCommand(t *testing.T) {
	t.Parallel()
	dir := restoreStore(t)

	// Dry run: no brokers needed.
	r := run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--dry-run", "--from-offset", "3", "--to-offset", "7", "--partition", "1")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "would restore (dry run) 5 records") ||
		!hasRow(r.stdout, "1", "0", "2", "5", "3", "7", "0", "3", "-") || !strings.Contains(r.stdout, "checkpoints: not consulted") {
		t.Fatalf("dry run: %+v", r)
	}

	c := kafkatest.NewCluster(t, kfake.SeedTopics(2, "dst", "dst2"))
	brokers := strings.Join(c.ListenAddrs(), ",")
	r = run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", brokers, "--chunk", "3")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") || !strings.Contains(r.stdout, "checkpoints: next to the data") {
		t.Fatalf("restore: %+v", r)
	}
	ends := kafkatest.EndOffsets(t, c.ListenAddrs(), "dst")
	for p := int32(0); p < 2; p++ {
		if hw, ok := ends[p]; !ok || hw != 10 {
			t.Fatalf("dst/%d: high water mark %d", p, hw)
		}
	}
	// Again: everything is skipped by the checkpoints.
	r = run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", brokers, "--json")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, `"skipped_by_checkpoint": 20`) {
		t.Fatalf("second restore: %+v", r)
	}
	// Checkpoints under another prefix of the store.
	args := []string{"restore", "--dir", dir, "--topic", "src", "--target-topic", "dst2", "--brokers", brokers, "--checkpoint-prefix", "elsewhere"}
	r = run(nil, false, args...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") || !strings.Contains(r.stdout, `checkpoints: under prefix "elsewhere/"`) {
		t.Fatalf("--checkpoint-prefix: %+v", r)
	}
	for _, tc := range []struct {
		glob string
		n    int
	}{{"elsewhere/src/.restore_checkpoint_dst2_partition_*", 2}, {"src/.restore_checkpoint_dst2_*", 0}} {
		if m, _ := filepath.Glob(filepath.Join(dir, tc.glob)); len(m) != tc.n {
			t.Fatalf("%s: %v", tc.glob, m)
		}
	}
	if r = run(nil, false, append(args, "--json")...); r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, `"skipped_by_checkpoint": 20`) {
		t.Fatalf("again with --checkpoint-prefix: %+v", r)
	}
}

func TestRestoreCommandErrors(t *testing.T) {
	t.Parallel()
	dir := restoreStore(t)
	begin := time.Now()
	r := run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", "127.0.0.1:1", "--kafka-timeout", "1s")
	if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, "could not connect to any broker") {
		t.Fatalf("bad broker: %+v", r)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("bad broker took %v", d)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--brokers", "x:1", "--target-topic", "dst"}, "--topic is required"},
		{[]string{"--topic", "src", "--dry-run"}, "--target-topic is required"},
		{[]string{"--topic", "src", "--brokers", "x:1"}, "--target-topic is required"},
		{[]string{"--topic", "src", "--target-topic", "src", "--dry-run"}, "--allow-source-topic"},
		{[]string{"--topic", "src", "--target-topic", "dst"}, "--brokers is required"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "--from-time", "yesterday"}, "RFC 3339"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "--partition", "-1"}, "--partition"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "--from-offset", "9", "--to-offset", "2"}, "empty"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "--epoch", "-2"}, "--epoch"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "--checkpoint-dir", t.TempDir(), "--checkpoint-prefix", "x"}, "choose one"},
		{[]string{"--topic", "src", "--target-topic", "dst", "--dry-run", "extra"}, "unexpected argument"},
	} {
		args := append([]string{"restore", "--dir", dir}, tc.args...)
		if r := run(nil, false, args...); r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Fatalf("%v: %+v, want exit 2 and %q", tc.args, r, tc.want)
		}
	}
	// Into the source topic itself, when asked for.
	if r := run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "src", "--allow-source-topic", "--dry-run"); r.code != sinkctl.ExitOK {
		t.Fatalf("--allow-source-topic: %+v", r)
	}
}

// hasRow reports whether a line of out holds exactly these fields.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(l), fields) {
			return true
		}
	}
	return false
}

// TestRestoreEpochs: after `new-epoch` (a recreated topic whose offsets
// started again), the store holds two epochs of each partition with
// overlapping offsets, written by the engine: restore refuses to guess
// (exit 2, the epochs listed, nothing produced) and --epoch picks one.
func TestRestoreEpochs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	write := func(life string, n int64) {
		s, err := sink.New(sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(4))
		if err != nil {
			t.Fatal(err)
		}
		var recs []events.Record
		for o := range n {
			recs = append(recs, events.Record{Topic: "src", Partition: 0, Offset: o, Timestamp: 1700000000000 + o,
				Value: []byte(life), ValueKind: events.ValueBytes})
		}
		if _, err := s.Write(t.Context(), st, recs); err != nil {
			t.Fatal(err)
		}
	}
	write("old life", 10)
	if _, err := sink.StartEpoch(t.Context(), st, "", "src", 0, "topic recreated", time.Now()); err != nil {
		t.Fatal(err)
	}
	write("new life", 6)

	c := kafkatest.NewCluster(t, kfake.SeedTopics(1, "dst"))
	args := []string{"restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", strings.Join(c.ListenAddrs(), ",")}
	r := run(nil, false, args...)
	if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, "partition 0 has objects of epochs 0, 1") || !strings.Contains(r.stderr, "--epoch") {
		t.Fatalf("two epochs: %+v", r)
	}
	for _, tc := range []struct {
		epoch, records string
		life           string
	}{{"1", "6", "new life"}, {"0", "10", "old life"}} {
		r = run(nil, false, append(args, "--epoch", tc.epoch)...)
		if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored "+tc.records+" records") {
			t.Fatalf("--epoch %s: %+v", tc.epoch, r)
		}
	}
	ms := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)
	if len(ms) != 16 || string(ms[0].Value) != "new life" || string(ms[6].Value) != "old life" {
		t.Fatalf("%d records", len(ms))
	}
}
