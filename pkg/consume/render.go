package consume

import (
	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

type valueEncoding = events.ValueEncoding

// render returns the batch as the trigger's body: a JSON array of
// CloudEvents objects. With the Text encoding a value that is not valid
// UTF-8 is copied as it is (the handler then rejects the batch as a bad
// event, as it would reject such a body from the trigger); use base64 for
// binary topics.
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
