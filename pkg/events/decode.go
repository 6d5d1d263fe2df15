package events

import "strings"

// Decode decodes one invocation payload of the Kafka trigger into records,
// in payload order. See the package documentation for the shapes and field
// rules. On bad input it returns no records and a *DecodeError.
//
// The records alias payload: do not modify payload while they are in use.
// Decode allocates fresh memory for every call; a Decoder reuses it.
func Decode(payload []byte, opts ...Option) ([]Record, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	d := decoder{cfg: cfg, payload: payload, buf: payload, index: -1, inPlace: cfg.inPlace}
	return d.decode()
}

// Decoder decodes payloads like Decode, but keeps its memory (the records
// slice, the arena of unescaped strings, the interned topics) from one call
// to the next, which saves the allocation and first touch of tens of
// megabytes per full-size batch. In exchange, the records a call returns,
// and the memory they point to, are only valid until the next call: finish
// with them (or copy them) first.
//
// A Decoder is not safe for concurrent use; give each goroutine its own, for
// instance through a sync.Pool. It holds on to the memory its largest
// payload needed.
type Decoder struct {
	cfg  config
	keep buffers
}

// NewDecoder returns a Decoder with the given options; it fails only on an
// invalid option.
func NewDecoder(opts ...Option) (*Decoder, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Decoder{cfg: cfg}, nil
}

// Decode decodes payload as the function Decode does. The records are valid
// until the next call.
func (dec *Decoder) Decode(payload []byte) ([]Record, error) {
	d := decoder{cfg: dec.cfg, payload: payload, buf: payload, index: -1, inPlace: dec.cfg.inPlace, buffers: dec.keep}
	recs, err := d.decode()
	keep := d.buffers
	keep.arena.reuse()
	if cap(recs) > cap(keep.recs) {
		keep.recs = recs
	}
	keep.recs = keep.recs[:0]
	dec.keep = keep
	return recs, err
}

// buffers is the memory a Decoder reuses.
type buffers struct {
	recs   []Record
	arena  arena
	topics interner
	names  []byte // scratch for escaped member names
	b64    []byte // scratch for escaped base64 text
}

// decoder is the state of one Decode call.
type decoder struct {
	cfg     config
	payload []byte
	// buf is the text being scanned: the payload, or the unescaped text of
	// a string element. Positions passed around are indexes into buf.
	buf   []byte
	depth int
	ws    bool // whitespace skipped since last reset (see compact)

	// Where we are, for errors: the element index, and the member as a
	// prefix ("", "data.", "data.headers.") plus its name.
	index  int
	prefix string
	name   []byte

	// Set while decoding a string element: buf is its unescaped text, raw its
	// body in the payload starting at rawStart. inPlace says buf is ours (in
	// the arena, valid UTF-8, or the payload under the InPlace option) so
	// strings in it may be unescaped where they lie instead of being copied.
	inner    bool
	inPlace  bool
	rawStart int
	raw      []byte

	buffers
}

func (d *decoder) decode() ([]Record, error) {
	b := d.buf
	i := d.skipWS(0)
	if i >= len(b) {
		return nil, d.syntaxErr(i, msgEOF)
	}
	recs := d.recs[:0]
	switch b[i] {
	case '{':
		d.index = 0
		rec, j, err := d.element(i)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
		i = j
	case '[':
		if err := d.push(i); err != nil {
			return nil, err
		}
		start := i
		i = d.skipWS(i + 1)
		if i < len(b) && b[i] == ']' {
			i++
			break
		}
		for {
			d.index, d.prefix, d.name = len(recs), "", nil
			if i >= len(b) {
				return nil, d.syntaxErr(i, msgEOF)
			}
			var rec Record
			var err error
			switch c := b[i]; c {
			case '{':
				rec, i, err = d.element(i)
			case '"':
				rec, i, err = d.stringElement(i)
			default:
				if _, err := d.skipValue(i); err != nil {
					return nil, err
				}
				return nil, d.elemErr(i, "", "expected an object or a string, found "+kindOf(c))
			}
			if err != nil {
				return nil, err
			}
			if len(recs) == 0 {
				if n := estimateCount(len(b)-start, i-start); cap(recs) < n {
					recs = make([]Record, 0, n)
				}
			}
			recs = append(recs, rec)
			d.index = -1
			i = d.skipWS(i)
			if i >= len(b) {
				return nil, d.syntaxErr(i, msgEOF)
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" after array element")
			}
			i = d.skipWS(i + 1)
		}
	default:
		if _, err := d.skipValue(i); err != nil {
			return nil, err
		}
		return nil, d.elemErr(i, "", "expected a JSON array or object, found "+kindOf(b[i]))
	}
	d.index = -1
	if i = d.skipWS(i); i < len(b) {
		return nil, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" after top-level value")
	}
	return recs, nil
}

// estimateCount guesses how many elements an array of total bytes holds from
// the size of its first element, so the records slice is allocated once in
// the usual batch of same-shaped records (growing it by doubling would copy
// and fault in twice the memory). The cap, 65,536 records (about 9 MB of
// Records), keeps a tiny first element from reserving a huge slice while
// covering a full 32 MB batch of records of a few hundred bytes; pages of
// the slice that are never filled are never touched.
func estimateCount(total, first int) int {
	n := total/max(first, 1) + 1
	n += n / 8
	return min(n, 1<<16)
}

