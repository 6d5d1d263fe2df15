package field

import (
	"bytes"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// ValueJSON returns the JSON text of rec's value and true, or false if the
// value is null or its bytes are not JSON (see the package doc).
func ValueJSON(rec *events.Record) ([]byte, bool) {
	switch rec.ValueKind {
	case events.ValueJSON:
		return rec.Value, true
	case events.ValueBytes:
		if Valid(rec.Value) {
			return rec.Value, true
		}
	}
	return nil, false
}

// LookupValue finds p in rec's value: ErrNullValue for a null value,
// ErrNotJSON if the value is not JSON, ErrMissing if it has no such field.
// An object or array is read only up to the field (LookupValid): a value
// that is JSON up to there is taken as JSON — a 3 KB value whose field
// comes first costs a few dozen bytes of scanning, not a validation of the
// whole, and the answer is still a function of the value's bytes alone.
// Other values (text, scalars) are validated whole (Lookup).
func LookupValue(rec *events.Record, p Path) (Value, error) {
	switch rec.ValueKind {
	case events.ValueNull:
		return Value{}, ErrNullValue
	case events.ValueJSON:
		return LookupValid(rec.Value, p)
	}
	if i := skipWS(rec.Value, 0); i < len(rec.Value) && (rec.Value[i] == '{' || rec.Value[i] == '[') {
		return LookupValid(rec.Value, p)
	}
	return Lookup(rec.Value, p)
}

// Header returns the value of the first header named name in rec.Headers
// (the trigger's array of {"key":"...","value":"..."} objects) and true, or
// false if there is none. The value is a String or, for a header without a
// value, Null (also when the element has no "value" member). Elements that
// are not objects, or whose key is not a string, are skipped; Headers that
// are not a JSON array have no headers.
func Header(rec *events.Record, name string) (Value, bool) {
	b := rec.Headers
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return Value{}, false
	}
	if i = skipWS(b, i+1); i < len(b) && b[i] == ']' {
		return Value{}, false
	}
	for {
		if i >= len(b) {
			return Value{}, false
		}
		if b[i] == '{' {
			v, match, end := header(b, i, name)
			if end < 0 {
				return Value{}, false
			}
			if match {
				return v, true
			}
			i = end
		} else if i = skipValue(b, i, 1); i < 0 {
			return Value{}, false
		}
		if i = skipWS(b, i); i >= len(b) || b[i] != ',' {
			return Value{}, false // ']' or not JSON: no (more) headers
		}
		i = skipWS(b, i+1)
	}
}

var nullRaw = []byte("null")

// header reads the header object at b[i] and returns its value, whether its
// key is name, and the index after the object (-1 if it is not JSON).
func header(b []byte, i int, name string) (v Value, match bool, end int) {
	if i = skipWS(b, i+1); i < len(b) && b[i] == '}' {
		return Value{}, false, i + 1
	}
	haveKey, haveValue := false, false
	for {
		if i >= len(b) || b[i] != '"' {
			return Value{}, false, -1
		}
		ks := i
		ke, escaped := scanString(b, i)
		if ke < 0 {
			return Value{}, false, -1
		}
		if i = skipWS(b, ke); i >= len(b) || b[i] != ':' {
			return Value{}, false, -1
		}
		vs := skipWS(b, i+1)
		if i = skipValue(b, vs, 2); i < 0 {
			return Value{}, false, -1
		}
		member := b[ks+1 : ke-1]
		switch {
		case !haveKey && nameEqual(member, escaped, "key"):
			haveKey = true
			if b[vs] == '"' {
				body := b[vs+1 : i-1]
				match = nameEqual(body, bytes.IndexByte(body, '\\') >= 0, name)
			}
		case !haveValue && nameEqual(member, escaped, "value"):
			haveValue = true
			v = Value{Kind: kindOf(b[vs]), Raw: b[vs:i]}
		}
		if i = skipWS(b, i); i >= len(b) {
			return Value{}, false, -1
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			if match && !haveValue {
				v = Value{Kind: Null, Raw: nullRaw}
			}
			return v, match, i + 1
		default:
			return Value{}, false, -1
		}
	}
}
