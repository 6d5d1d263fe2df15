package sink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// keyed returns records of partition 0 at offsets, keyed by keys[i]
// ("" = null key).
func keyed(offsets []int64, keys []string) []events.Record {
	out := make([]events.Record, len(offsets))
	for i, off := range offsets {
		out[i] = rec(0, off)
		out[i].Key, out[i].HasKey = []byte(keys[i]), keys[i] != ""
	}
	return out
}

func routedSink(t *testing.T, extra ...sink.Option) *sink.Sink {
	t.Helper()
	return newSink(t, setup{enc: format.Encoder{Format: format.JSONL}}, append([]sink.Option{sink.WithRouter(keyRouter{})}, extra...)...)
}

// TestRoutedFolderOfGivenUpBatch: an attempt stores records in a folder and
// dies; the trigger redelivers less, fails, gives up; later batches hold
// no record for that folder and commit past the object's first offset.
// The folder's next record must find the stored one (the folder was
// announced in the meta object before the first write), not write it again.
func TestRoutedFolderOfGivenUpBatch(t *testing.T) {
	ctx := context.Background()
	all := keyed([]int64{10, 11, 12, 13, 14}, []string{"a", "b", "a", "b", "a"})
	st := memstore.New()
	sk := routedSink(t)
	// Attempt 1 of 10-12: killed right after a/'s data append (10, 12).
	appends := 0
	fs := &hookStore{Store: st, before: func(method, key string) error {
		if method == "Append" && strings.Contains(key, "/k=a/partition_") {
			appends++
			return errSkipAfter
		}
		return nil
	}}
	if _, err := sk.Write(ctx, fs, all[0:3]); err == nil {
		t.Fatal("attempt 1 succeeded")
	}
	// Attempt 2, shorter (10 only), fails at its first request; the trigger
	// gives up on 10 (dead-lettered).
	if _, err := sk.Write(ctx, &faultStore{Store: st, at: 0, kind: failBefore}, all[0:1]); err == nil {
		t.Fatal("attempt 2 succeeded")
	}
	mustWrite(t, sk, st, all[1:2]) // 11 (b/): commits past 10
	mustWrite(t, sk, st, all[2:5]) // 12 (a/, stored by attempt 1), 13, 14
	w := sinktest.Want{Offsets: map[int32][]int64{0: {10, 11, 12, 13, 14}}}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, w); err != nil {
		t.Fatal(err)
	}
}

// errSkipAfter makes hookStore fail a request after it took effect.
var errSkipAfter = errors.New("injected: failed after effect")

// hookStore calls before ahead of every request: a non-nil error other
// than errSkipAfter fails the request; errSkipAfter lets it land and then
// kills the process (every later request fails).
type hookStore struct {
	store.Store
	before func(method, key string) error
	dead   bool
}

func (h *hookStore) hook(method, key string, op func() error) error {
	if h.dead {
		return errKilled
	}
	err := h.before(method, key)
	if err != nil && !errors.Is(err, errSkipAfter) {
		return err
	}
	if opErr := op(); opErr != nil {
		return opErr
	}
	if err != nil {
		h.dead = true
		return errKilled
	}
	return nil
}

func (h *hookStore) Get(ctx context.Context, key string) (b []byte, err error) {
	err = h.hook("Get", key, func() error { b, err = h.Store.Get(ctx, key); return err })
	return b, err
}

func (h *hookStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return h.hook("Put", key, func() error { return h.Store.Put(ctx, key, data, opts...) })
}

func (h *hookStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return h.hook("PutReader", key, func() error { return h.Store.PutReader(ctx, key, r, size, opts...) })
}

func (h *hookStore) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (n int64, err error) {
	err = h.hook("Append", key, func() error { n, err = h.Store.Append(ctx, key, pos, data, opts...); return err })
	return n, err
}

func (h *hookStore) Stat(ctx context.Context, key string) (i store.Info, err error) {
	err = h.hook("Stat", key, func() error { i, err = h.Store.Stat(ctx, key); return err })
	return i, err
}

