package parquetfile

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// header is one element of the headers list; its strings are spans of the
// buffer parseHeaders was given (spans, not slices: the buffer may grow
// while later elements are parsed).
type header struct {
	key, value span
	hasValue   bool
}

type span struct{ off, end int }

func (s span) of(buf []byte) []byte { return buf[s.off:s.end] }

// parseHeaders appends to hs the elements of the headers text h (the JSON
// array the trigger delivered) and to buf their unescaped strings.
//
// An element {"key":string,"value":string|null} (members in any order,
// "value" may be absent) gives that key and value. Any other element gives
// its compact JSON text as the key and a null value. A text that is not a
// JSON array gives one element with the text as its key; empty text and
// "null" give no element. Strings are made valid UTF-8 (each invalid byte
// becomes U+FFFD). It never fails: a header's shape is not a reason to lose
// the record.
func parseHeaders(hs []header, buf []byte, h []byte) ([]header, []byte) {
	if len(h) == 0 {
		return hs, buf
	}
	n, m := len(hs), len(buf)
	if hs, buf, ok := parseHeadersFast(hs, buf, h); ok {
		return hs, buf
	}
	return parseHeadersSlow(hs[:n], buf[:m], h)
}

// parseHeadersFast reads the compact text of the trigger's shape, the only
// one seen in practice, without encoding/json. It reports false for anything
// else (whitespace, other members, escapes in member names), leaving the
// text to parseHeadersSlow.
func parseHeadersFast(hs []header, buf []byte, h []byte) ([]header, []byte, bool) {
	if len(h) < 2 || h[0] != '[' {
		return hs, buf, false
	}
	i := 1
	if h[i] == ']' {
		return hs, buf, i+1 == len(h)
	}
	for {
		if i >= len(h) || h[i] != '{' {
			return hs, buf, false
		}
		i++
		var e header
		var seenKey, seenValue bool
		for {
			name, j, ok := scanString(h, i)
			if !ok || j >= len(h) || h[j] != ':' {
				return hs, buf, false
			}
			i = j + 1
			switch string(name) {
			case "key":
				body, j, ok := scanString(h, i)
				if !ok || seenKey {
					return hs, buf, false
				}
				start := len(buf)
				buf = appendText(buf, body)
				e.key, seenKey, i = span{start, len(buf)}, true, j
			case "value":
				if seenValue {
					return hs, buf, false
				}
				seenValue = true
				if bytes.HasPrefix(h[i:], []byte("null")) {
					i += 4
					break
				}
				body, j, ok := scanString(h, i)
				if !ok {
					return hs, buf, false
				}
				start := len(buf)
				buf = appendText(buf, body)
				e.value, e.hasValue, i = span{start, len(buf)}, true, j
			default:
				return hs, buf, false
			}
			if i >= len(h) {
				return hs, buf, false
			}
			if h[i] == ',' {
				i++
				continue
			}
			if h[i] != '}' {
				return hs, buf, false
			}
			i++
			break
		}
		if !seenKey {
			return hs, buf, false
		}
		hs = append(hs, e)
		if i >= len(h) {
			return hs, buf, false
		}
		if h[i] == ',' {
			i++
			continue
		}
		return hs, buf, h[i] == ']' && i+1 == len(h)
	}
}

// scanString returns the body of the JSON string starting at h[i] and the
// index after its closing quote; false when there is none or it is not
// valid JSON (a bad escape, a control character).
func scanString(h []byte, i int) ([]byte, int, bool) {
	if i >= len(h) || h[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(h); {
		switch c := h[j]; {
		case c == '"':
			return h[i+1 : j], j + 1, true
		case c == '\\':
			if j+1 >= len(h) {
				return nil, 0, false
			}
			switch h[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(h) || !isHex4(h[j+2:j+6]) {
					return nil, 0, false
				}
				j += 6
			default:
				return nil, 0, false
			}
		case c < 0x20:
			return nil, 0, false
		default:
			j++
		}
	}
	return nil, 0, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// appendText appends the unescaped, valid UTF-8 form of the validated JSON
// string body s.
func appendText(buf, s []byte) []byte {
	start := len(buf)
	if bytes.IndexByte(s, '\\') < 0 {
		return appendValidUTF8(buf, s)
	}
	buf = events.AppendUnescaped(buf, s)
	if utf8.Valid(buf[start:]) {
		return buf
	}
	fixed := appendValidUTF8(nil, buf[start:])
	return append(buf[:start], fixed...)
}

// parseHeadersSlow is parseHeaders through encoding/json, for any text.
func parseHeadersSlow(hs []header, buf []byte, h []byte) ([]header, []byte) {
	var elems []json.RawMessage
	if err := json.Unmarshal(h, &elems); err != nil {
		start := len(buf)
		buf = appendValidUTF8(buf, h)
		return append(hs, header{key: span{start, len(buf)}}), buf
	}
	for _, el := range elems {
		var e header
		if k, v, hasValue, ok := strictElement(el); ok {
			start := len(buf)
			buf = appendValidUTF8(buf, []byte(k))
			e.key = span{start, len(buf)}
			if hasValue {
				start = len(buf)
				buf = appendValidUTF8(buf, []byte(v))
				e.value, e.hasValue = span{start, len(buf)}, true
			}
		} else {
			var c bytes.Buffer
			if json.Compact(&c, el) != nil { // cannot happen: Unmarshal validated it
				c.Reset()
				c.Write(el)
			}
			start := len(buf)
			buf = appendValidUTF8(buf, c.Bytes())
			e.key = span{start, len(buf)}
		}
		hs = append(hs, e)
	}
	return hs, buf
}

// strictElement reads el as {"key":string,"value":string|null}, "value"
// optional, no other member.
func strictElement(el json.RawMessage) (key, value string, hasValue, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(el, &m) != nil || m == nil {
		return "", "", false, false
	}
	k, hasKey := m["key"]
	v, hasV := m["value"]
	if !hasKey || len(m) > 2 || len(m) == 2 && !hasV {
		return "", "", false, false
	}
	if len(k) == 0 || k[0] != '"' || json.Unmarshal(k, &key) != nil {
		return "", "", false, false
	}
	if !hasV || string(v) == "null" {
		return key, "", false, true
	}
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &value) != nil {
		return "", "", false, false
	}
	return key, value, true, true
}

// appendValidUTF8 appends s with each byte that is not part of a valid UTF-8
// sequence replaced by U+FFFD, as encoding/json does; readers of STRING
// columns may refuse invalid UTF-8.
func appendValidUTF8(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return append(dst, s...)
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}
