package restore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// formatSetups are encodings the sink writes, by id: every format, every
// compression, field selections with and without key, headers, timestamp
// and offset.
var formatSetups = []struct{ name, id string }{
	{"jsonl-gzip", "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1"},
	{"jsonl-zstd-no-offset", "jsonl/base64;fields=key,value,headers,timestamp;z=zstd-1"},
	{"csv", "csv/text;fields=topic,partition,offset,timestamp,key,value,headers"},
	{"csv-zstd-fields", "csv/text;fields=offset,key,value;z=zstd-1"},
	{"raw-snappy", "raw/text;z=snappy"},
	{"raw-gzip-base64", "raw/base64;z=gzip-1"},
	{"parquet-snappy", "parquet/text;fields=topic,partition,offset,timestamp,key,value,headers;z=snappy"},
	{"parquet-fields", "parquet/text;fields=offset,value"},
	{"parquet-base64-zstd", "parquet/base64;fields=value,key,headers,timestamp;z=zstd-1"},
}

func encOf(t *testing.T, id string) format.Encoder {
	t.Helper()
	e, err := format.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// produceRich writes n records to topic over the partitions, with what
// every format must carry exactly: values with quotes, commas, newlines
// and non-ASCII text, empty values, tombstones, null and empty keys,
// headers.
func produceRich(t *testing.T, addrs []string, topic string, n int) []msg {
	t.Helper()
	base := time.UnixMilli(1700000000000)
	var out []msg
	for i := range n {
		m := msg{partition: int32(i % parts), ts: base.Add(time.Duration(i) * time.Second).UnixMilli()}
		switch i % 5 {
		case 0:
			m.key = ptr(fmt.Sprintf("k,%d", i))
		case 1:
			m.key = ptr("")
		case 2:
		default:
			m.key = ptr(fmt.Sprintf(" \"k\" %d ", i))
		}
		switch i % 6 {
		case 0:
			m.value = ptr(fmt.Sprintf("say \"hi\", %d\nnext line,\r\n é ü 日本", i))
		case 1:
			m.value = ptr("")
		case 2:
		case 3:
			m.value = ptr(fmt.Sprintf(`{"a":%d,"b":["x,y","z"]}`, i))
		default:
			m.value = ptr(fmt.Sprintf(" v%d ", i))
		}
		if i%3 == 0 {
			m.headers = [][2]string{{"h", fmt.Sprintf("v,%d", i)}, {"trace", "x\ny"}}
		}
		out = append(out, m)
	}
	for i, off := range kafkatest.Produce(t, addrs, topic, messages(out)) {
		out[i].offset = off
	}
	return out
}

// backupWith writes ms with the engine in encoding enc, 5 records a
// batch, objects of 4 records (sealed ones of Parquet finalized, the
// last one staged).
func backupWith(t *testing.T, st store.Store, topic string, enc format.Encoder, ms []msg) {
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
	fixture.ByEngine(t, st, 5, recs, sink.WithPrefix("bk"), sink.WithEncoder(enc), sink.WithFlushRecords(4))
}

// restoredAs is what a restore of m from objects of enc gives: without
// what the encoding does not store (timestamps not compared then: the
// producer gives one).
func restoredAs(enc format.Encoder, m msg) msg {
	has := func(f format.Field) bool { return enc.Format != format.Raw && enc.Fields.Has(f) }
	if !has(format.FieldKey) {
		m.key = nil
	}
	if !has(format.FieldHeaders) {
		m.headers = nil
	}
	if !has(format.FieldTimestamp) {
		m.ts = 0
	}
	return m
}

// sameRestored fails unless dst holds exactly the records of ms, as
// restored from objects of enc, in offset order per partition.
func sameRestored(t *testing.T, addrs []string, dst string, enc format.Encoder, ms []msg) {
	t.Helper()
	got := readTopic(t, addrs, dst)
	want := byPartition(ms)
	for p := range int32(parts) {
		if len(got[p]) != len(want[p]) {
			t.Fatalf("%s/%d: %d records, want %d", dst, p, len(got[p]), len(want[p]))
		}
		for i := range got[p] {
			g, w := got[p][i], restoredAs(enc, want[p][i])
			g.offset, w.offset = 0, 0
			if w.ts == 0 {
				g.ts = 0
			}
			if g.String() != w.String() {
				t.Fatalf("%s/%d record %d:\n got %s\nwant %s", dst, p, i, g, w)
			}
		}
	}
}

// TestFormats: records stored in every format and compression are
// restored exactly as far as the encoding stores them — key, value,
// headers, timestamp, null keys, tombstones — and the summary says what
// they lack; an interrupted restore resumes exactly, with checkpoints next
// to the data or elsewhere.
func TestFormats(t *testing.T) {
	t.Parallel()
	topics := []string{"src"}
	for _, s := range formatSetups {
		topics = append(topics, "dst-"+s.name, "part-"+s.name)
	}
	c := newCluster(t, topics...)
	addrs := c.ListenAddrs()
	ms := produceRich(t, addrs, "src", 45)
	for i, s := range formatSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			enc := encOf(t, s.id)
			st := memstore.New()
			backupWith(t, st, "src", enc, ms)
			common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.ChunkRecords(4)}
			if i%2 == 1 {
				common = append(common, restore.Checkpoints(memstore.New(), "ck", "test:"+s.name))
			}

			// Interrupted after the first chunk, then resumed.
			dst := "dst-" + s.name
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			sum, err := restore.Run(ctx, st, kafka(c), append(common, restore.TargetTopic(dst), restore.OnProgress(func(restore.Progress) { cancel() }))...)
			if !errors.Is(err, context.Canceled) || sum == nil || sum.Records == 0 {
				t.Fatalf("interrupted run: %+v, %v", sum, err)
			}
			first := sum.Records
			sum, err = restore.Run(t.Context(), st, kafka(c), append(common, restore.TargetTopic(dst))...)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Records+first != int64(len(ms)) || sum.Skipped != first {
				t.Fatalf("resumed: %+v (first run %d)", sum, first)
			}
			sameRestored(t, addrs, dst, enc, ms)
			var lacking []string
			for _, f := range []format.Field{format.FieldKey, format.FieldHeaders, format.FieldTimestamp} {
				if enc.Format != format.Raw && !enc.Fields.Has(f) {
					lacking = append(lacking, f.String())
				}
			}
			if strings.Join(sum.Lacking, ",") != strings.Join(lacking, ",") || (len(lacking) > 0) != (sum.LackingObjects > 0) ||
				sum.ValuesOnly != (enc.Format == format.Raw) {
				t.Errorf("summary: lacking %v in %d objects, values only %v; want lacking %v", sum.Lacking, sum.LackingObjects, sum.ValuesOnly, lacking)
			}

			// A partial restore, then the rest: each record once.
			dst = "part-" + s.name
			sum, err = restore.Run(t.Context(), st, kafka(c), append(common, restore.TargetTopic(dst), restore.Partitions(0), restore.OffsetRange(3, 9))...)
			if err != nil || sum.Records != 7 {
				t.Fatalf("partial: %+v, %v", sum, err)
			}
			sum, err = restore.Run(t.Context(), st, kafka(c), append(common, restore.TargetTopic(dst))...)
			if err != nil || sum.Records != int64(len(ms))-7 || sum.Skipped != 7 {
				t.Fatalf("the rest: %+v, %v", sum, err)
			}
			if n := kafkatest.TopicLen(t, addrs, dst); n != int64(len(ms)) {
				t.Fatalf("%s holds %d records, want %d", dst, n, len(ms))
			}
		})
	}
}