// TestRoutedInvalidPolicies: a record the router cannot place goes to
// invalidRuleData/{topic}/ (folder), fails the partition writing nothing
// (fail), or is counted and committed (drop).
func TestRoutedInvalidPolicies(t *testing.T) {
	ctx := context.Background()
	recs := keyed([]int64{10, 11, 12}, []string{"a", "", "b"})
	t.Run("folder", func(t *testing.T) {
		st := memstore.New()
		sum := mustWrite(t, routedSink(t), st, recs)
		if sum.Invalid != 1 || sum.Written != 3 {
			t.Fatalf("summary %+v", sum)
		}
		if _, err := st.Stat(ctx, sink.ObjectKey("backup/", topic, "/invalidRuleData/orders/", 0, 11, 0)); err != nil {
			t.Fatalf("invalid record's object: %v (keys %v)", err, st.Keys())
		}
	})
	t.Run("fail", func(t *testing.T) {
		st := memstore.New()
		sum, err := routedSink(t, sink.WithInvalid(sink.InvalidFail)).Write(ctx, st, recs)
		if !errors.Is(err, sink.ErrUnroutable) || !strings.Contains(err.Error(), "offset 11") || !strings.Contains(err.Error(), "{key}") {
			t.Fatalf("err = %v", err)
		}
		if keys := st.Keys(); len(keys) != 0 || sum.Written != 0 {
			t.Fatalf("wrote %v (summary %+v)", keys, sum)
		}
	})
	t.Run("drop", func(t *testing.T) {
		st := memstore.New()
		sum := mustWrite(t, routedSink(t, sink.WithInvalid(sink.InvalidDrop)), st, recs)
		if sum.InvalidDropped != 1 || sum.Written != 2 || sum.Partitions[0].Committed != 12 {
			t.Fatalf("summary %+v", sum)
		}
		w := sinktest.Want{Offsets: map[int32][]int64{0: {10, 12}}, Committed: map[int32]int64{0: 12}}
		if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, w); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFilteredCommitted: filtered records are counted, committed and
// stored nowhere, also when a whole batch is filtered out; a replay of them
// is a duplicate, not evidence of a recreated topic.
func TestFilteredCommitted(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	keep := func(r *events.Record) bool { return r.Offset%2 == 0 }
	sk := newSink(t, setups[0], sink.WithFilter(keep))
	all := stream(0, 12)
	for i := 0; i < len(all); i += 3 {
		mustWrite(t, sk, st, all[i:min(len(all), i+3)])
	}
	odd := []events.Record{}
	for _, r := range all {
		if !keep(&r) {
			odd = append(odd, r)
		}
	}
	if sum := mustWrite(t, sk, st, odd); sum.Filtered != 0 || sum.Duplicates != len(odd) {
		t.Fatalf("replay of filtered records: %+v", sum)
	}
	sum := mustWrite(t, sk, st, all) // a replay of everything
	if sum.Duplicates != len(all) {
		t.Fatalf("replay: %+v", sum)
	}
	w := sinktest.Want{Offsets: map[int32][]int64{}, Committed: map[int32]int64{0: all[len(all)-1].Offset}}
	for _, r := range all {
		if keep(&r) {
			w.Offsets[0] = append(w.Offsets[0], r.Offset)
		}
	}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, rawOffset, w); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFoldersBounded: with more folders than the bound, the oldest
// close (deterministically, by their last offset); a folder's later record
// opens a new object beside the closed one; the meta object stays bounded.
func TestOpenFoldersBounded(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := routedSink(t, sink.WithMaxOpenFolders(3))
	var offs []int64
	var keys []string
	for i := 0; i < 40; i++ {
		offs = append(offs, int64(100+i))
		keys = append(keys, fmt.Sprintf("u%d", (i*7)%10)) // 10 folders, interleaved
	}
	all := keyed(offs, keys)
	for i := 0; i < len(all); i += 5 {
		sum := mustWrite(t, sk, st, all[i:i+5])
		m := readMeta(t, st)
		if len(m.Folders) > 3 {
			t.Fatalf("after batch %d: %d open folders (summary %+v)", i/5, len(m.Folders), sum)
		}
	}
	w := sinktest.Want{Offsets: offsets(all)}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, w); err != nil {
		t.Fatal(err)
	}
	parts, err := sinktest.Read(ctx, st, "backup", topic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	perFolder := map[string]int{}
	for _, o := range parts[0].Objects {
		perFolder[o.Folder]++
	}
	if perFolder["k=u0/"] < 2 {
		t.Fatalf("folder k=u0/ has %d objects: closing should have made it open a new one (%v)", perFolder["k=u0/"], perFolder)
	}
}

func readMeta(t *testing.T, st store.Store) *sink.Meta {
	t.Helper()
	b, err := st.Get(context.Background(), sink.MetaKey("backup/", topic, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sink.DecodeMeta(b, "backup/", topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRoutedRequests: a batch touching F folders that are open costs one
// index entry and one data append per folder, plus the meta GET and PUT;
// opening new folders costs one PUT more per batch.
func TestRoutedRequests(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := routedSink(t)
	var offs []int64
	var keys []string
	for i := 0; i < 40; i++ {
		offs = append(offs, int64(i))
		keys = append(keys, fmt.Sprintf("u%d", i%8))
	}
	all := keyed(offs, keys)
	first := mustWrite(t, sk, st, all[:20])
	if want := 2 + 1 + 8*2; first.Requests != want {
		t.Errorf("first batch (8 new folders): %d requests, want %d", first.Requests, want)
	}
	second := mustWrite(t, sk, st, all[20:])
	if want := 2 + 8*2; second.Requests != want {
		t.Errorf("second batch (8 open folders): %d requests, want %d", second.Requests, want)
	}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, sinktest.Want{Offsets: offsets(all)}); err != nil {
		t.Fatal(err)
	}
}

// TestRoutedReplayAndRecreated: a replay of a routed partition (the group
// reset to earliest) is all duplicates, each record checked in its own
// folder, closed folders included; a recreated topic (offsets again from
// the start, other records) stops with ErrOffsetsReset, writing nothing.
func TestRoutedReplayAndRecreated(t *testing.T) {
	ctx := context.Background()
	var offs []int64
	var keys []string
	for i := 0; i < 30; i++ {
		offs = append(offs, int64(10+i))
		keys = append(keys, []string{"a", "b", "c", "", "d"}[i%5])
	}
	all := keyed(offs, keys)
	st := memstore.New()
	sk := routedSink(t, sink.WithMaxOpenFolders(2), sink.WithFlushRecords(2))
	for i := 0; i < len(all); i += 4 {
		mustWrite(t, sk, st, all[i:min(len(all), i+4)])
	}
	sum := mustWrite(t, sk, st, all)
	if sum.Duplicates != len(all) || sum.Written != 0 {
		t.Fatalf("replay: %+v", sum)
	}
	before := st.Keys()
	again := recreated(all[:12])
	if _, err := sk.Write(ctx, st, again); !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("recreated topic: err = %v", err)
	}
	if after := st.Keys(); len(after) != len(before) {
		t.Fatalf("the refused batch wrote %d keys", len(after)-len(before))
	}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, sinktest.Want{Offsets: offsets(all)}); err != nil {
		t.Fatal(err)
	}
}

// TestManyFolders: one batch spreading a partition over a thousand folders
// (a key each), then redelivered after a failure mid-way: every record once,
// the meta object back to the bound (and small), closed folders' objects
// kept.
func TestManyFolders(t *testing.T) {
	ctx := context.Background()
	var offs []int64
	var keys []string
	for i := 0; i < 2000; i++ {
		offs = append(offs, int64(i))
		keys = append(keys, fmt.Sprintf("user-%04d", (i*7919)%1000))
	}
	all := keyed(offs, keys)
	st := memstore.New()
	sk := routedSink(t)
	// The first attempt dies after 700 requests: part of the folders written.
	if _, err := sk.Write(ctx, &faultStore{Store: st, at: 700, kind: crashAfter}, all); err == nil {
		t.Fatal("the first attempt succeeded")
	}
	sum := mustWrite(t, sk, st, all)
	if sum.Written+sum.Recovered != len(all) {
		t.Fatalf("summary %+v", sum)
	}
	m := readMeta(t, st)
	b, _ := st.Get(ctx, sink.MetaKey("backup/", topic, 0))
	if len(m.Folders) != sink.MaxOpenFolders || len(b) > 64<<10 {
		t.Fatalf("%d open folders, meta object of %d bytes", len(m.Folders), len(b))
	}
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, sinktest.Want{Offsets: offsets(all)}); err != nil {
		t.Fatal(err)
	}
	// The next batch, to closed and open folders alike.
	var more []int64
	for i := 2000; i < 2100; i++ {
		more = append(more, int64(i))
	}
	next := keyed(more, keys[:100])
	mustWrite(t, sk, st, next)
	if err := sinktest.CheckWith(ctx, st, "backup", topic, sinktest.JSONLOffset, sinktest.Want{Offsets: offsets(append(all, next...))}); err != nil {
		t.Fatal(err)
	}
}

// TestREADMERoutingExamples pins the README's routing examples: the keys
// its table shows (UTC), and the Asia/Shanghai example.
func TestREADMERoutingExamples(t *testing.T) {
	ts := time.Date(2026, 11, 24, 8, 15, 0, 0, time.UTC).UnixMilli()
	r := events.Record{Topic: "orders", Partition: 3, Offset: 1000, Timestamp: ts, Key: []byte("k"), HasKey: true,
		Value: []byte(`{"user":{"id":42}}`), Headers: []byte(`[{"key":"tenant","value":"acme"}]`)}
	for _, tc := range []struct{ template, key string }{
		{"{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", "orders/dt=2026-11-24/hh=08/partition_3_offset_1000_fcb378db"},
		{"{header:tenant}/{topic}/", "acme/orders/partition_3_offset_1000_8f49d5a1"},
		{"{topic}/user={value:user.id}/", "orders/user=42/partition_3_offset_1000_617818b8"},
		{"{topic}/p{partition}/", "orders/p3/partition_3_offset_1000_1c793fb4"},
	} {
		rt, err := route.New(tc.template, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := memstore.New()
		sk := newSink(t, setups[2], sink.WithPrefix(""), sink.WithRouter(rt))
		mustWrite(t, sk, st, []events.Record{r})
		if _, err := st.Stat(context.Background(), tc.key); err != nil {
			t.Errorf("%s: %s not written (%v): %v", tc.template, tc.key, st.Keys(), err)
		}
	}
	shanghai, err := route.LoadZone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := route.New("{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", shanghai)
	if err != nil {
		t.Fatal(err)
	}
	r.Timestamp = time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC).UnixMilli()
	if dir, err := rt.AppendFolder(nil, &r); err != nil || string(dir) != "orders/dt=2026-11-25/hh=07/" {
		t.Fatalf("Asia/Shanghai: %q %v", dir, err)
	}
}
