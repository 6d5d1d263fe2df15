package sink_test

// Idle sealing (SINK_FLUSH_IDLE): SealIdle seals the open objects whose
// last append is old enough, by a seal entry fenced like every decision,
// and finalizes the staged ones; data invocations then go on in the next
// object. The races with data invocations are in idle_race_test.go.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

const idleD = 15 * time.Minute

// idleSink is a sink of prefix "backup" in encoding enc with SINK_FLUSH_IDLE
// idleD whose clock (appended_at) is clk.
func idleSink(t testing.TB, enc string, clk *rvClock, opts ...sink.Option) *sink.Sink {
	t.Helper()
	return atkSink(t, enc, append([]sink.Option{sink.WithFlushIdle(idleD), sink.WithClock(clk.now)}, opts...)...)
}

func idleClock(at time.Time) *rvClock {
	c := &rvClock{}
	c.set(at)
	return c
}

func mustSealIdle(t *testing.T, sk *sink.Sink, st store.Store, now time.Time) *sink.IdlePartition {
	t.Helper()
	res, err := sk.SealIdle(context.Background(), st, topic, 0, now)
	if err != nil {
		t.Fatalf("SealIdle at %v: %v", now, err)
	}
	return res
}

// objectOf returns the data object holding offset off.
func objectOf(t *testing.T, st store.Store, off int64) string {
	t.Helper()
	parts, err := sinktest.Read(context.Background(), st, "backup", topic, rawOffset)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range parts[0].Objects {
		if slices.Contains(o.Offsets, off) {
			return o.Key
		}
	}
	t.Fatalf("offset %d stored nowhere", off)
	return ""
}

