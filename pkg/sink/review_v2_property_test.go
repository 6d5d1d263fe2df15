package sink_test

// Randomized schedules for protocol version 2, beyond review_property_test:
//
//   - ErrorsTolerance ALL: the trigger gives up on a batch after 1-3 failed
//     attempts (whatever they stored) and moves on to the records after it,
//     also on the first batch of a partition;
//   - SINK_FORMAT, SINK_FLUSH_RECORDS/BYTES/INTERVAL changed between any two
//     attempts, also while a batch is failing;
//   - the meta object deleted between invocations (it must be rebuilt);
//   - a partition in epoch 1 (after new-epoch), or upgraded from meta v1
//     (legacy objects without index);
//   - identical raw values (bytes that do not tell offsets apart), values
//     holding '\n', small read chunks (every recovery read bounded by it);
//   - and, unlike the older suites, an error that wraps a permanent sentinel
//     (ErrConflict, ErrOffsetsReset, ErrMetaMissing, ErrMetaInvalid) is a
//     violation even when it also wraps the injected fault: under these
//     schedules nothing is ever wrong with the state, so a permanent error
//     is a false stop.
//
// Redeliveries start at or before the first unacknowledged record, but not
// before the end of the last dead-lettered batch (reachBack lifts that,
// see TestReviewV2RedeliveryIntoDeadLetteredBatch*: it fails), nor, with
// a legacy start, before the first record written after the upgrade (see
// TestReviewV2LegacyRawGapsRedeliveryOffsetsReset and ...FormatChanged...).
//
// On f8f2146 these fail, and only by the findings reproduced one by one in
// review_v2_repro_test.go: with those tolerated, 1500 schedules of each
// (120 over OSS) pass.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

type v2Params struct {
	dlq       bool // ErrorsTolerance ALL
	settings  bool // format and flush settings change between any two attempts
	metaLoss  bool // the meta object is deleted now and then
	epoch     bool // the partition is in epoch 1
	legacy    bool // the partition starts from a meta v1 state
	identical bool // raw values all the same
	reachBack bool // redeliveries may reach into dead-lettered batches (known to fail)
	// routed: records go to folders by key (null keys to invalidRuleData/
	// or dropped), some are filtered out, and few folders stay open.
	routed bool
}

// v2MaxRead records the largest ranged read.
type v2MaxRead struct {
	store.Store
	mu  sync.Mutex
	max int64
}

func (r *v2MaxRead) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r.mu.Lock()
	r.max = max(r.max, n)
	r.mu.Unlock()
	return r.Store.GetRange(ctx, key, off, n)
}

// v2OwnFaults: the faults a store injects itself (the osstest server).
type v2OwnFaults struct {
	expected func(error) bool // its injected errors
	set      func(on bool)
}

type v2Trigger struct {
	acked    int // index of the first unacknowledged record
	floor    int // no redelivery starts before this index
	s, e     int // the batch in flight (e > s: one has failed)
	fails    int
	giveUp   int
	dead     map[int64]bool
	lastDead bool // the last batch was given up on
}

func v2Simulate(t *testing.T, seed uint64, p v2Params) (log []string, violation string) {
	return v2SimulateOn(t, seed, p, memstore.New(), nil)
}

