package sink_test

// Minimal deterministic reproductions of the violations found by the review.
// Each of these tests FAILS on the engine as reviewed (HEAD ee0f672): that is
// the point. At the end of the review the working tree (engine edited by
// others meanwhile) fixed StaleNextCheck, StaleMetaRedeliveryMidObject,
// RaceRegressedMeta, FlushSettingsChanged and AgeSkewBeyondAllowance; the
// others still fail there.

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

func rvSink(t testing.TB, clk *rvClock, opts ...sink.Option) *sink.Sink {
	t.Helper()
	base := []sink.Option{sink.WithPrefix("rv"), sink.WithConcurrency(1)}
	if clk != nil {
		base = append(base, sink.WithClock(clk.now))
	}
	sk, err := sink.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func rvCheck(t *testing.T, st *memstore.Store, offsetOf sinktest.OffsetFunc, want map[int32][]int64) {
	t.Helper()
	if err := sinktest.Check(context.Background(), st, "rv", rvTopic, offsetOf, want); err != nil {
		t.Errorf("exactly-once violated: %v\nkeys: %v", err, st.Keys())
	}
}

// TestReviewStaleNextCheckDuplicates: the "look for the next object" check is
// done once per open object, with the name derived from the first pending
// record *before* absorb consumed the records an earlier attempt had left
// in the open object. After absorbing, the object the earlier attempt opened
// next is named after a later record, and nobody looks for it.
//
//	X open (opened at T), flush interval 10m, no size/record limits.
//	attempt 0 @T+5m      batch 3-5: appends 3-5 to X, killed after the append
//	attempt 1 @T+10m01s  batch 3-8: age >= interval -> verify X, absorb 3-5,
//	                     seal X by age, open offset_6, append 6-8, killed
//	attempt 2 @T+9m30s   batch 3-8 (clock 31s behind attempt 1: within the
//	                     1-minute skew allowance, so nearAge is true):
//	                     Stat(offset_3) -> absent; append at X's recorded size
//	                     -> PositionError -> absorb 3-5 -> append 6-8 to X.
//
// 6-8 are now in X and in offset_6: duplicated.
func TestReviewStaleNextCheckDuplicates(t *testing.T) {
	ctx := context.Background()
	clk := &rvClock{}
	sk := rvSink(t, clk, sink.WithFlushInterval(10*time.Minute))
	all := rvStream(0, 9, 0)
	st := memstore.New()

	clk.set(rvBase)
	if _, err := sk.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	clk.set(rvBase.Add(5 * time.Minute))
	_, err := sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Append", 0, rvKillAfter}}}, all[3:6])
	if !errors.Is(err, rvErrKilled) {
		t.Fatalf("attempt 0: %v", err)
	}
	clk.set(rvBase.Add(10*time.Minute + time.Second))
	_, err = sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Append", 0, rvKillAfter}}}, all[3:9])
	if !errors.Is(err, rvErrKilled) {
		t.Fatalf("attempt 1: %v", err)
	}
	clk.set(rvBase.Add(9*time.Minute + 30*time.Second))
	if _, err := sk.Write(ctx, st, all[3:9]); err != nil {
		t.Fatalf("attempt 2: %v", err)
	}
	rvCheck(t, st, rvRawOffset, map[int32][]int64{0: rvOffsets(all)})
}

// TestReviewRaceAtAgeBoundaryDuplicates breaks the one-batch-in-flight
// assumption the mildest way: two invocations of the SAME batch race, and the
// open object's age crosses the flush interval between their clock readings
// (1 ms apart; no skew needed). A seals X by age and writes the records to a
// new object; B does not seal and appends them to X. The append fence cannot
// see this: the two appends go to different objects. B's nearAge Stat of the
// next object happens before A creates it. Both invocations succeed and the
// records are stored twice. The package doc promises "records are never lost
// or duplicated; a partition may stop" for this case.
func TestReviewRaceAtAgeBoundaryDuplicates(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 6, 0)
	st := memstore.New()
	iv := sink.WithFlushInterval(10 * time.Minute)
	clkA, clkB := &rvClock{}, &rvClock{}
	skA, skB := rvSink(t, clkA, iv), rvSink(t, clkB, iv)
	clkA.set(rvBase)
	if _, err := skA.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	clkA.set(rvBase.Add(10 * time.Minute))                  // age == interval: seals
	clkB.set(rvBase.Add(10*time.Minute - time.Millisecond)) // 1 ms earlier: does not

	// Interleaving: B reads the meta and looks for the next object; then A
	// runs to completion; then B appends to X and writes its meta.
	var errA error
	ran := false
	b := &rvChaos{Store: st}
	b.hook = func(method, key string) {
		if method == "Append" && !ran {
			ran = true
			_, errA = skA.Write(ctx, st, all[3:])
		}
	}
	_, errB := skB.Write(ctx, b, all[3:])
	t.Logf("A: %v; B: %v; B's requests: %v", errA, errB, b.trace)
	parts, err := sinktest.Read(ctx, st, "rv", rvTopic, rvRawOffset)
	if err != nil {
		t.Fatal(err)
	}
	if err := sinktest.AtMostOnce(parts); err != nil {
		t.Error(err)
	}
}

