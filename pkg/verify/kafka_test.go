package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// kafkaBackup produces records to a kfake cluster and consumes them into a
// local JSONL store with group "backup", until all are committed.
func kafkaBackup(t *testing.T, format string, parts, perPart int) (addrs []string, dir string) {
	t.Helper()
	addrs = newCluster(t, map[string]int32{"src": int32(parts)})
	produce(t, addrs, "src", parts, perPart, func(p int32, i int) string { return fmt.Sprintf("value %d", i*parts+int(p)) })
	dir = filepath.Join(t.TempDir(), "oss-local")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := handlertest.New(t, testkit.Env("SINK_FORMAT", format, "SINK_LOCAL_DIR", dir, "SINK_FLUSH_RECORDS", "10", "LOG_LEVEL", "warn"))
	err := testkit.RunUntil(t, time.Minute, "consume to commit everything", func(ctx context.Context) error {
		return consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group("backup"), consume.Topics("src"),
			consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(7), consume.TimeBasedWindow(100*time.Millisecond))
	}, func() bool { return kafkatest.CommittedSum(t, addrs, "backup", "src") >= int64(parts*perPart) })
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	return addrs, dir
}

func TestKafkaComparison(t *testing.T) {
	const parts, perPart = 2, 40
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	addrs, dir := kafkaBackup(t, "jsonl", parts, perPart)
	st := fixture.Local(t, dir)
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup", IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()

	// Complete: no Kafka defect, offsets filled.
	rep, err := verify.Run(ctx, st, verify.WithKafka(k), verify.WithObjectDetails())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 {
		t.Fatalf("complete store: %+v", rep.AllDefects())
	}
	if len(rep.Partitions) != parts {
		t.Fatalf("%d partitions", len(rep.Partitions))
	}
	for _, p := range rep.Partitions {
		want := verify.KafkaOffsets{LogStart: 0, HighWatermark: perPart, Committed: perPart}
		if p.Kafka == nil || *p.Kafka != want {
			t.Fatalf("partition %d: kafka %+v, want %+v", p.Partition, p.Kafka, want)
		}
	}

	// Delete a sealed data object of partition 1: its offsets are missing.
	var gone verify.ObjectReport
	for _, o := range rep.Partitions[1].ObjectList {
		if !o.Open && o.FirstOffset > 0 {
			gone = o
			break
		}
	}
	if gone.Key == "" {
		t.Fatal("no sealed object to delete")
	}
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(gone.Key))); err != nil {
		t.Fatal(err)
	}
	rep, err = verify.Run(ctx, st, verify.WithKafka(k))
	if err != nil {
		t.Fatal(err)
	}
	var miss *verify.Defect
	for _, d := range rep.AllDefects() {
		if d.Code == verify.CodeMissingInStore {
			if miss != nil {
				t.Fatalf("two missing_in_store defects: %+v", rep.AllDefects())
			}
			miss = &d
		}
	}
	n := int(gone.LastOffset - gone.FirstOffset + 1)
	if miss == nil || miss.Partition != 1 || miss.Count != n || miss.Offset == nil || *miss.Offset != gone.FirstOffset ||
		miss.Severity != verify.SeverityError || rep.OK() {
		t.Fatalf("missing_in_store: %+v (deleted %s, offsets %d..%d)", miss, gone.Key, gone.FirstOffset, gone.LastOffset)
	}
	rg := verify.Range{First: gone.FirstOffset, Last: gone.LastOffset}
	if !strings.Contains(miss.Message, "offsets "+rg.String()) || len(miss.Ranges) != 1 || miss.Ranges[0] != rg {
		t.Errorf("missing_in_store does not name the range %s: %s %v", rg, miss.Message, miss.Ranges)
	}
	t.Log(miss)

	// A group that committed less: the store is ahead of it.
	kafkatest.CommitGroup(t, addrs, "behind", "src", map[int32]int64{0: 10})
	k2, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "behind"})
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	rep, err = verify.Run(ctx, st, verify.WithKafka(k2), verify.WithPartitions(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.AllDefects()) != 1 || rep.AllDefects()[0].Code != verify.CodeAheadOfCommit || !rep.OK() {
		t.Fatalf("behind group: %+v", rep.AllDefects())
	}
	if c := rep.Partitions[0].Kafka.Committed; c != 10 {
		t.Fatalf("committed %d", c)
	}

	// The command: table and JSON carry the comparison; exit 1 on the
	// missing records.
	var out, errb bytes.Buffer
	code := sinkctl.Main(ctx, []string{"verify", "--dir", dir, "--brokers", strings.Join(addrs, ","), "--group", "backup"},
		sinkctl.Env{Stdout: &out, Stderr: &errb})
	if code != sinkctl.ExitFailed || !strings.Contains(out.String(), "KAFKA RANGE") || !strings.Contains(out.String(), "missing_in_store") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	t.Log(out.String())
	out.Reset()
	code = sinkctl.Main(ctx, []string{"verify", "--dir", dir, "--json", "--brokers", strings.Join(addrs, ","), "--group", "backup"},
		sinkctl.Env{Stdout: &out, Stderr: &errb})
	if code != sinkctl.ExitFailed || !strings.Contains(out.String(), `"high_watermark": 40`) {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
}

// TestKafkaRaw: raw objects the engine wrote (through the handler, from
// kfake) are compared with Kafka by offset, through their indexes: a
// deleted data object is named exactly by Kafka's records and by its
// index; deleted with its index, by Kafka's records and its neighbour's
// seal.
func TestKafkaRaw(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	addrs, dir := kafkaBackup(t, "raw", 1, 40)
	st := fixture.Local(t, dir)
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup"})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rep, err := verify.Run(ctx, st, verify.WithKafka(k), verify.WithObjectDetails())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Partitions[0].Kafka == nil || !rep.Partitions[0].ExactOffsets {
		t.Fatalf("complete raw store: %+v", rep.AllDefects())
	}
	var sealed []verify.ObjectReport
	for _, o := range rep.Partitions[0].ObjectList {
		if o.Sealed && o.NameOffset > 0 {
			sealed = append(sealed, o)
		}
	}
	if len(sealed) < 2 {
		t.Fatalf("want 2 sealed objects after the first, have %+v", rep.Partitions[0].ObjectList)
	}
	for i, tc := range []struct {
		name      string
		withIndex bool
		code      verify.Code
	}{{"data object deleted", false, verify.CodeDataMissing}, {"data object and index deleted", true, verify.CodeObjectMissing}} {
		t.Run(tc.name, func(t *testing.T) {
			gone := sealed[i]
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(gone.Key))); err != nil {
				t.Fatal(err)
			}
			if tc.withIndex {
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(gone.Index))); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := verify.Run(ctx, st, verify.WithKafka(k))
			if err != nil {
				t.Fatal(err)
			}
			// Everything deleted so far: this object and the one before,
			// whose offsets it continues (Kafka has no gap here).
			want := []verify.Range{{First: sealed[0].FirstOffset, Last: gone.LastOffset}}
			own := verify.Range{First: gone.FirstOffset, Last: gone.LastOffset}
			kafka, store := false, false
			for _, d := range rep.AllDefects() {
				t.Log(d)
				switch {
				case d.Code == verify.CodeMissingInStore:
					kafka = slices.Equal(d.Ranges, want) && !strings.Contains(d.Message, "approximate")
				case d.Code == tc.code && d.Object == gone.Key:
					store = len(d.Ranges) == 1 && d.Ranges[0] == own
				case d.Code == verify.CodeDataMissing || d.Code == verify.CodeRecordsMismatch && tc.withIndex:
				default:
					t.Errorf("unexpected defect: %s", d)
				}
			}
			if !kafka || !store || rep.OK() {
				t.Fatalf("want missing_in_store of %v and %s of %v", want, tc.code, own)
			}
		})
	}
}

