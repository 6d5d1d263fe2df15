package sink_test

// StartEpoch after a batch the trigger gave up on (ErrorsTolerance ALL):
// the open staged object's index holds more than the meta object records,
// and no batch of the recreated topic can succeed to bring the state up to
// it, so StartEpoch replays the index itself, adopts what landed into the
// ended epoch, and seals after it.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// epGivenUp is how the batch the trigger gives up on fails.
type epGivenUp struct {
	name   string
	faults []rvFault
	// landed: its records are stored (its appends landed).
	landed bool
}

var epGivenUps = []epGivenUp{
	// None: the control (the index is as recorded).
	{"none", nil, false},
	// Appends landed, the meta PUT failed.
	{"meta-put-failed", []rvFault{{"Put", 0, rvFailBefore}}, true},
	// Appends landed, the invocation was killed before its meta PUT.
	{"killed-before-meta-put", []rvFault{{"Put", 0, rvKillBefore}}, true},
	// The first append's index entry landed, its data append failed:
	// announced only, nothing landed.
	{"announced-only", []rvFault{{"Append", 1, rvFailBefore}}, false},
}

// epSetup is an encoding and settings, with the offsets of the first
// batch (written cleanly) and of the batch given up on.
type epSetup struct {
	name     string
	su       setup
	ok, gone [2]int // all[ok[0]:ok[1]] acknowledged, all[gone[0]:gone[1]] given up on
	// then: the settings from the batch given up on onwards (SINK_FORMAT
	// changed), if not su.
	then *setup
	// unadopted: StartEpoch leaves the object open in the ended epoch
	// (not staged), and its history counts the acknowledged records only
	// (out of scope: the records that landed are stored, once, but not
	// counted).
	unadopted bool
}

func epSetups() []epSetup {
	pq := func(id string, opts ...sink.Option) setup {
		return setup{name: id, enc: mustEnc(id), offsetOf: rawOffset, opts: opts}
	}
	return []epSetup{
		{name: "parquet", su: pq(atkPQ), ok: [2]int{0, 4}, gone: [2]int{4, 7}},
		// The batch given up on fills the object (5 records) and seals it,
		// and goes on in the next object: a chain to replay.
		{name: "parquet/full", su: pq("parquet/text;fields=offset,value", sink.WithFlushRecords(5)), ok: [2]int{0, 3}, gone: [2]int{3, 9}},
		// The object the meta object records as open, after an eager seal,
		// has no records: the batch given up on is its first.
		{name: "parquet/full-at-boundary", su: pq("parquet/text;fields=offset,value", sink.WithFlushRecords(5)), ok: [2]int{0, 5}, gone: [2]int{5, 8}},
		// The batch given up on fills the object exactly: its eager seal
		// names an object nothing was written to.
		{name: "parquet/filled-exactly", su: pq("parquet/text;fields=offset,value", sink.WithFlushRecords(5)), ok: [2]int{0, 3}, gone: [2]int{3, 5}},
		// Routed: several open staged folders, each replayed (in name
		// order) and sealed; records filtered out are stored nowhere.
		{name: "parquet/routed", su: setup{name: "routed", enc: mustEnc(atkPQ), offsetOf: rawOffset,
			opts: []sink.Option{sink.WithRouter(modRouter{}), sink.WithFilter(routedKeep)}, stored: routedKeep}, ok: [2]int{0, 4}, gone: [2]int{4, 8}},
		// SINK_FORMAT changed to jsonl: the batch given up on seals the
		// Parquet object and goes on in a jsonl one, which StartEpoch
		// leaves open (not staged), its records adopted.
		{name: "parquet/then-jsonl", su: pq(atkPQ), then: &setup{name: "jsonl", enc: mustEnc("jsonl/text;fields=offset,value"), offsetOf: rawOffset},
			ok: [2]int{0, 4}, gone: [2]int{4, 7}},
		// Not staged: StartEpoch seals nothing; the records that landed
		// stay in the ended epoch's open object, which its index splits.
		{name: "raw", su: setup{name: "raw", offsetOf: rawOffset}, ok: [2]int{0, 4}, gone: [2]int{4, 7}, unadopted: true},
		{name: "jsonl", su: setup{name: "jsonl", enc: mustEnc("jsonl/text;fields=offset,value"), offsetOf: rawOffset}, ok: [2]int{0, 4}, gone: [2]int{4, 7}, unadopted: true},
	}
}