// TestReviewRawIdenticalValuesLostAfterStaleMeta: in the raw format the
// encoding does not name the offset, so two different runs of records with
// equal values (tombstones all encode to "\n"; heartbeat/status messages
// repeat) have equal bytes. absorb then "recognises" records that were never
// written. Here a stale meta PUT lands late (the race the package doc says is
// resolved by the next batch): the next batch's records are counted as
// recovered and never written: silent loss.
//
// Known limitation, outside the documented assumption (it needs racing
// invocations): raw lines carry no offset, and telling a stored record from
// a new one with the same bytes would need a compare-and-swap on the meta
// object, which OSS does not offer. See "The assumption" in doc.go.
func TestReviewRawIdenticalValuesLostAfterStaleMeta(t *testing.T) {
	t.Skip("known limitation under racing invocations with the raw format; see doc.go, The assumption")
	ctx := context.Background()
	mk := func(off int64) events.Record {
		return events.Record{Topic: rvTopic, Partition: 0, Offset: off, ValueKind: events.ValueNull}
	}
	var all []events.Record
	for off := int64(0); off < 12; off++ {
		all = append(all, mk(off))
	}
	st := memstore.New()
	sk := rvSink(t, nil)
	metaKey := sink.MetaKey("rv/", rvTopic, 0)
	if _, err := sk.Write(ctx, st, all[:4]); err != nil {
		t.Fatal(err)
	}
	stale, _ := st.Object(metaKey)
	// Invocation A (records 4-7) succeeds; a racing invocation that had read
	// the old meta has its (stale) meta PUT land afterwards.
	if _, err := sk.Write(ctx, st, all[4:8]); err != nil {
		t.Fatal(err)
	}
	_ = st.Put(ctx, metaKey, stale)
	// The trigger acknowledged 0-7; it delivers 8-11.
	sum, err := sk.Write(ctx, st, all[8:])
	t.Logf("summary: %+v err %v", sum, err)
	var lines int
	for _, k := range st.Keys() {
		if k == metaKey {
			continue
		}
		data, _ := st.Object(k)
		lines += bytes.Count(data, []byte("\n"))
	}
	if lines != len(all) {
		t.Errorf("%d records stored, %d acknowledged by successful invocations: %d lost (written %d, 'recovered' %d)",
			lines, len(all), len(all)-lines, sum.Written, sum.Recovered)
	}
}

// TestReviewFormatChangeAfterLaggingSuccessStuck: a shorter redelivery
// succeeds and leaves the open object "lagging" (it holds records of the
// next batch beyond its recorded size). From the trigger's and the
// operator's point of view nothing is pending. Changing SINK_FORMAT now
// stops the partition for good: the next batch must seal the old-format
// object, verify finds the unrecorded bytes, and compares them with the NEW
// encoding -> ErrConflict on every redelivery, until the format is changed
// back. (Liveness, under the documented assumption; no loss/duplication.)
func TestReviewFormatChangeAfterLaggingSuccessStuck(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 10, 0)
	st := memstore.New()
	raw := rvSink(t, nil)
	jsonl := rvSink(t, nil, sink.WithEncoder(format.Encoder{Format: format.JSONL}))
	if _, err := raw.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	_, err := raw.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvFailBefore}}}, all[3:8])
	if !errors.Is(err, rvErrInjected) {
		t.Fatal(err)
	}
	if _, err := raw.Write(ctx, st, all[3:5]); err != nil { // shorter redelivery: succeeds, lagging
		t.Fatal(err)
	}
	// Operator switches to jsonl; every delivery of the next batch fails.
	for i := 0; i < 3; i++ {
		if _, err := jsonl.Write(ctx, st, all[5:]); err != nil {
			t.Errorf("redelivery %d after a format change with nothing pending: %v", i, err)
			break
		}
	}
}