// TestFormatsStaged: Parquet objects are restored from their staging
// objects while those exist — finalizing failed, or was cut short after
// writing the data object — exactly as from the data objects.
func TestFormatsStaged(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "pending", "cut")
	addrs := c.ListenAddrs()
	ms := produceRich(t, addrs, "src", 30)
	enc := encOf(t, formatSetups[6].id)
	for _, tc := range []struct {
		dst string
		st  *writeFaults
	}{
		{"pending", &writeFaults{Store: memstore.New(), failPut: func(k string) bool { return strings.HasSuffix(k, ".parquet") }}},
		{"cut", &writeFaults{Store: memstore.New(), failDelete: func(k string) bool { return strings.Contains(k, ".oss_stage_") }}},
	} {
		backupWith(t, tc.st, "src", enc, ms)
		sum, err := restore.Run(t.Context(), tc.st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic(tc.dst))
		if err != nil || sum.Records != int64(len(ms)) {
			t.Fatalf("%s: %+v, %v", tc.dst, sum, err)
		}
		sameRestored(t, addrs, tc.dst, enc, ms)
	}
}

// TestFormatsRefused: objects without values (SINK_FIELDS without value)
// are refused before anything is produced, naming them and SINK_FIELDS;
// so is a time range over objects without timestamps.
func TestFormatsRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "dst")
	addrs := c.ListenAddrs()
	ms := produceRich(t, addrs, "src", 12)
	for _, tc := range []struct {
		id   string
		opts []restore.Option
		want string
	}{
		{"csv/text;fields=offset,key;z=gzip-1", nil, "SINK_FIELDS=offset,key"},
		{"parquet/text;fields=offset,value", []restore.Option{restore.TimeRange(time.UnixMilli(1700000000000), time.Time{})}, "SINK_FIELDS=offset,value"},
	} {
		st := memstore.New()
		enc := encOf(t, tc.id)
		backupWith(t, st, "src", enc, ms)
		sum, err := restore.Run(t.Context(), st, kafka(c), append([]restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")}, tc.opts...)...)
		if !errors.Is(err, restore.ErrRefused) || sum != nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bk/src/partition_") {
			t.Fatalf("%s: %+v, %v", tc.id, sum, err)
		}
	}
	if n := kafkatest.TopicLen(t, addrs, "dst"); n != 0 {
		t.Fatalf("dst holds %d records", n)
	}
}

// writeFaults fails some writes.
type writeFaults struct {
	store.Store
	failPut    func(key string) bool
	failDelete func(key string) bool
}

var errWriteFault = errors.New("injected write fault")

func (s *writeFaults) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	if s.failPut != nil && s.failPut(key) {
		return errWriteFault
	}
	return s.Store.PutReader(ctx, key, r, size, opts...)
}

func (s *writeFaults) Delete(ctx context.Context, key string) error {
	if s.failDelete != nil && s.failDelete(key) {
		return errWriteFault
	}
	return s.Store.Delete(ctx, key)
}
