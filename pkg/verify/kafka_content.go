package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
)

// With a Kafka that can read records (KafkaRecordReader), the records of
// the current epoch's indexed objects are compared with the records Kafka
// holds at their offsets, as each object is read: a stream of Kafka's
// records runs beside each folder's objects (read folder by folder, in
// offset order), from the folder's first offset, read a window at a time
// (memory: one window, see windowBytes). Only what the object's encoding stores is
// compared — key, value, headers, as far as its fields hold them (raw: the
// value) — in the form the encoding gives it back: a JSON value as its
// compact text, text values and keys as the trigger delivers them (valid
// UTF-8, each invalid byte a U+FFFD), a CSV value that may be either.
// Timestamps are not compared (a topic with LogAppendTime has others than
// the producer's). Reading Kafka costs one pass over each folder's offset
// span: with folders whose objects interleave (a folder per key), over the
// partition once per folder.

// kafkaContent is what a partition's checker knows of Kafka before it
// reads the objects, and the stream of the folder being read.
type kafkaContent struct {
	ko     *KafkaOffsets // nil: not asked yet (or the asking failed: err)
	kr     KafkaRecordReader
	err    error        // the first failure to ask Kafka
	stream *kafkaStream // of the folder read last
	folder string
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

// A window of Kafka's records is read at a time, synchronously, from the
// first offset asked for that it does not cover: at most windowRecords
// records or windowBytes bytes. Reading stops there, so no consumer waits
// on a checker busy reading the store.
const (
	windowRecords = 500
	windowBytes   = 8 << 20
)

// kafkaStream is Kafka's records from one offset on, read a window at a
// time; offsets are asked for in increasing order.
type kafkaStream struct {
	c          *checker
	from, to   int64 // the offsets Kafka holds ([log start, high watermark)) from the folder's first
	buf        []kafkaRecord
	start, end int64 // buf holds every record Kafka has in [start, end)
	done       bool  // reading failed (reported)
}

type kafkaRecord struct {
	offset  int64
	key     []byte
	hasKey  bool
	value   []byte
	null    bool
	headers []byte
}

// kafkaFor returns the stream of Kafka's records for o: the one of its
// folder, which the objects before it in the folder moved along (objects
// are read folder by folder, in offset order), or a new one from its first
// offset. It returns nil when there is nothing to compare with: no Kafka
// that reads records, an epoch other than the current one, or offsets
// Kafka no longer holds.
func (c *checker) kafkaFor(es *epochState, o *dataObject) *kafkaStream {
	k := &c.kc
	if k.kr == nil || k.ko == nil || !es.current || k.err != nil {
		return nil
	}
	if k.stream != nil && k.folder == o.folder {
		return k.stream
	}
	from := max(o.nameOff, k.ko.LogStart)
	k.stream, k.folder = nil, o.folder
	if from < k.ko.HighWatermark {
		k.stream = &kafkaStream{c: c, from: from, to: k.ko.HighWatermark, start: from, end: from}
	}
	return k.stream
}

// at returns Kafka's record at offset off, nil if Kafka holds none there
// (or off is below the window: the stream only moves forward).
func (s *kafkaStream) at(off int64) *kafkaRecord {
	if s.done || off < s.start || off >= s.to {
		return nil
	}
	if off >= s.end {
		s.fill(off)
	}
	i := sort.Search(len(s.buf), func(i int) bool { return s.buf[i].offset >= off })
	if i < len(s.buf) && s.buf[i].offset == off {
		return &s.buf[i]
	}
	return nil
}

// fill reads the window from off.
func (s *kafkaStream) fill(off int64) {
	c := s.c
	s.buf, s.start, s.end = s.buf[:0], off, s.to
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	n := 0
	full := false
	err := c.kc.kr.ReadRecords(ctx, c.g.topic, c.g.partition, off, s.to, func(r *events.Record) {
		if full {
			return
		}
		s.buf = append(s.buf, kafkaRecord{offset: r.Offset, hasKey: r.HasKey, null: r.ValueKind == events.ValueNull,
			key: bytes.Clone(r.Key), value: bytes.Clone(r.Value), headers: bytes.Clone(r.Headers)})
		n += len(r.Key) + len(r.Value) + len(r.Headers)
		if len(s.buf) >= windowRecords || n >= windowBytes {
			// The window ends after this record: what Kafka holds
			// beyond it is read by the next.
			full, s.end = true, r.Offset+1
			cancel()
		}
	})
	if !full && err != nil && c.ctx.Err() == nil {
		s.done, s.buf = true, s.buf[:0]
		if c.kc.err == nil {
			c.kc.err = fmt.Errorf("kafka records of %s/%d from offset %d: %w", c.g.topic, c.g.partition, off, err)
		}
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
	verb := "differs"
	if len(diff) > 1 {
		verb = "differ"
	}
	c.add(Defect{Code: CodeContentMismatch, Object: o.key, Pos: pos, Offset: ptr(off),
		Message: fmt.Sprintf("the record stored at offset %d is not the one Kafka holds there: its %s %s (compared as the object's encoding stores them)",
			off, strings.Join(diff, " and "), verb)})
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
