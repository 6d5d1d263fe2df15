package verify

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// objFormat is how one object was read.
type objFormat uint8

const (
	fmtNone objFormat = iota // empty or unread
	fmtRaw
	fmtJSONL
)

func (f objFormat) String() string {
	switch f {
	case fmtRaw:
		return "raw"
	case fmtJSONL:
		return "jsonl"
	}
	return ""
}

// objResult is what reading one object found.
type objResult struct {
	format    objFormat
	read      bool  // read to the end without error
	lines     int64 // complete lines
	recLines  int64 // complete lines inside the recorded bytes
	tailLines int64 // complete lines past them
	fresh     int64 // JSONL: recorded lines holding an offset seen nowhere before
	freshMin  int64 // JSONL: the smallest offset seen nowhere before; -1 if none
	// JSONL offsets: smallest and largest over the object, and the largest
	// and the last inside the recorded bytes; -1 when none.
	min, max, recMax, recLast int64
	boundary                  bool // a line ends exactly at the recorded size (or it is 0)
	torn                      bool // ends in a partial line
	// tailBad: a JSONL line past the recorded size is no record the sink
	// could absorb (bad, another partition's, a repeated or earlier offset).
	tailBad bool
}

// aggKey identifies the defects counted together.
type aggKey struct {
	code   Code
	object string
}

// checker checks one topic-partition.
type checker struct {
	ctx  context.Context
	st   store.Store
	cfg  *config
	prog *tracker
	g    *group

	metaKey string
	meta    *sink.Meta
	objs    []*dataObject
	res     []objResult

	seen       offsetSet
	prevMax    map[string]int64 // folder -> largest JSONL offset read so far
	defects    []Defect
	agg        map[aggKey]int
	unreadable bool // some data could not be read: count comparisons are skipped
	// lookupFailed holds open objects whose existence is unknown (reported
	// unreadable, not missing).
	lookupFailed map[string]bool
	metaBad      bool // meta object unreadable or invalid
}

func newChecker(ctx context.Context, st store.Store, cfg *config, prog *tracker, g *group) *checker {
	return &checker{ctx: ctx, st: st, cfg: cfg, prog: prog, g: g,
		metaKey: sink.MetaKey(cfg.prefix, g.topic, g.partition),
		objs:    g.objs, prevMax: map[string]int64{}, agg: map[aggKey]int{}, lookupFailed: map[string]bool{}}
}

// add records a defect, counting it into an earlier one of the same code
// and object.
func (c *checker) add(d Defect) {
	d.Topic, d.Partition, d.Severity = c.g.topic, c.g.partition, d.Code.Severity()
	if d.Count == 0 {
		d.Count = 1
	}
	k := aggKey{d.Code, d.Object}
	if i, ok := c.agg[k]; ok {
		c.defects[i].Count += d.Count
		return
	}
	c.agg[k] = len(c.defects)
	c.defects = append(c.defects, d)
}

func (c *checker) addf(code Code, object string, pos *Position, offset *int64, format string, args ...any) {
	c.add(Defect{Code: code, Object: object, Pos: pos, Offset: offset, Message: fmt.Sprintf(format, args...)})
}

func ptr[T any](v T) *T { return &v }

func (c *checker) run() PartitionReport {
	c.loadMeta()
	c.refreshSizes() // before findOpenObjects adds objects that were not listed
	c.findOpenObjects()
	slices.SortFunc(c.objs, func(a, b *dataObject) int {
		return cmp.Or(strings.Compare(a.folder, b.folder), cmp.Compare(a.nameOff, b.nameOff), strings.Compare(a.key, b.key))
	})
	c.res = make([]objResult, len(c.objs))
	for i, o := range c.objs {
		o.idx = i
		o.recorded = c.recordedBytes(o)
	}
	for i, o := range c.objs {
		if c.ctx.Err() != nil {
			break
		}
		c.res[i] = c.checkObject(o)
		c.prog.objectDone(c.g.tp, o.key)
	}
	if c.ctx.Err() != nil {
		return PartitionReport{}
	}
	c.compareMeta()
	return c.report()
}

