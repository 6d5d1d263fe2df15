package objindex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"iter"
	"path"
	"strconv"
	"strings"
)

// prefix is what an index object's base name starts with.
const prefix = ".oss_index_"

// suffix ends the name of the index of a data object whose name has an
// extension ("partition_3_offset_1000_9f86d081.jsonl.gz"), so that an
// engine's glob for the data ("**/*.jsonl.gz") never takes the index for
// data. Names without an extension (raw, and objects of versions before
// formats) have indexes without it.
const suffix = ".idx"

// Key returns the key of the index object of the data object dataKey:
// {dir}.oss_index_{base}, then ".idx" when base has an extension.
func Key(dataKey string) string {
	dir, base := path.Split(dataKey)
	if strings.Contains(base, ".") {
		return dir + prefix + base + suffix
	}
	return dir + prefix + base
}

// DataKey returns the key of the data object an index key describes, and
// whether key is an index key at all.
func DataKey(key string) (string, bool) {
	dir, base := path.Split(key)
	b, ok := strings.CutPrefix(base, prefix)
	if !ok || b == "" {
		return "", false
	}
	if d, ok := strings.CutSuffix(b, suffix); ok {
		if !strings.Contains(d, ".") {
			return "", false
		}
		return dir + d, true
	}
	if strings.Contains(b, ".") {
		return "", false
	}
	return dir + b, true
}

// Castagnoli is the CRC-32C table of the crc32c member.
var Castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Run is a run of consecutive offsets: First, First+1, ..., First+Count-1.
type Run struct {
	First int64
	Count int64
}

// Append announces an append of the encodings of some records to a data
// object. See the package doc.
type Append struct {
	Enc   string
	Pos   int64
	Bytes int64
	// Decoded is the length of the bytes once decompressed, for an
	// encoding that compresses each append into one complete member (0:
	// not compressed). Bytes and CRC32C are then of the member as stored.
	Decoded int64
	CRC32C  uint32
	// Head is the length of a preamble before the first record (a CSV
	// header row), in the decoded bytes; only at position 0.
	Head    int64
	Offsets []Run
	Sizes   []int64
	Nulls   []int64
	MinTS   int64
	MaxTS   int64
}

// Seal says the data object ends at At and the partition continues in Next,
// whose first offset is NextOffset.
type Seal struct {
	At         int64
	Next       string
	NextOffset int64
	// NextEnc is the encoding the next object was named for (its name's
	// extension depends on it); "" in entries of versions before formats,
	// whose names have no extension.
	NextEnc string
}

// Entry is one line of an index object: exactly one of Append and Seal is
// set. Off and Len locate the line in the index object (when parsed by a
// Scanner).
type Entry struct {
	Append *Append
	Seal   *Seal
	Off    int64
	Len    int64
}

// Records returns the number of records a announces.
func (a *Append) Records() int64 { return int64(len(a.Sizes)) }

// First returns the smallest offset a announces.
func (a *Append) First() int64 { return a.Offsets[0].First }

// Last returns the largest offset a announces.
func (a *Append) Last() int64 {
	r := a.Offsets[len(a.Offsets)-1]
	return r.First + r.Count - 1
}

// Record is one record an append announces.
type Record struct {
	Offset int64
	// Pos is the position of its encoding: in the data object, or, when
	// the append is compressed (Decoded > 0), in the member's decoded bytes.
	Pos  int64
	Size int64 // size of its encoding, separator included
	Null bool  // its value was null
}

// All yields the records a announces, in order.
func (a *Append) All() iter.Seq[Record] {
	return func(yield func(Record) bool) {
		pos, i, n := a.Pos+a.Head, 0, 0
		if a.Decoded > 0 {
			pos = a.Head
		}
		for _, r := range a.Offsets {
			for o := r.First; o < r.First+r.Count; o++ {
				null := false
				for n < len(a.Nulls) && a.Nulls[n] < o {
					n++
				}
				if n < len(a.Nulls) && a.Nulls[n] == o {
					null = true
				}
				if !yield(Record{Offset: o, Pos: pos, Size: a.Sizes[i], Null: null}) {
					return
				}
				pos += a.Sizes[i]
				i++
			}
		}
	}
}

