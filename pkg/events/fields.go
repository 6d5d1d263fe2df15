package events

import (
	"encoding/base64"
	"math"
	"strconv"
)

// fieldID names a member of a Kafka data object.
type fieldID uint8

const (
	fieldNone fieldID = iota
	fieldTopic
	fieldPartition
	fieldOffset
	fieldTimestamp
	fieldKey
	fieldValue
	fieldHeaders
	numFields
)

func fieldIDOf(name []byte) fieldID {
	switch string(name) {
	case "topic":
		return fieldTopic
	case "partition":
		return fieldPartition
	case "offset":
		return fieldOffset
	case "timestamp":
		return fieldTimestamp
	case "key":
		return fieldKey
	case "value":
		return fieldValue
	case "headers":
		return fieldHeaders
	}
	return fieldNone
}

func (id fieldID) String() string {
	switch id {
	case fieldTopic:
		return "topic"
	case fieldPartition:
		return "partition"
	case fieldOffset:
		return "offset"
	case fieldTimestamp:
		return "timestamp"
	case fieldKey:
		return "key"
	case fieldValue:
		return "value"
	case fieldHeaders:
		return "headers"
	}
	return ""
}

// Bits of recFields.has.
const (
	hasTopic uint8 = 1 << iota
	hasPartition
	hasOffset
	hasKey
)

// recFields collects the members of one data object (or RawData element).
//
// A field that breaks a rule leaves its error in errs instead of failing at
// once, because a later member of the same name replaces it (last wins, as in
// encoding/json), and because for a CloudEvent the top-level members are
// ignored altogether. Syntax errors, in contrast, end decoding at once.
type recFields struct {
	topic     []byte
	partition int32
	offset    int64
	timestamp int64
	key       []byte
	value     []byte
	headers   []byte
	kind      ValueKind
	has       uint8 // has* bits of the members decoded without error
	seen      uint8 // bit 1<<id of each member present
	errs      [numFields]*DecodeError
}

func (f *recFields) reset() { *f = recFields{kind: ValueNull} }

// check returns the first (by position) rule broken by f, or a missing
// required member, reported at end (the object's closing brace).
func (d *decoder) check(f *recFields, prefix string, end int) *DecodeError {
	var first *DecodeError
	for _, e := range f.errs {
		if e != nil && (first == nil || e.Offset < first.Offset) {
			first = e
		}
	}
	if first != nil {
		return first
	}
	switch {
	case f.has&hasTopic == 0:
		return d.elemErr(end, prefix+"topic", "required member missing")
	case f.has&hasPartition == 0:
		return d.elemErr(end, prefix+"partition", "required member missing")
	case f.has&hasOffset == 0:
		return d.elemErr(end, prefix+"offset", "required member missing")
	}
	return nil
}

// field decodes the value at i of the member id into f.
func (d *decoder) field(id fieldID, i int, f *recFields, prefix string) (int, error) {
	f.errs[id] = nil
	f.seen |= 1 << id
	switch id {
	case fieldTopic:
		return d.topicField(i, f, prefix)
	case fieldPartition, fieldOffset:
		return d.intField(id, i, f, prefix)
	case fieldTimestamp:
		return d.timestampField(i, f, prefix)
	case fieldKey:
		return d.keyField(i, f, prefix)
	case fieldValue:
		return d.valueField(i, f, prefix)
	default:
		return d.headersField(i, f, prefix)
	}
}

// wrongType skips the value at i and records that member id wanted another
// type.
func (d *decoder) wrongType(id fieldID, i int, f *recFields, prefix, want string) (int, error) {
	j, err := d.skipValue(i)
	if err != nil {
		return 0, err
	}
	f.errs[id] = d.fieldErr(i, prefix+id.String(), "expected "+want+", found "+kindOf(d.buf[i]), nil)
	return j, nil
}

func (d *decoder) topicField(i int, f *recFields, prefix string) (int, error) {
	if d.buf[i] != '"' {
		return d.wrongType(fieldTopic, i, f, prefix, "a string")
	}
	s, j, err := d.readString(i)
	if err != nil {
		return 0, err
	}
	if len(s) == 0 {
		f.errs[fieldTopic] = d.fieldErr(i, prefix+"topic", "empty topic", nil)
		return j, nil
	}
	if err := CheckTopic(s); err != nil {
		f.errs[fieldTopic] = d.fieldErr(i, prefix+"topic", err.Error(), nil)
		return j, nil
	}
	f.topic = s
	f.has |= hasTopic
	return j, nil
}