// loadMeta reads and decodes the meta object.
func (c *checker) loadMeta() {
	data, err := c.st.Get(c.ctx, c.metaKey)
	switch {
	case store.IsNotFound(err):
		return
	case err != nil:
		c.metaBad = true
		if c.ctx.Err() == nil {
			c.addf(CodeMetaUnreadable, c.metaKey, nil, nil, "cannot read the meta object: %v", err)
		}
		return
	}
	m, err := sink.DecodeMeta(data, c.cfg.prefix, c.g.topic, c.g.partition)
	if err != nil {
		c.metaBad = true
		c.addf(CodeMetaInvalid, c.metaKey, nil, nil, "%v", err)
		return
	}
	c.meta = m
}

// findOpenObjects makes sure the meta object's open objects are among
// c.objs when they exist, even if created after the listing.
func (c *checker) findOpenObjects() {
	if c.meta == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.meta.Folders)) {
		f := c.meta.Folders[name]
		if want := sink.ObjectKey(c.cfg.prefix, c.g.topic, name, c.g.partition, f.FirstOffset, c.meta.Epoch); f.Object != want {
			c.addf(CodeOpenObjectOffsets, f.Object, nil, ptr(f.FirstOffset),
				"the meta object names open object %s for folder %q, but its first_offset %d gives %s", f.Object, name, f.FirstOffset, want)
		}
		if c.object(f.Object) != nil {
			continue
		}
		dir, base := path.Split(strings.TrimPrefix(f.Object, c.cfg.prefix+c.g.topic+"/"))
		p, off, ok := parseObjectName(base)
		if !ok || p != c.g.partition || !strings.HasPrefix(f.Object, c.cfg.prefix+c.g.topic+"/") {
			continue // reported missing by compareMeta
		}
		info, err := c.st.Stat(c.ctx, f.Object)
		if err != nil {
			if !store.IsNotFound(err) && c.ctx.Err() == nil {
				c.unreadable = true
				c.lookupFailed[f.Object] = true
				c.addf(CodeUnreadable, f.Object, nil, nil, "cannot look up the open object: %v", err)
			}
			continue
		}
		c.objs = append(c.objs, &dataObject{key: f.Object, folder: dir, nameOff: off, size: info.Size,
			derived: sink.ObjectKey(c.cfg.prefix, c.g.topic, dir, p, off, 0)})
		c.prog.grow(1, info.Size)
	}
}

// refreshSizes looks up the current size of the listed objects that may
// have grown since the listing: the last listed object of each folder and
// the open objects. Sealed objects never change.
func (c *checker) refreshSizes() {
	last := map[string]*dataObject{}
	for _, o := range c.objs {
		if l := last[o.folder]; l == nil || o.nameOff > l.nameOff {
			last[o.folder] = o
		}
	}
	check := map[*dataObject]bool{}
	for _, o := range last {
		check[o] = true
	}
	if c.meta != nil {
		for _, f := range c.meta.Folders {
			if o := c.object(f.Object); o != nil {
				check[o] = true
			}
		}
	}
	for _, o := range c.objs {
		if !check[o] {
			continue
		}
		info, err := c.st.Stat(c.ctx, o.key)
		if err == nil {
			c.prog.grow(0, info.Size-o.size)
			o.size = info.Size
		}
		// A failed lookup is left to the read, which reports it.
	}
}

func (c *checker) object(key string) *dataObject {
	for _, o := range c.objs {
		if o.key == key {
			return o
		}
	}
	return nil
}

// openFolder returns the meta object's open object for o's folder if o is
// it.
func (c *checker) openFolder(o *dataObject) *sink.Folder {
	if c.meta == nil {
		return nil
	}
	if f := c.meta.Folders[o.folder]; f != nil && f.Object == o.key {
		return f
	}
	for _, f := range c.meta.Folders {
		if f.Object == o.key {
			return f
		}
	}
	return nil
}

