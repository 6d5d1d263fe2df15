package sink_test

// A timer invocation (SealIdle) racing data invocations (Write) on the
// same partition, interleaved at request boundaries by a scheduler that
// lets one request run at a time: every schedule is replayed exactly, so
// these tests are deterministic (no sleeps, no reliance on goroutine
// timing). Each ends with every record exactly once, in offset order.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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

// seqSched runs actors one store request at a time. Every request of an
// actor waits at its gate; once every live actor waits (or has ended), the
// policy picks the one whose request runs next. Only one actor runs between
// two gates, so the order of requests is the policy's alone.
type seqSched struct {
	arrive chan seqArrival
	trace  []string
}

type seqArrival struct {
	id    int
	what  string
	done  bool
	grant chan struct{}
}

// seqActor is one invocation: it issues its requests through st.
type seqActor func(st store.Store)

// run runs actors, actor i on stores[i] (behind its gate), until all end.
// pick chooses among the waiting actors (sorted by id) given how many
// requests each has run; it returns an index into waiting.
func (s *seqSched) run(actors []seqActor, stores []store.Store, pick func(waiting []seqArrival, ran []int) int) {
	s.arrive = make(chan seqArrival)
	for i, a := range actors {
		g := &seqGate{Store: stores[i], s: s, id: i}
		go func() {
			defer func() { s.arrive <- seqArrival{id: i, done: true} }()
			a(g)
		}()
	}
	live := len(actors)
	ran := make([]int, len(actors))
	waiting := map[int]seqArrival{}
	for live > 0 {
		for len(waiting) < live {
			a := <-s.arrive
			if a.done {
				live--
				continue
			}
			waiting[a.id] = a
		}
		if live == 0 {
			break
		}
		ids := slices.Sorted(func(yield func(int) bool) {
			for id := range waiting {
				if !yield(id) {
					return
				}
			}
		})
		w := make([]seqArrival, len(ids))
		for i, id := range ids {
			w[i] = waiting[id]
		}
		a := w[pick(w, ran)]
		delete(waiting, a.id)
		ran[a.id]++
		s.trace = append(s.trace, fmt.Sprintf("%d:%s", a.id, a.what))
		close(a.grant)
	}
}

// seqGate makes each request of one actor wait for its turn.
type seqGate struct {
	store.Store
	s  *seqSched
	id int
}

func (g *seqGate) wait(what string) {
	a := seqArrival{id: g.id, what: what, grant: make(chan struct{})}
	g.s.arrive <- a
	<-a.grant
}

func (g *seqGate) Get(ctx context.Context, key string) ([]byte, error) {
	g.wait("Get " + key)
	return g.Store.Get(ctx, key)
}

func (g *seqGate) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	g.wait("GetRange " + key)
	return g.Store.GetRange(ctx, key, off, n)
}

func (g *seqGate) Stat(ctx context.Context, key string) (store.Info, error) {
	g.wait("Stat " + key)
	return g.Store.Stat(ctx, key)
}

func (g *seqGate) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	g.wait("Put " + key)
	return g.Store.Put(ctx, key, data, opts...)
}

func (g *seqGate) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	g.wait("PutReader " + key)
	return g.Store.PutReader(ctx, key, r, size, opts...)
}

func (g *seqGate) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	g.wait(fmt.Sprintf("Append %s@%d", key, pos))
	return g.Store.Append(ctx, key, pos, data, opts...)
}

func (g *seqGate) List(ctx context.Context, prefix string) ([]store.Info, error) {
	g.wait("List " + prefix)
	return g.Store.List(ctx, prefix)
}

func (g *seqGate) ListPage(ctx context.Context, prefix, after string, limit int) ([]store.Info, bool, error) {
	g.wait("ListPage " + prefix)
	return g.Store.ListPage(ctx, prefix, after, limit)
}

func (g *seqGate) Delete(ctx context.Context, key string) error {
	g.wait("Delete " + key)
	return g.Store.Delete(ctx, key)
}

