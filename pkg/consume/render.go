package consume

import (
	"fmt"
	"unicode/utf8"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

type valueEncoding = events.ValueEncoding

// firstUnrenderable returns the index of the first record that render
// cannot carry without loss, and why; -1 and nil if there is none. JSON
// strings hold text: invalid UTF-8 in one would be read back as U+FFFD.
func firstUnrenderable(batch []*sarama.ConsumerMessage, enc valueEncoding) (int, *RecordError) {
	for i, m := range batch {
		field, hint := "", ""
		switch {
		case enc == events.Text && m.Value != nil && !utf8.Valid(m.Value):
			field, hint = "value", "SINK_VALUE_ENCODING=text carries values as text: set SINK_VALUE_ENCODING=base64 to store binary values exactly"
		case m.Key != nil && !utf8.Valid(m.Key):
			field = "key"
		default:
			for j, h := range m.Headers {
				switch {
				case h == nil:
				case !utf8.Valid(h.Key):
					field = fmt.Sprintf("header %d key", j)
				case h.Value != nil && !utf8.Valid(h.Value):
					field = fmt.Sprintf("header %d value", j)
				}
				if field != "" {
					break
				}
			}
		}
		if field == "" {
			continue
		}
		if hint == "" {
			hint = "the trigger carries keys and headers as text whatever SINK_VALUE_ENCODING is, so no setting stores it exactly"
		}
		return i, &RecordError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Field: field, Hint: hint}
	}
	return -1, nil
}

// render returns the batch as the trigger's body: a JSON array of
// CloudEvents objects. Every string it writes must be valid UTF-8 (see
// firstUnrenderable). A null value is written as null, a null key not at
// all.
func render(batch []*sarama.ConsumerMessage, enc valueEncoding) []byte {
	recs := make([]events.Record, len(batch))
	for i, m := range batch {
		r := &recs[i]
		r.Topic = m.Topic
		r.Partition = m.Partition
		r.Offset = m.Offset
		if !m.Timestamp.IsZero() {
			r.Timestamp = m.Timestamp.UnixMilli()
		}
		if m.Key != nil {
			r.Key, r.HasKey = m.Key, true
		}
		if m.Value == nil {
			r.ValueKind = events.ValueNull
		} else {
			r.Value, r.ValueKind = m.Value, events.ValueBytes
		}
		r.Headers = renderHeaders(m.Headers)
	}
	return eventstest.Encode(eventstest.CloudEvents, recs, enc)
}

// renderHeaders returns [{"key":..,"value":..},...] (values as strings, as
// the trigger sends them).
func renderHeaders(hs []*sarama.RecordHeader) []byte {
	b := []byte{'['}
	n := 0
	for _, h := range hs {
		if h == nil {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"key":`...)
		b = eventstest.AppendString(b, h.Key)
		b = append(b, `,"value":`...)
		if h.Value == nil {
			b = append(b, "null"...)
		} else {
			b = eventstest.AppendString(b, h.Value)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
