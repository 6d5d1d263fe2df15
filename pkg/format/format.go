// Package format encodes decoded Kafka records into the bytes of data objects.
//
// Two formats exist:
//
//   - Raw (the default, as Alibaba's OSS sink connector writes): each record's
//     value followed by '\n'. A null value gives an empty line; a Json-format
//     value gives its compact JSON text; with base64 value encoding the
//     decoded bytes are written.
//   - JSONL: one JSON object per line with the members topic, partition,
//     offset, timestamp, key, value and headers, in that order. key is a JSON
//     string or null; value is a JSON string (text), the base64 text (base64
//     value encoding), the embedded JSON value (Json data format) or null;
//     headers is the delivered headers array (or []).
//
// Encoding is a pure function of the record and the Encoder: the same record
// always encodes to the same bytes. The exactly-once protocol relies on this to
// recognise records that a failed attempt already wrote (see package sink), so
// any change to the output of an existing format is a compatibility break and
// needs a new format name.
package format

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Format names an output format.
type Format uint8

const (
	Raw Format = iota
	JSONL
)

// String returns the configuration name of f ("raw" or "jsonl").
func (f Format) String() string {
	switch f {
	case Raw:
		return "raw"
	case JSONL:
		return "jsonl"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Parse returns the Format named s ("raw" or "jsonl"; "" means raw).
func Parse(s string) (Format, error) {
	switch s {
	case "", "raw":
		return Raw, nil
	case "jsonl":
		return JSONL, nil
	}
	return 0, fmt.Errorf("unknown format %q (want raw or jsonl)", s)
}

// Encoder appends the encoding of records to a buffer. The zero value encodes
// Raw with text values. It is a small value type, safe to copy and to share.
type Encoder struct {
	Format Format
	// ValueEncoding says how string values were delivered; JSONL writes
	// base64-delivered values back as base64 so that binary values survive.
	ValueEncoding events.ValueEncoding
}

// Append appends the encoding of r, including its trailing newline, to dst.
func (e Encoder) Append(dst []byte, r *events.Record) []byte {
	if e.Format == JSONL {
		return e.appendJSONL(dst, r)
	}
	dst = append(dst, r.Value...)
	return append(dst, '\n')
}

// Size returns the exact length Append would add for r, so callers can size
// buffers once.
func (e Encoder) Size(r *events.Record) int {
	if e.Format != JSONL {
		return len(r.Value) + 1
	}
	// JSONL sizes depend on escaping; an upper bound is cheap and good enough
	// for preallocation, so this is only exact for Raw.
	n := 96 + len(r.Topic) + len(r.Headers) + 2*len(r.Key)
	switch {
	case r.ValueKind == events.ValueBytes && e.ValueEncoding == events.Base64:
		n += base64.StdEncoding.EncodedLen(len(r.Value)) + 2
	case r.ValueKind == events.ValueBytes:
		n += len(r.Value) + len(r.Value)/8 + 2
	default:
		n += len(r.Value)
	}
	return n
}

func (e Encoder) appendJSONL(dst []byte, r *events.Record) []byte {
	dst = append(dst, `{"topic":`...)
	dst = appendString(dst, r.Topic)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(r.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, r.Timestamp, 10)
	dst = append(dst, `,"key":`...)
	if r.HasKey {
		dst = appendString(dst, r.Key)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"value":`...)
	switch {
	case r.ValueKind == events.ValueNull:
		dst = append(dst, "null"...)
	case r.ValueKind == events.ValueJSON:
		dst = append(dst, r.Value...)
	case e.ValueEncoding == events.Base64:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, r.Value)
		dst = append(dst, '"')
	default:
		dst = appendString(dst, r.Value)
	}
	dst = append(dst, `,"headers":`...)
	if len(r.Headers) == 0 {
		dst = append(dst, "[]"...)
	} else {
		dst = append(dst, r.Headers...)
	}
	return append(dst, "}\n"...)
}

// needsEscape marks the ASCII bytes that cannot appear raw in a JSON string.
var needsEscape = func() (t [utf8.RuneSelf]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid JSON.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		size := runeLen(s, i)
		if size == 0 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// runeLen returns the length of the valid UTF-8 sequence starting at s[i]
// (a non-ASCII lead byte), or 0 if it is invalid. Same acceptance as
// utf8.DecodeRune: no overlongs, no surrogates, nothing above U+10FFFF.
func runeLen[T string | []byte](s T, i int) int {
	c := s[i]
	n := len(s) - i
	cont := func(k int) bool { return k < n && s[i+k]&0xc0 == 0x80 }
	switch {
	case c >= 0xc2 && c <= 0xdf:
		if cont(1) {
			return 2
		}
	case c >= 0xe0 && c <= 0xef:
		if !cont(1) || !cont(2) {
			return 0
		}
		c1 := s[i+1]
		if (c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) {
			return 0
		}
		return 3
	case c >= 0xf0 && c <= 0xf4:
		if !cont(1) || !cont(2) || !cont(3) {
			return 0
		}
		c1 := s[i+1]
		if (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f) {
			return 0
		}
		return 4
	}
	return 0
}
