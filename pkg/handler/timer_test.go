package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// timerEvent is what FC's timer trigger sends, with the sink's payload.
func timerEvent(at time.Time, topics ...string) []byte {
	p, _ := json.Marshal(handler.TimerPayload{Sink: handler.SealIdleCommand, Topics: topics})
	ev, _ := json.Marshal(handler.TimerEvent{TriggerTime: at.UTC().Format(time.RFC3339), TriggerName: "seal-idle", Payload: string(p)})
	return ev
}

func TestParseTimer(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 5, 0, 0, time.UTC)
	tm, ok, err := handler.ParseTimer(timerEvent(at, "orders", "orders", "b"))
	if !ok || err != nil || tm.Name != "seal-idle" || !tm.Time.Equal(at) || strings.Join(tm.Topics, ",") != "orders,b" {
		t.Fatalf("%+v %v %v", tm, ok, err)
	}
	tm, ok, err = handler.ParseTimer([]byte(` {"sink":"seal-idle","topics":["orders"]}`))
	if !ok || err != nil || !tm.Time.IsZero() || tm.Topics[0] != "orders" {
		t.Fatalf("bare payload: %+v %v %v", tm, ok, err)
	}
	for _, notTimer := range []string{`[]`, `[{"specversion":"1.0"}]`, `{"data":{}}`, ``, `{`} {
		if _, ok, _ := handler.ParseTimer([]byte(notTimer)); ok {
			t.Errorf("%q taken for a timer invocation", notTimer)
		}
	}
	for in, want := range map[string]string{
		`{"triggerTime":"2026-11-25T01:05:00Z","triggerName":"x","payload":"awesome-fc"}`:     "invalid character",
		`{"triggerTime":"yesterday","payload":"{\"sink\":\"seal-idle\",\"topics\":[\"a\"]}"}`: "RFC 3339",
		`{"triggerTime":"2026-11-25T01:05:00Z","triggerName":"x"}`:                            "no payload",
		`{"payload":"{\"sink\":\"seal-idle\",\"topic\":[\"a\"]}"}`:                            `unknown field "topic"`,
		`{"payload":"{\"sink\":\"compact\",\"topics\":[\"a\"]}"}`:                             `sink "compact"`,
		`{"payload":"{\"sink\":\"seal-idle\",\"topics\":[]}"}`:                                "no topics",
		`{"payload":"{\"sink\":\"seal-idle\",\"topics\":[\"a/b\"]}"}`:                         `topic "a/b"`,
		`{"payload":"{\"sink\":\"seal-idle\",\"topics\":[\"a\"]} {}"}`:                        "more than one",
		`{"triggerTime":5,"payload":"{\"sink\":\"seal-idle\",\"topics\":[\"a\"]}"}`:           "timer event",
	} {
		_, ok, err := handler.ParseTimer([]byte(in))
		var te *handler.TimerPayloadError
		if !ok || !errors.As(err, &te) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "permanent") {
			t.Errorf("%s: %v %v, want a TimerPayloadError saying %q", in, ok, err, want)
		}
	}
}

func TestTimerInvocation(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint(), "SINK_FLUSH_IDLE", "15m", "SINK_FORMAT", "parquet")
	if _, err := h.Invoke(ctx, "r1", batch(0, 5)); err != nil {
		t.Fatal(err)
	}
	written := time.Now()

	// Not idle yet at the trigger time: nothing sealed.
	resp, err := h.Invoke(ctx, "r2", timerEvent(written.Add(time.Minute), "t"))
	if err != nil || resp.Summary != nil || resp.SealIdle == nil || resp.SealIdle.Partitions != 1 || resp.SealIdle.Sealed != 0 {
		t.Fatalf("early: %+v %v", resp, err)
	}
	// Idle at the trigger time: sealed and finalized.
	resp, err = h.Invoke(ctx, "r3", timerEvent(written.Add(16*time.Minute), "t"))
	if err != nil {
		t.Fatal(err)
	}
	si := resp.SealIdle
	if si.Trigger != "seal-idle" || si.Sealed != 1 || si.Finalized != 1 || si.Raced != 0 || si.Errors != 0 || len(si.Details) != 1 {
		t.Fatalf("idle: %+v", si)
	}
	parquet := si.Details[0].Sealed[0]
	if _, ok := srv.Object(bucket, parquet); !strings.HasSuffix(parquet, ".parquet") || !ok {
		t.Fatalf("%s not written", parquet)
	}
	b, _ := json.Marshal(resp)
	for _, w := range []string{`"seal_idle":`, `"trigger":"seal-idle"`, `"partitions":1`, `"sealed":1`, `"finalized":1`, `"raced":0`, `"errors":0`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("response %s lacks %s", b, w)
		}
	}
	if strings.Contains(string(b), `"records"`) {
		t.Errorf("a timer response carries a batch summary: %s", b)
	}
	// A retry of the same event: nothing left to do.
	resp, err = h.Invoke(ctx, "r3", timerEvent(written.Add(16*time.Minute), "t"))
	if err != nil || resp.SealIdle.Sealed != 0 || resp.SealIdle.Errors != 0 {
		t.Fatalf("retry: %+v %v", resp.SealIdle, err)
	}
	// A topic without partitions: nothing to check.
	if resp, err := h.Invoke(ctx, "r4", timerEvent(written, "other")); err != nil || resp.SealIdle.Partitions != 0 {
		t.Fatalf("other topic: %+v %v", resp.SealIdle, err)
	}
}

func TestTimerInvocationOff(t *testing.T) {
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	srv.ResetStats()
	resp, err := h.Invoke(context.Background(), "r", timerEvent(time.Now(), "t"))
	if n := len(srv.Stats().Requests); err != nil || resp.SealIdle == nil || !resp.SealIdle.Off || !strings.Contains(resp.SealIdle.Message, "SINK_FLUSH_IDLE") || n != 0 {
		t.Fatalf("%+v %v, requests %v", resp.SealIdle, err, srv.Stats().Requests)
	}
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), `"off":true`) {
		t.Fatalf("%s", b)
	}
}

func TestTimerInvocationBadPayload(t *testing.T) {
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint(), "SINK_FLUSH_IDLE", "15m")
	_, err := h.Invoke(context.Background(), "r", []byte(`{"triggerTime":"2026-11-25T01:05:00Z","triggerName":"x","payload":"awesome-fc"}`))
	var te *handler.TimerPayloadError
	if !errors.As(err, &te) || handler.Retryable(err) || handler.SetupError(err) {
		t.Fatalf("%T %v", err, err)
	}
	// An object that is neither: a bad batch.
	_, err = h.Invoke(context.Background(), "r", []byte(`{"data":{"topic":"t"}}`))
	var be *handler.BadEventError
	if !errors.As(err, &be) {
		t.Fatalf("%T %v", err, err)
	}
}
