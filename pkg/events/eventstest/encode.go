package eventstest

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Shape is the form of a payload's elements.
type Shape uint8

const (
	// CloudEvents: a JSON array of CloudEvents objects (eventSchema
	// CloudEvents, the trigger's default).
	CloudEvents Shape = iota
	// Strings: a JSON array of strings, each a serialized CloudEvent (the
	// form in fc-runtime-go-sdk's README).
	Strings
	// RawData: a JSON array of bare data objects (eventSchema RawData).
	RawData
)

// Shapes lists every Shape, for table-driven tests.
func Shapes() []Shape { return []Shape{CloudEvents, Strings, RawData} }

// String returns "cloudevents", "strings" or "rawdata".
func (s Shape) String() string {
	switch s {
	case CloudEvents:
		return "cloudevents"
	case Strings:
		return "strings"
	case RawData:
		return "rawdata"
	}
	return fmt.Sprintf("Shape(%d)", uint8(s))
}

// Encode serializes records as one trigger payload of the given shape, as
// events.Decode would read them back with events.WithValueEncoding(enc).
//
// Per record: Topic, Partition, Offset and Timestamp are written as they are;
// Key only when HasKey; Value by ValueKind: ValueBytes as a JSON string (its
// text, which must be valid UTF-8, or its base64 with enc Base64), ValueJSON
// verbatim (it must be valid JSON), ValueNull as null. Headers nil omits the
// headers member; otherwise it is written verbatim (it must be a JSON array)
// as {"headers":...,"isReadOnly":false}. Index is ignored. The CloudEvents
// envelope (id, time, subject...) is derived from the record, so it is
// deterministic too.
func Encode(shape Shape, recs []events.Record, enc events.ValueEncoding) []byte {
	size := 2
	for i := range recs {
		size += len(recs[i].Value)*4/3 + len(recs[i].Key) + len(recs[i].Headers) + 600
	}
	b := make([]byte, 0, size)
	var scratch []byte
	b = append(b, '[')
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		r := &recs[i]
		switch shape {
		case RawData:
			b = appendData(b, r, enc)
		case Strings:
			// The SDK README sample puts data first.
			scratch = append(scratch[:0], `{"data":`...)
			scratch = appendData(scratch, r, enc)
			scratch = appendEnvelope(append(scratch, ','), r)
			scratch = append(scratch, '}')
			b = AppendString(b, scratch)
		default:
			b = append(b, '{')
			b = appendEnvelope(b, r)
			b = append(b, `,"data":`...)
			b = appendData(b, r, enc)
			b = append(b, '}')
		}
	}
	return append(b, ']')
}

// appendEnvelope writes the CloudEvents attributes, in the order of the FC
// documentation's sample, without braces.
func appendEnvelope(b []byte, r *events.Record) []byte {
	b = append(b, `"specversion":"1.0","id":"`...)
	b = appendUUID(b, r)
	b = append(b, `","source":"acs:alikafka","type":"alikafka:Topic:Message","subject":`...)
	b = AppendString(b, []byte("acs:alikafka:alikafka_pre-cn-i7m2t7t1a00b:topic:"+r.Topic))
	b = append(b, `,"datacontenttype":"application/json; charset\u003dutf-8","time":"`...)
	b = time.UnixMilli(r.Timestamp).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	return append(b, `","aliyunaccountid":"1649015465372381"`...)
}

// appendUUID writes a version-4-shaped id derived from the record's
// coordinates, so that a record always gets the same id.
func appendUUID(b []byte, r *events.Record) []byte {
	h := fnv.New128a()
	fmt.Fprintf(h, "%s/%d/%d", r.Topic, r.Partition, r.Offset)
	var id [16]byte
	h.Sum(id[:0])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

// appendData writes the data object, members in the FC documentation's order.
func appendData(b []byte, r *events.Record, enc events.ValueEncoding) []byte {
	b = append(b, `{"topic":`...)
	b = AppendString(b, []byte(r.Topic))
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, r.Timestamp, 10)
	if r.Headers != nil {
		b = append(b, `,"headers":{"headers":`...)
		b = append(b, r.Headers...)
		b = append(b, `,"isReadOnly":false}`...)
	}
	if r.HasKey {
		b = append(b, `,"key":`...)
		b = AppendString(b, r.Key)
	}
	b = append(b, `,"value":`...)
	switch r.ValueKind {
	case events.ValueNull:
		b = append(b, "null"...)
	case events.ValueJSON:
		b = append(b, r.Value...)
	default:
		if enc == events.Base64 {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, r.Value)
			b = append(b, '"')
		} else {
			b = AppendString(b, r.Value)
		}
	}
	return append(b, '}')
}

// AppendString appends s as a JSON string escaped the way the trigger
// escapes (Gson's defaults): '"', '\\' and control characters as JSON
// requires, '<', '>', '&', '=', the apostrophe and U+2028, U+2029 as \uXXXX, all other
// text verbatim. Bytes that are not valid UTF-8 are copied as they are.
func AppendString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(s[i:])
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
				start = i + n
			}
			i += n
			continue
		}
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		case '\b':
			esc = `\b`
		case '\f':
			esc = `\f`
		case '<', '>', '&', '=', '\'':
		default:
			if c >= 0x20 {
				i++
				continue
			}
		}
		b = append(b, s[start:i]...)
		if esc != "" {
			b = append(b, esc...)
		} else {
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