// recordedBytes is how much of o the meta object accounts for.
func (c *checker) recordedBytes(o *dataObject) int64 {
	if c.meta == nil {
		return o.size
	}
	if f := c.openFolder(o); f != nil {
		o.open = true
		return min(f.Size, o.size)
	}
	if o.nameOff > c.meta.Committed {
		return 0
	}
	return o.size
}

// formatOf decides o's format before reading, or returns fmtNone to decide
// from its first lines.
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

// base64Values reports whether o's JSONL string values must be base64.
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

// checkObject reads one data object and checks its name and lines.
func (c *checker) checkObject(o *dataObject) objResult {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1, boundary: o.recorded == 0}
	if o.key != o.derived {
		_, got := path.Split(o.key)
		_, want := path.Split(o.derived)
		c.addf(CodeNameSuffix, o.key, nil, ptr(o.nameOff),
			"name %s does not end in the derived characters (%s): a retry of the sink would not find this object and could write its records again",
			got, want[strings.LastIndexByte(want, '_')+1:])
	}
	if o.size == 0 {
		r.read = true
		c.addf(CodeEmptyObject, o.key, nil, nil, "the object is empty; the sink never leaves one")
		return r
	}
	r.format = c.formatOf(o)
	lc := lineChecker{c: c, o: o, r: &r, b64: c.base64Values(o)}
	tail, torn, err := scanLines(c.ctx, c.st, o.key, o.size, c.cfg.chunkSize, lc.line,
		func(n int64) { c.prog.bytes(c.g.tp, o.key, n) })
	if err != nil {
		if c.ctx.Err() == nil {
			c.unreadable = true
			what := "cannot be read"
			if store.IsNotFound(err) {
				what = "is gone since the listing"
			}
			c.addf(CodeUnreadable, o.key, nil, nil, "the object %s: %v", what, err)
		}
		return r
	}
	r.read = true
	lc.decide(fmtRaw) // no line looked like JSONL
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
	r.lines++
	recorded := l.end() <= o.recorded
	if recorded {
		r.recLines++
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
	rec, problem := parseRecord(l.data, lc.b64)
	r.tailBad = r.tailBad || (!recorded && problem != "")
	if problem != "" {
		c.addf(CodeBadRecord, o.key, pos, nil, "%s", problem)
		return
	}
	if rec.badValue != "" {
		c.addf(CodeBadValue, o.key, pos, ptr(rec.offset), "%s", rec.badValue)
	}
	if rec.topic != c.g.topic || rec.partition != int64(c.g.partition) {
		r.tailBad = r.tailBad || !recorded
		c.addf(CodeWrongPartition, o.key, pos, ptr(rec.offset), "the record names %s/%d, not %s/%d",
			rec.topic, rec.partition, c.g.topic, c.g.partition)
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
	holder, dup := c.seen.add(off, o.idx)
	if dup {
		r.tailBad = r.tailBad || !recorded
		where := "earlier in this object"
		other := ""
		if holder != o.idx {
			other = c.objs[holder].key
			where = "in " + other
		}
		c.add(Defect{Code: CodeDuplicateOffset, Object: o.key, Pos: pos, Offset: ptr(off), Other: other,
			Message: fmt.Sprintf("offset %d is stored twice: also %s", off, where)})
		return
	}
	prev, ok := c.prevMax[o.folder]
	if ok && off < prev {
		r.tailBad = r.tailBad || !recorded
		c.addf(CodeOutOfOrder, o.key, pos, ptr(off), "offset %d comes after offset %d", off, prev)
	}
	if !ok || off > prev {
		c.prevMax[o.folder] = off
	}
	if r.freshMin < 0 || off < r.freshMin {
		r.freshMin = off
	}
	if recorded {
		r.fresh++
	}
}

// compareMeta compares the meta object with what the objects hold.
func (c *checker) compareMeta() {
	m := c.meta
	if m == nil {
		if !c.metaBad && len(c.objs) > 0 {
			c.addf(CodeMetaMissing, c.metaKey, nil, nil,
				"%d data objects but no meta object: the sink refuses to write this partition (meta object missing) until the meta object is restored, or the objects are moved away",
				len(c.objs))
		}
		return
	}
	for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
		c.compareOpen(name, m.Folders[name])
	}

	var recorded int64
	lastIdx := -1 // the recorded object with the largest name offset
	recMax := int64(-1)
	for i, o := range c.objs {
		r := &c.res[i]
		if o.recorded > 0 && (lastIdx < 0 || o.nameOff > c.objs[lastIdx].nameOff) {
			lastIdx = i
		}
		if r.format == fmtJSONL {
			recorded += r.fresh
			recMax = max(recMax, r.recMax)
		} else {
			recorded += r.recLines
		}
		if o.open {
			continue
		}
		if o.nameOff > m.Committed {
			c.addf(CodeUnrecordedObject, o.key, nil, ptr(o.nameOff),
				"named for offset %d, after the committed offset %d: %s (%d bytes) that an invocation wrote and failed to record. %s",
				o.nameOff, m.Committed, plural(r.lines, "line"), o.size, recovery(r))
			continue
		}
		if f := m.Folders[o.folder]; f != nil && r.format == fmtRaw && o.nameOff > f.FirstOffset {
			c.addf(CodeOverlap, o.key, nil, ptr(o.nameOff),
				"named for offset %d, inside the range of the open object %s (offsets %d to %d): two objects claim the same offsets",
				o.nameOff, f.Object, f.FirstOffset, m.Committed)
		}
	}
	if c.unreadable {
		return
	}
	if recorded != m.Records {
		note := ""
		if c.hasFormat(fmtRaw) {
			note = " (raw lines are counted as records: a value that contains a newline counts more than once)"
		}
		c.addf(CodeRecordsMismatch, c.metaKey, nil, nil,
			"the meta object's records_written is %d, the recorded data holds %d records%s", m.Records, recorded, note)
	}
	if lastIdx >= 0 && c.res[lastIdx].format == fmtJSONL && recMax >= 0 && recMax != m.Committed {
		what := "records up to the committed offset are missing"
		if recMax > m.Committed {
			what = "recorded data holds offsets past the committed offset"
		}
		c.addf(CodeCommittedMismatch, c.metaKey, nil, ptr(m.Committed),
			"the meta object's committed_offset is %d, the last recorded offset is %d: %s", m.Committed, recMax, what)
	}
}