// TestKafkaLegacyRaw: raw objects written before indexes existed carry no
// offsets: a deleted one is found by counting Kafka's records in the
// range its name and the next object's leave.
func TestKafkaLegacyRaw(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const perPart = 40
	addrs := newCluster(t, map[string]int32{"src": 1})
	recs := produce(t, addrs, "src", 1, perPart, func(_ int32, i int) string { return fmt.Sprintf("value %d", i) })
	kafkatest.CommitGroup(t, addrs, "backup", "src", map[int32]int64{0: perPart})
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	lw := &fixture.LegacyWriter{St: st, FlushRecords: 10}
	for i := 0; i < perPart; i += 7 {
		lw.Write(t, "src", 0, recs[0][i:min(i+7, perPart)])
	}
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup"})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rep, err := verify.Run(ctx, st, verify.WithKafka(k), verify.WithObjectDetails())
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Partitions[0]; !rep.OK() || len(rep.AllDefects()) != 0 || p.Kafka == nil || p.ExactOffsets || p.LegacyRaw != 4 {
		t.Fatalf("complete legacy raw store: %+v %v", p, rep.AllDefects())
	}
	gone := sink.ObjectKey("", "src", "", 0, 10, 0)
	del(t, st, gone)
	rep, err = verify.Run(ctx, st, verify.WithKafka(k))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range rep.AllDefects() {
		t.Log(d)
		if d.Code == verify.CodeMissingInStore {
			found = d.Count == 10 && strings.Contains(d.Message, "approximate")
		}
	}
	if !found || rep.OK() {
		t.Fatalf("no approximate missing_in_store for 10 records: %+v", rep.AllDefects())
	}
}

