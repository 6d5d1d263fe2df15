// Package naive is the baseline that the sink's performance is measured
// against: the obvious handler, which decodes a trigger batch with
// encoding/json into the structs of the FC SDK
// (github.com/aliyun/fc-runtime-go-sdk/events.KafkaEventBridgeEvent) and
// appends each value and a newline to a buffer per partition. The
// benchmarks of package events run it in process; cmd/naive-sink wraps it
// in a binary for the whole-process benchmark (internal/procbench).
//
// The SDK's KafkaData holds the value as a *string, which cannot take the
// JSON values of the trigger's Json data format; for those the baseline
// decodes into a copy of the structs whose value is a json.RawMessage, as a
// user of that format would have to.
package naive

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	sdkevents "github.com/aliyun/fc-runtime-go-sdk/events"
)

// Format is the trigger's data format, which says how values are sent.
type Format uint8

const (
	// Text: values are JSON strings holding the text.
	Text Format = iota
	// Binary: values are JSON strings holding base64.
	Binary
	// JSON: values are JSON values.
	JSON
)

// ParseFormat parses "text", "binary" or "json".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text":
		return Text, nil
	case "binary", "base64":
		return Binary, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("naive: unknown data format %q (want text, binary or json)", s)
}

// Partition is the buffered values of one partition of one topic.
type Partition struct {
	Topic     string
	Partition int
	Buf       bytes.Buffer
}

// rawEvent is sdkevents.KafkaEventBridgeEvent with a value that holds any
// JSON value.
type rawEvent struct {
	Data *struct {
		Topic     *string                    `json:"topic"`
		Partition *int                       `json:"partition"`
		Offset    *int                       `json:"offset"`
		Timestamp *int                       `json:"timestamp"`
		Headers   *sdkevents.KafkaDataHeader `json:"headers"`
		Value     json.RawMessage            `json:"value"`
	} `json:"data"`
	Id              *string `json:"id"`
	Source          *string `json:"source"`
	SpecVersion     *string `json:"specversion"`
	Type            *string `json:"type"`
	DataContentType *string `json:"datacontenttype"`
	Time            *string `json:"time"`
	Subject         *string `json:"subject"`
	AliyunAccountId *string `json:"aliyunaccountid"`
}

// Decode decodes a batch of CloudEvents and returns the values of each
// partition, newline-terminated, in order of first appearance.
func Decode(payload []byte, f Format) ([]*Partition, error) {
	var parts []*Partition
	byKey := map[string]*Partition{}
	// part returns the buffer of a partition; the caller appends the value.
	part := func(topic *string, partition *int) (*bytes.Buffer, error) {
		if topic == nil || partition == nil {
			return nil, fmt.Errorf("naive: event without topic or partition")
		}
		k := fmt.Sprintf("%s/%d", *topic, *partition)
		p := byKey[k]
		if p == nil {
			p = &Partition{Topic: *topic, Partition: *partition}
			byKey[k] = p
			parts = append(parts, p)
		}
		return &p.Buf, nil
	}
	if f == JSON {
		var evs []rawEvent
		if err := json.Unmarshal(payload, &evs); err != nil {
			return nil, fmt.Errorf("naive: decode batch: %w", err)
		}
		for _, e := range evs {
			if e.Data == nil {
				return nil, fmt.Errorf("naive: event without data")
			}
			buf, err := part(e.Data.Topic, e.Data.Partition)
			if err != nil {
				return nil, err
			}
			buf.Write(e.Data.Value)
			buf.WriteByte('\n')
		}
		return parts, nil
	}
	var evs []sdkevents.KafkaEventBridgeEvent
	if err := json.Unmarshal(payload, &evs); err != nil {
		return nil, fmt.Errorf("naive: decode batch: %w", err)
	}
	for _, e := range evs {
		if e.Data == nil || e.Data.Value == nil {
			return nil, fmt.Errorf("naive: event without data or value")
		}
		buf, err := part(e.Data.Topic, e.Data.Partition)
		if err != nil {
			return nil, err
		}
		if f == Binary {
			v, err := base64.StdEncoding.DecodeString(*e.Data.Value)
			if err != nil {
				return nil, fmt.Errorf("naive: decode base64 value: %w", err)
			}
			buf.Write(v)
		} else {
			buf.WriteString(*e.Data.Value)
		}
		buf.WriteByte('\n')
	}
	return parts, nil
}