// idleRaceSetups: raw (appendable, sealed by the timer alone), JSONL
// compressed and sealed when full too, Parquet (staged: the timer
// finalizes), and routed JSONL (several folders, sealed by one timer run).
// idleRandomSetups adds routed Parquet (a timer run that finalizes
// several folders has too many requests for every interleaving with
// every fault; random schedules cover it).
var (
	idleRaceSetups = []setup{
		{"raw/unbounded", mustEnc("raw/text"), rawOffset, nil, nil},
		{"jsonl/gzip/records=3", mustEnc("jsonl/text;fields=offset,key,value;z=gzip-1"), rawOffset, []sink.Option{sink.WithFlushRecords(3)}, nil},
		{"parquet/unbounded", mustEnc(atkPQ), rawOffset, nil, nil},
		{"routed/jsonl", mustEnc("jsonl/text;fields=offset,key,value"), rawOffset,
			[]sink.Option{sink.WithRouter(modRouter{}), sink.WithFilter(routedKeep)}, routedKeep},
	}
	idleRandomSetups = append(idleRaceSetups[:len(idleRaceSetups):len(idleRaceSetups)],
		setup{"routed/parquet", mustEnc("parquet/text;fields=offset,key,value;z=zstd-1"), rawOffset,
			[]sink.Option{sink.WithRouter(modRouter{}), sink.WithFilter(routedKeep)}, routedKeep})
)

func idleRaceSink(t testing.TB, su setup) *sink.Sink {
	return newSink(t, su, sink.WithFlushIdle(idleD), sink.WithClock(func() time.Time { return rvBase }))
}

// idleRaceRun is one schedule: after prep (all[:4] written at rvBase),
// the timer (now = rvBase + idle: the open objects are idle) and the data
// invocation of all[4:8] run interleaved by pick, the timer's requests
// through faults. Then FC retries the timer if it failed, the next batch
// (all[8:], which has records for every folder: each replays what a
// late meta PUT left behind its index) is written and a last timer run
// seals everything; every record must be stored once, in order, nothing
// staged or left to finalize but in open objects.
type idleRaceOutcome struct {
	dataErr, timerErr error
	timer             *sink.IdlePartition
	trace             []string
}

func idleRaceRun(t *testing.T, su setup, all []events.Record, faults []rvFault, pick func([]seqArrival, []int) int) idleRaceOutcome {
	t.Helper()
	ctx := context.Background()
	sk := idleRaceSink(t, su)
	st := memstore.New()
	mustWrite(t, sk, st, all[:4])
	now := rvBase.Add(idleD)
	var out idleRaceOutcome
	ch := &rvChaos{Store: st, faults: faults}
	var s seqSched
	s.run([]seqActor{
		func(g store.Store) { out.timer, out.timerErr = sk.SealIdle(ctx, g, topic, 0, now) },
		func(g store.Store) { _, out.dataErr = sk.Write(ctx, g, all[4:8]) },
	}, []store.Store{ch, st}, pick)
	out.trace = s.trace
	what := fmt.Sprintf("faults %v, schedule %v", faults, s.trace)
	if out.dataErr != nil {
		t.Fatalf("%s: the data invocation failed: %v", what, out.dataErr)
	}
	timerFailed := out.timerErr != nil || ch.dead
	if out.timerErr != nil && !errors.Is(out.timerErr, rvErrInjected) && !errors.Is(out.timerErr, rvErrKilled) {
		t.Fatalf("%s: the timer failed: %v", what, out.timerErr)
	}
	if timerFailed {
		// FC retries the timer invocation with the same event.
		if _, err := sk.SealIdle(ctx, st, topic, 0, now); err != nil {
			t.Fatalf("%s: timer retry: %v", what, err)
		}
	}
	mustWrite(t, sk, st, all[8:])
	if _, err := sk.SealIdle(ctx, st, topic, 0, now.Add(10*idleD)); err != nil {
		t.Fatalf("%s: last timer run: %v", what, err)
	}
	atkCheckAll(t, su, st, all, nil, what)
	return out
}

// firstThen runs actor first for k requests, then the other actor to its
// end, then first to its end.
func firstThen(first, k int) func([]seqArrival, []int) int {
	return func(w []seqArrival, ran []int) int {
		want := first
		if ran[first] >= k {
			want = 1 - first
		}
		for i, a := range w {
			if a.id == want {
				return i
			}
		}
		return 0
	}
}

