package sink_test

// Minimal repros of the findings of the routing review (issue 8). Each
// fails on the code it was written against (7b7af84); see the report in the
// commit that adds it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// TestReview8ReplayBelowWideCurrentObject: a replay (the consumer group
// reset to earliest) of a partition that starts at offset 0, whose first
// object is sealed and whose current object spans 100 offsets or more,
// must be all duplicates. The duplicate check looks offset 0 up by a
// listing narrowed to its leading digits, starting from a digit count
// taken from the current object's span (dupcheck.go, objectFor:
// k = digits(span)-1); with more digits to drop than offset 0 has, the
// loop lists nothing and the record "precedes every data object": the
// partition stops with ErrOffsetsReset although nothing is wrong. Routed,
// a folder's object spans the offsets of every folder in between, so one
// with few records reaches that span soon.
func TestReview8ReplayBelowWideCurrentObject(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		router sink.Router
	}{
		{"unrouted", nil},
		{"routed by key", keyRouter{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var all []events.Record
			for off := int64(0); off < 130; off++ {
				r := rec(0, off)
				r.Key = []byte("a")
				all = append(all, r)
			}
			opts := func(flush int64) []sink.Option {
				o := []sink.Option{sink.WithFlushRecords(flush)}
				if tc.router != nil {
					o = append(o, sink.WithRouter(tc.router))
				}
				return o
			}
			st := memstore.New()
			jsonl := setup{enc: format.Encoder{Format: format.JSONL}}
			// Objects of 5 records, then (SINK_FLUSH_RECORDS raised) one of 500:
			// offsets 0-4 sealed, 5-129 in the current object.
			mustWrite(t, newSink(t, jsonl, opts(5)...), st, all[:6])
			sk := newSink(t, jsonl, opts(500)...)
			mustWrite(t, sk, st, all[6:])
			sum, err := sk.Write(ctx, st, all[:10]) // the replay reaches offset 0
			if err != nil {
				t.Fatalf("replay of offsets 0-9: %v", err)
			}
			if sum.Duplicates != 10 || sum.Written != 0 {
				t.Fatalf("replay: %+v", sum.Partitions[0])
			}
			if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, sinktest.Want{Offsets: offsets(all)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReview8RecreatedTopicRoutedByKey: a topic deleted and recreated, its
// new records delivered from offset 8 on (the trigger's group resumed
// where it was, or reset to latest after the new topic had grown): every
// record at or below the committed offset is another record than the one
// stored there. Unrouted, the record at offset 8 is found in the object
// holding offset 8 and differs: ErrOffsetsReset. Routed by key, each new
// record is looked up in the folder of its new key, whose object covers
// its offset without holding it (the old record at that offset went to
// another folder): a "gap", which checkDuplicates takes for a record the
// trigger gave up on (dupcheck.go, the found == 0 case). Every record
// sampled is such a gap, so all 32 new records are dropped as duplicates
// and committed: lost silently, instead of ErrOffsetsReset.
func TestReview8RecreatedTopicRoutedByKey(t *testing.T) {
	ctx := context.Background()
	var offs []int64
	var keys, newKeys []string
	for i := 0; i < 40; i++ {
		offs = append(offs, int64(i))
		keys = append(keys, fmt.Sprintf("u%d", i%4))
		newKeys = append(newKeys, fmt.Sprintf("u%d", (i+1)%4))
	}
	all := keyed(offs, keys)
	st := memstore.New()
	sk := routedSink(t)
	for i := 0; i < len(all); i += 10 {
		mustWrite(t, sk, st, all[i:i+10])
	}
	before := st.Keys()
	again := recreated(keyed(offs, newKeys))[8:]
	sum, err := sk.Write(ctx, st, again)
	if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("records of a recreated topic at offsets 8-39 (all at or below the committed offset 39): err = %v, summary %+v: "+
			"they are neither stored nor refused", err, sum.Partitions[0])
	}
	if after := st.Keys(); len(after) != len(before) {
		t.Fatalf("the refused batch wrote %d keys", len(after)-len(before))
	}
}

// TestReview8RecreatedTopicRoutedByField is the same with a real template
// ({value:user.id}) and a recreated topic whose values name other users.
func TestReview8RecreatedTopicRoutedByField(t *testing.T) {
	ctx := context.Background()
	r, err := route.New("{topic}/user={value:user.id}/", nil)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(off int64, user int) events.Record {
		return events.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: 1_764_000_000_000 + off*1000,
			Value: fmt.Appendf(nil, `{"user":{"id":"u%d"},"offset":%d}`, user, off)}
	}
	var old, again []events.Record
	for off := int64(0); off < 60; off++ {
		old = append(old, mk(off, int(off%6)))
		again = append(again, mk(off, int(off+2)%6))
	}
	st := memstore.New()
	sk := newSink(t, setup{enc: format.Encoder{Format: format.JSONL}}, sink.WithRouter(r))
	for i := 0; i < len(old); i += 15 {
		mustWrite(t, sk, st, old[i:i+15])
	}
	sum, err := sk.Write(ctx, st, again[20:])
	if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("records of a recreated topic at offsets 20-59 (committed offset 59): err = %v, summary %+v", err, sum.Partitions[0])
	}
}

// TestReview8RecreatedTopicRoutedByTime is the same with hourly folders
// in Asia/Shanghai and late data: every other record of the old topic came
// half an hour late (hh=00 while the others are in hh=01), so each hour's
// object covers offsets it does not hold. The recreated topic, at the same
// offsets, has the late records at the other offsets.
func TestReview8RecreatedTopicRoutedByTime(t *testing.T) {
	ctx := context.Background()
	loc, err := route.LoadZone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	r, err := route.New("{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", loc)
	if err != nil {
		t.Fatal(err)
	}
	one := time.Date(2026, 11, 25, 1, 0, 0, 0, loc)
	mk := func(off int64, late bool, what string) events.Record {
		ts := one.Add(time.Duration(off) * time.Minute)
		if late {
			ts = ts.Add(-40 * time.Minute)
		}
		return events.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: ts.UnixMilli(), Value: sinktest.Value(0, off, what)}
	}
	var old, again []events.Record
	for off := int64(0); off < 20; off++ {
		old = append(old, mk(off, off%2 == 1, "old"))
		again = append(again, mk(off, off%2 == 0, "new"))
	}
	st := memstore.New()
	sk := newSink(t, setups[0], sink.WithRouter(r))
	mustWrite(t, sk, st, old[:10])
	mustWrite(t, sk, st, old[10:])
	sum, err := sk.Write(ctx, st, again[2:])
	if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("records of a recreated topic at offsets 2-19 (committed offset 19): err = %v, summary %+v", err, sum.Partitions[0])
	}
}

