package sinkctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// archivedStore writes 10 JSONL records per partition of topic "src" (2
// partitions, objects of 4 records) and re-writes the data objects as
// the sink writes them final in class c, in a store whose restores take
// polls looks.
func archivedStore(t *testing.T, c store.StorageClass, polls int) (*fixture.SlowRestore, []string) {
	t.Helper()
	mem := memstore.New()
	var recs []events.Record
	for p := int32(0); p < 2; p++ {
		for o := int64(0); o < 10; o++ {
			recs = append(recs, events.Record{Topic: "src", Partition: p, Offset: o, Timestamp: 1700000000000 + o,
				Key: []byte("k"), HasKey: true, Value: []byte("v"), Headers: []byte(`[{"key":"h","value":"x"}]`)})
		}
	}
	fixture.ByEngine(t, mem, len(recs), recs, sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(4))
	keys := fixture.ArchiveAll(t, mem, "", c)
	return fixture.NewSlowRestore(mem, polls), keys
}

// runOn runs sinkctl with st as its store.
func runOn(st store.Store, args ...string) result {
	var out, errb bytes.Buffer
	env := sinkctl.WithStore(sinkctl.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, st)
	code := sinkctl.Main(context.Background(), args, env)
	return result{code, out.String(), errb.String()}
}

// TestRestoreArchivedNoWait: --no-wait requests the restores and exits 3
// saying so; run again while they run, it requests nothing and exits 3;
// run again once they are done, it restores; a run that waits prints
// where the restores stand on stderr at each look.
func TestRestoreArchivedNoWait(t *testing.T) {
	t.Parallel()
	st, keys := archivedStore(t, store.ColdArchive, 1)
	c := kafkatest.NewCluster(t, kfake.SeedTopics(2, "dst", "dst2"))
	brokers := strings.Join(c.ListenAddrs(), ",")
	args := []string{"restore", "--topic", "src", "--target-topic", "dst", "--brokers", brokers, "--no-wait", "--restore-tier", "bulk", "--restore-days", "2"}

	r := runOn(st, args...)
	n := len(keys)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, "requested now: "+itoa(n)+", restoring: "+itoa(n)+", ready: 0") ||
		!strings.Contains(r.stdout, "ColdArchive") || !strings.Contains(r.stdout, "5-12 h") || !strings.Contains(r.stdout, "restore tier Bulk, copies kept 2 days") ||
		!strings.Contains(r.stdout, "run the same command again later") || !strings.Contains(r.stderr, "archived objects: ") ||
		!strings.Contains(r.stderr, "not restored yet") {
		t.Fatalf("first run: %+v", r)
	}
	if got := st.Requested(); len(got) != n {
		t.Fatalf("requested %v", got)
	}
	r = runOn(st, append(args, "--json")...)
	var sum restore.Summary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || r.code != sinkctl.ExitPending {
		t.Fatalf("second run: %v: %+v", err, r)
	}
	if a := sum.Archive; a == nil || a.Requested != 0 || a.Restoring != n || a.Tier != store.TierBulk {
		t.Fatalf("second run: %+v", sum.Archive)
	}
	r = runOn(st, args...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") || !strings.Contains(r.stderr, "all ready") {
		t.Fatalf("third run: %+v", r)
	}
	for _, k := range keys {
		if req, calls := st.Requests(k); req != 1 || calls != 1 {
			t.Fatalf("%s: %d restores in %d calls", k, req, calls)
		}
	}
	if got := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 1); len(got) != 10 {
		t.Fatalf("partition 1: %d records", len(got))
	}

	// Waiting, into another topic: the restores are done, nothing waits.
	r = runOn(st, "restore", "--topic", "src", "--target-topic", "dst2", "--brokers", brokers, "--restore-poll", "1ms")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") || !strings.Contains(r.stderr, "0 requested now, 0 restoring, "+itoa(n)+" ready; all ready") {
		t.Fatalf("another target: %+v", r)
	}
}

// TestRestoreArchivedWaits: without --no-wait the restore waits, printing
// each look, then restores; a dry run requests nothing and exits 3.
func TestRestoreArchivedWaits(t *testing.T) {
	t.Parallel()
	st, keys := archivedStore(t, store.DeepColdArchive, 2)
	r := runOn(st, "restore", "--topic", "src", "--target-topic", "dst", "--dry-run")
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, "not requested (dry run): "+itoa(len(keys))) || st.Calls() != 0 {
		t.Fatalf("dry run: %+v", r)
	}
	c := kafkatest.NewCluster(t, kfake.SeedTopics(2, "dst"))
	r = runOn(st, "restore", "--topic", "src", "--target-topic", "dst", "--brokers", strings.Join(c.ListenAddrs(), ","), "--restore-poll", "1ms",
		"--restore-tier", "Expedited")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "restored 20 records") ||
		strings.Count(r.stderr, "next look in") != 3 || !strings.Contains(r.stderr, "DeepColdArchive, Expedited: within 12 h") {
		t.Fatalf("%+v", r)
	}
}

// TestRestoreArchivedFlags: the archive flags are checked before anything.
func TestRestoreArchivedFlags(t *testing.T) {
	t.Parallel()
	st, _ := archivedStore(t, store.Archive, 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--restore-tier", "Fast"}, `--restore-tier "Fast"`},
		{[]string{"--restore-days", "0"}, "--restore-days 0"},
		{[]string{"--restore-poll", "0s"}, "--restore-poll 0s"},
	} {
		r := runOn(st, append([]string{"restore", "--topic", "src", "--target-topic", "dst", "--dry-run"}, tc.args...)...)
		if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
	if st.Calls() != 0 {
		t.Fatalf("%d Restore calls", st.Calls())
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestVerifyArchived: verify reports the archived objects it could not
// read (exit 0: warnings), and --metadata-only passes on them, then
// catches a tag that is not what the index says (exit 1).
func TestVerifyArchived(t *testing.T) {
	t.Parallel()
	st, keys := archivedStore(t, store.ColdArchive, 0)
	r := runOn(st, "verify")
	if r.code != sinkctl.ExitOK || strings.Count(r.stdout, "warning archived") != len(keys) ||
		!strings.Contains(r.stdout, itoa(len(keys))+" objects archived and not restored") {
		t.Fatalf("verify: %+v", r)
	}
	r = runOn(st, "verify", "--metadata-only")
	if r.code != sinkctl.ExitOK || strings.Contains(r.stdout, "DEFECTS") || !strings.Contains(r.stdout, "checked without reading their bytes") {
		t.Fatalf("--metadata-only: %+v", r)
	}
	mem := st.Store
	in, err := mem.Stat(context.Background(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Restore(context.Background(), keys[0], 1, ""); err != nil {
		t.Fatal(err)
	}
	data, err := mem.Get(context.Background(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	meta := append([]store.Tag{}, in.Metadata...)
	for i := range meta {
		if meta[i].Key == fixture.KeyRecords {
			meta[i].Value = "1000"
		}
	}
	if err := mem.Put(context.Background(), keys[0], data, store.WithStorageClass(store.ColdArchive), store.WithMetadata(meta...)); err != nil {
		t.Fatal(err)
	}
	r = runOn(st, "verify", "--metadata-only")
	if r.code != sinkctl.ExitFailed || !strings.Contains(r.stdout, "tag_mismatch") || !strings.Contains(r.stdout, `records="1000"`) {
		t.Fatalf("wrong tag: %+v", r)
	}
}