// TestSealIdleRacesDataInvocation interleaves the timer and a data
// invocation at every request boundary, both ways round, with no fault
// and with each request of the timer failed or killed before or after it
// takes effect.
func TestSealIdleRacesDataInvocation(t *testing.T) {
	all := stream(0, 20)
	for _, su := range idleRaceSetups {
		t.Run(su.name, func(t *testing.T) {
			// The request counts of each actor alone bound the schedules.
			solo := idleRaceRun(t, su, all, nil, firstThen(0, 1<<30))
			nTimer := 0
			for _, s := range solo.trace {
				if strings.HasPrefix(s, "0:") {
					nTimer++
				}
			}
			if len(solo.timer.Sealed) == 0 {
				t.Fatalf("the timer alone sealed nothing: %+v", solo.timer)
			}
			nData := len(solo.trace) - nTimer
			runs, raced, sealed := 0, 0, 0
			for first := 0; first < 2; first++ {
				n := []int{nTimer, nData}[first]
				for k := 0; k <= n; k++ {
					for f := -1; f < nTimer*4; f++ {
						var faults []rvFault
						if f >= 0 {
							faults = []rvFault{{"", f / 4, rvKind(f % 4)}}
						}
						out := idleRaceRun(t, su, all, faults, firstThen(first, k))
						runs++
						if out.timer != nil && len(out.timer.Raced) > 0 {
							raced++
						}
						if out.timer != nil && len(out.timer.Sealed) > 0 {
							sealed++
						}
					}
				}
			}
			t.Logf("%d schedules: the timer sealed in %d, was refused by the fence in %d", runs, sealed, raced)
			if raced == 0 || sealed == 0 {
				t.Errorf("the schedules never made the timer both win and lose the race (sealed %d, raced %d)", sealed, raced)
			}
		})
	}
}

// TestSealIdleDataReplaysTimerSeal: the timer's seal entry lands between
// the data invocation's meta GET and its first entry: the data invocation's
// entry is refused, it replays the index, finds the seal and writes the
// batch to the next object.
func TestSealIdleDataReplaysTimerSeal(t *testing.T) {
	ctx := context.Background()
	su := idleRaceSetups[0]
	all := stream(0, 14)
	sk := idleRaceSink(t, su)
	st := memstore.New()
	mustWrite(t, sk, st, all[:4])
	sealedObj := readMeta(t, st).Folders[""].Object
	var sum *sink.Summary
	var res *sink.IdlePartition
	var s seqSched
	// data: Get meta; timer: Get, seal, Get, Put meta; then data to its end.
	order := []int{1, 0, 0, 0, 0}
	s.run([]seqActor{
		func(g store.Store) { res, _ = sk.SealIdle(ctx, g, topic, 0, rvBase.Add(idleD)) },
		func(g store.Store) { sum, _ = sk.Write(ctx, g, all[4:8]) },
	}, []store.Store{st, st}, func(w []seqArrival, ran []int) int {
		step := ran[0] + ran[1]
		want := 1
		if step < len(order) {
			want = order[step]
		}
		for i, a := range w {
			if a.id == want {
				return i
			}
		}
		return 0
	})
	if res == nil || !slices.Equal(res.Sealed, []string{sealedObj}) {
		t.Fatalf("timer: %+v\n%v", res, s.trace)
	}
	if sum == nil || sum.Written != 4 || slices.Contains(sum.Partitions[0].Objects, sealedObj) {
		t.Fatalf("data: %+v\n%v", sum, s.trace)
	}
	if !slices.ContainsFunc(s.trace, func(x string) bool { return strings.HasPrefix(x, "1:GetRange") }) {
		t.Fatalf("the data invocation did not replay the index: %v", s.trace)
	}
	if m := readMeta(t, st); m.Folders[""].Records != 4 {
		t.Fatalf("meta after the data invocation: %+v", *m.Folders[""])
	}
	mustWrite(t, sk, st, all[8:])
	atkCheckAll(t, su, st, all, nil, "after")
}

// TestSealIdleLateMetaPut: the timer seals, the data invocation follows
// the seal and writes its meta object, then the timer's meta PUT lands
// and moves the state back (current object empty, older committed
// offset). The next batch replays the index from there and loses
// nothing; a timer run meanwhile changes nothing.
func TestSealIdleLateMetaPut(t *testing.T) {
	ctx := context.Background()
	for _, su := range idleRandomSetups {
		t.Run(su.name, func(t *testing.T) {
			all := stream(0, 20)
			sk := idleRaceSink(t, su)
			st := memstore.New()
			mustWrite(t, sk, st, all[:4])
			var s seqSched
			var dataErr error
			var res *sink.IdlePartition
			// timer: Get, seal(s); then the data invocation to its end;
			// then the timer's meta PUT and the rest.
			s.run([]seqActor{
				func(g store.Store) { res, _ = sk.SealIdle(ctx, g, topic, 0, rvBase.Add(idleD)) },
				func(g store.Store) { _, dataErr = sk.Write(ctx, g, all[4:8]) },
			}, []store.Store{st, st}, func(w []seqArrival, ran []int) int {
				for i, a := range w {
					// The timer stops before its first PUT until the data
					// invocation has ended.
					if a.id == 0 && (len(w) == 1 || !strings.HasPrefix(a.what, "Put ")) {
						return i
					}
				}
				for i, a := range w {
					if a.id == 1 {
						return i
					}
				}
				return 0
			})
			if dataErr != nil || res == nil || len(res.Sealed) == 0 {
				t.Fatalf("data %v, timer %+v\n%v", dataErr, res, s.trace)
			}
			m := readMeta(t, st)
			if m.Committed >= all[7].Offset {
				t.Fatalf("the timer's meta PUT did not land last (committed %d)\n%v", m.Committed, s.trace)
			}
			// A timer run on the regressed state: nothing to seal (its
			// objects have no records it knows of).
			if r := mustSealIdle(t, sk, st, rvBase.Add(10*idleD)); len(r.Sealed) != 0 {
				t.Fatalf("sealed on a regressed state: %+v", r)
			}
			mustWrite(t, sk, st, all[8:])
			mustSealIdle(t, sk, st, rvBase.Add(20*idleD))
			atkCheckAll(t, su, st, all, nil, "after")
		})
	}
}

