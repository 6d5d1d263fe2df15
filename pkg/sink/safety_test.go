package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// Regression tests for the data-safety review (issue 7): each ends with
// every record present exactly once, or a clear error and nothing written.

// recreated returns records of a new incarnation of the topic at the
// offsets of rs: same offsets, other contents.
func recreated(rs []events.Record) []events.Record {
	out := make([]events.Record, len(rs))
	for i, r := range rs {
		r.Value = []byte(fmt.Sprintf("new topic p%d-o%d-", r.Partition, r.Offset))
		r.Timestamp += 86_400_000
		out[i] = r
	}
	return out
}

func TestOffsetsRestarted(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 20)
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, s)
			mustWrite(t, sk, st, all)

			// A replay of stored records (the group reset to earlier
			// offsets) stays a silent, counted duplicate: from the start,
			// from an older object, and the last batch again.
			for _, batch := range [][]events.Record{all, all[3:9], all[15:]} {
				sum := mustWrite(t, sk, st, batch)
				if sum.Written != 0 || sum.Duplicates != len(batch) {
					t.Fatalf("replay of %d-%d: %+v", batch[0].Offset, batch[len(batch)-1].Offset, sum)
				}
			}

			// The topic deleted and recreated: offsets start again, other
			// records. Nothing may be dropped as a duplicate or written.
			before := snapshot(st)
			for _, batch := range [][]events.Record{recreated(all[:5]), recreated(all[17:]), append(recreated(all[18:]), rec(0, 200))} {
				_, err := sk.Write(ctx, st, batch)
				if !errors.Is(err, sink.ErrOffsetsReset) || !strings.Contains(err.Error(), "sinkctl new-epoch --topic orders --partition 0") {
					t.Fatalf("recreated topic, batch %d-%d: %v, want ErrOffsetsReset naming the way out", batch[0].Offset, batch[len(batch)-1].Offset, err)
				}
			}
			if after := snapshot(st); after != before {
				t.Fatalf("store changed by refused batches:\n%s\n---\n%s", before, after)
			}

			// The way forward: a new epoch, in new objects beside the old.
			m, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", time.Now())
			if err != nil || m.Epoch != 1 || len(m.Epochs) != 1 || m.Epochs[0].Committed != all[len(all)-1].Offset {
				t.Fatalf("StartEpoch: %+v, %v", m, err)
			}
			fresh := recreated(all)
			mustWrite(t, sk, st, fresh[:12])
			mustWrite(t, sk, st, fresh[9:])
			if err := sinktest.Check(ctx, st, "backup", topic, nil, offsets(fresh)); err != nil {
				t.Fatal(err)
			}
			parts, err := sinktest.Read(ctx, st, "backup", topic, nil)
			if err != nil {
				t.Fatal(err)
			}
			old := parts[0].Older
			var got []int64
			for _, o := range old {
				got = append(got, o.Offsets...)
				if !strings.Contains(before, o.Key+" ") {
					t.Errorf("old epoch object %s is not one that was there before", o.Key)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(offsets(all)[0]) {
				t.Fatalf("old epoch holds %v, want %v", got, offsets(all)[0])
			}
		})
	}
}

// TestOffsetsRestartedBelowStart: records at or below the committed offset
// that were never stored (the backup began later) are not duplicates.
func TestOffsetsRestartedBelowStart(t *testing.T) {
	st := memstore.New()
	sk := newSink(t, setups[0])
	all := stream(0, 20)
	mustWrite(t, sk, st, all[10:])
	_, err := sk.Write(context.Background(), st, all[:4])
	if !errors.Is(err, sink.ErrOffsetsReset) || !strings.Contains(err.Error(), "not stored") {
		t.Fatalf("%v, want ErrOffsetsReset: not stored", err)
	}
}

