package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
)

// giveUpPhase makes the meta PUTs of partition p fail during its next n
// deliveries: before taking effect with probability before, after it
// otherwise. Phases follow one another, so that only p's meta PUTs fail
// meanwhile (an osstest fault has one key prefix) and the others' land.
type giveUpPhase struct {
	p      int32
	n      int
	before float64
}

// giveUpPlan: partition 0's first batch is given up on before any meta
// object of it exists; 1's and 2's later ones after their appends landed
// (2's twice in a row); 3's meta PUTs land and fail their replies; 4's do
// either. 5 has no faults of its own, only the failed batches it shares.
var giveUpPlan = []giveUpPhase{{0, 3, 1}, {1, 3, 1}, {2, 6, 1}, {3, 4, 0}, {4, 5, 0.5}, {1, 3, 1}}

// TestFCGiveUp is issue 7 item 3: with the trigger's errorsTolerance ALL
// (GiveUpAfter 3, a dead-letter list), batches whose appends landed but
// whose meta PUT failed are skipped, and that must never stop a partition
// nor lose or repeat a later record, in raw and jsonl, with distinct
// values and with all-identical ones (which no comparison of bytes can
// tell apart), with objects sealed inside batches (SINK_FLUSH_RECORDS=12).
//
// Meta PUTs fail with a 4xx the store does not retry, so that an invocation
// fails at once rather than after its retries' backoff: to the protocol a
// failed meta write is one, however many attempts it took. Only one
// partition's meta PUTs fail per invocation (an osstest fault has one key
// prefix), but every partition of a failed invocation fails with it, and
// may be given up on with its records stored and its meta object written.
//
// Every invocation without a fault must succeed; every failure must be a
// WriteError (a StateConflictError is a stopped partition). At the end no
// record is stored twice or out of order, every record not dead-lettered
// is stored, and — only meta PUTs fail, so every append landed — so is
// every dead-lettered one, with meta objects that agree (sinktest.Check).
func TestFCGiveUp(t *testing.T) {
	for i, tc := range []struct{ format, values string }{
		{"raw", "distinct"}, {"raw", "identical"}, {"jsonl", "distinct"}, {"jsonl", "identical"},
	} {
		t.Run(tc.format+"/"+tc.values, func(t *testing.T) { runGiveUp(t, tc.format, tc.values == "identical", uint64(20+i)) })
	}
}