func TestSealIdleRaw(t *testing.T) {
	for _, enc := range []string{"raw/text", "jsonl/text;fields=offset,key,value;z=gzip-1"} {
		t.Run(enc, func(t *testing.T) {
			clk := idleClock(rvBase)
			sk := idleSink(t, enc, clk)
			st := memstore.New()
			all := stream(0, 10)
			mustWrite(t, sk, st, all[:5])
			before := readMeta(t, st)
			open := before.Folders[""]
			if !open.AppendedAt.Equal(rvBase) {
				t.Fatalf("appended_at %v, want the writer's clock %v", open.AppendedAt, rvBase)
			}

			// Not idle yet: nothing sealed, nothing written.
			res := mustSealIdle(t, sk, st, rvBase.Add(idleD-time.Second))
			if len(res.Sealed) != 0 || res.Requests != 1 {
				t.Fatalf("sealed %v with %d requests before the object was idle", res.Sealed, res.Requests)
			}

			now := rvBase.Add(idleD)
			res = mustSealIdle(t, sk, st, now)
			if !slices.Equal(res.Sealed, []string{open.Object}) || len(res.Raced) != 0 || res.Requests != 4 {
				t.Fatalf("idle: %+v, want %s sealed with GET, seal entry, GET and PUT", res, open.Object)
			}
			m := readMeta(t, st)
			cur := m.Folders[""]
			want := sink.ObjectKey("backup/", topic, "", 0, open.LastOffset+1, 0) + strings.TrimPrefix(open.Object, sink.ObjectKey("backup/", topic, "", 0, open.FirstOffset, 0))
			if m.Committed != before.Committed || m.Records != before.Records || cur.Object != want || cur.Records != 0 || !m.UpdatedAt.Equal(now) {
				t.Fatalf("after the seal: committed %d records %d current %+v; want %d, %d and %s empty", m.Committed, m.Records, *cur, before.Committed, before.Records, want)
			}
			ix, _ := st.Object(objindex.Key(open.Object))
			if len(ix) <= int(open.IndexSize) {
				t.Fatal("no seal entry in the index")
			}

			// A retry (the same triggerTime) and a later run: nothing left.
			for _, at := range []time.Time{now, now.Add(time.Hour)} {
				if res := mustSealIdle(t, sk, st, at); len(res.Sealed) != 0 || len(res.Raced) != 0 {
					t.Fatalf("second run at %v: %+v", at, res)
				}
			}

			// The next records go to the next object.
			clk.set(now.Add(time.Minute))
			mustWrite(t, sk, st, all[5:])
			if o := objectOf(t, st, all[5].Offset); o == open.Object {
				t.Fatalf("offset %d appended to the sealed object %s", all[5].Offset, o)
			}
			if err := sinktest.Check(context.Background(), st, "backup", topic, offsetFunc(enc), offsets(all)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func offsetFunc(enc string) sinktest.OffsetFunc {
	if strings.HasPrefix(enc, "jsonl") {
		return nil // indexed: the index gives the offsets
	}
	return rawOffset
}

// TestSealIdleParquet: a staged object is sealed and written as Parquet
// by the timer, without waiting for a record.
func TestSealIdleParquet(t *testing.T) {
	clk := idleClock(rvBase)
	sk := idleSink(t, atkPQ, clk)
	st := memstore.New()
	all := stream(0, 9)
	mustWrite(t, sk, st, all[:4])
	open := readMeta(t, st).Folders[""].Object
	if _, ok := st.Object(open); ok {
		t.Fatalf("%s written before it was sealed", open)
	}
	res := mustSealIdle(t, sk, st, rvBase.Add(time.Hour))
	if !slices.Equal(res.Sealed, []string{open}) || res.Finalized != 1 || res.Unfinalized != 0 {
		t.Fatalf("%+v: want %s sealed and finalized", res, open)
	}
	if _, ok := st.Object(open); !ok {
		t.Fatalf("%s not written", open)
	}
	if keys := atkKeys(st, ".oss_stage_"); len(keys) != 0 {
		t.Fatalf("staging objects left: %v", keys)
	}
	if m := readMeta(t, st); len(m.Finalize) != 0 {
		t.Fatalf("finalize list left: %+v", m.Finalize[0])
	}
	atkCheck(t, st, all[:4])
	mustWrite(t, sk, st, all[4:])
	atkCheck(t, st, all)
	if o := objectOf(t, st, all[4].Offset); o == open {
		t.Fatalf("offset %d in the sealed object", all[4].Offset)
	}
}

// TestSealIdleRoutedFolders: only the folders whose last append is old
// are sealed; the others stay open.
func TestSealIdleRoutedFolders(t *testing.T) {
	clk := idleClock(rvBase)
	sk := idleSink(t, atkPQ, clk, sink.WithRouter(modRouter{}))
	st := memstore.New()
	all := stream(0, 20)
	// The first batch opens every folder; the second, ten minutes later,
	// touches only some.
	mustWrite(t, sk, st, all[:10])
	first := readMeta(t, st)
	clk.set(rvBase.Add(10 * time.Minute))
	mustWrite(t, sk, st, all[10:12])
	touched := map[string]bool{}
	for _, r := range all[10:12] {
		touched[modFolder(&r)] = true
	}
	before := readMeta(t, st)
	var idle, busy []string
	for name, f := range before.Folders {
		switch {
		case f.Records == 0:
		case touched[name]:
			busy = append(busy, f.Object)
		default:
			idle = append(idle, f.Object)
		}
	}
	slices.Sort(idle)
	slices.Sort(busy)
	if len(idle) == 0 || len(busy) == 0 || len(first.Folders) < 3 {
		t.Fatalf("test setup: idle %v, busy %v", idle, busy)
	}
	res := mustSealIdle(t, sk, st, rvBase.Add(idleD))
	if got := slices.Sorted(slices.Values(res.Sealed)); !slices.Equal(got, idle) || res.Finalized != len(idle) || res.Folders != len(before.Folders) {
		t.Fatalf("sealed %v, finalized %d; want %v", got, res.Finalized, idle)
	}
	// Later the others are idle too.
	res = mustSealIdle(t, sk, st, rvBase.Add(10*time.Minute+idleD))
	if got := slices.Sorted(slices.Values(res.Sealed)); !slices.Equal(got, busy) || res.Finalized != len(busy) {
		t.Fatalf("second run sealed %v, want %v", got, busy)
	}
	mustWrite(t, sk, st, all[12:])
	su := setup{enc: mustEnc(atkPQ), offsetOf: rawOffset, stored: func(*events.Record) bool { return true }}
	if err := su.check(context.Background(), st, all); err != nil {
		t.Fatal(err)
	}
}

// TestSealIdleOldMeta: a meta object written before appended_at existed
// is measured from its updated_at; an object without records is never
// sealed.
func TestSealIdleOldMeta(t *testing.T) {
	clk := idleClock(rvBase)
	sk := idleSink(t, "raw/text", clk)
	st := memstore.New()
	mustWrite(t, sk, st, stream(0, 3))
	key := sink.MetaKey("backup/", topic, 0)
	data, _ := st.Object(key)
	var old []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, `"appended_at"`) {
			old = append(old, l)
		}
	}
	// The line before appended_at ends with a comma now followed by "}".
	stripped := strings.ReplaceAll(strings.Join(old, "\n"), "\",\n    }", "\"\n    }")
	if err := st.Put(context.Background(), key, []byte(stripped)); err != nil {
		t.Fatal(err)
	}
	m := readMeta(t, st)
	if !m.Folders[""].AppendedAt.IsZero() {
		t.Fatalf("appended_at still there: %s", stripped)
	}
	if res := mustSealIdle(t, sk, st, m.UpdatedAt.Add(idleD-time.Second)); len(res.Sealed) != 0 {
		t.Fatalf("sealed before updated_at + idle: %+v", res)
	}
	if res := mustSealIdle(t, sk, st, m.UpdatedAt.Add(idleD)); len(res.Sealed) != 1 {
		t.Fatalf("not sealed at updated_at + idle: %+v", res)
	}
	// Its successor has no records: never sealed, however late.
	if res := mustSealIdle(t, sk, st, m.UpdatedAt.Add(100*idleD)); len(res.Sealed) != 0 || res.Requests != 1 {
		t.Fatalf("an empty object sealed: %+v", res)
	}
}

// TestSealIdleGivenUpEntries: an attempt the trigger gave up on left an
// append in the index beyond what the meta object records: the timer does
// not seal over it (a data batch settles it first).
func TestSealIdleGivenUpEntries(t *testing.T) {
	clk := idleClock(rvBase)
	sk := idleSink(t, "raw/text", clk)
	st := memstore.New()
	all := stream(0, 8)
	mustWrite(t, sk, st, all[:3])
	// The next batch's appends land, its meta PUT fails.
	ch := &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvFailBefore}}}
	if _, err := sk.Write(context.Background(), ch, all[3:5]); !errors.Is(err, rvErrInjected) {
		t.Fatalf("want the injected failure, got %v", err)
	}
	m := readMeta(t, st)
	res := mustSealIdle(t, sk, st, rvBase.Add(time.Hour))
	if len(res.Sealed) != 0 || !slices.Equal(res.Raced, []string{m.Folders[""].Object}) {
		t.Fatalf("%+v: want the object reported raced, not sealed", res)
	}
	if after := readMeta(t, st); after.UpdatedAt != m.UpdatedAt {
		t.Fatal("the meta object was written")
	}
	// Given up on: the trigger goes on after it.
	mustWrite(t, sk, st, all[5:])
	if err := sinktest.Check(context.Background(), st, "backup", topic, rawOffset, offsets(all)); err != nil {
		t.Fatal(err)
	}
}