// epPrepare writes the acknowledged batch, then the batch given up on, and
// checks that the recreated topic is refused. It returns the offsets the
// ended epoch must hold.
func epPrepare(t *testing.T, es epSetup, g epGivenUp, st *memstore.Store, all []events.Record) []int64 {
	t.Helper()
	ctx := context.Background()
	sk := newSink(t, es.su)
	mustWrite(t, sk, st, all[es.ok[0]:es.ok[1]])
	if es.then != nil {
		sk = newSink(t, *es.then)
	}
	if g.faults != nil {
		if _, err := sk.Write(ctx, &rvChaos{Store: st, faults: g.faults}, all[es.gone[0]:es.gone[1]]); err == nil {
			t.Fatal("the batch to give up on did not fail")
		}
	}
	// The trigger gives up on it; the topic is recreated.
	if _, err := sk.Write(ctx, st, recreated(all[:3])); !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("recreated topic: %v, want ErrOffsetsReset", err)
	}
	to := es.ok[1]
	if g.landed {
		to = es.gone[1]
	}
	return epStored(es, all[:to])
}

// epStored returns the offsets of recs that es stores.
func epStored(es epSetup, recs []events.Record) []int64 {
	var out []int64
	for i := range recs {
		if es.su.stored == nil || es.su.stored(&recs[i]) {
			out = append(out, recs[i].Offset)
		}
	}
	return out
}

// epFinish writes the recreated topic's records in the new epoch (two
// batches) and checks everything: the new epoch holds them exactly once,
// the ended epoch exactly older (in written objects, nothing left staged
// or to finalize), its history entry counts them, and verify finds no
// defect.
func epFinish(t *testing.T, es epSetup, st *memstore.Store, all []events.Record, older []int64, what string) {
	t.Helper()
	su := es.su
	if es.then != nil {
		su = *es.then
	}
	sk := newSink(t, su)
	fresh := recreated(all[:6])
	mustWrite(t, sk, st, fresh[:3])
	mustWrite(t, sk, st, fresh[3:])
	atkCheckAll(t, su, st, fresh, older, what)
	var known []verify.Code
	if es.unadopted {
		acked := epStored(es, all[es.ok[0]:es.ok[1]])
		if len(older) > len(acked) {
			// (The limit out of scope here: verify sees the records that
			// landed past the ended epoch's recorded counts.)
			known = []verify.Code{verify.CodeCommittedMismatch, verify.CodeRecordsMismatch}
		}
		older = acked
	}
	epCheckHistory(t, st, older, known, what)
}

