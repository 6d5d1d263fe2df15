package verify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// fmtSetup is an encoding the sink writes, by its id.
type fmtSetup struct {
	name string
	id   string
}

var fmtSetups = []fmtSetup{
	{"jsonl-gzip", "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1"},
	{"jsonl-base64-zstd-fields", "jsonl/base64;fields=offset,key,value;z=zstd-1"},
	{"csv", "csv/text;fields=topic,partition,offset,timestamp,key,value,headers"},
	{"csv-zstd-fields", "csv/text;fields=offset,key,value;z=zstd-1"},
	{"raw-snappy", "raw/text;z=snappy"},
	{"parquet-snappy", "parquet/text;fields=topic,partition,offset,timestamp,key,value,headers;z=snappy"},
	{"parquet-fields", "parquet/text;fields=offset,value"},
}

func (s fmtSetup) enc(t *testing.T) format.Encoder {
	t.Helper()
	e, err := format.ParseID(s.id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fmtRecords returns n records of topic/p from offset 100, with gaps,
// what every format must carry exactly: values with quotes, commas,
// newlines and non-ASCII text, empty values, tombstones, JSON values,
// null and empty keys, headers (with a null value).
func fmtRecords(tpc string, p int32, n int) []events.Record {
	var out []events.Record
	off := int64(100)
	for i := range n {
		r := events.Record{Topic: tpc, Partition: p, Offset: off, Timestamp: 1_700_000_000_000 + off*1000}
		switch i % 5 {
		case 0:
			r.Key, r.HasKey = fmt.Appendf(nil, "k,%d", off), true
		case 1:
			r.Key, r.HasKey = []byte{}, true
		case 2:
			// a null key
		default:
			r.Key, r.HasKey = fmt.Appendf(nil, " k %d ", off), true
		}
		switch i % 6 {
		case 0:
			r.Value = fmt.Appendf(nil, "say \"hi\", %d\nnext line, é ü 日本", off)
		case 1:
			r.Value = []byte{}
		case 2:
			r.ValueKind = events.ValueNull
		case 3:
			r.Value, r.ValueKind = fmt.Appendf(nil, `{"a":%d,"b":["x,y","z\n"]}`, off), events.ValueJSON
		default:
			r.Value = fmt.Appendf(nil, " v%d ", off)
		}
		if i%3 == 0 {
			r.Headers = fmt.Appendf(nil, `[{"key":"h","value":"v,%d"},{"key":"n","value":null}]`, off)
		}
		out = append(out, r)
		off++
		if i%4 == 2 {
			off += 2
		}
	}
	return out
}

// fmtFill writes 22 records to each of partitions 0 and 1 of topic with
// the engine, in batches of 5, objects of 4 records: sealed objects (for
// Parquet finalized), and an open one with records.
func fmtFill(t *testing.T, st store.Store, enc format.Encoder) []events.Record {
	t.Helper()
	var all []events.Record
	for p := range int32(2) {
		recs := fmtRecords(topic, p, 22)
		fixture.ByEngine(t, st, 5, recs, sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(4))
		all = append(all, recs...)
	}
	return all
}

// objectsOf returns the keys under prefix+topic/ whose base name starts
// with start and ends with end, sorted.
func objectsOf(t *testing.T, st store.Store, start, end string) []string {
	t.Helper()
	infos, err := st.List(context.Background(), prefix+topic+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		if b := path.Base(in.Key); strings.HasPrefix(b, start) && strings.HasSuffix(b, end) {
			out = append(out, in.Key)
		}
	}
	slices.Sort(out)
	return out
}

func mustRun(t *testing.T, st store.Store, opts ...verify.Option) *verify.Report {
	t.Helper()
	rep, err := verify.Run(context.Background(), st, append([]verify.Option{verify.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func flip(t *testing.T, st store.Store, key string, at int64) {
	t.Helper()
	ctx := context.Background()
	b, err := st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x5a
	if err := st.Put(ctx, key, b); err != nil {
		t.Fatal(err)
	}
}

// firstAppend returns the first append entry of key's index.
func firstAppend(t *testing.T, st store.Store, key string) *objindex.Append {
	t.Helper()
	b, err := st.Get(context.Background(), objindex.Key(key))
	if err != nil {
		t.Fatal(err)
	}
	es, err := objindex.ParseAll(b)
	if err != nil || es[0].Append == nil {
		t.Fatalf("index of %s: %v", key, err)
	}
	return es[0].Append
}

func onlyCodes(t *testing.T, rep *verify.Report, want ...verify.Code) {
	t.Helper()
	for _, d := range rep.AllDefects() {
		if !slices.Contains(want, d.Code) {
			t.Errorf("unexpected %s", d)
		}
	}
}

// TestFormats: what the engine writes in every format and compression is
// read exactly (records, formats, no defect); a changed member, a gone
// staging object and a replaced Parquet object are defects.
func TestFormats(t *testing.T) {
	for _, s := range fmtSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			enc := s.enc(t)
			st := memstore.New()
			recs := fmtFill(t, st, enc)
			rep := mustRun(t, st, verify.WithObjectDetails())
			if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Records != int64(len(recs)) {
				t.Fatalf("%d records (want %d): %v", rep.Total.Records, len(recs), rep.AllDefects())
			}
			for _, p := range rep.Partitions {
				if p.Format != enc.Format.String() || !p.ExactOffsets || p.LastOffset != recs[len(recs)-1].Offset {
					t.Errorf("partition %d: format %q, exact %v, last %d", p.Partition, p.Format, p.ExactOffsets, p.LastOffset)
				}
				for _, o := range p.ObjectList {
					if _, ext := sink.SplitExt(o.Key); ext != enc.Ext() {
						t.Errorf("object %s: extension %q, want %q", o.Key, ext, enc.Ext())
					}
				}
			}
			sealed := objectsOf(t, st, "partition_0_", enc.Ext())
			if len(sealed) < 3 {
				t.Fatalf("objects %v", sealed)
			}

			t.Run("changed-member", func(t *testing.T) {
				st := memstore.New()
				fmtFill(t, st, enc)
				key := sealed[1]
				if enc.Staged() {
					key = objectsOf(t, st, ".oss_stage_partition_0_", "")[0]
				}
				a := firstAppend(t, st, dataOf(key))
				flip(t, st, key, a.Pos+a.Bytes/2)
				rep := mustRun(t, st)
				if rep.OK() {
					t.Fatalf("no error: %v", codes(rep))
				}
				if _, ok := find(rep, verify.CodeCRCMismatch, dataOf(key)); !ok {
					t.Fatalf("no crc_mismatch: %v", codes(rep))
				}
				onlyCodes(t, rep, verify.CodeCRCMismatch, verify.CodeIndexInconsistent, verify.CodeBadRecord, verify.CodeOffsetMismatch, verify.CodeWrongPartition)
			})
			if !enc.Staged() {
				return
			}

			t.Run("stage-gone", func(t *testing.T) {
				st := memstore.New()
				fmtFill(t, st, enc)
				stage := objectsOf(t, st, ".oss_stage_partition_0_", "")[0]
				if err := st.Delete(context.Background(), stage); err != nil {
					t.Fatal(err)
				}
				rep := mustRun(t, st)
				if _, ok := find(rep, verify.CodeOpenObjectMissing, dataOf(stage)); !ok || rep.OK() {
					t.Fatalf("no open_object_missing: %v", codes(rep))
				}
			})

			t.Run("replaced", func(t *testing.T) {
				st := memstore.New()
				fmtFill(t, st, enc)
				b, err := st.Get(context.Background(), sealed[2])
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Put(context.Background(), sealed[0], b); err != nil {
					t.Fatal(err)
				}
				if err := st.Put(context.Background(), sealed[1], b[:len(b)/2]); err != nil {
					t.Fatal(err)
				}
				rep := mustRun(t, st)
				for _, k := range sealed[:2] {
					if _, ok := find(rep, verify.CodeFinalMismatch, k); !ok {
						t.Errorf("no final_mismatch for %s: %v", k, codes(rep))
					}
				}
			})

			t.Run("finalize-pending", func(t *testing.T) {
				// Writing the Parquet objects fails: their records stay
				// staged, the meta object lists them.
				st := &writeFaults{Store: memstore.New(), failPut: func(k string) bool { return strings.HasSuffix(k, ".parquet") }}
				fmtFill(t, st, enc)
				st.failPut = nil
				rep := mustRun(t, st)
				n := 0
				for _, d := range rep.AllDefects() {
					if d.Code == verify.CodeFinalizePending {
						n++
					}
				}
				if !rep.OK() || n < len(sealed) || rep.Total.Records != 44 {
					t.Fatalf("%d finalize_pending (want %d), %d records: %v", n, len(sealed), rep.Total.Records, rep.AllDefects())
				}
				onlyCodes(t, rep, verify.CodeFinalizePending)
				// A staging object of a sealed object that is gone too:
				// its records are lost.
				gone := objectsOf(t, st, ".oss_stage_partition_0_", "")[0]
				if err := st.Delete(context.Background(), gone); err != nil {
					t.Fatal(err)
				}
				rep = mustRun(t, st)
				if _, ok := find(rep, verify.CodeDataMissing, dataOf(gone)); !ok || rep.OK() {
					t.Fatalf("no data_missing for %s: %v", gone, codes(rep))
				}
			})

			t.Run("finalize-cut", func(t *testing.T) {
				// Removing the staging objects fails: both exist.
				st := &writeFaults{Store: memstore.New(), failDelete: func(k string) bool { return strings.Contains(k, ".oss_stage_") }}
				fmtFill(t, st, enc)
				rep := mustRun(t, st)
				if !rep.OK() || rep.Total.Records != 44 {
					t.Fatalf("%d records: %v", rep.Total.Records, rep.AllDefects())
				}
				if _, ok := find(rep, verify.CodeFinalizePending, sealed[0]); !ok {
					t.Fatalf("no finalize_pending for %s: %v", sealed[0], codes(rep))
				}
				onlyCodes(t, rep, verify.CodeFinalizePending)
				// The data object does not hold the staged records.
				b, err := st.Get(context.Background(), sealed[2])
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Put(context.Background(), sealed[0], b); err != nil {
					t.Fatal(err)
				}
				rep = mustRun(t, st)
				if _, ok := find(rep, verify.CodeFinalMismatch, sealed[0]); !ok {
					t.Fatalf("no final_mismatch: %v", codes(rep))
				}
			})
		})
	}
}

// TestFormatsExtension: an object whose name's extension is not its
// index's encoding's, and one with an extension but no index, are errors;
// a staging object is no stray.
func TestFormatsExtension(t *testing.T) {
	ctx := context.Background()
	enc := fmtSetups[3].enc(t)
	st := memstore.New()
	fmtFill(t, st, enc)
	objs := objectsOf(t, st, "partition_1_", ".csv.zst")
	renamed := strings.TrimSuffix(objs[0], ".zst") + ".gz"
	for _, k := range []string{objs[0], objindex.Key(objs[0])} {
		b, err := st.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		nk := strings.Replace(k, path.Base(objs[0]), path.Base(renamed), 1)
		if err := st.Put(ctx, nk, b); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, objindex.Key(objs[1])); err != nil {
		t.Fatal(err)
	}
	rep := mustRun(t, st)
	if d, ok := find(rep, verify.CodeIndexInconsistent, renamed); !ok || !strings.Contains(d.Message, "extension") {
		t.Errorf("no index_inconsistent for %s: %v", renamed, codes(rep))
	}
	if _, ok := find(rep, verify.CodeIndexMissing, objs[1]); !ok {
		t.Errorf("no index_missing for %s: %v", objs[1], codes(rep))
	}
	for _, d := range rep.AllDefects() {
		if d.Code == verify.CodeStrayObject {
			t.Errorf("unexpected %s", d)
		}
	}
}

// TestFormatsKafka: compared with Kafka, the records stored are those
// Kafka holds, as far as each encoding stores them: a changed value is a
// content_mismatch everywhere, a changed key only where keys are stored.
func TestFormatsKafka(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrs := newCluster(t, map[string]int32{topic: 2})
	var all []events.Record
	for p := range int32(2) {
		recs := fmtRecords(topic, p, 14)
		var msgs []kafkatest.Message
		for _, r := range recs {
			m := kafkatest.Message{Partition: p, Timestamp: time.UnixMilli(r.Timestamp), Headers: saramaHeaders(t, r.Headers)}
			if r.HasKey {
				m.Key = append([]byte{}, r.Key...)
			}
			if r.ValueKind != events.ValueNull {
				m.Value = append([]byte{}, r.Value...)
			}
			if r.ValueKind == events.ValueJSON {
				m.Value = []byte(" " + string(r.Value) + "\n") // not compact in Kafka
			}
			msgs = append(msgs, m)
		}
		// Kafka's offsets have no gaps: the records are stored at them.
		for i, off := range kafkatest.Produce(t, addrs, topic, msgs) {
			recs[i].Offset = off
		}
		all = append(all, recs...)
	}
	kafkatest.CommitGroup(t, addrs, "backup", topic, map[int32]int64{0: 14, 1: 14})
	// Every range read ends at a record Kafka holds: the idle timeout
	// never ends one, however slow the machine.
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup", IdleTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	for _, s := range []fmtSetup{fmtSetups[0], fmtSetups[3], fmtSetups[4], fmtSetups[5], fmtSetups[6]} {
		t.Run(s.name, func(t *testing.T) {
			enc := s.enc(t)
			write := func(recs []events.Record) store.Store {
				st := memstore.New()
				for p := range 2 {
					fixture.ByEngine(t, st, 5, recs[p*14:(p+1)*14], sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(4))
				}
				return st
			}
			rep, err := verify.Run(ctx, write(all), verify.WithPrefix(prefix), verify.WithKafka(k))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || len(rep.AllDefects()) != 0 {
				t.Fatalf("exact store: %v", rep.AllDefects())
			}
			changed := slices.Clone(all)
			changed[6].Value = []byte("another value") // offset 6 of partition 0: a text value
			changed[14+5].Key = []byte("another key")  // offset 5 of partition 1: a key
			rep, err = verify.Run(ctx, write(changed), verify.WithPrefix(prefix), verify.WithKafka(k))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range rep.AllDefects() {
				if d.Code != verify.CodeContentMismatch {
					t.Errorf("unexpected %s", d)
					continue
				}
				got = append(got, fmt.Sprintf("%d/%d", d.Partition, *d.Offset))
			}
			want := []string{"0/6"}
			if enc.Fields.Has(format.FieldKey) {
				want = append(want, "1/5")
			}
			if !slices.Equal(got, want) {
				t.Fatalf("content_mismatch at %v, want %v: %v", got, want, rep.AllDefects())
			}
		})
	}
}

// writeFaults fails some writes.
type writeFaults struct {
	store.Store
	failPut    func(key string) bool
	failDelete func(key string) bool
}

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

var errWriteFault = errors.New("injected write fault")

// dataOf returns the data object key of a staging object's key (and any
// other key unchanged).
func dataOf(key string) string {
	if dk, ok := sink.StageData(key); ok {
		return dk
	}
	return key
}
