package format

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// appendCSV writes one RFC 4180 row of the fields fs, ended by "\n".
func (e Encoder) appendCSV(dst []byte, r *events.Record, fs Fields) []byte {
	for i, f := range fs.f[:fs.n] {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch f {
		case FieldTopic:
			dst = appendCSVString(dst, view(r.Topic))
		case FieldPartition:
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case FieldOffset:
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case FieldTimestamp:
			dst = strconv.AppendInt(dst, r.Timestamp, 10)
		case FieldKey:
			if r.HasKey {
				dst = appendCSVString(dst, r.Key)
			} // a null is an empty unquoted field
		case FieldValue:
			switch {
			case r.ValueKind == events.ValueNull:
			case r.ValueKind != events.ValueJSON && e.base64():
				if len(r.Value) == 0 {
					dst = append(dst, `""`...)
				} else {
					// Base64 text never needs quoting.
					dst = base64.StdEncoding.AppendEncode(dst, r.Value)
				}
			default:
				dst = appendCSVString(dst, r.Value)
			}
		case FieldHeaders:
			if len(r.Headers) == 0 {
				dst = append(dst, "[]"...)
			} else {
				dst = appendCSVString(dst, r.Headers)
			}
		}
	}
	return append(dst, '\n')
}

func (e Encoder) sizeCSV(r *events.Record, fs Fields) int {
	n := int(fs.n) // separators and "\n"
	for _, f := range fs.f[:fs.n] {
		switch f {
		case FieldTopic:
			n += csvSize(view(r.Topic))
		case FieldPartition, FieldOffset, FieldTimestamp:
			n += intLen
		case FieldKey:
			n += csvSize(r.Key)
		case FieldValue:
			if r.ValueKind != events.ValueJSON && e.base64() {
				n += base64.StdEncoding.EncodedLen(len(r.Value)) + 2
			} else {
				n += csvSize(r.Value)
			}
		case FieldHeaders:
			n += max(csvSize(r.Headers), 2)
		}
	}
	return n
}

// csvSize returns an upper bound of len(appendCSVString(nil, s)).
func csvSize(s []byte) int {
	n := len(s) + 2 + bytes.Count(s, []byte{'"'})
	if !utf8.Valid(s) {
		n += 2 * len(s) // an invalid byte becomes the three bytes of U+FFFD
	}
	return n
}

// appendCSVString appends s as a CSV field: quoted when it is empty (to
// tell it from a null), contains ',' '"' CR or LF, or starts or ends with a
// space; '"' doubled. Invalid UTF-8 bytes become U+FFFD, one each, as in
// jsonl, so that the file is valid UTF-8.
func appendCSVString(dst []byte, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, `""`...)
	}
	special, high := false, false
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if hasByte(w, ',')|hasByte(w, '"')|hasByte(w, '\r')|hasByte(w, '\n') != 0 {
			special = true
		}
		if w&highs != 0 {
			high = true
		}
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == ',' || c == '"' || c == '\r' || c == '\n':
			special = true
		case c >= utf8.RuneSelf:
			high = true
		}
	}
	quote := special || s[0] == ' ' || s[len(s)-1] == ' '
	valid := !high || utf8.Valid(s)
	if !quote && valid {
		return append(dst, s...)
	}
	if quote {
		dst = append(dst, '"')
	}
	if valid {
		for {
			k := bytes.IndexByte(s, '"')
			if k < 0 {
				dst = append(dst, s...)
				break
			}
			dst = append(dst, s[:k+1]...)
			dst = append(dst, '"')
			s = s[k+1:]
		}
	} else {
		start := 0
		for i := 0; i < len(s); {
			c := s[i]
			switch {
			case c == '"':
				dst = append(dst, s[start:i+1]...)
				dst = append(dst, '"')
				i++
				start = i
			case c < utf8.RuneSelf:
				i++
			default:
				if size := runeLen(s, i); size > 0 {
					i += size
					continue
				}
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
			}
		}
		dst = append(dst, s[start:]...)
	}
	if quote {
		dst = append(dst, '"')
	}
	return dst
}

// csvField is one field of a parsed row: its content, unquoted, and whether
// it was quoted (an empty unquoted field is a null).
type csvField struct {
	b      []byte
	quoted bool
}

var errCSVRow = errors.New("csv row")

// parseCSVRow parses exactly one RFC 4180 row: b ends with its line end
// ("\n" or "\r\n") or without one. Content of quoted fields is copied only
// when it has doubled quotes; other fields alias b.
func parseCSVRow(b []byte, out []csvField) ([]csvField, error) {
	i := 0
	for {
		var f csvField
		if i < len(b) && b[i] == '"' {
			f.quoted = true
			i++
			start := i
			var val []byte
			copied := false
			for {
				k := bytes.IndexByte(b[i:], '"')
				if k < 0 {
					return out, fmt.Errorf("%w: field %d: quoted field does not end", errCSVRow, len(out)+1)
				}
				if i+k+1 < len(b) && b[i+k+1] == '"' {
					// A doubled quote: copy from now on.
					if !copied {
						val = append([]byte(nil), b[start:i+k+1]...)
						copied = true
					} else {
						val = append(val, b[i:i+k+1]...)
					}
					i += k + 2
					continue
				}
				if copied {
					val = append(val, b[i:i+k]...)
				} else {
					val = b[start : i+k]
				}
				i += k + 1
				break
			}
			f.b = val
			if f.b == nil {
				f.b = []byte{}
			}
		} else {
			start := i
			for i < len(b) && b[i] != ',' && b[i] != '\n' && b[i] != '\r' {
				if b[i] == '"' {
					return out, fmt.Errorf("%w: field %d: quote in an unquoted field", errCSVRow, len(out)+1)
				}
				i++
			}
			if i > start {
				f.b = b[start:i]
			}
		}
		out = append(out, f)
		switch {
		case i == len(b):
			return out, nil
		case b[i] == ',':
			i++
		case b[i] == '\n' && i+1 == len(b), b[i] == '\r' && i+2 == len(b) && b[i+1] == '\n':
			return out, nil
		case b[i] == '\n' || b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
			return out, fmt.Errorf("%w: more than one row", errCSVRow)
		default:
			return out, fmt.Errorf("%w: field %d: unexpected %q after the field", errCSVRow, len(out), b[i])
		}
	}
}