// element decodes the object at i (a CloudEvent or a RawData record) into a
// record and returns the index after it.
func (d *decoder) element(i int) (Record, int, error) {
	var top, data recFields
	top.reset()
	sawData := false
	var dataErr *DecodeError
	d.prefix, d.name = "", nil
	j, err := d.object(i, func(name []byte, i int) (int, error) {
		if id := fieldIDOf(name); id != fieldNone {
			return d.field(id, i, &top, "")
		}
		if string(name) != "data" {
			return d.skipValue(i)
		}
		// A repeated data member replaces the earlier one whole.
		sawData = true
		data.reset()
		dataErr = nil
		if d.buf[i] != '{' {
			j, err := d.skipValue(i)
			if err == nil {
				dataErr = d.fieldErr(i, "data", "expected an object, found "+kindOf(d.buf[i]), nil)
			}
			return j, err
		}
		d.prefix = "data."
		j, err := d.object(i, func(name []byte, i int) (int, error) {
			if id := fieldIDOf(name); id != fieldNone {
				return d.field(id, i, &data, "data.")
			}
			return d.skipValue(i)
		})
		if err != nil {
			return 0, err
		}
		dataErr = d.check(&data, "data.", j-1)
		return j, nil
	})
	if err != nil {
		return Record{}, 0, err
	}
	// Errors in top-level fields count only for RawData: a CloudEvent may
	// carry extension attributes that happen to share their names.
	f := &data
	if sawData {
		if dataErr != nil {
			return Record{}, 0, dataErr
		}
	} else {
		if top.seen&(1<<fieldTopic|1<<fieldPartition|1<<fieldOffset) == 0 {
			return Record{}, 0, d.elemErr(i, "", "neither a CloudEvent (no data member) nor a RawData record (no topic, partition or offset)")
		}
		if err := d.check(&top, "", j-1); err != nil {
			return Record{}, 0, err
		}
		f = &top
	}
	return Record{
		Topic:     d.topics.intern(f.topic),
		Partition: f.partition,
		Offset:    f.offset,
		Timestamp: f.timestamp,
		Key:       f.key,
		HasKey:    f.has&hasKey != 0,
		Value:     f.value,
		ValueKind: f.kind,
		Headers:   f.headers,
		Index:     d.index,
	}, j, nil
}

// stringElement decodes the string at i, a serialized CloudEvent (or RawData
// record), and returns the index after the string.
func (d *decoder) stringElement(i int) (Record, int, error) {
	start := i + 1
	// The text's own strings, base64 values included, are then unescaped
	// and decoded where they lie in it.
	text, end, written, err := d.readBody(start, false, d.remaining(start))
	if err != nil {
		return Record{}, 0, err
	}
	raw := d.buf[start:end:end]
	depth := d.depth
	d.buf, d.inner, d.inPlace, d.rawStart, d.raw, d.depth = text, true, written, start, raw, 0
	j := d.skipWS(0)
	if j >= len(text) {
		return Record{}, 0, d.syntaxErr(j, "string element: "+msgEOF)
	}
	if text[j] != '{' {
		if _, err := d.skipValue(j); err != nil {
			return Record{}, 0, err
		}
		return Record{}, 0, d.elemErr(j, "", "string element holds "+kindOf(text[j])+", not a JSON object")
	}
	rec, j, err := d.element(j)
	if err != nil {
		return Record{}, 0, err
	}
	d.prefix, d.name = "", nil
	if j = d.skipWS(j); j < len(text) {
		return Record{}, 0, d.syntaxErr(j, "string element: invalid character "+quoteChar(text[j])+" after the object")
	}
	d.buf, d.inner, d.inPlace, d.raw, d.depth = d.payload, false, d.cfg.inPlace, nil, depth
	return rec, end + 1, nil
}

// remaining bounds how many arena bytes the rest of the payload can need
// from position pos in buf on, since every output byte comes from an input
// byte. The exception is rare: U+FFFD repairs grow (the arena then starts a
// new buffer).
func (d *decoder) remaining(pos int) int {
	if d.inner {
		pos = d.rawStart
	}
	return len(d.payload) - pos
}

// offset maps a position in buf to a payload offset.
func (d *decoder) offset(pos int) int {
	if d.inner {
		return d.rawStart + rawOffset(d.raw, pos)
	}
	return pos
}

// syntaxErr reports malformed JSON at pos in buf, in the current member.
func (d *decoder) syntaxErr(pos int, msg string) *DecodeError {
	field := ""
	if d.index >= 0 {
		field = d.prefix + string(d.name)
		if d.name == nil {
			field = strings.TrimSuffix(d.prefix, ".")
		}
	}
	return &DecodeError{Index: d.index, Field: field, Offset: d.offset(pos), Msg: msg, Syntax: true}
}

// fieldErr reports a rule broken by the member field whose value is at pos.
func (d *decoder) fieldErr(pos int, field, msg string, cause error) *DecodeError {
	return &DecodeError{Index: d.index, Field: field, Offset: d.offset(pos), Msg: msg, Err: cause}
}

// elemErr reports a rule broken by the element as a whole.
func (d *decoder) elemErr(pos int, field, msg string) *DecodeError {
	return &DecodeError{Index: d.index, Field: field, Offset: d.offset(pos), Msg: msg}
}

// kindOf names the kind of JSON value that starts with c.
func kindOf(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