// v2SimulateOn runs one seeded schedule on st (empty). A store with faults
// of its own passes its errors as expected (they count as injected) and a
// switch that turns its faults off while the test reads back.
func v2SimulateOn(t *testing.T, seed uint64, p v2Params, mem store.Store, own *v2OwnFaults) (log []string, violation string) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x5eed+seed))
	logf := func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }

	// One partition (the older suites cover several): records with gaps,
	// timestamps 0-40s apart, values naming their offset.
	n := 15 + rng.IntN(30)
	var stream []events.Record
	off := int64(10 + rng.IntN(5))
	ts := int64(1_764_000_000_000)
	for i := 0; i < n; i++ {
		r := rec(0, off)
		r.Timestamp = ts
		switch {
		case p.identical:
			r.Value = []byte("same")
		case !p.legacy && rng.IntN(8) == 0:
			r.Value = append(r.Value, "\nsecond line"...)
		}
		if p.routed {
			r.Key, r.HasKey = []byte([]string{"a", "b", "c", "d"}[rng.IntN(4)]), rng.IntN(7) > 0
			if rng.IntN(6) == 0 {
				r.Value = append(r.Value, "#skip"...)
			}
		}
		stream = append(stream, r)
		off++
		if rng.IntN(4) == 0 {
			off += int64(1 + rng.IntN(3))
		}
		ts += int64(rng.IntN(40_000))
	}
	offsetOf := sinktest.OffsetFunc(rvAnyOffset)
	if p.identical {
		offsetOf = nil // the index gives the offsets
	}

	type cfg struct {
		enc            int
		records, bytes int64
		interval       time.Duration
		chunk          int
		folders        int
		invalid        sink.InvalidPolicy
	}
	pick := func() cfg {
		c := cfg{
			enc:      rng.IntN(len(rvEncoders)),
			records:  []int64{0, 1, 2, 3, 5}[rng.IntN(5)],
			bytes:    []int64{1, 40, 120, 400, 1 << 20}[rng.IntN(5)],
			interval: []time.Duration{0, 30 * time.Second, 2 * time.Minute}[rng.IntN(3)],
			chunk:    []int{7, 64, 1 << 20}[rng.IntN(3)],
			folders:  []int{1, 2, 3, 100}[rng.IntN(4)],
		}
		if rng.IntN(3) == 0 {
			c.invalid = sink.InvalidDrop
		}
		if p.identical || p.legacy {
			c.enc = 0 // raw
		}
		return c
	}
	cur := pick()
	// Routed schedules keep SINK_INVALID and the filter fixed (a change of
	// either changes where records belong), and the bound on open folders
	// changes with the other settings.
	invalid := cur.invalid
	mk := func(c cfg) *sink.Sink {
		opts := []sink.Option{sink.WithPrefix("backup"), sink.WithEncoder(rvEncoders[c.enc]), sink.WithConcurrency(1),
			sink.WithFlushRecords(c.records), sink.WithFlushBytes(c.bytes), sink.WithFlushInterval(c.interval),
			sink.WithReadChunk(c.chunk), sink.WithClock(func() time.Time { return rvBase })}
		if p.routed {
			opts = append(opts, sink.WithRouter(keyRouter{}), sink.WithFilter(keepUnmarked), sink.WithInvalid(invalid), sink.WithMaxOpenFolders(c.folders))
		}
		sk, err := sink.New(opts...)
		if err != nil {
			panic(err)
		}
		return sk
	}
	logf("seed %d: %d records %v, %+v, first settings %+v", seed, n, rvOffsets(stream), p, cur)

	// stored says whether the settings store a record at all.
	stored := func(r *events.Record) bool {
		return !p.routed || keepUnmarked(r) && (r.HasKey || invalid == sink.InvalidFolder)
	}
	folderOf := func(*events.Record) string { return "" }
	if p.routed {
		folderOf = keyFolder
	}
	st := &v2MaxRead{Store: mem}
	if own == nil {
		own = &v2OwnFaults{expected: func(error) bool { return false }, set: func(bool) {}}
	}
	tr := &v2Trigger{dead: map[int64]bool{}}
	metaKey := sink.MetaKey("backup/", topic, 0)
	switch {
	case p.epoch:
		old := recreated(stream[:5+rng.IntN(10)])
		if _, err := mk(cur).Write(ctx, mem, old); err != nil {
			t.Fatal(err)
		}
		if _, err := sink.StartEpoch(ctx, mem, "backup", topic, 0, "recreated", rvBase); err != nil {
			t.Fatal(err)
		}
	case p.legacy:
		k := 3 + rng.IntN(8)
		if _, err := mk(cur).Write(ctx, mem, stream[:k]); err != nil {
			t.Fatal(err)
		}
		fixture.Downgrade(t, mem, "backup/", topic, 0)
		tr.acked, tr.floor = k, k
		logf("legacy state with %d records", k)
	}

	faultyInvs := 6 + rng.IntN(20)
	for inv := 0; inv < 300 && (tr.acked < len(stream) || tr.e > tr.acked); inv++ {
		// The trigger: redeliver the failed batch (or give up on it), or
		// deliver the next one.
		if tr.e > tr.acked && p.dlq && tr.fails >= tr.giveUp {
			for _, r := range stream[tr.acked:tr.e] {
				tr.dead[r.Offset] = true
			}
			logf("   trigger gives up on %d-%d", stream[tr.acked].Offset, stream[tr.e-1].Offset)
			tr.acked, tr.e, tr.fails, tr.lastDead = tr.e, 0, 0, true
			if !p.reachBack {
				tr.floor = tr.acked
			}
			if tr.acked >= len(stream) {
				break
			}
		}
		var s, e int
		if tr.e > tr.acked {
			s = tr.acked - rng.IntN(min(tr.acked-tr.floor, 4)+1)
			if rng.IntN(6) == 0 {
				s = tr.floor + rng.IntN(tr.acked-tr.floor+1)
			}
			e = min(len(stream), tr.acked+1+rng.IntN(8))
		} else {
			s = tr.acked
			e = min(len(stream), tr.acked+1+rng.IntN(8))
			tr.giveUp = 1 + rng.IntN(3)
		}
		tr.s = s
		if p.settings && rng.IntN(3) == 0 {
			cur = pick()
			logf("   settings now %+v", cur)
		}
		if p.metaLoss && rng.IntN(12) == 0 {
			_ = mem.Delete(ctx, metaKey)
			logf("   meta object deleted")
		}
		var faults []rvFault
		if inv < faultyInvs && rng.IntN(10) < 7 {
			methods := []string{"", "", "Get", "Put", "Append", "Append", "Append", "Stat", "GetRange", "List"}
			for k := 0; k < 1+rng.IntN(3); k++ {
				faults = append(faults, rvFault{methods[rng.IntN(len(methods))], rng.IntN(12), rvKind(rng.IntN(4))})
			}
		}
		batch := slices.Clone(stream[s:e])
		if rng.IntN(6) == 0 { // repeated records inside the batch
			batch = append(batch, batch[rng.IntN(len(batch))])
		}
		ch := &rvChaos{Store: st, faults: faults}
		sum, err := mk(cur).Write(ctx, ch, batch)
		logf("inv %d: %d-%d faults %v -> %v", inv, stream[s].Offset, stream[e-1].Offset, faults, err)
		if err != nil {
			logf("   requests: %s", strings.Join(ch.trace, "; "))
		}
		switch {
		case err == nil:
			tr.acked, tr.e, tr.fails, tr.lastDead = max(tr.acked, e), 0, 0, false
			_ = sum
		case p.reachBack && (v2ReachBackLimit(err, tr.dead) || r8MetaMissingReachBack(err, tr.dead)):
			// The documented limit (doc.go, "The assumption"): a redelivery
			// that reaches back before every stored record, into a batch the
			// trigger gave up on, cannot be told from records the sink never
			// saw, and stops the partition rather than drop them.
			logf("   stopped at the documented reach-back limit")
			return log, ""
		case v2Permanent(err):
			return log, "permanent error: " + err.Error()
		case errors.Is(err, rvErrInjected) || errors.Is(err, rvErrKilled) || own.expected(err):
			if tr.e <= tr.acked {
				tr.e = e
			}
			tr.e = max(tr.e, e)
			tr.fails++
		default:
			return log, "unexpected error: " + err.Error()
		}
		own.set(false)
		v := v2Invariant(ctx, mem, stream, tr, offsetOf, stored, folderOf)
		own.set(true)
		if v != "" {
			return log, v
		}
		if limit := int64(cur.chunk); st.max > limit && !(p.legacy && st.max == limit+1) {
			return log, fmt.Sprintf("a ranged read of %d bytes, read chunk %d", st.max, limit)
		}
		st.max = 0
	}
	own.set(false)
	if tr.acked < len(stream) {
		return log, "not every record acknowledged after 300 invocations"
	}
	if v := v2Invariant(ctx, mem, stream, tr, offsetOf, stored, folderOf); v != "" {
		return log, v
	}
	if !tr.lastDead {
		// The last batch succeeded: the state accounts for every record.
		parts, err := sinktest.Read(ctx, mem, "backup", topic, offsetOf)
		if err != nil {
			return log, "read back: " + err.Error()
		}
		var nStored int64
		if parts[0] != nil {
			for _, o := range parts[0].Objects {
				nStored += int64(len(o.Offsets))
			}
		}
		if parts[0] == nil {
			return log, "nothing stored after a successful batch"
		}
		m := parts[0].Meta
		if m == nil {
			return log, "no meta object after a successful batch (see TestReviewV2RebuiltStateNotWritten)"
		}
		// (Routed, a batch the trigger gave up on may leave records in an
		// object of a folder no later record went to: stored once, and
		// not in the count.)
		if m.Committed != stream[len(stream)-1].Offset || m.Records != nStored && !(p.routed && p.dlq && m.Records < nStored) {
			return log, fmt.Sprintf("meta object %+v, want committed %d and %d records", m, stream[len(stream)-1].Offset, nStored)
		}
	}
	return log, ""
}