// compareOpen checks one folder's open object against the meta object.
func (c *checker) compareOpen(name string, f *sink.Folder) {
	o := c.object(f.Object)
	if o == nil && c.lookupFailed[f.Object] {
		return
	}
	if o == nil {
		c.addf(CodeOpenObjectMissing, f.Object, nil, ptr(f.FirstOffset),
			"the meta object records open object %s for folder %q (%d records, %d bytes, offsets %d to %d), but it does not exist",
			f.Object, name, f.Records, f.Size, f.FirstOffset, f.LastOffset)
		return
	}
	r := &c.res[o.idx]
	if !r.read {
		return // unreadable, reported
	}
	if o.size < f.Size {
		c.addf(CodeOpenObjectSize, o.key, nil, nil,
			"the object holds %d bytes, the meta object records %d: recorded data is gone", o.size, f.Size)
		return
	}
	if !r.boundary {
		c.addf(CodeOpenObjectSize, o.key, &Position{Byte: f.Size}, nil,
			"the recorded size %d is not at the end of a line", f.Size)
		return
	}
	if r.recLines != f.Records {
		c.addf(CodeOpenObjectRecords, o.key, nil, nil,
			"the recorded %d bytes hold %d lines, the meta object records %d records", f.Size, r.recLines, f.Records)
	}
	if o.nameOff != f.FirstOffset {
		c.addf(CodeOpenObjectOffsets, o.key, nil, ptr(o.nameOff),
			"named for offset %d, the meta object records first_offset %d", o.nameOff, f.FirstOffset)
	}
	if r.format == fmtJSONL && r.recLast >= 0 && r.recLast != f.LastOffset {
		c.addf(CodeOpenObjectOffsets, o.key, nil, ptr(r.recLast),
			"the last recorded record has offset %d, the meta object records last_offset %d", r.recLast, f.LastOffset)
	}
	if extra := o.size - f.Size; extra > 0 && !r.torn {
		c.addf(CodeUnrecordedTail, o.key, &Position{Byte: f.Size, Line: r.recLines + 1}, nil,
			"%d bytes (%s) past the recorded size %d: written by an invocation that failed before recording them. %s",
			extra, plural(r.tailLines, "whole line"), f.Size, recovery(r))
	}
}

