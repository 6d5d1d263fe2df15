package format

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// jsonlNames are the member prefixes: the first member opens the object.
var jsonlNames = func() (t [numFields][2]string) {
	for i, n := range fieldNames {
		t[i] = [2]string{`{"` + n + `":`, `,"` + n + `":`}
	}
	return t
}()

// appendJSONL writes the members of fs in their order; with AllFields it is
// byte for byte the legacy envelope.
func (e Encoder) appendJSONL(dst []byte, r *events.Record, fs Fields) []byte {
	for i, f := range fs.f[:fs.n] {
		dst = append(dst, jsonlNames[f][min(i, 1)]...)
		switch f {
		case FieldTopic:
			dst = appendString(dst, view(r.Topic))
		case FieldPartition:
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case FieldOffset:
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case FieldTimestamp:
			dst = strconv.AppendInt(dst, r.Timestamp, 10)
		case FieldKey:
			if r.HasKey {
				dst = appendString(dst, r.Key)
			} else {
				dst = append(dst, "null"...)
			}
		case FieldValue:
			switch {
			case r.ValueKind == events.ValueNull:
				dst = append(dst, "null"...)
			case r.ValueKind == events.ValueJSON:
				dst = append(dst, r.Value...)
			case e.base64():
				dst = append(dst, '"')
				dst = base64.StdEncoding.AppendEncode(dst, r.Value)
				dst = append(dst, '"')
			default:
				dst = appendString(dst, r.Value)
			}
		case FieldHeaders:
			if len(r.Headers) == 0 {
				dst = append(dst, "[]"...)
			} else {
				dst = append(dst, r.Headers...)
			}
		}
	}
	if fs.n == 0 {
		dst = append(dst, '{')
	}
	return append(dst, "}\n"...)
}

// intLen is the longest decimal int64: "-9223372036854775808".
const intLen = 20

func (e Encoder) sizeJSONL(r *events.Record, fs Fields) int {
	n := 3 // "{" "}\n" (the first name's "{" is counted there)
	for _, f := range fs.f[:fs.n] {
		n += len(fieldNames[f]) + 4 // ,"name":
		switch f {
		case FieldTopic:
			n += stringSize(view(r.Topic))
		case FieldPartition, FieldOffset, FieldTimestamp:
			n += intLen
		case FieldKey:
			n += max(stringSize(r.Key), 4)
		case FieldValue:
			switch {
			case r.ValueKind == events.ValueNull:
				n += 4
			case r.ValueKind == events.ValueJSON:
				n += len(r.Value)
			case e.base64():
				n += base64.StdEncoding.EncodedLen(len(r.Value)) + 2
			default:
				n += stringSize(r.Value)
			}
		case FieldHeaders:
			n += max(len(r.Headers), 2)
		}
	}
	return n
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

// SWAR constants: one bit or value per byte of a little-endian word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

func load64(s []byte, i int) uint64 { return binary.LittleEndian.Uint64(s[i:]) }

// hasLess reports (in the high bits) whether some byte of w is < n (n <= 0x80).
// Exact as a whole: nonzero iff such a byte exists, though which bits are
// set past the first such byte is not.
func hasLess(w uint64, n byte) uint64 { return (w - uint64(n)*ones) &^ w & highs }

// hasByte reports whether some byte of w is c, as hasLess does.
func hasByte(w uint64, c byte) uint64 { return hasLess(w^uint64(c)*ones, 1) }

// jsonPlain reports whether the eight bytes of w need no escaping and are
// ASCII: no control character, '"', '\\' or byte >= 0x80.
func jsonPlain(w uint64) bool {
	return (hasLess(w, 0x20) | hasByte(w, '"') | hasByte(w, '\\') | w&highs) == 0
}

// ctlMask sets the high bit in exactly the bytes of w that are control
// characters (< 0x20): no carries between bytes, so it can be counted.
func ctlMask(w uint64) uint64 { return ^((w & lows) + (0x80-0x20)*ones | w) & highs }

// view returns the bytes of s without copying, for reading only.
func view(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// stringSize returns an upper bound of len(appendString(nil, s)): '"' and
// '\\' grow by one byte, control characters by at most five (\u00XX), and
// when s is not valid UTF-8 each non-ASCII byte by five too (an invalid byte
// is written as the six bytes \ufffd).
func stringSize(s []byte) int {
	ctl, high := 0, false
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if hasLess(w, 0x20) != 0 {
			ctl += bits.OnesCount64(ctlMask(w))
		}
		if w&highs != 0 {
			high = true
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			high = true
		} else if c < 0x20 {
			ctl++
		}
	}
	n := len(s) + 2 + bytes.Count(s, []byte{'"'}) + bytes.Count(s, []byte{'\\'}) + 5*ctl
	if high && !utf8.Valid(s) {
		for _, c := range s {
			if c >= utf8.RuneSelf {
				n += 5
			}
		}
	}
	return n
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so the output is always valid JSON.
func appendString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time: most text has no escapes.
		for i+8 <= len(s) && jsonPlain(load64(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
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
func runeLen(s []byte, i int) int {
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