// v2Invariant: nothing stored twice, in order within each folder (and in
// the folder its key names), every acknowledged record that was not
// dead-lettered present, unless the settings store it nowhere.
func v2Invariant(ctx context.Context, st store.Store, stream []events.Record, tr *v2Trigger, offsetOf sinktest.OffsetFunc, stored func(*events.Record) bool, folderOf func(*events.Record) string) string {
	parts, err := sinktest.Read(ctx, st, "backup", topic, offsetOf)
	if err != nil {
		return "read back: " + err.Error()
	}
	seen := map[int64]bool{}
	byOffset := map[int64]*events.Record{}
	for i := range stream {
		byOffset[stream[i].Offset] = &stream[i]
	}
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
					return fmt.Sprintf("offset %d after %d in folder %q: out of order", off, l, o.Folder)
				}
				r := byOffset[off]
				if r == nil || !stored(r) {
					return fmt.Sprintf("offset %d stored, but the settings store it nowhere", off)
				}
				if want := folderOf(r); o.Folder != want {
					return fmt.Sprintf("offset %d in folder %q, want %q", off, o.Folder, want)
				}
				seen[off], last[o.Folder] = true, off
			}
		}
	}
	for _, r := range stream[:tr.acked] {
		if !seen[r.Offset] && !tr.dead[r.Offset] && stored(&r) {
			return fmt.Sprintf("acknowledged offset %d missing", r.Offset)
		}
	}
	return ""
}