// TestOldMetaRestored: a meta object behind its objects (an old copy put
// back) is caught up by replaying the indexes: nothing twice, nothing lost.
func TestOldMetaRestored(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 30)
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, s)
			mustWrite(t, sk, st, all[:8])
			old, _ := st.Object(sink.MetaKey("backup/", topic, 0))
			mustWrite(t, sk, st, all[8:20])
			if err := st.Put(ctx, sink.MetaKey("backup/", topic, 0), old); err != nil {
				t.Fatal(err)
			}
			sum := mustWrite(t, sk, st, all[20:])
			if sum.Written != 10 || sum.Adopted != 12 {
				t.Fatalf("after the old meta object: %+v", sum)
			}
			if err := sinktest.Check(ctx, st, "backup", topic, s.offsetOf, offsets(all)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMetaNamesForeignObject: every object a meta object names must be the
// one the protocol derives; a recorded size beyond the object is refused.
func TestMetaNamesForeignObject(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	metaKey := sink.MetaKey("backup/", topic, 0)
	edit := func(f func(m map[string]any, fo map[string]any)) func(*memstore.Store) {
		return func(st *memstore.Store) {
			b, _ := st.Object(metaKey)
			m := map[string]any{}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			f(m, m["folders"].(map[string]any)[""].(map[string]any))
			_ = st.Put(ctx, metaKey, mustJSON(t, m))
		}
	}
	own := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0)
	for _, tc := range []struct {
		name   string
		break_ func(*memstore.Store)
		want   error
		names  string
	}{
		{"another partition's object", edit(func(_, f map[string]any) { f["object"] = sink.ObjectKey("backup/", topic, "", 1, all[0].Offset, 0) }), sink.ErrMetaInvalid, "partition_1_offset_10"},
		{"outside the prefix", edit(func(_, f map[string]any) { f["object"] = strings.Replace(own, "backup/", "elsewhere/", 1) }), sink.ErrMetaInvalid, "elsewhere/orders"},
		{"look-alike suffix", edit(func(_, f map[string]any) { f["object"] = own[:len(own)-8] + "notours1" }), sink.ErrMetaInvalid, "notours1"},
		{"other epoch", edit(func(_, f map[string]any) { f["object"] = sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 1) }), sink.ErrMetaInvalid, "is not the one"},
		{"folder leaving the topic", edit(func(m, f map[string]any) {
			m["folders"] = map[string]any{"../x/": f}
			f["object"] = sink.ObjectKey("backup/", topic, "../x/", 0, all[0].Offset, 0)
		}), sink.ErrMetaInvalid, "../x/"},
		{"unknown encoding", edit(func(_, f map[string]any) { f["encoding"] = "parquet/text" }), sink.ErrMetaInvalid, "parquet/text"},
		{"size beyond the object", edit(func(_, f map[string]any) { f["size"] = f["size"].(float64) + 5 }), sink.ErrConflict, own},
		{"index size beyond the index", edit(func(_, f map[string]any) { f["index_size"] = f["index_size"].(float64) + 5 }), sink.ErrConflict, objindex.Key(own)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, setups[2])
			mustWrite(t, sk, st, all[:5])
			tc.break_(st)
			before := dataSnapshot(st)
			_, err := sk.Write(ctx, st, all[5:])
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.names)
			}
			// The data objects and the meta object are untouched (an index
			// may hold the announcement of an append that was refused).
			if after := dataSnapshot(st); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// skipStore, while fail is set, fails every meta PUT (before it takes
// effect, or after with after set) and lets everything else through: the
// appends of a batch land, its state does not.
type skipStore struct {
	store.Store
	mu    sync.Mutex
	fail  bool
	after bool // fail after the PUT took effect instead
}

func (s *skipStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	s.mu.Lock()
	fail := s.fail && strings.Contains(key, ".oss_meta_file_")
	s.mu.Unlock()
	if fail && !s.after {
		return errInjected
	}
	err := s.Store.Put(ctx, key, data, opts...)
	if fail {
		return errInjected
	}
	return err
}

