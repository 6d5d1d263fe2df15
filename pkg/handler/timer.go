package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// The timer trigger (s.yaml and template.yaml ship one, every five
// minutes) invokes the function with Function Compute's timer event,
//
//	{"triggerTime":"2026-11-25T01:05:00Z","triggerName":"seal-idle","payload":"<the trigger's payload>"}
//
// whose payload string is, as JSON,
//
//	{"sink":"seal-idle","topics":["orders"]}
//
// The invocation seals the idle open objects (SINK_FLUSH_IDLE) of every
// partition of the topics that has a meta object, and finalizes the staged
// ones; see sink.SealIdle. The payload alone (the inner object) is
// accepted too, for a local `function invoke`. Every Kafka trigger payload
// is a JSON array, so a JSON object is never taken for a batch.

// SealIdleCommand is the "sink" member of the timer trigger's payload.
const SealIdleCommand = "seal-idle"

// TimerPayload is the timer trigger's payload (the event's payload string,
// as JSON).
type TimerPayload struct {
	// Sink says what the invocation does: SealIdleCommand.
	Sink string `json:"sink"`
	// Topics whose partitions are checked: the topic of the Kafka trigger.
	Topics []string `json:"topics"`
}

// TimerEvent is the event a Function Compute timer trigger invokes a
// function with.
type TimerEvent struct {
	TriggerTime string `json:"triggerTime"`
	TriggerName string `json:"triggerName"`
	Payload     string `json:"payload"`
}

// Timer is a timer invocation, parsed.
type Timer struct {
	Name   string    // the trigger's name ("" for a bare payload)
	Time   time.Time // the trigger time; zero when the event has none
	Topics []string
}

// TimerPayloadError: a timer invocation (a JSON object holding a timer
// event or the sink's timer payload) that is malformed. Nothing was done;
// every invocation of that trigger fails the same way until its payload
// is fixed.
type TimerPayloadError struct{ Err error }

func (e *TimerPayloadError) Error() string {
	return fmt.Sprintf(`bad timer payload, nothing done (permanent: retrying cannot help; the trigger's payload must be {"sink":%q,"topics":["<topic>"]}): %v`,
		SealIdleCommand, e.Err)
}
func (e *TimerPayloadError) Unwrap() error { return e.Err }

// ParseTimer reports whether payload is a timer invocation and, if so,
// parses it. A payload that is not a JSON object is not one (Kafka
// batches are arrays); an object with triggerTime, triggerName or payload
// members is a timer event, one with a sink member the bare payload. Any
// other object is not a timer invocation (and not a batch either).
func ParseTimer(payload []byte) (*Timer, bool, error) {
	body := bytes.TrimLeft(payload, " \t\r\n")
	if len(body) == 0 || body[0] != '{' {
		return nil, false, nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, false, nil
	}
	_, hasTime := probe["triggerTime"]
	_, hasName := probe["triggerName"]
	_, hasPayload := probe["payload"]
	_, hasSink := probe["sink"]
	var tm Timer
	inner := body
	switch {
	case hasTime || hasName || hasPayload:
		var ev TimerEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			return nil, true, &TimerPayloadError{fmt.Errorf("timer event: %w", err)}
		}
		tm.Name = ev.TriggerName
		if ev.TriggerTime != "" {
			t, err := time.Parse(time.RFC3339, ev.TriggerTime)
			if err != nil {
				return nil, true, &TimerPayloadError{fmt.Errorf("triggerTime %q is not an RFC 3339 time: %w", ev.TriggerTime, err)}
			}
			tm.Time = t
		}
		if ev.Payload == "" {
			return nil, true, &TimerPayloadError{errors.New("the timer event has no payload")}
		}
		inner = []byte(ev.Payload)
	case !hasSink:
		return nil, false, nil
	}
	var p TimerPayload
	dec := json.NewDecoder(bytes.NewReader(inner))
	// A misspelt member must not be ignored: the payload is ours.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, true, &TimerPayloadError{fmt.Errorf("payload %q: %w", inner, err)}
	}
	if dec.More() {
		return nil, true, &TimerPayloadError{fmt.Errorf("payload %q: more than one JSON value", inner)}
	}
	if p.Sink != SealIdleCommand {
		return nil, true, &TimerPayloadError{fmt.Errorf("payload %q: sink %q, this version knows %q", inner, p.Sink, SealIdleCommand)}
	}
	if len(p.Topics) == 0 {
		return nil, true, &TimerPayloadError{fmt.Errorf("payload %q: no topics", inner)}
	}
	for _, t := range p.Topics {
		if err := events.CheckTopic(t); err != nil {
			return nil, true, &TimerPayloadError{fmt.Errorf("payload %q: topic %q: %w", inner, t, err)}
		}
		if !slices.Contains(tm.Topics, t) {
			tm.Topics = append(tm.Topics, t)
		}
	}
	return &tm, true, nil
}

// SealIdleResponse is what a timer invocation answers.
type SealIdleResponse struct {
	// Trigger is the timer trigger's name, if the event had one.
	Trigger string `json:"trigger,omitempty"`
	// Off: SINK_FLUSH_IDLE is not set, and nothing was done.
	Off     bool   `json:"off,omitempty"`
	Message string `json:"message,omitempty"`
	*sink.IdleSummary
}

// invokeTimer serves a timer invocation: idle sealing.
func (h *Handler) invokeTimer(ctx context.Context, log zerolog.Logger, requestID string, tm *Timer, start time.Time) (*Response, error) {
	out := &SealIdleResponse{Trigger: tm.Name}
	resp := &Response{RequestID: requestID, SealIdle: out}
	if h.sink.FlushIdle() <= 0 {
		out.Off = true
		out.Message = "SINK_FLUSH_IDLE is not set: idle sealing is off, nothing done (set it to seal open objects after that long without records, or disable the timer trigger)"
		log.Info().Str("trigger", tm.Name).Strs("topics", tm.Topics).Msg("timer invocation: idle sealing is off")
		return resp, nil
	}
	// The trigger time, not the clock: a retry of the invocation carries
	// the same event and so makes the same decisions. Nothing unsafe
	// follows from a wrong time: sealing early only makes a smaller
	// object, late a later one.
	now := tm.Time
	if now.IsZero() {
		now = time.Now()
	}
	st, err := h.storeFor(ctx)
	if err != nil {
		err = h.classifyStore(err)
		out.IdleSummary = &sink.IdleSummary{Now: now.UTC(), Topics: tm.Topics, Details: []sink.IdlePartition{}, Error: err.Error()}
		log.Error().Err(err).Msg("timer invocation failed: nothing done")
		return resp, err
	}
	sum, err := h.sink.SealIdleTopics(ctx, st, tm.Topics, now)
	out.IdleSummary = sum
	ev := log.Info()
	if err != nil {
		err = h.classifyWrite(err)
		ev = log.Error().Err(err)
	}
	ev.Str("trigger", tm.Name).Time("now", sum.Now).Strs("topics", tm.Topics).Int("partitions", sum.Partitions).Int("sealed", sum.Sealed).
		Int("finalized", sum.Finalized).Int("unfinalized", sum.Unfinalized).Int("raced", sum.Raced).Int("errors", sum.Errors).
		Int("oss_requests", sum.Requests).Dur("took_ms", time.Since(start)).Msg("timer invocation done")
	return resp, err
}