// TestSealIdleRandomSchedules: seeded random schedules of data
// invocations (one batch in flight at a time, as the trigger delivers;
// failed batches redelivered, starting at or before the first record not
// acknowledged) and one or two timer invocations at once (racing each
// other too, some before the objects are idle), with faults on any
// request of any of them. Deterministic per seed.
func TestSealIdleRandomSchedules(t *testing.T) {
	n := rvN(400, 60)
	for _, su := range idleRandomSetups {
		t.Run(su.name, func(t *testing.T) {
			for seed := uint64(1); seed <= uint64(n); seed++ {
				idleRandomRun(t, su, seed)
			}
		})
	}
}

func idleRandomRun(t *testing.T, su setup, seed uint64) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 10))
	all := stream(0, 24)
	clk := idleClock(rvBase)
	sk := newSink(t, su, sink.WithFlushIdle(idleD), sink.WithClock(clk.now))
	st := memstore.New()
	var log []string
	fail := func(f string, a ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s\n%s", seed, fmt.Sprintf(f, a...), strings.Join(log, "\n"))
	}
	fault := func(total int) []rvFault {
		if rng.IntN(3) != 0 {
			return nil
		}
		return []rvFault{{"", rng.IntN(total), rvKind(rng.IntN(4))}}
	}
	acked := 0
	// The last six records are kept for the last, clean batch: they hold
	// records for every folder of the routed setup, whose fences settle
	// what a meta PUT landing late left behind the indexes.
	last := len(all) - 6
	for round := 0; round < 12 && acked < last; round++ {
		clk.set(rvBase.Add(time.Duration(round) * 4 * time.Minute))
		s := max(0, acked-rng.IntN(3))
		e := min(last, acked+1+rng.IntN(5))
		var actors []seqActor
		var stores []store.Store
		var chaos []*rvChaos
		var dataErr error
		timerErrs := make([]error, 1+rng.IntN(2))
		add := func(a seqActor, faults []rvFault) {
			ch := &rvChaos{Store: st, faults: faults}
			chaos = append(chaos, ch)
			actors = append(actors, a)
			stores = append(stores, ch)
		}
		add(func(g store.Store) { _, dataErr = sk.Write(ctx, g, all[s:e]) }, fault(12))
		for i := range timerErrs {
			now := clk.now().Add(time.Duration(rng.IntN(3)) * idleD / 2)
			add(func(g store.Store) { _, timerErrs[i] = sk.SealIdle(ctx, g, topic, 0, now) }, fault(12))
		}
		var sc seqSched
		sc.run(actors, stores, func(w []seqArrival, _ []int) int { return rng.IntN(len(w)) })
		log = append(log, fmt.Sprintf("round %d: batch %d-%d, %d timers, faults %v %v: data %v, timers %v\n  %v",
			round, all[s].Offset, all[e-1].Offset, len(timerErrs), chaos[0].faults, chaos[1].faults, dataErr, timerErrs, sc.trace))
		for i, err := range append([]error{dataErr}, timerErrs...) {
			if err != nil && !errors.Is(err, rvErrInjected) && !errors.Is(err, rvErrKilled) {
				fail("invocation %d: %v", i, err)
			}
		}
		if dataErr == nil && !chaos[0].dead {
			acked = e
		}
		if v := idleInvariant(ctx, st, idleStored(su, all[:acked])); v != "" {
			fail("after round %d: %s", round, v)
		}
	}
	clk.set(rvBase.Add(time.Hour))
	if _, err := sk.Write(ctx, st, all[acked:]); err != nil {
		fail("last batch: %v", err)
	}
	if _, err := sk.SealIdle(ctx, st, topic, 0, rvBase.Add(time.Hour+idleD)); err != nil {
		fail("last timer: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("seed %d:\n%s", seed, strings.Join(log, "\n"))
		}
	}()
	atkCheckAll(t, su, st, all, nil, fmt.Sprintf("seed %d", seed))
}