// intField decodes partition or offset: a non-negative integer.
func (d *decoder) intField(id fieldID, i int, f *recFields, prefix string) (int, error) {
	b := d.buf
	if c := b[i]; c != '-' && !isDigit(c) {
		return d.wrongType(id, i, f, prefix, "an integer")
	}
	j, isInt, err := d.scanNumber(i)
	if err != nil {
		return 0, err
	}
	text := b[i:j]
	name := id.String()
	limit := uint64(math.MaxInt64)
	if id == fieldPartition {
		limit = math.MaxInt32
	}
	neg, mag, overflow, _ := parseDecimal(text)
	var msg string
	switch {
	case !isInt:
		msg = name + " is not an integer: " + clip(text)
	case neg && (mag != 0 || overflow):
		msg = "negative " + name + " " + clip(text)
	case overflow || mag > limit:
		msg = name + " " + clip(text) + " out of range (max " + strconv.FormatUint(limit, 10) + ")"
	}
	if msg != "" {
		f.errs[id] = d.fieldErr(i, prefix+name, msg, nil)
		return j, nil
	}
	if id == fieldPartition {
		f.partition = int32(mag)
		f.has |= hasPartition
	} else {
		f.offset = int64(mag)
		f.has |= hasOffset
	}
	return j, nil
}

// timestampField decodes an integer number, a string holding one, or null.
func (d *decoder) timestampField(i int, f *recFields, prefix string) (int, error) {
	b := d.buf
	switch c := b[i]; {
	case c == 'n':
		f.timestamp = 0
		return d.literal(i, "null")
	case c == '"':
		s, j, err := d.readString(i)
		if err != nil {
			return 0, err
		}
		v, ok := parseInt64(s)
		if !ok {
			f.errs[fieldTimestamp] = d.fieldErr(i, prefix+"timestamp", "timestamp string is not an integer: "+strconv.Quote(clip(s)), nil)
			return j, nil
		}
		f.timestamp = v
		return j, nil
	case c == '-' || isDigit(c):
		j, isInt, err := d.scanNumber(i)
		if err != nil {
			return 0, err
		}
		text := b[i:j]
		v, ok := parseInt64(text)
		switch {
		case !isInt:
			f.errs[fieldTimestamp] = d.fieldErr(i, prefix+"timestamp", "timestamp is not an integer: "+clip(text), nil)
		case !ok:
			f.errs[fieldTimestamp] = d.fieldErr(i, prefix+"timestamp", "timestamp "+clip(text)+" out of range", nil)
		default:
			f.timestamp = v
		}
		return j, nil
	}
	return d.wrongType(fieldTimestamp, i, f, prefix, "a number or a numeric string")
}

func (d *decoder) keyField(i int, f *recFields, prefix string) (int, error) {
	switch d.buf[i] {
	case '"':
		s, j, err := d.readString(i)
		if err != nil {
			return 0, err
		}
		f.key = s
		f.has |= hasKey
		return j, nil
	case 'n':
		f.key = nil
		f.has &^= hasKey
		return d.literal(i, "null")
	}
	return d.wrongType(fieldKey, i, f, prefix, "a string or null")
}

func (d *decoder) valueField(i int, f *recFields, prefix string) (int, error) {
	switch d.buf[i] {
	case '"':
		if d.cfg.valueEncoding == Base64 {
			return d.base64Value(i, f, prefix)
		}
		s, j, err := d.readString(i)
		if err != nil {
			return 0, err
		}
		f.value, f.kind = s, ValueBytes
		return j, nil
	case 'n':
		f.value, f.kind = nil, ValueNull
		return d.literal(i, "null")
	}
	d.ws = false
	j, ok := d.skipFast(i)
	if !ok {
		var err error
		if j, err = d.skipValue(i); err != nil {
			return 0, err
		}
	}
	f.value, f.kind = d.compact(d.buf[i:j:j], i), ValueJSON
	return j, nil
}