// AppendEntry appends the encoding of e, one line ending in '\n', to dst.
// The encoding is deterministic.
func AppendEntry(dst []byte, e Entry) []byte {
	if s := e.Seal; s != nil {
		dst = append(dst, `{"op":"seal","at":`...)
		dst = strconv.AppendInt(dst, s.At, 10)
		dst = append(dst, `,"next":`...)
		dst = strconv.AppendQuote(dst, s.Next)
		dst = append(dst, `,"next_offset":`...)
		dst = strconv.AppendInt(dst, s.NextOffset, 10)
		if s.NextEnc != "" {
			dst = append(dst, `,"next_enc":`...)
			dst = strconv.AppendQuote(dst, s.NextEnc)
		}
		return append(dst, "}\n"...)
	}
	a := e.Append
	dst = append(dst, `{"op":"append","enc":`...)
	dst = strconv.AppendQuote(dst, a.Enc)
	dst = append(dst, `,"pos":`...)
	dst = strconv.AppendInt(dst, a.Pos, 10)
	dst = append(dst, `,"bytes":`...)
	dst = strconv.AppendInt(dst, a.Bytes, 10)
	if a.Decoded > 0 {
		dst = append(dst, `,"decoded":`...)
		dst = strconv.AppendInt(dst, a.Decoded, 10)
	}
	dst = append(dst, `,"crc32c":`...)
	dst = strconv.AppendUint(dst, uint64(a.CRC32C), 10)
	if a.Head > 0 {
		dst = append(dst, `,"head":`...)
		dst = strconv.AppendInt(dst, a.Head, 10)
	}
	dst = append(dst, `,"offsets":[`...)
	for i, r := range a.Offsets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, r.First, 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, r.Count, 10)
		dst = append(dst, ']')
	}
	dst = append(dst, `],"sizes":[`...)
	for i, s := range a.Sizes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, s, 10)
	}
	dst = append(dst, ']')
	if len(a.Nulls) > 0 {
		dst = append(dst, `,"nulls":[`...)
		for i, o := range a.Nulls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, o, 10)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"min_ts":`...)
	dst = strconv.AppendInt(dst, a.MinTS, 10)
	dst = append(dst, `,"max_ts":`...)
	dst = strconv.AppendInt(dst, a.MaxTS, 10)
	return append(dst, "}\n"...)
}

// wire is the JSON shape of an entry, for parsing.
type wire struct {
	Op         string     `json:"op"`
	Enc        *string    `json:"enc"`
	Pos        *int64     `json:"pos"`
	Bytes      *int64     `json:"bytes"`
	Decoded    int64      `json:"decoded"`
	CRC32C     *uint32    `json:"crc32c"`
	Head       int64      `json:"head"`
	Offsets    [][2]int64 `json:"offsets"`
	Sizes      []int64    `json:"sizes"`
	Nulls      []int64    `json:"nulls"`
	MinTS      int64      `json:"min_ts"`
	MaxTS      int64      `json:"max_ts"`
	At         *int64     `json:"at"`
	Next       *string    `json:"next"`
	NextOffset *int64     `json:"next_offset"`
	NextEnc    string     `json:"next_enc"`
}

// ErrInvalid is wrapped by every error about an entry that cannot be used.
var ErrInvalid = errors.New("invalid index entry")

// ParseEntry parses one line (with or without its '\n') and checks that it
// is self-consistent: sizes add up to bytes, one size per offset, offsets
// strictly increasing, nulls among them.
func ParseEntry(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	w, ok := parseCanonical(line)
	if !ok {
		if err := json.Unmarshal(line, &w); err != nil {
			return Entry{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	bad := func(format string, args ...any) (Entry, error) {
		return Entry{}, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	switch w.Op {
	case "seal":
		if w.At == nil || w.Next == nil || w.NextOffset == nil || *w.At < 0 || *w.NextOffset < 0 || *w.Next == "" {
			return bad("seal entry needs at >= 0, next and next_offset >= 0")
		}
		return Entry{Seal: &Seal{At: *w.At, Next: *w.Next, NextOffset: *w.NextOffset, NextEnc: w.NextEnc}}, nil
	case "append":
	default:
		return bad("unknown op %q", w.Op)
	}
	if w.Enc == nil || w.Pos == nil || w.Bytes == nil || w.CRC32C == nil || *w.Pos < 0 || *w.Bytes <= 0 {
		return bad("append entry needs enc, pos >= 0, bytes > 0 and crc32c")
	}
	if len(w.Offsets) == 0 {
		return bad("append entry without offsets")
	}
	if w.Decoded < 0 || w.Head < 0 || (w.Head > 0 && *w.Pos != 0) {
		return bad("decoded %d, head %d at pos %d: a preamble only starts an object", w.Decoded, w.Head, *w.Pos)
	}
	a := &Append{Enc: *w.Enc, Pos: *w.Pos, Bytes: *w.Bytes, Decoded: w.Decoded, CRC32C: *w.CRC32C, Head: w.Head, Sizes: w.Sizes, Nulls: w.Nulls, MinTS: w.MinTS, MaxTS: w.MaxTS}
	a.Offsets = make([]Run, len(w.Offsets))
	var n int64
	next := int64(-1)
	for i, r := range w.Offsets {
		if r[0] < 0 || r[1] <= 0 || r[0] <= next {
			return bad("offset run %d %v: not increasing or empty", i, r)
		}
		a.Offsets[i] = Run{First: r[0], Count: r[1]}
		n += r[1]
		next = r[0] + r[1] - 1
	}
	if n != int64(len(a.Sizes)) {
		return bad("%d offsets but %d sizes", n, len(a.Sizes))
	}
	var sum int64
	for _, s := range a.Sizes {
		if s <= 0 {
			return bad("size %d", s)
		}
		sum += s
	}
	switch {
	case a.Decoded > 0 && sum+a.Head != a.Decoded:
		return bad("sizes and head add up to %d, decoded is %d", sum+a.Head, a.Decoded)
	case a.Decoded == 0 && sum+a.Head != a.Bytes:
		return bad("sizes and head add up to %d, bytes is %d", sum+a.Head, a.Bytes)
	}
	prev := int64(-1)
	for _, o := range a.Nulls {
		if o <= prev || !a.has(o) {
			return bad("null offset %d: not increasing or not announced", o)
		}
		prev = o
	}
	return Entry{Append: a}, nil
}

func (a *Append) has(o int64) bool {
	for _, r := range a.Offsets {
		if o >= r.First && o < r.First+r.Count {
			return true
		}
	}
	return false
}

// parseCanonical parses line if it is exactly in the form AppendEntry
// writes (the common case, several times faster than encoding/json, which
// remains the reference for every other valid form). ok is false when the
// line is in another form; the caller then parses it generally.
func parseCanonical(line []byte) (w wire, ok bool) {
	p := canon{b: line}
	switch {
	case p.lit(`{"op":"seal","at":`):
		at, ok1 := p.int()
		ok2 := p.lit(`,"next":`)
		next, ok3 := p.str()
		ok4 := p.lit(`,"next_offset":`)
		no, ok5 := p.int()
		var ne string
		if ok5 && p.lit(`,"next_enc":`) {
			ne, ok5 = p.str()
		}
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && p.lit("}") && p.end()) {
			return wire{}, false
		}
		return wire{Op: "seal", At: &at, Next: &next, NextOffset: &no, NextEnc: ne}, true
	case p.lit(`{"op":"append","enc":`):
	default:
		return wire{}, false
	}
	enc, ok := p.str()
	if !ok || !p.lit(`,"pos":`) {
		return wire{}, false
	}
	pos, ok := p.int()
	if !ok || !p.lit(`,"bytes":`) {
		return wire{}, false
	}
	n, ok := p.int()
	var decoded, head int64
	if ok && p.lit(`,"decoded":`) {
		decoded, ok = p.int()
	}
	if !ok || !p.lit(`,"crc32c":`) {
		return wire{}, false
	}
	crc, ok := p.int()
	if ok && p.lit(`,"head":`) {
		head, ok = p.int()
	}
	if !ok || crc < 0 || crc > 1<<32-1 || !p.lit(`,"offsets":[`) {
		return wire{}, false
	}
	c32 := uint32(crc)
	w = wire{Op: "append", Enc: &enc, Pos: &pos, Bytes: &n, Decoded: decoded, CRC32C: &c32, Head: head}
	for first := true; !p.lit("]"); first = false {
		if !first && !p.lit(",") {
			return wire{}, false
		}
		if !p.lit("[") {
			return wire{}, false
		}
		f, ok1 := p.int()
		ok2 := p.lit(",")
		c, ok3 := p.int()
		if !(ok1 && ok2 && ok3 && p.lit("]")) {
			return wire{}, false
		}
		w.Offsets = append(w.Offsets, [2]int64{f, c})
	}
	list := func() ([]int64, bool) {
		var out []int64
		for first := true; !p.lit("]"); first = false {
			if !first && !p.lit(",") {
				return nil, false
			}
			v, ok := p.int()
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		return out, true
	}
	if !p.lit(`,"sizes":[`) {
		return wire{}, false
	}
	if w.Sizes, ok = list(); !ok {
		return wire{}, false
	}
	if p.lit(`,"nulls":[`) {
		if w.Nulls, ok = list(); !ok {
			return wire{}, false
		}
	}
	if !p.lit(`,"min_ts":`) {
		return wire{}, false
	}
	if w.MinTS, ok = p.int(); !ok || !p.lit(`,"max_ts":`) {
		return wire{}, false
	}
	if w.MaxTS, ok = p.int(); !ok || !p.lit("}") || !p.end() {
		return wire{}, false
	}
	return w, true
}

// canon reads the canonical form: literals, integers and plain strings.
type canon struct {
	b []byte
	i int
}

func (p *canon) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *canon) end() bool { return p.i == len(p.b) }

// int reads an integer as strconv writes it (optional '-', no leading
// zeros, at most 18 digits so that it cannot overflow).
func (p *canon) int() (int64, bool) {
	neg := p.lit("-")
	j := p.i
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	n := j - p.i
	if n == 0 || n > 18 || (n > 1 && p.b[p.i] == '0') {
		return 0, false
	}
	var v int64
	for _, c := range p.b[p.i:j] {
		v = v*10 + int64(c-'0')
	}
	p.i = j
	if neg {
		v = -v
	}
	return v, true
}

// str reads a string without escapes or control characters (what Quote
// writes for such text); anything else is not canonical here.
func (p *canon) str() (string, bool) {
	if !p.lit(`"`) {
		return "", false
	}
	j := p.i
	for j < len(p.b) && p.b[j] != '"' {
		if c := p.b[j]; c == '\\' || c < 0x20 || c >= 0x80 {
			return "", false
		}
		j++
	}
	if j == len(p.b) {
		return "", false
	}
	s := string(p.b[p.i:j])
	p.i = j + 1
	return s, true
}