// idleStored returns the records of all that su stores.
func idleStored(su setup, all []events.Record) []events.Record {
	if su.stored == nil {
		return all
	}
	var out []events.Record
	for i := range all {
		if su.stored(&all[i]) {
			out = append(out, all[i])
		}
	}
	return out
}

// idleInvariant: no offset stored twice, each folder's records in offset
// order, and every acknowledged record present.
func idleInvariant(ctx context.Context, st store.Store, acked []events.Record) string {
	parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
	if err != nil {
		return "read back: " + err.Error()
	}
	seen := map[int64]bool{}
	if part := parts[0]; part != nil {
		last := map[string]int64{}
		for _, o := range part.Objects {
			if len(o.Offsets) > 0 && o.Offsets[0] != o.First {
				return fmt.Sprintf("object %s starts with offset %d", o.Key, o.Offsets[0])
			}
			for _, off := range o.Offsets {
				if seen[off] {
					return fmt.Sprintf("offset %d stored twice", off)
				}
				if l, ok := last[o.Folder]; ok && off <= l {
					return fmt.Sprintf("folder %q: offset %d after %d: out of order", o.Folder, off, l)
				}
				seen[off] = true
				last[o.Folder] = off
			}
		}
	}
	for _, r := range acked {
		if !seen[r.Offset] {
			return fmt.Sprintf("acknowledged offset %d missing", r.Offset)
		}
	}
	return ""
}

// TestSealIdleLateMetaPutUntouchedFolder: the limit of the residual
// window. A data invocation runs entirely between the timer's re-read of
// the meta object and its PUT, which then moves back a folder the next
// batches have no record for. Nothing is lost or stored twice; the folder's
// state stays behind its index (the timer reports it refused, not
// sealed) until a record for it arrives, whose fence settles it (or the
// folder is closed past WithMaxOpenFolders, which replays it first).
func TestSealIdleLateMetaPutUntouchedFolder(t *testing.T) {
	ctx := context.Background()
	su := idleRaceSetups[3] // routed/jsonl
	all := stream(0, 20)
	sk := idleRaceSink(t, su)
	st := memstore.New()
	mustWrite(t, sk, st, all[:4])
	var s seqSched
	var dataErr error
	s.run([]seqActor{
		func(g store.Store) { _, _ = sk.SealIdle(ctx, g, topic, 0, rvBase.Add(idleD)) },
		func(g store.Store) { _, dataErr = sk.Write(ctx, g, all[4:8]) },
	}, []store.Store{st, st}, func(w []seqArrival, ran []int) int {
		for i, a := range w {
			if a.id == 0 && (len(w) == 1 || !strings.HasPrefix(a.what, "Put ")) {
				return i
			}
		}
		for i, a := range w {
			if a.id == 1 {
				return i
			}
		}
		return 0
	})
	if dataErr != nil {
		t.Fatal(dataErr)
	}
	// The next batch holds no record for m=1/ (offsets 20-27: only 25,
	// which the filter drops).
	rest, m1 := all[8:14], all[14:]
	for _, r := range rest {
		if modFolder(&r) == "m=1/" && routedKeep(&r) {
			t.Fatalf("test setup: offset %d goes to m=1/", r.Offset)
		}
	}
	mustWrite(t, sk, st, rest)
	behind := readMeta(t, st).Folders["m=1/"]
	if ix, _ := st.Object(objindex.Key(behind.Object)); int64(len(ix)) <= behind.IndexSize {
		t.Fatalf("test setup: m=1/ is not behind its index (%d bytes, %+v)", len(ix), *behind)
	}
	// The timer leaves it alone: the state says its object has nothing
	// (or a seal there would be refused).
	res := mustSealIdle(t, sk, st, rvBase.Add(10*idleD))
	if slices.Contains(res.Sealed, behind.Object) {
		t.Fatalf("the folder behind its index was sealed: %+v", res)
	}
	if v := idleInvariant(ctx, st, idleStored(su, all[:8])); v != "" {
		t.Fatal(v)
	}
	// A record for the folder settles it: all exact again.
	mustWrite(t, sk, st, m1)
	mustSealIdle(t, sk, st, rvBase.Add(20*idleD))
	atkCheckAll(t, su, st, all, nil, "after a record for the folder")
}
