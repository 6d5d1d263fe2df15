package field

import (
	"bytes"
	"errors"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Errors of Lookup and LookupValue. They are sentinels, so that reporting
// them allocates nothing, and they carry nothing of the record.
var (
	// ErrNotJSON: the text is not one JSON value.
	ErrNotJSON = errors.New("value is not JSON")
	// ErrMissing: the JSON value has no such field.
	ErrMissing = errors.New("field missing")
	// ErrNullValue: the record's value is null (a tombstone).
	ErrNullValue = errors.New("value is null")
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	Invalid Kind = iota // the zero Value: nothing found
	String
	Number
	Bool
	Null
	Object
	Array
)

var kindNames = [...]string{"invalid", "string", "number", "bool", "null", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

func kindOf(c byte) Kind {
	switch c {
	case '"':
		return String
	case '{':
		return Object
	case '[':
		return Array
	case 't', 'f':
		return Bool
	case 'n':
		return Null
	}
	return Number
}

// Value is a JSON value found in a document. Raw is its text as written (a
// string with its quotes and escapes) and aliases the document.
type Value struct {
	Kind Kind
	Raw  []byte
}

// Text returns the value's text (see the package doc): a sub-slice of Raw
// when Raw needs no unescaping or compacting, else the text written over
// buf[:0] (grown if too small). It returns nil for the zero Value.
func (v Value) Text(buf []byte) []byte {
	switch v.Kind {
	case Invalid:
		return nil
	case String:
		body := v.Raw[1 : len(v.Raw)-1]
		if bytes.IndexByte(body, '\\') < 0 {
			return body
		}
		return events.AppendUnescaped(buf[:0], body)
	case Object, Array:
		if isCompact(v.Raw) {
			return v.Raw
		}
		return appendCompact(buf[:0], v.Raw)
	}
	return v.Raw
}

// AppendText appends the value's text (see Text) to dst.
func (v Value) AppendText(dst []byte) []byte {
	switch v.Kind {
	case Invalid:
		return dst
	case String:
		return events.AppendUnescaped(dst, v.Raw[1:len(v.Raw)-1])
	case Object, Array:
		return appendCompact(dst, v.Raw)
	}
	return append(dst, v.Raw...)
}

// isCompact reports whether the validated JSON text b has no whitespace
// outside strings.
func isCompact(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i, _ = scanString(b, i)
			i--
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

// appendCompact appends the validated JSON text b without the whitespace
// outside its strings, as json.Compact does.
func appendCompact(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			end, _ := scanString(b, i)
			dst = append(dst, b[i:end]...)
			i = end - 1
		case ' ', '\t', '\n', '\r':
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Valid reports whether doc is one JSON value, with optional whitespace
// around it.
func Valid(doc []byte) bool {
	end := skipValue(doc, 0, 0)
	return end >= 0 && skipWS(doc, end) == len(doc)
}

// Lookup finds p in the JSON text doc, validating all of doc: it returns
// ErrNotJSON if doc is not one JSON value, ErrMissing if the value has no
// such field.
func Lookup(doc []byte, p Path) (Value, error) { return lookup(doc, p, true) }

// LookupValid is Lookup for a doc known to be valid JSON: it stops at the
// field. On invalid JSON it returns an error or a Value, never panicking.
func LookupValid(doc []byte, p Path) (Value, error) { return lookup(doc, p, false) }

func lookup(doc []byte, p Path, strict bool) (Value, error) {
	if len(p.segs) == 0 {
		if Valid(doc) {
			return Value{}, ErrMissing
		}
		return Value{}, ErrNotJSON
	}
	v, end, found := find(doc, skipWS(doc, 0), p.segs, 0, strict)
	if end < 0 {
		return Value{}, ErrNotJSON
	}
	if found && !strict {
		return v, nil
	}
	if skipWS(doc, end) != len(doc) {
		return Value{}, ErrNotJSON
	}
	if !found {
		return Value{}, ErrMissing
	}
	return v, nil
}

// find looks segs up in the value at b[i] (depth levels deep) and returns
// the value found, whether it was found, and the index after the value at i
// (-1 if it is not JSON). When !strict it returns as soon as it finds the
// field, with end past the field only.
func find(b []byte, i int, segs []segment, depth int, strict bool) (v Value, end int, found bool) {
	if i >= len(b) {
		return Value{}, -1, false
	}
	seg := segs[0]
	c := b[i]
	if c != '{' && (c != '[' || seg.index < 0) {
		return Value{}, skipValue(b, i, depth), false
	}
	if depth >= MaxDepth {
		return Value{}, -1, false
	}
	closer := c + 2 // '}' follows '{' by two, ']' follows '['
	if i = skipWS(b, i+1); i < len(b) && b[i] == closer {
		return Value{}, i + 1, false
	}
	matched := false // the first member of the name wins, whether it has the rest of the path or not
	for n := 0; ; n++ {
		hit := false
		if c == '{' {
			if i >= len(b) || b[i] != '"' {
				return Value{}, -1, false
			}
			ks := i
			ke, escaped := scanString(b, i)
			if ke < 0 {
				return Value{}, -1, false
			}
			if i = skipWS(b, ke); i >= len(b) || b[i] != ':' {
				return Value{}, -1, false
			}
			i = skipWS(b, i+1)
			hit = !matched && nameEqual(b[ks+1:ke-1], escaped, seg.name)
		} else {
			hit = n == seg.index
		}
		switch {
		case !hit:
			i = skipValue(b, i, depth+1)
		case len(segs) == 1:
			matched = true
			start := i
			if i = skipValue(b, i, depth+1); i >= 0 {
				v, found = Value{Kind: kindOf(b[start]), Raw: b[start:i]}, true
			}
		default:
			matched = true
			v, i, found = find(b, i, segs[1:], depth+1, strict)
		}
		if i < 0 {
			return Value{}, -1, false
		}
		if found && !strict {
			return v, i, true
		}
		if i = skipWS(b, i); i >= len(b) {
			return Value{}, -1, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case closer:
			return v, i + 1, found
		default:
			return Value{}, -1, false
		}
	}
}
