package restore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const parts = 3

func newCluster(t *testing.T, topics ...string) *kfake.Cluster {
	t.Helper()
	return kafkatest.NewCluster(t, kfake.SeedTopics(parts, topics...))
}

type msg struct {
	partition int32
	offset    int64
	key       *string
	value     *string
	ts        int64
	headers   [][2]string
}

func (m msg) String() string {
	s := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	return fmt.Sprintf("p%d k=%s v=%s ts=%d h=%v", m.partition, s(m.key), s(m.value), m.ts, m.headers)
}

func ptr(s string) *string { return &s }

// produceSrc writes n records to topic over the partitions with keys,
// headers, timestamps, a tombstone and a null key, and returns them.
func produceSrc(t *testing.T, addrs []string, topic string, n int) []msg {
	t.Helper()
	base := time.UnixMilli(1700000000000)
	var out []msg
	for i := range n {
		m := msg{partition: int32(i % parts), ts: base.Add(time.Duration(i) * time.Second).UnixMilli()}
		if i%7 != 3 {
			m.key = ptr(fmt.Sprintf("k%d", i))
		}
		if i%11 != 5 {
			m.value = ptr(fmt.Sprintf("value %d \"quoted\"\ttab é", i))
		}
		if i%2 == 0 {
			m.headers = [][2]string{{"h", fmt.Sprintf("v%d", i)}, {"trace", "x"}}
		}
		out = append(out, m)
	}
	for i, off := range kafkatest.Produce(t, addrs, topic, messages(out)) {
		out[i].offset = off
	}
	return out
}

// messages returns ms to produce, each to its partition.
func messages(ms []msg) []kafkatest.Message {
	out := make([]kafkatest.Message, len(ms))
	for i, m := range ms {
		km := kafkatest.Message{Partition: m.partition, Timestamp: time.UnixMilli(m.ts)}
		if m.key != nil {
			km.Key = []byte(*m.key)
		}
		if m.value != nil {
			km.Value = []byte(*m.value)
		}
		for _, h := range m.headers {
			km.Headers = append(km.Headers, sarama.RecordHeader{Key: []byte(h[0]), Value: []byte(h[1])})
		}
		out[i] = km
	}
	return out
}

// backup writes the produced records with the sink engine, in small
// objects, as the trigger would deliver them.
func backup(t *testing.T, st store.Store, topic string, f format.Format, ms []msg) {
	t.Helper()
	var recs []events.Record
	for _, m := range ms {
		r := events.Record{Topic: topic, Partition: m.partition, Offset: m.offset, Timestamp: m.ts, ValueKind: events.ValueNull}
		if m.key != nil {
			r.Key, r.HasKey = []byte(*m.key), true
		}
		if m.value != nil {
			r.Value, r.ValueKind = []byte(*m.value), events.ValueBytes
		}
		if m.headers != nil {
			var hs []map[string]string
			for _, h := range m.headers {
				hs = append(hs, map[string]string{"key": h[0], "value": h[1]})
			}
			r.Headers, _ = json.Marshal(hs)
		}
		recs = append(recs, r)
	}
	fixture.ByEngine(t, st, 5, recs, sink.WithPrefix("bk"), sink.WithEncoder(format.Encoder{Format: f}), sink.WithFlushRecords(4))
}

// readTopic reads every record of topic, per partition in order.
func readTopic(t *testing.T, addrs []string, topic string) map[int32][]msg {
	t.Helper()
	out := map[int32][]msg{}
	for p, cms := range kafkatest.ReadTopic(t, addrs, topic) {
		for _, cm := range cms {
			m := msg{partition: cm.Partition, offset: cm.Offset, ts: cm.Timestamp.UnixMilli()}
			if cm.Key != nil {
				m.key = ptr(string(cm.Key))
			}
			if cm.Value != nil {
				m.value = ptr(string(cm.Value))
			}
			for _, h := range cm.Headers {
				m.headers = append(m.headers, [2]string{string(h.Key), string(h.Value)})
			}
			out[p] = append(out[p], m)
		}
	}
	return out
}

func kafka(c *kfake.Cluster) restore.Kafka {
	return restore.Kafka{Brokers: c.ListenAddrs(), ConnectTimeout: 2 * time.Second}
}