// TestReview8GivenUpFolderNeverCloses: an attempt announces a new folder,
// writes its first index entry, and dies before the data append; the
// trigger gives up on the batch, and no later record goes to that folder
// (a key seen once, yesterday's hour). closeFolders keeps every folder
// whose index is longer than the meta object records (route.go,
// closeFolders: info.Size != f.IndexSize → continue), and only a record of
// the folder would replay it, so the folder stays open for good: each such
// batch adds one to the open folders past WithMaxOpenFolders, the meta
// object grows without bound, every later batch looks each of them up (one
// Stat per stuck folder), and once they fill the bound every live folder
// is closed after every batch — a new object per folder per batch.
func TestReview8GivenUpFolderNeverCloses(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := routedSink(t, sink.WithMaxOpenFolders(1))
	live := func(off int64) []events.Record { return keyed([]int64{off}, []string{"live"}) }
	mustWrite(t, sk, st, live(0))
	off := int64(1)
	for _, key := range []string{"once1", "once2", "once3"} {
		// Append #0 is the new folder's index entry, #1 its data: killed.
		kill := &rvChaos{Store: st, faults: []rvFault{{"Append", 1, rvKillBefore}}}
		if _, err := sk.Write(ctx, kill, keyed([]int64{off}, []string{key})); err == nil {
			t.Fatal("the killed attempt succeeded")
		}
		off++ // the trigger gives up on it
		mustWrite(t, sk, st, live(off))
		off++
	}
	sum := mustWrite(t, sk, st, live(off))
	m := readMeta(t, st)
	var open []string
	for name := range m.Folders {
		open = append(open, name)
	}
	if len(m.Folders) > 1 {
		t.Errorf("%d folders open with WithMaxOpenFolders(1): %v; the last batch of one record cost %d requests", len(m.Folders), open, sum.Requests)
	}
	parts, err := sinktest.Read(ctx, st, "backup", topic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range parts[0].Objects {
		if o.Folder == "k=live/" {
			n++
		}
	}
	if n > 2 {
		t.Errorf("folder k=live/ got %d objects for its 5 records, one per batch: it is closed after every batch", n)
	}
}

// TestReview8FilteredFirstRecordMetaMissing: SINK_FILTER with the default
// SINK_FOLDER (or any static one). A partition's first batch starts with a
// record the filter drops; the attempt's appends land and its meta PUT
// fails; the trigger redelivers the same batch. With no meta object,
// loadMeta lists the partition and finds an object that starts after the
// batch's first offset and none exactly there (load.go: objs[0].first >=
// first && !found), as if a failed first attempt had begun later than this
// redelivery, and stops the partition with ErrMetaMissing — but the first
// object starts at the first record the filter keeps, which this batch
// holds.
func TestReview8FilteredFirstRecordMetaMissing(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 6) // offsets 10-13, 16, 17
	keep := func(r *events.Record) bool { return r.Offset != 10 }
	for _, tc := range []struct {
		name  string
		opts  []sink.Option
		dirs  []string
		retry []events.Record // the redelivery
	}{
		{"default folder/same batch", nil, nil, all},
		{"default folder/shorter batch", nil, nil, all[:1]},
		{"static folder/same batch", []sink.Option{sink.WithRouter(r8Static(t, "archive/{topic}/{partition}/"))}, []string{"archive/"}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk := newSink(t, setups[0], append([]sink.Option{sink.WithFilter(keep)}, tc.opts...)...)
			st := memstore.New()
			if _, err := sk.Write(ctx, v2FailMeta(st, 0), all); err == nil {
				t.Fatal("the attempt whose meta PUT failed succeeded")
			}
			if _, err := sk.Write(ctx, st, tc.retry); err != nil {
				t.Fatalf("redelivery of offsets %d-%d: %v", tc.retry[0].Offset, tc.retry[len(tc.retry)-1].Offset, err)
			}
			mustWrite(t, sk, st, all)
			w := sinktest.Want{Offsets: map[int32][]int64{0: offsets(all)[0][1:]}, Dirs: tc.dirs}
			if err := sinktest.CheckWith(ctx, st, "backup", topic, rawOffset, w); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func r8Static(t *testing.T, tmpl string) *route.Router {
	t.Helper()
	r, err := route.New(tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Static() {
		t.Fatalf("%s is not static", tmpl)
	}
	return r
}

// TestReview8FilteredBatchCommitsPastGivenUpAppends: SINK_FILTER with the
// default SINK_FOLDER (one folder, no announcing). An attempt appends
// 12-13 and dies before its meta PUT; the trigger gives up on the batch
// (ErrorsTolerance ALL). The next batch holds only a record the filter
// drops: it touches no object and commits past 13 (partition.go:
// m.Committed = max(m.Committed, pending[last])). The batch after it
// replays the current object's index, finds the given-up appends "at or
// below the last record known written" (folder.go, land: a.First() <=
// w.prev, with w.prev the committed offset when unrouted) and stops the
// partition with ErrConflict although nothing is wrong. Routed folders are
// protected against exactly this by comparing with the folder's own last
// offset (doc.go, "Routing"); the unrouted folder is not.
func TestReview8FilteredBatchCommitsPastGivenUpAppends(t *testing.T) {
	ctx := context.Background()
	recs := func(offs ...int64) []events.Record {
		var out []events.Record
		for _, o := range offs {
			out = append(out, rec(0, o))
		}
		return out
	}
	keep := func(r *events.Record) bool { return r.Offset != 14 }
	for _, tc := range []struct {
		name string
		opts []sink.Option
	}{
		{"append", nil},
		{"seal", []sink.Option{sink.WithFlushRecords(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, setups[0], append([]sink.Option{sink.WithFilter(keep)}, tc.opts...)...)
			mustWrite(t, sk, st, recs(10, 11))
			if _, err := sk.Write(ctx, v2FailMeta(st, 0), recs(12, 13)); err == nil {
				t.Fatal("the attempt whose meta PUT failed succeeded")
			}
			// The trigger gives up on 12-13.
			mustWrite(t, sk, st, recs(14)) // filtered out: committed 14
			if _, err := sk.Write(ctx, st, recs(15)); err != nil {
				t.Fatalf("the batch after a filtered one: %v", err)
			}
			v2AtMostOnceInOrder(t, st, "backup", topic, []int64{10, 11, 15})
		})
	}
}

// TestReview8DotSegmentsFromData: {key} (like {header:NAME} and
// {value:PATH}) puts data into a key segment, escaped so that no '/', "."
// or ".." can come from it (package route) — but a leading '.' stays. A
// record key ".oss_meta_file_partition_0" under "{topic}/{key}/" makes its
// folder the directory of the partition's own meta object, and a key
// starting with ".localstore-" a name the local store reserves. On OSS
// both work; on the local store (invoke, sinkctl consume) the partition
// stops on every retry, although the record is valid.
func TestReview8DotSegmentsFromData(t *testing.T) {
	ctx := context.Background()
	r, err := route.New("{topic}/{key}/", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{".oss_meta_file_partition_0", ".localstore-x"} {
		t.Run(key, func(t *testing.T) {
			st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			sk := newSink(t, setups[0], sink.WithRouter(r))
			recs := keyed([]int64{1, 2}, []string{"a", key})
			for attempt := 0; attempt < 2; attempt++ {
				if _, err = sk.Write(ctx, st, recs); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("record with key %q: %v", key, err)
			}
		})
	}
}

// TestReview8RecreatedTopicFiltered: the same loss without routing, with
// SINK_FILTER: the offsets the filter dropped in the old topic are gaps of
// the stored offsets, and a recreated topic whose records the filter keeps
// at those offsets (and drops at the others) is taken for records the
// trigger gave up on, every one of them.
func TestReview8RecreatedTopicFiltered(t *testing.T) {
	ctx := context.Background()
	keep := func(r *events.Record) bool { return bytes.Contains(r.Value, []byte("keep")) }
	mk := func(off int64, kept bool) events.Record {
		r := rec(0, off)
		if kept {
			r.Value = append(r.Value, "keep"...)
		}
		return r
	}
	var old, again []events.Record
	for off := int64(0); off < 40; off++ {
		old = append(old, mk(off, off%2 == 0))
		again = append(again, mk(off, off%2 == 1))
	}
	again = recreated(again)
	for i := range again {
		if again[i].Offset%2 == 1 {
			again[i].Value = append(again[i].Value, "keep"...)
		}
	}
	st := memstore.New()
	sk := newSink(t, setups[0], sink.WithFilter(keep))
	mustWrite(t, sk, st, old[:20])
	mustWrite(t, sk, st, old[20:])
	sum, err := sk.Write(ctx, st, again[2:])
	if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("records of a recreated topic at offsets 2-39 (committed offset 39), %d of them kept by the filter: err = %v, summary %+v",
			len(again[2:])/2, err, sum.Partitions[0])
	}
}

// r8HoldPut holds back the first meta PUT (returning errCut, as a request
// cut by the deadline margin), for the test to land it later.
type r8HoldPut struct {
	store.Store
	held func()
}

func (h *r8HoldPut) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if h.held == nil {
		b := append([]byte(nil), data...)
		h.held = func() { _ = h.Store.Put(context.Background(), key, b, opts...) }
		return errCut
	}
	return h.Store.Put(ctx, key, data, opts...)
}

// TestReview8LateAnnounceReopensClosedFolder: the announce PUT of a failed
// attempt lands late (after two later batches succeeded). The meta object
// it writes still names folder k=a/'s object that the later batches closed
// (and then replaced by a new object for k=a/'s next record), and the next
// record of k=a/ is appended to the closed object: k=a/ holds offsets 0, 3
// in its first object and 2 in its second — out of offset order within the
// folder. The package doc (doc.go, "The assumption") says that late
// requests only duplicate records or stop the partition; a closed object
// is "never appended to again" (doc.go, "Routing").
//
// Kept as the documented limit (doc.go, "The assumption": a late meta PUT
// can name again an object a later batch closed): each record is still
// stored once, which this test checks; the order across the folder's
// objects is what a close marker in the index would protect (not built).
func TestReview8LateAnnounceReopensClosedFolder(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := routedSink(t, sink.WithMaxOpenFolders(1))
	recs := keyed([]int64{0, 1, 2, 3}, []string{"a", "b", "a", "a"})
	mustWrite(t, sk, st, recs[0:1])
	late := &r8HoldPut{Store: st}
	if _, err := sk.Write(ctx, late, recs[1:2]); !errors.Is(err, errCut) {
		t.Fatalf("attempt whose announce PUT is held: %v", err)
	}
	mustWrite(t, sk, st, recs[1:2]) // the redelivery: k=a/ closed
	mustWrite(t, sk, st, recs[2:3]) // k=a/ opens a new object at 2
	late.held()                     // the first attempt's announce lands
	mustWrite(t, sk, st, recs[3:4])
	parts, err := sinktest.Read(ctx, st, "backup", topic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, o := range parts[0].Objects {
		for _, off := range o.Offsets {
			seen[off]++
		}
	}
	for _, r := range recs {
		if seen[r.Offset] != 1 {
			t.Fatalf("offset %d stored %d times (%v)", r.Offset, seen[r.Offset], seen)
		}
	}
}
