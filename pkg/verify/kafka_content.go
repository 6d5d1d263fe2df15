package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
)

// With a Kafka that can read records (KafkaRecordReader), the records of
// the current epoch's indexed objects are compared with the records Kafka
// holds at their offsets, as each object is read: a stream of Kafka's
// records from the object's first offset runs beside the object's
// records, a few records ahead, and ends with the object (memory: those
// few records). Only what the object's encoding stores is compared — key,
// value, headers, as far as its fields hold them (raw: the value) — in the
// form the encoding gives it back: a JSON value as its compact text, text
// values and keys as the trigger delivers them (valid UTF-8, each invalid
// byte a U+FFFD), a CSV value that may be either. Timestamps are not
// compared (a topic with LogAppendTime has others than the producer's).
// Reading Kafka costs one pass over each object's offset span: with
// folders whose objects interleave (a folder per key), over the partition
// once per folder.

// kafkaContent is what a partition's checker knows of Kafka before it
// reads the objects.
type kafkaContent struct {
	ko  *KafkaOffsets // nil: not asked yet (or the asking failed: err)
	kr  KafkaRecordReader
	err error // the first failure to ask Kafka
}

// startKafka asks Kafka for the partition's offsets before the objects
// are read, when there is a Kafka to compare with.
func (c *checker) startKafka() {
	if c.cfg.kafka == nil {
		return
	}
	ko, err := c.cfg.kafka.Offsets(c.ctx, c.g.topic, c.g.partition)
	if err != nil {
		c.kc.err = fmt.Errorf("kafka offsets of %s/%d: %w", c.g.topic, c.g.partition, err)
		return
	}
	c.kc.ko = &ko
	c.kc.kr, _ = c.cfg.kafka.(KafkaRecordReader)
}

// kafkaBuffer is how many records a Kafka stream reads ahead.
const kafkaBuffer = 16

// kafkaStream is Kafka's records from one offset on, in order.
type kafkaStream struct {
	from, to int64 // the offsets Kafka holds ([log start, high watermark)) from the object's first
	ch       <-chan kafkaRecord
	cur      *kafkaRecord
	done     bool
	stop     func()
	errp     *error // where a failure to read Kafka is kept
}

type kafkaRecord struct {
	offset  int64
	key     []byte
	hasKey  bool
	value   []byte
	null    bool
	headers []byte
	err     error
}