func (c *checker) hasFormat(f objFormat) bool {
	for i := range c.res {
		if c.res[i].format == f {
			return true
		}
	}
	return false
}

// report assembles the partition's report.
func (c *checker) report() PartitionReport {
	p := PartitionReport{Topic: c.g.topic, Partition: c.g.partition, Objects: len(c.objs),
		FirstOffset: -1, LastOffset: -1, Defects: c.defects}
	formats := map[objFormat]bool{}
	minName, jsonlMin, jsonlMax := int64(-1), int64(-1), int64(-1)
	for i, o := range c.objs {
		r := &c.res[i]
		p.Bytes += o.size
		p.Records += r.lines
		if r.format != fmtNone {
			formats[r.format] = true
		}
		if minName < 0 || o.nameOff < minName {
			minName = o.nameOff
		}
		if r.min >= 0 && (jsonlMin < 0 || r.min < jsonlMin) {
			jsonlMin = r.min
		}
		jsonlMax = max(jsonlMax, r.max)
		if c.cfg.details {
			p.ObjectList = append(p.ObjectList, ObjectReport{Key: o.key, Folder: o.folder, NameOffset: o.nameOff,
				Format: r.format.String(), Bytes: o.size, Records: r.lines, FirstOffset: r.min, LastOffset: r.max,
				RecordedBytes: o.recorded, Open: o.open})
		}
	}
	switch {
	case formats[fmtRaw] && formats[fmtJSONL]:
		p.Format = "mixed"
	case formats[fmtRaw]:
		p.Format = "raw"
	case formats[fmtJSONL]:
		p.Format = "jsonl"
	}
	if p.Format == "jsonl" {
		p.ExactOffsets = true
		p.FirstOffset, p.LastOffset = jsonlMin, jsonlMax
	} else {
		p.FirstOffset = minName
		if jsonlMin >= 0 && (p.FirstOffset < 0 || jsonlMin < p.FirstOffset) {
			p.FirstOffset = jsonlMin
		}
		if c.meta != nil {
			p.LastOffset = c.meta.Committed
		}
	}
	if m := c.meta; m != nil {
		ms := &MetaState{Key: c.metaKey, Committed: m.Committed, RecordsWritten: m.Records, UpdatedAt: m.UpdatedAt,
			Writer: m.Writer, Open: []OpenObject{}}
		for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
			f := m.Folders[name]
			ms.Open = append(ms.Open, OpenObject{Folder: name, Object: f.Object, Encoding: f.Encoding,
				FirstOffset: f.FirstOffset, LastOffset: f.LastOffset, Size: f.Size, Records: f.Records})
		}
		p.Meta = ms
	}
	slices.SortStableFunc(p.Defects, compareDefects)
	if p.Defects == nil {
		p.Defects = []Defect{}
	}
	for _, d := range p.Defects {
		if d.Severity == SeverityError {
			p.Errors++
		} else {
			p.Warnings++
		}
	}
	return p
}

// recovery says what becomes of unrecorded lines.
func recovery(r *objResult) string {
	if r.torn || r.tailBad {
		return "They are not records the sink can absorb (see the errors of this object): its next batch for this partition will stop with a conflict"
	}
	return "Pending recovery: the sink's next batch for this partition absorbs them " +
		"(it stops with a conflict instead if they are not the records Kafka redelivers)"
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
