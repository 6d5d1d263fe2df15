package verify

import (
	"bytes"
	"strings"
)

// Objects without a record index ("legacy": written before indexes
// existed) are checked by their lines. JSONL lines carry their offsets, so
// those checks are exact; raw lines carry only the value, and a value may
// hold '\n', so a raw line is a record only as far as no value does.

// formatOf decides a legacy object's format before reading, or returns
// fmtNone to decide from its first lines.
func (c *checker) formatOf(o *dataObject) objFormat {
	switch c.cfg.format {
	case FormatRaw:
		return fmtRaw
	case FormatJSONL:
		return fmtJSONL
	}
	if f := c.openFolder(o); f != nil {
		if fs, _, ok := strings.Cut(f.Encoding, "/"); ok {
			switch fs {
			case "raw":
				return fmtRaw
			case "jsonl":
				return fmtJSONL
			}
		}
	}
	return fmtNone
}

// base64Values reports whether a legacy object's JSONL string values must
// be base64.
func (c *checker) base64Values(o *dataObject) bool {
	switch c.cfg.valueEncoding {
	case ValueBase64:
		return true
	case ValueText:
		return false
	}
	f := c.openFolder(o)
	return f != nil && strings.HasSuffix(f.Encoding, "/base64")
}

// checkLegacy reads one data object line by line.
func (c *checker) checkLegacy(es *epochState, o *dataObject) objResult {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1, boundary: o.recorded == 0}
	if o.size == 0 {
		r.read = true
		c.addf(CodeEmptyObject, o.key, nil, nil, "the object is empty; the sink never leaves one")
		return r
	}
	r.format = c.formatOf(o)
	lc := lineChecker{c: c, es: es, o: o, r: &r, b64: c.base64Values(o)}
	tail, torn, err := scanLines(c.ctx, c.st, o.key, o.size, c.cfg.chunkSize, lc.line,
		func(n int64) { c.prog.bytes(c.g.tp, o.key, n) })
	if err != nil {
		c.unreadable(es, o.key, err)
		return r
	}
	r.read = true
	lc.decide(fmtRaw) // no line looked like JSONL
	r.exact = r.format == fmtJSONL
	if torn {
		r.torn = true
		c.addf(CodeTornTail, o.key, &Position{Byte: tail.start, Line: tail.no}, nil,
			"the object ends in a partial line of %d bytes without a newline (a torn write); it is no record", len(tail.data))
	}
	// Offsets stored twice are reported as such; the name is checked
	// against the others.
	if r.format == fmtJSONL && r.freshMin >= 0 && r.freshMin != o.nameOff {
		c.addf(CodeNameOffset, o.key, nil, ptr(r.freshMin),
			"named for offset %d, but its smallest offset is %d", o.nameOff, r.freshMin)
	}
	return r
}

// Auto-detection looks at up to sniffLines lines (and sniffBytes bytes) for
// one that is a JSONL record, so that a corrupt first line does not make a
// JSONL object pass for raw.
const (
	sniffLines = 16
	sniffBytes = 1 << 20
)

// lineChecker checks the lines of one object.
type lineChecker struct {
	c   *checker
	es  *epochState
	o   *dataObject
	r   *objResult
	b64 bool
	// Lines held (copied) while the format is undecided.
	held      []line
	heldBytes int
}

// line takes the next line of the object.
func (lc *lineChecker) line(l line) {
	if lc.r.format != fmtNone {
		lc.check(l)
		return
	}
	if sniff(l.data) == fmtJSONL {
		lc.decide(fmtJSONL)
		lc.check(l)
		return
	}
	l.data = bytes.Clone(l.data)
	lc.held = append(lc.held, l)
	lc.heldBytes += len(l.data)
	if len(lc.held) >= sniffLines || lc.heldBytes >= sniffBytes {
		lc.decide(fmtRaw)
	}
}

// decide sets the format if it is still open, and checks the lines held.
func (lc *lineChecker) decide(f objFormat) {
	if lc.r.format != fmtNone {
		return
	}
	lc.r.format = f
	for _, l := range lc.held {
		lc.check(l)
	}
	lc.held = nil
}

// check checks one line of an object whose format is known.
func (lc *lineChecker) check(l line) {
	c, o, r := lc.c, lc.o, lc.r
	r.records++
	recorded := l.end() <= o.recorded
	if recorded {
		r.recRecords++
	} else {
		r.tailLines++
	}
	if l.end() == o.recorded {
		r.boundary = true
	}
	if r.format != fmtJSONL {
		return
	}
	pos := &Position{Byte: l.start, Line: l.no}
	rec, ok := c.checkLine(o, l.data, pos, lc.b64)
	if !ok {
		r.tailBad = r.tailBad || !recorded
		return
	}
	off := rec.offset
	if r.min < 0 || off < r.min {
		r.min = off
	}
	r.max = max(r.max, off)
	if recorded {
		r.recLast = off
		r.recMax = max(r.recMax, off)
	}
	fresh, ordered := c.noteOffset(lc.es, o, off, pos)
	r.tailBad = r.tailBad || (!recorded && (!fresh || !ordered))
	if !fresh {
		return
	}
	if r.freshMin < 0 || off < r.freshMin {
		r.freshMin = off
	}
	if recorded {
		r.fresh++
	}
}

// checkLine checks one JSONL line of o: a record (bad_record), of this
// partition (wrong_partition), with a base64 value if b64 (bad_value). ok
// is false when the line is no record of this partition.
func (c *checker) checkLine(o *dataObject, b []byte, pos *Position, b64 bool) (rec record, ok bool) {
	rec, problem := parseRecord(b, b64)
	if problem != "" {
		c.addf(CodeBadRecord, o.key, pos, nil, "%s", problem)
		return rec, false
	}
	if rec.badValue != "" {
		c.addf(CodeBadValue, o.key, pos, ptr(rec.offset), "%s", rec.badValue)
	}
	if rec.topic != c.g.topic || rec.partition != int64(c.g.partition) {
		c.addf(CodeWrongPartition, o.key, pos, ptr(rec.offset), "the record names %s/%d, not %s/%d",
			rec.topic, rec.partition, c.g.topic, c.g.partition)
		return rec, false
	}
	return rec, true
}