// base64Value decodes the base64 string at i into the arena.
func (d *decoder) base64Value(i int, f *recFields, prefix string) (int, error) {
	start := i + 1
	var src []byte
	var end int
	if d.inPlace {
		// Encoders may escape '/' as "\/" or '=' as "\u003d"; base64 needs
		// the plain text, unescaped where it lies as it is scanned.
		var err error
		if src, end, _, err = d.readBody(start, true, d.remaining(start)); err != nil {
			return 0, err
		}
	} else {
		// Not ours to write: an escaped body is unescaped into scratch
		// memory, which the arena would not give back.
		var escaped bool
		var bad int
		var err error
		if end, escaped, bad, err = d.scanString(start); err != nil {
			return 0, err
		}
		src = d.buf[start:end]
		if escaped || bad > 0 {
			d.b64 = growLen(d.b64, len(src)+2*bad)
			src = d.b64[:unescapeInto(d.b64, src, bad > 0)]
		}
	}
	if d.inPlace {
		// Decoded over its own text: base64 shrinks, and Decode reads each
		// quantum before it writes the bytes of one, which land behind it
		// (TestInPlaceAgrees and FuzzDecode hold this against decoding
		// into the arena). This spares the arena a fresh 3/4 of a batch.
		n, err := base64.StdEncoding.Decode(src, src)
		if err != nil {
			f.errs[fieldValue] = d.fieldErr(i, prefix+"value", "invalid base64: "+err.Error(), err)
			return end + 1, nil
		}
		f.value, f.kind = src[:n:n], ValueBytes
		return end + 1, nil
	}
	dst := d.arena.reserve(base64.StdEncoding.DecodedLen(len(src)), d.remaining(start))
	n, err := base64.StdEncoding.Decode(dst, src)
	if err != nil {
		f.errs[fieldValue] = d.fieldErr(i, prefix+"value", "invalid base64: "+err.Error(), err)
		return end + 1, nil
	}
	f.value, f.kind = d.arena.commit(n), ValueBytes
	return end + 1, nil
}

// headersField decodes {"headers":[...],"isReadOnly":...}, keeping the
// compact text of the list.
func (d *decoder) headersField(i int, f *recFields, prefix string) (int, error) {
	switch d.buf[i] {
	case 'n':
		f.headers = nil
		return d.literal(i, "null")
	case '{':
	default:
		return d.wrongType(fieldHeaders, i, f, prefix, "an object")
	}
	inner := "headers."
	if prefix != "" {
		inner = "data.headers."
	}
	var list []byte
	var listErr *DecodeError
	d.prefix = inner
	j, err := d.object(i, func(name []byte, i int) (int, error) {
		if string(name) != "headers" {
			return d.skipValue(i)
		}
		list, listErr = nil, nil
		switch d.buf[i] {
		case 'n':
			return d.literal(i, "null")
		case '[':
			d.ws = false
			j, err := d.skipValue(i)
			if err != nil {
				return 0, err
			}
			list = d.compact(d.buf[i:j:j], i)
			return j, nil
		}
		j, err := d.skipValue(i)
		if err == nil {
			listErr = d.fieldErr(i, inner+"headers", "expected an array, found "+kindOf(d.buf[i]), nil)
		}
		return j, err
	})
	if err != nil {
		return 0, err
	}
	f.headers, f.errs[fieldHeaders] = list, listErr
	return j, nil
}

// readString reads the string at i (its opening quote) and returns its
// unescaped bytes and the index after it. Strings without escapes are
// sub-slices of buf; others are unescaped as they are scanned, into the
// arena, or where they lie when buf is ours to write (InPlace, or the text
// of a string element).
func (d *decoder) readString(i int) ([]byte, int, error) {
	s, end, _, err := d.readBody(i+1, d.inPlace, d.remaining(i+1))
	if err != nil {
		return nil, 0, err
	}
	return s, end + 1, nil
}

// parseDecimal parses an optional sign and one or more decimal digits into a
// sign and magnitude; overflow reports a magnitude beyond uint64.
func parseDecimal(s []byte) (neg bool, mag uint64, overflow, ok bool) {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return false, 0, false, false
	}
	for _, c := range s {
		if !isDigit(c) {
			return false, 0, false, false
		}
		dig := uint64(c - '0')
		if mag > (math.MaxUint64-dig)/10 {
			overflow = true
		}
		mag = mag*10 + dig
	}
	return neg, mag, overflow, true
}

// parseInt64 accepts what strconv.ParseInt(s, 10, 64) accepts, without
// converting s to a string.
func parseInt64(s []byte) (int64, bool) {
	neg, mag, overflow, ok := parseDecimal(s)
	switch {
	case !ok || overflow:
		return 0, false
	case neg && mag <= 1<<63:
		return -int64(mag), true
	case !neg && mag <= math.MaxInt64:
		return int64(mag), true
	}
	return 0, false
}

// clip shortens text quoted in error messages.
func clip[T []byte | string](s T) string {
	const n = 40
	if len(s) > n {
		return string(s[:n]) + "..."
	}
	return string(s)
}