// TestSkippedBatch: with ErrorsTolerance ALL the trigger gives up on a
// batch whose appends landed but whose meta PUT failed, and moves on. In
// every format, with distinct and with identical values, the next batch
// must neither stop the partition nor lose records: the skipped batch's
// records are found by their index and adopted.
func TestSkippedBatch(t *testing.T) {
	ctx := context.Background()
	identical := func(rs []events.Record) []events.Record {
		out := make([]events.Record, len(rs))
		for i, r := range rs {
			r.Value = []byte("same")
			out[i] = r
		}
		return out
	}
	encs := []struct {
		name string
		enc  format.Encoder
	}{{"raw", format.Encoder{}}, {"jsonl", format.Encoder{Format: format.JSONL}}, {"jsonl-base64", format.Encoder{Format: format.JSONL, ValueEncoding: events.Base64}}}
	for _, e := range encs {
		for _, values := range []string{"distinct", "identical"} {
			for _, flush := range []int64{0, 3} {
				for _, where := range []string{"middle", "first batch"} {
					name := fmt.Sprintf("%s/%s/flush=%d/%s", e.name, values, flush, where)
					t.Run(name, func(t *testing.T) {
						all := stream(0, 30)
						if values == "identical" {
							all = identical(all)
						}
						sk, err := sink.New(sink.WithPrefix("backup"), sink.WithEncoder(e.enc), sink.WithFlushRecords(flush))
						if err != nil {
							t.Fatal(err)
						}
						st := &skipStore{Store: memstore.New()}
						want := all
						cut := 10
						if where == "first batch" {
							cut = 0
						} else {
							mustWrite(t, sk, st, all[:cut])
						}
						st.fail = true
						for attempt := 0; attempt < 3; attempt++ { // the trigger's retries, then it gives up
							if _, err := sk.Write(ctx, st, all[cut:cut+7]); err == nil {
								t.Fatal("the failing meta PUT did not fail the batch")
							}
						}
						st.fail = false
						sum := mustWrite(t, sk, st, all[cut+7:])
						if sum.Written != len(all)-cut-7 || sum.Adopted != 7 {
							t.Fatalf("next batch: %+v", sum)
						}
						if err := sinktest.Check(ctx, st, "backup", topic, nil, offsets(want)); err != nil {
							t.Fatal(err)
						}
					})
				}
			}
		}
	}
}

// TestSkippedBatchNothingLanded: a batch the trigger gave up on whose index
// entry landed but whose data append did not leaves a stale entry; the
// next batch goes on, and the skipped records are not stored (they are in
// the trigger's dead-letter queue).
func TestSkippedBatchNothingLanded(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 20)
	sk := newSink(t, setups[2])
	st := memstore.New()
	mustWrite(t, sk, st, all[:5])
	fs := &faultStore{Store: st, method: "Append", at: 1, kind: failBefore} // the data append after the entry
	if _, err := sk.Write(ctx, fs, all[5:10]); err == nil {
		t.Fatal("no failure")
	}
	mustWrite(t, sk, st, all[10:])
	want := append(append([]events.Record{}, all[:5]...), all[10:]...)
	if err := sinktest.Check(ctx, st, "backup", topic, rawOffset, offsets(want)); err != nil {
		t.Fatal(err)
	}
}

// readRecorder records the largest read the sink makes.
type readRecorder struct {
	store.Store
	mu      sync.Mutex
	maxRead int64
	gets    []string
}

func (r *readRecorder) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r.mu.Lock()
	r.maxRead = max(r.maxRead, n)
	r.mu.Unlock()
	return r.Store.GetRange(ctx, key, off, n)
}

func (r *readRecorder) Get(ctx context.Context, key string) ([]byte, error) {
	r.mu.Lock()
	r.gets = append(r.gets, key)
	r.mu.Unlock()
	return r.Store.Get(ctx, key)
}