// keyRouter routes by key into {topic}/k={key}/ (a null key cannot be
// routed); the real templates are package route's (see route_test.go).
type keyRouter struct{}

func (keyRouter) AppendFolder(dst []byte, r *events.Record) ([]byte, error) {
	if !r.HasKey {
		return dst, errors.New("{key}: key is null")
	}
	return append(append(append(append(dst, r.Topic...), "/k="...), r.Key...), '/'), nil
}

func (keyRouter) Static() bool { return false }

func keyFolder(r *events.Record) string {
	if !r.HasKey {
		return sink.FolderName(r.Topic, sink.InvalidDir(r.Topic))
	}
	return "k=" + string(r.Key) + "/"
}

func keepUnmarked(r *events.Record) bool { return !strings.Contains(string(r.Value), "#skip") }

func v2Run(t *testing.T, p v2Params, n int) {
	t.Helper()
	bad := 0
	var first []string
	var firstV string
	for seed := uint64(1); seed <= uint64(n); seed++ {
		log, v := v2Simulate(t, seed, p)
		if v != "" {
			bad++
			if first == nil || len(log) < len(first) {
				first, firstV = log, v
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d schedules violate the guarantee; shortest: %s\n%s", bad, n, firstV, strings.Join(first, "\n"))
	}
}

func TestReviewV2PropertyRouted(t *testing.T) {
	v2Run(t, v2Params{routed: true, settings: true}, rvN(200, 40))
}

func TestReviewV2PropertyRoutedDeadLetter(t *testing.T) {
	v2Run(t, v2Params{routed: true, dlq: true, settings: true}, rvN(200, 40))
}

func TestReviewV2PropertyDeadLetter(t *testing.T) {
	v2Run(t, v2Params{dlq: true}, rvN(200, 40))
}

func TestReviewV2PropertySettingsWhilePending(t *testing.T) {
	v2Run(t, v2Params{settings: true}, rvN(200, 40))
}

func TestReviewV2PropertyDeadLetterSettings(t *testing.T) {
	v2Run(t, v2Params{dlq: true, settings: true}, rvN(200, 40))
}

func TestReviewV2PropertyMetaLoss(t *testing.T) {
	v2Run(t, v2Params{dlq: true, settings: true, metaLoss: true}, rvN(200, 40))
}

func TestReviewV2PropertyEpoch(t *testing.T) {
	v2Run(t, v2Params{dlq: true, settings: true, epoch: true}, rvN(150, 30))
}

func TestReviewV2PropertyLegacy(t *testing.T) {
	v2Run(t, v2Params{dlq: true, legacy: true}, rvN(150, 30))
}

func TestReviewV2PropertyIdenticalValues(t *testing.T) {
	v2Run(t, v2Params{dlq: true, identical: true, metaLoss: true}, rvN(150, 30))
}

// TestReviewV2PropertyOSS: the dead-letter, settings and meta-loss
// schedules over the real OSS protocol (the SDK through ossstore, with its
// retries, against osstest failing requests before and after they take
// effect).
// TestReviewV2PropertyReachBack: redeliveries may start inside a batch the
// trigger gave up on (see TestReviewV2RedeliveryIntoDeadLetteredBatch*).
func TestReviewV2PropertyReachBack(t *testing.T) {
	v2Run(t, v2Params{dlq: true, reachBack: true, settings: true}, rvN(150, 30))
}

func TestReviewV2PropertyOSS(t *testing.T) {
	n := rvN(24, 6)
	for seed := uint64(1); seed <= uint64(n); seed++ {
		srv, st, set := rvOSS(t, seed, 0.03)
		own := &v2OwnFaults{expected: func(err error) bool { return strings.Contains(err.Error(), "osstest: injected") }, set: set}
		p := v2Params{dlq: true, settings: seed%2 == 0, metaLoss: seed%3 == 0}
		log, v := v2SimulateOn(t, seed, p, st, own)
		srv.Close()
		if v != "" {
			t.Errorf("seed %d: %s\n%s", seed, v, strings.Join(log, "\n"))
		}
	}
}

var v2ReachBackOffset = regexp.MustCompile(`the one at offset (\d+) is not stored: it precedes every data object`)

// v2ReachBackLimit reports whether err is ErrOffsetsReset for a record the
// trigger gave up on that precedes every stored record.
func v2ReachBackLimit(err error, dead map[int64]bool) bool {
	m := v2ReachBackOffset.FindStringSubmatch(fmt.Sprint(err))
	if !errors.Is(err, sink.ErrOffsetsReset) || m == nil {
		return false
	}
	off, _ := strconv.ParseInt(m[1], 10, 64)
	return dead[off]
}