// kafkaFor starts the stream of Kafka's records for o, or returns nil
// when there is nothing to compare with: no Kafka that reads records, an
// epoch other than the current one, or offsets Kafka no longer holds.
func (c *checker) kafkaFor(es *epochState, o *dataObject) *kafkaStream {
	k := &c.kc
	if k.kr == nil || k.ko == nil || !es.current || k.err != nil {
		return nil
	}
	from, to := max(o.nameOff, k.ko.LogStart), k.ko.HighWatermark
	if from >= to {
		return nil
	}
	ctx, cancel := context.WithCancel(c.ctx)
	ch := make(chan kafkaRecord, kafkaBuffer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		err := k.kr.ReadRecords(ctx, c.g.topic, c.g.partition, from, to, func(r *events.Record) {
			kr := kafkaRecord{offset: r.Offset, hasKey: r.HasKey, null: r.ValueKind == events.ValueNull,
				key: bytes.Clone(r.Key), value: bytes.Clone(r.Value), headers: bytes.Clone(r.Headers)}
			select {
			case ch <- kr:
			case <-ctx.Done():
			}
		})
		if err != nil && ctx.Err() == nil {
			select {
			case ch <- kafkaRecord{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	return &kafkaStream{from: from, to: to, ch: ch, errp: &k.err, stop: func() {
		cancel()
		<-done
	}}
}

// close ends the stream; nil is a stream that was never started.
func (s *kafkaStream) close() {
	if s != nil {
		s.stop()
	}
}

// at returns Kafka's record at offset off, nil if Kafka holds none there
// (or no more: the stream only moves forward).
func (s *kafkaStream) at(off int64) *kafkaRecord {
	for {
		if s.cur != nil {
			switch {
			case s.cur.offset == off:
				return s.cur
			case s.cur.offset > off:
				return nil
			}
		}
		if s.done {
			return nil
		}
		r, ok := <-s.ch
		switch {
		case !ok:
			s.done = true
			return nil
		case r.err != nil:
			s.done = true
			if *s.errp == nil {
				*s.errp = fmt.Errorf("kafka records from offset %d: %w", s.from, r.err)
			}
			return nil
		}
		s.cur = &r
	}
}

// stored is a record as its encoding stores it, for the comparison.
type stored struct {
	fields  format.Fields
	key     []byte
	hasKey  bool
	value   []byte
	null    bool
	headers []byte // JSON array text; nil: none
	text    bool   // values were delivered as text (not the base64 value encoding)
}

// storedOf is the record d, decoded from encoding enc; null is its index's
// tombstone flag (raw records cannot say it themselves).
func storedOf(enc format.Encoder, d format.Decoded, null bool) stored {
	s := stored{fields: d.Fields, key: d.Key, hasKey: d.HasKey, value: d.Value, null: d.ValueKind == events.ValueNull,
		headers: d.Headers, text: enc.ValueEncoding != events.Base64}
	if enc.Format == format.Raw {
		s.fields, _ = format.ParseFields("value")
		s.null = null
	}
	return s
}

// compare compares the stored record at off with Kafka's there.
func (s *kafkaStream) compare(c *checker, o *dataObject, off int64, pos *Position, st stored) {
	if off < s.from || off >= s.to {
		return
	}
	k := s.at(off)
	if k == nil {
		return // Kafka holds no record there (compacted since): nothing to compare
	}
	var diff []string
	if st.fields.Has(format.FieldKey) && !sameKey(st, k) {
		diff = append(diff, "key")
	}
	if st.fields.Has(format.FieldValue) && !sameValue(st, k) {
		diff = append(diff, "value")
	}
	if st.fields.Has(format.FieldHeaders) && !sameHeaders(st.headers, k.headers) {
		diff = append(diff, "headers")
	}
	if len(diff) == 0 {
		return
	}
	c.add(Defect{Code: CodeContentMismatch, Object: o.key, Pos: pos, Offset: ptr(off),
		Message: fmt.Sprintf("the record stored at offset %d is not the one Kafka holds there: its %s differ (compared as the object's encoding stores them)",
			off, strings.Join(diff, " and "))})
}

func sameKey(s stored, k *kafkaRecord) bool {
	if s.hasKey != k.hasKey {
		return false
	}
	return bytes.Equal(s.key, k.key) || bytes.Equal(s.key, validUTF8(k.key))
}

func sameValue(s stored, k *kafkaRecord) bool {
	if s.null || k.null {
		return s.null == k.null
	}
	if bytes.Equal(s.value, k.value) || (s.text && bytes.Equal(s.value, validUTF8(k.value))) {
		return true
	}
	// A value the trigger delivered as JSON (its Json data format) is
	// stored as its compact text.
	var b bytes.Buffer
	return json.Valid(k.value) && json.Compact(&b, k.value) == nil && bytes.Equal(s.value, b.Bytes())
}

// validUTF8 replaces each byte of b that is not part of valid UTF-8 by
// U+FFFD, as JSON strings carry text.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

type header struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// sameHeaders compares two JSON arrays of headers by their elements (nil,
// "" and "[]" are no headers); texts that are not such arrays are
// compared as they are.
func sameHeaders(a, b []byte) bool {
	ha, okA := parseHeaders(a)
	hb, okB := parseHeaders(b)
	if !okA || !okB {
		return bytes.Equal(a, b)
	}
	if len(ha) != len(hb) {
		return false
	}
	for i := range ha {
		x, y := ha[i], hb[i]
		if x.Key != y.Key || (x.Value == nil) != (y.Value == nil) || (x.Value != nil && *x.Value != *y.Value) {
			return false
		}
	}
	return true
}

func parseHeaders(b []byte) ([]header, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil, true
	}
	var hs []header
	if err := json.Unmarshal(b, &hs); err != nil {
		return nil, false
	}
	return hs, true
}