// TestReviewStaleMetaRedeliveryMidObjectDuplicates: a stale meta PUT lands
// late (the racing/zombie case the package doc says "the next batch
// resolves"): the state says committed 2 with no open object, while the data
// holds 3-5 in offset_3 and 6-8 in offset_6. The trigger acknowledged 0-8 and
// re-sends from 4 (a redelivery may start earlier than the first
// unacknowledged record). The engine opens offset_4 - a name no earlier
// attempt used, so the append at 0 succeeds - and stores 4 and 5 a second
// time. JSONL, so this is not the raw ambiguity.
func TestReviewStaleMetaRedeliveryMidObjectDuplicates(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	st := memstore.New()
	sk := rvSink(t, nil, sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(3))
	metaKey := sink.MetaKey("rv/", rvTopic, 0)
	if _, err := sk.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	stale, _ := st.Object(metaKey)
	if _, err := sk.Write(ctx, st, all[3:9]); err != nil {
		t.Fatal(err)
	}
	_ = st.Put(ctx, metaKey, stale) // the late PUT of a racing invocation
	_, err := sk.Write(ctx, st, all[4:])
	t.Logf("redelivery from offset %d: %v", all[4].Offset, err)
	parts, rerr := sinktest.Read(ctx, st, "rv", rvTopic, sinktest.JSONLOffset)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if err := sinktest.AtMostOnce(parts); err != nil {
		t.Error(err)
	}
}

// TestReviewFirstBatchRedeliveredEarlierStuck: the consumer group's position
// is 5 when the sink first sees the partition (records below were consumed
// before this sink existed: "acknowledged"). The first batch 5-9 fails after
// its append; there is no meta object yet. The redelivery re-sends from
// offset 3 (allowed: it may start earlier, re-sending acknowledged records).
// loadMeta finds data objects but none named after offset 3 and refuses
// with ErrMetaMissing - on every redelivery that starts before 5. Liveness
// (the partition stops with a "meta lost" diagnosis that is wrong); nothing
// is lost or duplicated.
func TestReviewFirstBatchRedeliveredEarlierStuck(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 10, 0)
	st := memstore.New()
	sk := rvSink(t, nil)
	_, err := sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvFailBefore}}}, all[5:])
	if !errors.Is(err, rvErrInjected) {
		t.Fatal(err)
	}
	// The partition stops, with a diagnosis that says what happened (not
	// "restore the meta object": there never was one), and writes nothing.
	before := st.Keys()
	_, err = sk.Write(ctx, st, all[3:])
	if !errors.Is(err, sink.ErrMetaMissing) || !strings.Contains(err.Error(), "failed first attempt") {
		t.Fatalf("redelivery starting before the failed first batch: %v", err)
	}
	if after := st.Keys(); len(after) != len(before) {
		t.Fatalf("wrote %v", after)
	}
	// Redelivered from where that attempt began, it completes.
	if _, err := sk.Write(ctx, st, all[5:]); err != nil {
		t.Fatal(err)
	}
}

// TestReviewRaceRegressedMetaDuplicates: the stale-meta case arises from a
// plain race, no artificial meta restore. Two deliveries of a new partition
// race: C (offsets 0-1) and A (0-3), flush every 2 records. C appends 0-1;
// A then runs completely (absorbs 0-1, writes 2-3 to offset_2, meta
// committed 3); C, which recovered nothing and is not "lagging", writes its
// meta (committed 1, no open object) over A's without re-reading it. The
// trigger acknowledged 0-3 (A succeeded) and delivers 3-7 (starting at or
// before the first unacknowledged record). The engine opens offset_3 and
// stores 3 a second time (and 4-7 are then in objects named after 3 and 5).
func TestReviewRaceRegressedMetaDuplicates(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 8, 0)
	st := memstore.New()
	sk := rvSink(t, nil, sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(2))
	var errA error
	c := &rvChaos{Store: st}
	c.hook = func(method, key string) {
		if method == "Put" {
			_, errA = sk.Write(ctx, st, all[0:4])
		}
	}
	_, errC := sk.Write(ctx, c, all[0:2])
	if errA != nil || errC != nil {
		t.Fatalf("A: %v, C: %v", errA, errC)
	}
	if _, err := sk.Write(ctx, st, all[3:]); err != nil {
		t.Logf("next batch: %v (stopping would be allowed)", err)
	}
	parts, err := sinktest.Read(ctx, st, "rv", rvTopic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	if err := sinktest.AtMostOnce(parts); err != nil {
		t.Error(err)
	}
}

