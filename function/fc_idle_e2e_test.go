package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
)

// fcTimerEvent is the event FC's timer trigger sends with the payload
// s.yaml and template.yaml configure, at trigger time at.
func fcTimerEvent(at time.Time) []byte {
	ev, _ := json.Marshal(handler.TimerEvent{TriggerTime: at.UTC().Format(time.RFC3339), TriggerName: "seal-idle",
		Payload: `{"sink":"seal-idle","topics":["` + fcTopic + `"]}`})
	return ev
}

// fcTimer invokes the function with a timer event and decodes its answer.
func (h *fcHarness) fcTimer(ctx context.Context, payload []byte) (fcemu.Result, *handler.SealIdleResponse) {
	h.t.Helper()
	res, err := h.emu.Invoke(ctx, payload)
	if err != nil {
		h.t.Fatal(err)
	}
	if res.Failed() {
		return res, nil
	}
	var resp handler.Response
	if err := json.Unmarshal(res.Body, &resp); err != nil || resp.SealIdle == nil || resp.Summary != nil {
		h.t.Fatalf("timer invocation answered %q (%v)", res.Body, err)
	}
	return res, resp.SealIdle
}

// TestFCIdleSealing: the compiled function under the FC emulator takes a
// Kafka batch into staged Parquet objects, then a timer invocation: too
// early, nothing is sealed; at a trigger time past SINK_FLUSH_IDLE, every
// partition's open object is sealed and written as Parquet, without a new
// record. The trigger time is the timer's "now", so no test waits. The
// next batch goes to new objects; every record once.
func TestFCIdleSealing(t *testing.T) {
	ctx := context.Background()
	h := newFCHarness(t, fcSetup{format: "parquet", env: []string{"SINK_FLUSH_IDLE=15m", "SINK_FLUSH_RECORDS=0", "SINK_FLUSH_BYTES=64MiB"}})
	var first []fcemu.Record
	want := map[int32][]int64{}
	for p := int32(0); p < 3; p++ {
		for o := int64(100); o < 110; o++ {
			first = append(first, fcemu.Record{Partition: p, Offset: o})
			want[p] = append(want[p], o)
		}
	}
	start := time.Now()
	if res := h.invoke(ctx, first); res.Failed() {
		t.Fatalf("batch: %s", res)
	}
	if keys := h.oss.Keys(fcBucket, fcPrefix+"/"+fcTopic+"/partition_"); len(keys) != 0 {
		t.Fatalf("Parquet objects written before they were sealed: %v", keys)
	}

	// Too early: nothing sealed.
	if _, si := h.fcTimer(ctx, fcTimerEvent(start)); si == nil || si.Partitions != 3 || si.Sealed != 0 {
		t.Fatalf("early timer: %+v", si)
	}
	// Idle: sealed and written; a retry (the same event) does nothing.
	ev := fcTimerEvent(start.Add(time.Hour))
	_, si := h.fcTimer(ctx, ev)
	if si == nil || si.Trigger != "seal-idle" || si.Partitions != 3 || si.Sealed != 3 || si.Finalized != 3 || si.Errors != 0 {
		t.Fatalf("idle timer: %+v", si)
	}
	if _, again := h.fcTimer(ctx, ev); again == nil || again.Sealed != 0 || again.Errors != 0 {
		t.Fatalf("timer retry: %+v", again)
	}
	st := h.store()
	parts, err := sinktest.Read(ctx, st, fcPrefix, fcTopic, sinktest.RawOffset)
	if err != nil {
		t.Fatal(err)
	}
	for p, part := range parts {
		if len(part.Objects) != 1 || !part.Objects[0].Final || !strings.HasSuffix(part.Objects[0].Key, ".parquet") {
			t.Fatalf("partition %d: %+v, want one Parquet object written", p, part.Objects)
		}
	}
	if keys := h.oss.Keys(fcBucket, fcPrefix+"/"+fcTopic+"/.oss_stage_"); len(keys) != 0 {
		t.Fatalf("staging objects left: %v", keys)
	}

	// The next records go to new objects.
	var next []fcemu.Record
	for p := int32(0); p < 3; p++ {
		for o := int64(110); o < 115; o++ {
			next = append(next, fcemu.Record{Partition: p, Offset: o})
			want[p] = append(want[p], o)
		}
	}
	if res := h.invoke(ctx, next); res.Failed() {
		t.Fatalf("next batch: %s", res)
	}
	h.fcTimer(ctx, fcTimerEvent(time.Now().Add(time.Hour)))
	h.check(want)

	// A malformed timer payload: a permanent error, named as such.
	bad, _ := json.Marshal(handler.TimerEvent{TriggerTime: start.Format(time.RFC3339), TriggerName: "seal-idle", Payload: "awesome-fc"})
	res, _ := h.fcTimer(ctx, bad)
	if !res.Failed() || res.ErrorType != "TimerPayloadError" || !strings.Contains(res.ErrorMessage, "permanent") {
		t.Fatalf("malformed payload: %s", res)
	}
}

// TestFCIdleSealingOff: without SINK_FLUSH_IDLE the timer's invocation
// does nothing and says so.
func TestFCIdleSealingOff(t *testing.T) {
	ctx := context.Background()
	h := newFCHarness(t, fcSetup{})
	h.oss.ResetStats()
	_, si := h.fcTimer(ctx, fcTimerEvent(time.Now()))
	if si == nil || !si.Off || !strings.Contains(si.Message, "SINK_FLUSH_IDLE") || len(h.oss.Stats().Requests) != 0 {
		t.Fatalf("%+v, OSS requests %v", si, h.oss.Stats().Requests)
	}
}