// TestRecoveryReadsBounded: what an earlier attempt left behind (here,
// megabytes appended and never recorded) is read in chunks of at most the
// read chunk, however much there is, for indexed and for legacy objects.
func TestRecoveryReadsBounded(t *testing.T) {
	ctx := context.Background()
	const chunk = 64 << 10
	big := func(p int32, from, n int) []events.Record {
		var out []events.Record
		for i := 0; i < n; i++ {
			r := rec(p, int64(from+i))
			r.Value = sinktest.Value(p, int64(from+i), strings.Repeat("v", 2000))
			out = append(out, r)
		}
		return out
	}
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			mem := memstore.New()
			sk, err := sink.New(sink.WithPrefix("backup"), sink.WithReadChunk(chunk))
			if err != nil {
				t.Fatal(err)
			}
			all := big(0, 0, 3000) // ~6 MB
			mustWrite(t, sk, mem, all[:10])
			st := &skipStore{Store: mem, fail: true}
			for i := 10; i < 2500; i += 500 { // ~5 MB appended, never recorded
				if _, err := sk.Write(ctx, st, all[i:i+500]); err == nil {
					t.Fatal("no failure")
				}
			}
			if legacy {
				fixture.Downgrade(t, mem, "backup/", topic, 0)
			}
			rr := &readRecorder{Store: mem}
			sum, err := sk.Write(ctx, rr, all[10:])
			if err != nil {
				t.Fatal(err)
			}
			if sum.Recovered != 2500 {
				t.Fatalf("%+v", sum)
			}
			if rr.maxRead > chunk {
				t.Fatalf("a read of %d bytes; the chunk is %d", rr.maxRead, chunk)
			}
			for _, k := range rr.gets {
				if !strings.Contains(k, ".oss_meta_file_") {
					t.Fatalf("whole-object read of %s", k)
				}
			}
			if err := sinktest.Check(ctx, mem, "backup", topic, rawOffset, offsets(all)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLegacyUpgrade: a partition written by the previous version (no
// indexes, meta version 1) continues exactly once: the legacy object is
// sealed and new records go to indexed objects.
func TestLegacyUpgrade(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 30)
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, s)
			mustWrite(t, sk, st, all[:12])
			fixture.Downgrade(t, st, "backup/", topic, 0)
			mustWrite(t, sk, st, all[9:20])
			mustWrite(t, sk, st, all[18:])
			if err := sinktest.Check(ctx, st, "backup", topic, s.offsetOf, offsets(all)); err != nil {
				t.Fatal(err)
			}
			parts, _ := sinktest.Read(ctx, st, "backup", topic, s.offsetOf)
			last := parts[0].Objects[len(parts[0].Objects)-1]
			if !last.Indexed {
				t.Fatalf("records after the upgrade went to a legacy object %s", last.Key)
			}
		})
	}
}

// TestLookAlikeInGap: an object named like a data object but not by the
// sink (another suffix) in an offset gap is never taken for its own.
func TestLookAlikeInGap(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := newSink(t, setups[0]) // 3 records per object: a new object after the gap
	recs := []events.Record{rec(0, 10), rec(0, 11), rec(0, 12), rec(0, 20), rec(0, 21)}
	mustWrite(t, sk, st, recs[:3])
	alike := "backup/orders/partition_0_offset_15_notours1"
	if _, err := st.Append(ctx, alike, 0, []byte("p0-o15-not the sink's\n")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, sk, st, recs[3:])
	b, _ := st.Object(alike)
	if string(b) != "p0-o15-not the sink's\n" {
		t.Fatalf("the look-alike was written to: %q", b)
	}
	_ = st.Delete(ctx, alike)
	if err := sinktest.Check(ctx, st, "backup", topic, rawOffset, offsets(recs)); err != nil {
		t.Fatal(err)
	}
}

// TestFarFutureTimestamp: a record with a timestamp far in the future
// must not switch off SINK_FLUSH_INTERVAL for the rest of its object: age
// is measured from the object's oldest record.
func TestFarFutureTimestamp(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	all := stream(0, 13)
	for i := range all {
		all[i].Timestamp = base.Add(time.Duration(i) * 3 * time.Minute).UnixMilli()
	}
	all[0].Timestamp = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	st := memstore.New()
	sk := newSink(t, setups[2], sink.WithFlushInterval(10*time.Minute))
	for i := 0; i < len(all); i += 2 {
		mustWrite(t, sk, st, all[i:min(i+2, len(all))])
	}
	parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
	if err != nil {
		t.Fatal(err)
	}
	var layout []int
	for _, o := range parts[0].Objects {
		layout = append(layout, len(o.Offsets))
	}
	// The future record rides with the first object, which then spans 10
	// minutes from its oldest record (3 min apart: records 1-4), and so on.
	if fmt.Sprint(layout) != "[5 4 4]" {
		t.Fatalf("objects of %v records, want [5 4 4]", layout)
	}
}