// TestSealIdleRetryConverges fails or kills each request of a timer run
// that seals a staged object (before and after it takes effect), then
// retries it with the same time: the outcome is that of a clean run.
func TestSealIdleRetryConverges(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	prep := func() (*sink.Sink, *memstore.Store) {
		sk := idleSink(t, atkPQ, idleClock(rvBase))
		st := memstore.New()
		mustWrite(t, sk, st, all[:4])
		return sk, st
	}
	now := rvBase.Add(time.Hour)
	sk, st := prep()
	counter := &rvChaos{Store: st}
	mustSealIdle(t, sk, counter, now)
	n := counter.total
	for i := 0; i < n; i++ {
		for kind := rvFailBefore; kind <= rvKillAfter; kind++ {
			sk, st := prep()
			ch := &rvChaos{Store: st, faults: []rvFault{{"", i, kind}}}
			_, err := sk.SealIdle(ctx, ch, topic, 0, now)
			what := kind.String() + " at " + ch.trace[min(i, len(ch.trace)-1)]
			if err != nil && !errors.Is(err, rvErrInjected) && !errors.Is(err, rvErrKilled) {
				t.Fatalf("%s: %v", what, err)
			}
			res, err := sk.SealIdle(ctx, st, topic, 0, now)
			if err != nil {
				t.Fatalf("%s: retry: %v", what, err)
			}
			m := readMeta(t, st)
			if len(m.Finalize) != 0 || m.Folders[""].Records != 0 || len(atkKeys(st, ".oss_stage_")) != 0 {
				t.Fatalf("%s: retry %+v left finalize %v, current %+v, stages %v", what, res, m.Finalize, *m.Folders[""], atkKeys(st, ".oss_stage_"))
			}
			mustWrite(t, sk, st, all[4:])
			atkCheck(t, st, all)
		}
	}
}