// TestReviewFlushSettingsChangedDuringRetryDuplicates: SINK_FLUSH_RECORDS is
// lowered (a redeploy) while a batch is failing, then restored (or the
// retry lands on an instance still running the old configuration). The
// attempt under the low limit finds the open object full, seals it and
// writes the records to a new object; the retry under the old limit has no
// reason to look for that object (not recovering, no age limit) and appends
// the same records to the old one. The package doc lists "found it full
// under other settings" among the cases the next-object check handles.
func TestReviewFlushSettingsChangedDuringRetryDuplicates(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 4, 0)
	st := memstore.New()
	five := rvSink(t, nil, sink.WithFlushRecords(5))
	one := rvSink(t, nil, sink.WithFlushRecords(1))
	if _, err := five.Write(ctx, st, all[:1]); err != nil {
		t.Fatal(err)
	}
	_, err := one.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Append", 0, rvKillAfter}}}, all[1:])
	if !errors.Is(err, rvErrKilled) {
		t.Fatal(err)
	}
	if _, err := five.Write(ctx, st, all[1:]); err != nil {
		t.Fatal(err)
	}
	rvCheck(t, st, rvRawOffset, map[int32][]int64{0: rvOffsets(all)})
}

// TestReviewCompactionBetweenAttemptsStuck: a compacted topic. Attempt 1
// of batch 3-8 appends and dies before its meta PUT; before the
// redelivery, log compaction removes offset 5 (superseded key). The
// redelivery (starting at the first unacknowledged record, as required) has
// a new gap where the stored bytes have a record; absorb sees "the first 2
// match, offset 6 differs" and fails with ErrConflict - on every redelivery,
// forever. Liveness under the documented assumption (gaps are in scope);
// nothing lost or duplicated. JSONL lines carry their offset, so the engine
// could recognise a record that has since been compacted away.
func TestReviewCompactionBetweenAttemptsStuck(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 9, 0)
	st := memstore.New()
	sk := rvSink(t, nil, sink.WithEncoder(format.Encoder{Format: format.JSONL}))
	if _, err := sk.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	_, err := sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvKillBefore}}}, all[3:])
	if !errors.Is(err, rvErrKilled) {
		t.Fatal(err)
	}
	compacted := append(append([]events.Record{}, all[3:5]...), all[6:]...)
	for i := 0; i < 2; i++ {
		if _, err := sk.Write(ctx, st, compacted); err != nil {
			t.Errorf("redelivery %d after compaction removed offset %d: %v", i, all[5].Offset, err)
			break
		}
	}
}

// TestReviewAgeSkewBeyondAllowanceDuplicates: the age decision is taken on
// the invocation's wall clock; the next-object check only runs within
// min(interval/4, 1m) of the limit. An attempt whose clock is ahead seals
// by age and writes to a new object, then fails; a retry whose clock is more
// than the allowance behind (NTP step, a badly synced host; with
// SINK_FLUSH_INTERVAL=20s the allowance is only 5s) appends the same records
// to the old object. A documented limit of the design, but the failure mode
// is silent duplication.
func TestReviewAgeSkewBeyondAllowanceDuplicates(t *testing.T) {
	ctx := context.Background()
	clk := &rvClock{}
	sk := rvSink(t, clk, sink.WithFlushInterval(20*time.Second))
	all := rvStream(0, 6, 0)
	st := memstore.New()
	clk.set(rvBase)
	if _, err := sk.Write(ctx, st, all[:3]); err != nil {
		t.Fatal(err)
	}
	clk.set(rvBase.Add(21 * time.Second))
	_, err := sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvFailBefore}}}, all[3:])
	if !errors.Is(err, rvErrInjected) {
		t.Fatal(err)
	}
	clk.set(rvBase.Add(14 * time.Second)) // 7 s behind the first attempt
	if _, err := sk.Write(ctx, st, all[3:]); err != nil {
		t.Fatal(err)
	}
	rvCheck(t, st, rvRawOffset, map[int32][]int64{0: rvOffsets(all)})
}