// TestSeparatorValuesCounted: raw values holding '\n' are counted, and the
// index keeps their boundaries.
func TestSeparatorValuesCounted(t *testing.T) {
	ctx := context.Background()
	recs := []events.Record{rec(0, 1), rec(0, 2), rec(0, 3)}
	recs[1].Value = []byte("two\nlines")
	recs[2].Value = nil
	recs[2].ValueKind = events.ValueNull
	st := memstore.New()
	sum := mustWrite(t, newSink(t, setups[2]), st, recs)
	if sum.SeparatorValues != 1 {
		t.Fatalf("separator values %d, want 1", sum.SeparatorValues)
	}
	if err := sinktest.Check(ctx, st, "backup", topic, nil, offsets(recs)); err != nil {
		t.Fatal(err)
	}
	b, _ := st.Object(objindex.Key(sink.ObjectKey("backup/", topic, "", 0, 1, 0)))
	e, err := objindex.ParseEntry(b)
	if err != nil || fmt.Sprint(e.Append.Sizes) != fmt.Sprint([]int64{int64(len(recs[0].Value)) + 1, 10, 1}) || fmt.Sprint(e.Append.Nulls) != "[3]" {
		t.Fatalf("index entry %s: %v", b, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dataSnapshot is snapshot without the record indexes.
func dataSnapshot(st *memstore.Store) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(snapshot(st), "\n") {
		if !strings.Contains(line, ".oss_index_") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestPoisonedIndex: an index or data object changed behind the sink's
// back stops the partition with a permanent error that names it; the data
// objects and the meta object stay as they were.
func TestPoisonedIndex(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 10)
	obj := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0)
	idx := objindex.Key(obj)
	appendTo := func(key string, b []byte) func(*memstore.Store) {
		return func(st *memstore.Store) {
			info, _ := st.Stat(ctx, key)
			if _, err := st.Append(ctx, key, info.Size, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		poison func(*memstore.Store)
		want   error
		names  string
	}{
		{"garbage appended to the index", appendTo(idx, []byte("{not an entry}\n")), sink.ErrConflict, idx},
		{"index cut inside an entry", appendTo(idx, []byte(`{"op":"append","enc":"raw/text"`)), sink.ErrConflict, idx},
		{"index replaced by a normal object", func(st *memstore.Store) { _ = st.Put(ctx, idx, []byte("x\n")) }, store.ErrNotAppendable, idx},
		{"a seal naming a foreign object", func(st *memstore.Store) {
			size, _ := st.Stat(ctx, obj)
			appendTo(idx, objindex.AppendEntry(nil, objindex.Entry{Seal: &objindex.Seal{At: size.Size, Next: "elsewhere/partition_0_offset_99_00000000", NextOffset: 99}}))(st)
		}, sink.ErrConflict, "elsewhere/"},
		{"an entry whose bytes do not match its CRC", func(st *memstore.Store) {
			info, _ := st.Stat(ctx, obj)
			e := objindex.AppendEntry(nil, objindex.Entry{Append: &objindex.Append{Enc: "raw/text", Pos: info.Size, Bytes: 2, CRC32C: 7, Offsets: []objindex.Run{{First: 99, Count: 1}}, Sizes: []int64{2}}})
			appendTo(idx, e)(st)
			appendTo(obj, []byte("x\n"))(st)
		}, sink.ErrConflict, "matches the data"},
		{"data object replaced by a normal object", func(st *memstore.Store) {
			b, _ := st.Object(obj)
			_ = st.Put(ctx, obj, b)
		}, store.ErrNotAppendable, obj},
		{"bytes appended to the data object", appendTo(obj, []byte("p0-o99-\n")), sink.ErrConflict, obj},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, setups[2])
			mustWrite(t, sk, st, all[:5])
			tc.poison(st)
			before := dataSnapshot(st)
			_, err := sk.Write(ctx, st, all[5:])
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("got %v, want %v naming %q", err, tc.want, tc.names)
			}
			if after := dataSnapshot(st); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}