// TestLifeOfABackup: produce, back up, restore interrupted and resumed,
// compare record by record.
func TestLifeOfABackup(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "dst")
	ms := produceSrc(t, c.ListenAddrs(), "src", 60)
	st := fixture.Local(t, t.TempDir())
	backup(t, st, "src", format.JSONL, ms)

	// First run: cancelled after the first chunk was confirmed.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var reports int
	sum, err := restore.Run(ctx, st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"),
		restore.ChunkRecords(3), restore.OnProgress(func(p restore.Progress) {
			reports++
			cancel()
		}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	if sum == nil || sum.Records == 0 || sum.Records >= int64(len(ms)) || reports == 0 {
		t.Fatalf("interrupted run: %+v, %d reports", sum, reports)
	}
	first := sum.Records
	// A checkpoint exists for every partition, next to the data.
	for _, p := range sum.Partitions {
		id := restore.CheckpointID{Topic: "src", Partition: p.Partition, ClusterID: "kfake", Target: "dst"}
		if key := restore.CheckpointKey("bk", id); key != p.Checkpoint {
			t.Fatalf("partition %d: checkpoint %q, want %q", p.Partition, p.Checkpoint, key)
		}
		if _, err := st.Get(t.Context(), p.Checkpoint); err != nil {
			t.Fatal(err)
		}
	}

	// Resume.
	var last restore.Progress
	sum, err = restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk/"), restore.Topic("src"), restore.TargetTopic("dst"),
		restore.ChunkRecords(3), restore.OnProgress(func(p restore.Progress) { last = p }))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records+first != int64(len(ms)) || sum.Skipped != first || sum.ValuesOnly {
		t.Fatalf("resumed: %+v (first run %d)", sum, first)
	}
	if last.Bytes != last.TotalBytes || last.TotalBytes == 0 {
		t.Fatalf("last progress %+v", last)
	}

	got := readTopic(t, c.ListenAddrs(), "dst")
	want := map[int32][]msg{}
	for _, m := range ms {
		want[m.partition] = append(want[m.partition], m)
	}
	for p := int32(0); p < parts; p++ {
		if len(got[p]) != len(want[p]) {
			t.Fatalf("partition %d: %d records, want %d", p, len(got[p]), len(want[p]))
		}
		for i, g := range got[p] {
			w := want[p][i]
			g.offset, w.offset = 0, 0
			if g.String() != w.String() {
				t.Fatalf("partition %d record %d:\n got %s\nwant %s", p, i, g, w)
			}
		}
	}

	// A third run finds everything done.
	sum, err = restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"))
	if err != nil || sum.Records != 0 || sum.Skipped != int64(len(ms)) {
		t.Fatalf("third run: %+v, %v", sum, err)
	}
}

func TestDryRunAndRanges(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src")
	ms := produceSrc(t, c.ListenAddrs(), "src", 30)
	st := fixture.Local(t, t.TempDir())
	backup(t, st, "src", format.JSONL, ms)
	// No brokers at all: a dry run does not connect.
	sum, err := restore.Run(t.Context(), st, restore.Kafka{}, restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"),
		restore.DryRun(true), restore.Partitions(1), restore.OffsetRange(2, 6))
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Partitions) != 1 {
		t.Fatalf("%+v", sum)
	}
	p := sum.Partitions[0]
	if p.Partition != 1 || p.Records != 5 || p.FirstOffset != 2 || p.LastOffset != 6 {
		t.Fatalf("%+v", p)
	}
	// Time range: records 3*k+1 have ts base+ (3k+1)s; select 10..19 s.
	base := time.UnixMilli(1700000000000)
	sum, err = restore.Run(t.Context(), st, restore.Kafka{}, restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"),
		restore.DryRun(true), restore.TimeRange(base.Add(10*time.Second), base.Add(19*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 10 {
		t.Fatalf("time range: %+v", sum)
	}
}

// TestRawValuesOnly: raw objects written by the engine restore values
// only (with tombstones), and refuse a time range.
func TestRawValuesOnly(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "dst")
	ms := produceSrc(t, c.ListenAddrs(), "src", 12)
	st := fixture.Local(t, t.TempDir())
	backup(t, st, "src", format.Raw, ms)
	sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.ValuesOnly || sum.RawObjects == 0 || sum.Records != 12 {
		t.Fatalf("%+v", sum)
	}
	got := readTopic(t, c.ListenAddrs(), "dst")
	i := map[int32]int{}
	for _, m := range ms {
		g := got[m.partition][i[m.partition]]
		i[m.partition]++
		// The engine's record index keeps tombstones: they restore as null
		// values.
		if g.key != nil || len(g.headers) != 0 || (g.value == nil) != (m.value == nil) || (m.value != nil && *g.value != *m.value) {
			t.Fatalf("got %s, want the value of %s only", g, m)
		}
	}
	// A time range cannot select raw records.
	_, err = restore.Run(t.Context(), st, restore.Kafka{}, restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.DryRun(true),
		restore.TimeRange(time.Unix(0, 0), time.Time{}))
	if !errors.Is(err, restore.ErrPartial) || !strings.Contains(err.Error(), "raw") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadBroker(t *testing.T) {
	t.Parallel()
	st := fixture.Local(t, t.TempDir())
	backup(t, st, "src", format.JSONL, []msg{{partition: 0, offset: 0, value: ptr("v")}})
	begin := time.Now()
	_, err := restore.Run(t.Context(), st, restore.Kafka{Brokers: []string{"127.0.0.1:1"}, ConnectTimeout: time.Second},
		restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"))
	var ce *restore.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "could not connect to any broker") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	c := newCluster(t, "src")
	_, err = restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("nope"))
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `"nope" does not exist`) {
		t.Fatalf("err = %v", err)
	}
}