// TestSealIdleTopicsListing: the partitions are found by a paged listing
// of the topic's meta objects only; look-alike names are not partitions.
func TestSealIdleTopicsListing(t *testing.T) {
	ctx := context.Background()
	clk := idleClock(rvBase)
	sk := idleSink(t, "raw/text", clk)
	st := memstore.New()
	var recs []events.Record
	for p := int32(0); p < 5; p++ {
		recs = append(recs, stream(p, 2)...)
	}
	mustWrite(t, sk, st, recs)
	for _, k := range []string{"backup/orders/.oss_meta_file_partition_3.bak", "backup/orders/.oss_meta_file_partition_07", "backup/other/.oss_meta_file_partition_0"} {
		if err := st.Put(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	pg := &idlePager{Store: st}
	sum, err := sk.SealIdleTopics(ctx, pg, []string{topic}, rvBase.Add(idleD))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Partitions != 5 || sum.Sealed != 5 || sum.Raced != 0 || sum.Errors != 0 || len(sum.Details) != 5 {
		t.Fatalf("%+v", sum)
	}
	if pg.pages < 3 || slices.ContainsFunc(pg.prefixes, func(p string) bool { return p != "backup/orders/.oss_meta_file_partition_" }) {
		t.Fatalf("listed %d pages of %v", pg.pages, pg.prefixes)
	}
	// Off: an error saying so, nothing requested.
	off := atkSink(t, "raw/text")
	pg.pages = 0
	if _, err := off.SealIdleTopics(ctx, pg, []string{topic}, rvBase); !errors.Is(err, sink.ErrIdleOff) || pg.pages != 0 {
		t.Fatalf("off: %v after %d pages", err, pg.pages)
	}
}

// idlePager lists two objects a page.
type idlePager struct {
	store.Store
	pages    int
	prefixes []string
}

func (p *idlePager) ListPage(ctx context.Context, prefix, after string, _ int) ([]store.Info, bool, error) {
	p.pages++
	p.prefixes = append(p.prefixes, prefix)
	return p.Store.ListPage(ctx, prefix, after, 2)
}

func TestFlushIdleValidated(t *testing.T) {
	for d, ok := range map[time.Duration]bool{0: true, time.Minute: true, 15 * time.Minute: true, sink.MaxFlushIdle: true,
		30 * time.Second: false, -time.Minute: false, sink.MaxFlushIdle + time.Second: false} {
		if _, err := sink.New(sink.WithFlushIdle(d)); (err == nil) != ok {
			t.Errorf("WithFlushIdle(%v): %v", d, err)
		}
	}
}