// epCheckHistory: the meta object is of epoch 1, whose history says epoch
// 0 ended with the last of older committed and len(older) records, and
// verify agrees (but for the known defects).
func epCheckHistory(t *testing.T, st *memstore.Store, older []int64, known []verify.Code, what string) {
	t.Helper()
	ctx := context.Background()
	data, err := st.Get(ctx, sink.MetaKey("backup/", topic, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sink.DecodeMeta(data, "backup/", topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 1 || len(m.Epochs) != 1 {
		t.Fatalf("%s: epoch %d, history %+v: want epoch 1 after one ended", what, m.Epoch, m.Epochs)
	}
	if e := m.Epochs[0]; e.Committed != older[len(older)-1] || e.Records != int64(len(older)) {
		t.Fatalf("%s: ended epoch committed %d, %d records; want %d, %d", what, e.Committed, e.Records, older[len(older)-1], len(older))
	}
	rep, err := verify.Run(ctx, st, verify.WithPrefix("backup"), verify.WithTopics(topic))
	if err != nil {
		t.Fatalf("%s: verify: %v", what, err)
	}
	for _, d := range rep.AllDefects() {
		if !slices.Contains(known, d.Code) {
			t.Fatalf("%s: verify: %v\nkeys: %v", what, rep.AllDefects(), st.Keys())
		}
	}
}

// TestEpochAfterGivenUpBatch: every setup, every way the batch given up
// on fails; StartEpoch runs once, cleanly.
func TestEpochAfterGivenUpBatch(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 12)
	for _, es := range epSetups() {
		for _, g := range epGivenUps {
			t.Run(es.name+"/"+g.name, func(t *testing.T) {
				st := memstore.New()
				older := epPrepare(t, es, g, st, all)
				if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
					t.Fatalf("StartEpoch: %v", err)
				}
				epFinish(t, es, st, all, older, "")
			})
		}
	}
}

// TestEpochAfterGivenUpBatchStartEpochFaults fails or kills StartEpoch
// at each of its requests in turn (among them the seal refused, the reads
// of the replay, the seal after it and the meta PUT), before and after it
// takes effect, then runs it again, like an operator would, until it
// succeeds: the result must be the same as of one clean run.
func TestEpochAfterGivenUpBatchStartEpochFaults(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 12)
	for _, es := range epSetups() {
		for _, g := range epGivenUps {
			t.Run(es.name+"/"+g.name, func(t *testing.T) {
				// The requests of one clean run.
				st := memstore.New()
				epPrepare(t, es, g, st, all)
				counter := &rvChaos{Store: st}
				if _, err := sink.StartEpoch(ctx, counter, "backup", topic, 0, "recreated", rvBase); err != nil {
					t.Fatalf("StartEpoch: %v", err)
				}
				if !slices.ContainsFunc(counter.trace, func(s string) bool { return strings.HasPrefix(s, "Put ") }) {
					t.Fatalf("no meta PUT: %v", counter.trace)
				}
				for i := range counter.trace {
					for kind := rvFailBefore; kind <= rvKillAfter; kind++ {
						f := rvFault{"", i, kind}
						what := fmt.Sprintf("%v (%s)", f, counter.trace[i])
						st := memstore.New()
						older := epPrepare(t, es, g, st, all)
						ch := &rvChaos{Store: st, faults: []rvFault{f}}
						_, err := sink.StartEpoch(ctx, ch, "backup", topic, 0, "recreated", rvBase)
						last := strings.HasPrefix(counter.trace[i], "Put ")
						switch {
						case err == nil && !ch.dead:
							t.Fatalf("%s: StartEpoch did not fail", what)
						case last && (kind == rvFailAfter || kind == rvKillAfter):
							// The meta PUT landed: the epoch started (a run
							// again would start one more, empty).
						default:
							if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
								t.Fatalf("%s: StartEpoch run again: %v", what, err)
							}
						}
						epFinish(t, es, st, all, older, what)
					}
				}
			})
		}
	}
}

// TestEpochAfterGivenUpBatchKilledMidReplay: StartEpoch is killed at the
// first ranged read (the replay of the grown index), and run again.
func TestEpochAfterGivenUpBatchKilledMidReplay(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 12)
	for _, es := range epSetups()[:3] {
		t.Run(es.name, func(t *testing.T) {
			st := memstore.New()
			older := epPrepare(t, es, epGivenUps[1], st, all)
			ch := &rvChaos{Store: st, faults: []rvFault{{"GetRange", 0, rvKillBefore}}}
			if _, err := sink.StartEpoch(ctx, ch, "backup", topic, 0, "recreated", rvBase); !errors.Is(err, rvErrKilled) {
				t.Fatalf("StartEpoch: %v, want killed", err)
			}
			if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
				t.Fatalf("StartEpoch run again: %v", err)
			}
			epFinish(t, es, st, all, older, "")
		})
	}
}

// TestEpochAfterGivenUpBatchKilledBeforeMetaPut: StartEpoch is killed
// after its seal landed, before its meta PUT, and run again: it finds its
// own seal on replay, and seals nothing twice.
func TestEpochAfterGivenUpBatchKilledBeforeMetaPut(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 12)
	for _, es := range epSetups()[:3] {
		t.Run(es.name, func(t *testing.T) {
			st := memstore.New()
			older := epPrepare(t, es, epGivenUps[1], st, all)
			ch := &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvKillBefore}}}
			if _, err := sink.StartEpoch(ctx, ch, "backup", topic, 0, "recreated", rvBase); !errors.Is(err, rvErrKilled) {
				t.Fatalf("StartEpoch: %v, want killed", err)
			}
			idx := atkKeys(st, ".oss_index_")
			sizes := map[string]int{}
			for _, k := range idx {
				b, _ := st.Get(ctx, k)
				sizes[k] = len(b)
			}
			if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
				t.Fatalf("StartEpoch run again: %v", err)
			}
			for _, k := range idx {
				if b, _ := st.Get(ctx, k); len(b) != sizes[k] {
					t.Fatalf("%s: %d bytes after the second run, %d after the first: sealed twice", k, len(b), sizes[k])
				}
			}
			epFinish(t, es, st, all, older, "")
		})
	}
}