// TestKafkaBadBroker: an address nothing listens on is a clear error,
// exit 2, soon.
func TestKafkaBadBroker(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	var out, errb bytes.Buffer
	code := sinkctl.Main(context.Background(), []string{"verify", "--dir", dir, "--brokers", "127.0.0.1:1", "--group", "g",
		"--kafka-timeout", "2s"}, sinkctl.Env{Stdout: &out, Stderr: &errb})
	if code != sinkctl.ExitUsage || !strings.Contains(errb.String(), "could not connect to 127.0.0.1:1") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	t.Log(errb.String())
	code = sinkctl.Main(context.Background(), []string{"verify", "--dir", dir, "--group", "g"}, sinkctl.Env{Stdout: &out, Stderr: &errb})
	if code != sinkctl.ExitUsage {
		t.Fatalf("--group without --brokers: exit %d", code)
	}
}

// newCluster starts a kfake cluster with the given topics (name ->
// partitions) and returns its addresses.
func newCluster(t *testing.T, topics map[string]int32) []string {
	t.Helper()
	var opts []kfake.Opt
	for name, n := range topics {
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	return kafkatest.NewCluster(t, opts...).ListenAddrs()
}

// produce sends perPart records to each of parts partitions of topic,
// partition after partition round-robin, and returns them with the offsets
// Kafka gave them.
func produce(t *testing.T, addrs []string, topic string, parts, perPart int, value func(p int32, i int) string) map[int32][]events.Record {
	t.Helper()
	var msgs []kafkatest.Message
	for i := range perPart {
		for p := range int32(parts) {
			msgs = append(msgs, kafkatest.Message{Partition: p, Key: fmt.Appendf(nil, "k%d", i), Value: []byte(value(p, i))})
		}
	}
	recs := map[int32][]events.Record{}
	for i, off := range kafkatest.Produce(t, addrs, topic, msgs) {
		m := msgs[i]
		recs[m.Partition] = append(recs[m.Partition], events.Record{Topic: topic, Partition: m.Partition, Offset: off, Value: m.Value, Timestamp: 1_700_000_000_000 + off})
	}
	return recs
}