func runGiveUp(t *testing.T, format string, identical bool, seed uint64) {
	h := newFCHarness(t, fcSetup{format: format, env: []string{"SINK_FLUSH_RECORDS=12"}})
	streams := fcStreams(seed, 6, 150)
	render := fcRender
	if identical {
		render = func(batch []fcemu.Record) []byte { return withValue(t, fcRender(batch), "same value") }
	}
	prefix := sink.NormalizePrefix(fcPrefix)
	metaKey := func(p int32) string { return sink.MetaKey(prefix, fcTopic, p) }

	phase, left := 0, giveUpPlan[0].n // the current phase, and its deliveries left
	faulted := map[int]bool{}         // deliveries with a meta PUT fault
	lastGiveUp := map[int32]int{}
	lastOK := map[int32]int{}
	firstGaveUpBare := false // partition 0's first batch given up with no meta object
	planEnd := 0             // the last delivery with a fault
	var adopted, recovered, crossed int
	cfg := fcemu.TriggerConfig{Streams: streams, Render: render, Seed: seed, MaxBatch: 12, Skip: 0.5, GiveUpAfter: 3, MaxAttempts: 10,
		BeforeInvoke: func(d *fcemu.Delivery) {
			h.oss.SetFault(osstest.OpPut, osstest.Fault{})
			if phase == len(giveUpPlan) || !slices.Contains(batchPartitions(d.Batch), giveUpPlan[phase].p) {
				return
			}
			ph := giveUpPlan[phase]
			faulted[d.N], planEnd = true, d.N
			h.oss.SetFault(osstest.OpPut, osstest.Fault{Before: ph.before, After: 1 - ph.before, KeyPrefix: metaKey(ph.p),
				Status: 400, Code: "InjectedMetaFault"})
			if left--; left == 0 {
				if phase++; phase < len(giveUpPlan) {
					left = giveUpPlan[phase].n
				}
			}
		},
		AfterInvoke: func(d fcemu.Delivery) error {
			res := d.Result
			if res.Failed() {
				if !faulted[d.N] || res.ErrorType != "WriteError" {
					return fmt.Errorf("failed (with a fault: %v): %s", faulted[d.N], res)
				}
			} else {
				resp, err := fcCheckSummary(d.Batch, res)
				if err != nil {
					return err
				}
				adopted += resp.Adopted
				recovered += resp.Recovered
				for _, ps := range resp.Partitions {
					if len(ps.Objects) > 1 {
						crossed++
					}
				}
				for _, p := range batchPartitions(d.Batch) {
					lastOK[p] = d.N
				}
			}
			for _, p := range d.GaveUp {
				if _, had := lastGiveUp[p]; p == 0 && !had {
					_, exists := h.oss.ObjectInfo(fcBucket, metaKey(p))
					firstGaveUpBare = !exists
				}
				lastGiveUp[p] = d.N
			}
			return nil
		},
	}
	tr, err := fcemu.NewTrigger(h.emu, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Run(fcCtx(t, 90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	dls := st.DeadLetters
	t.Logf("%s: %d invocations (%d failed, the last fault in %d), %d dead letters; recovered %d, adopted %d; %d batches crossed objects; OSS %+v",
		format, st.Invocations, st.Errors, planEnd, len(dls), recovered, adopted, crossed, h.oss.Stats())

	// The plan must have done what it is for.
	if phase < len(giveUpPlan) {
		t.Errorf("the streams ended in phase %d of the plan", phase)
	}
	if !firstGaveUpBare {
		t.Errorf("partition 0's first batch was not given up on before its meta object existed")
	}
	for _, p := range []int32{0, 1, 2} {
		if lastGiveUp[p] == 0 {
			t.Errorf("partition %d: no batch given up on", p)
		}
	}
	for p, n := range lastGiveUp {
		if lastOK[p] < n {
			t.Errorf("partition %d: no successful delivery after the batch given up on in delivery %d: nothing shows it was not stopped", p, n)
		}
	}
	for p := range streams {
		if lastOK[p] <= planEnd {
			t.Errorf("partition %d: no successful delivery after the faults cleared (delivery %d)", p, planEnd)
		}
	}
	if adopted == 0 || crossed == 0 {
		t.Errorf("no batch adopted the records of one given up on (%d), or none crossed an object boundary (%d)", adopted, crossed)
	}
	if t.Failed() {
		t.FailNow()
	}
	h.checkGiveUp(streams, dls, identical)
}

// checkGiveUp checks the store against the streams and the dead letters:
// no record stored twice, every record not dead-lettered stored; then, as
// every append landed, that every record is stored once, in order, and the
// meta objects agree.
func (h *fcHarness) checkGiveUp(streams map[int32][]int64, dls []fcemu.DeadLetter, identical bool) {
	h.t.Helper()
	h.oss.ClearFaults()
	st := h.store()
	var offsetOf sinktest.OffsetFunc // identical raw values: the index's offsets alone
	switch {
	case h.format == "jsonl":
		offsetOf = sinktest.JSONLOffset
	case !identical:
		offsetOf = sinktest.RawOffset
	}
	ctx := context.Background()
	parts, err := sinktest.Read(ctx, st, fcPrefix, fcTopic, offsetOf)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := sinktest.AtMostOnce(parts); err != nil {
		h.t.Fatal(err)
	}
	stored := map[fcemu.Record]bool{}
	for p, part := range parts {
		for _, o := range part.Objects {
			for _, off := range o.Offsets {
				stored[fcemu.Record{Partition: p, Offset: off}] = true
			}
		}
	}
	skipped := map[fcemu.Record]bool{}
	for _, dl := range dls {
		for _, r := range dl.Skipped() {
			skipped[r] = true
		}
	}
	for p, stream := range streams {
		for _, o := range stream {
			if r := (fcemu.Record{Partition: p, Offset: o}); !skipped[r] && !stored[r] {
				h.t.Fatalf("partition %d: offset %d, never dead-lettered, is missing", p, o)
			}
		}
	}
	// Order, stream records only, and the meta objects: sinktest.Check.
	if err := sinktest.Check(ctx, st, fcPrefix, fcTopic, offsetOf, streams); err != nil {
		h.t.Fatalf("every append landed, so every record, dead-lettered or not, must be stored once: %v", err)
	}
}

// batchPartitions returns the partitions of a batch, ascending.
func batchPartitions(batch []fcemu.Record) []int32 {
	set := map[int32]bool{}
	for _, r := range batch {
		set[r.Partition] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// withValue gives every record of a CloudEvents payload the same value.
func withValue(t *testing.T, payload []byte, value string) []byte {
	var evs []map[string]any
	if err := json.Unmarshal(payload, &evs); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		ev["data"].(map[string]any)["value"] = value
	}
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
