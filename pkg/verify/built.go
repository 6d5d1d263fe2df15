package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/parquetfile"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Objects of an encoding built when sealed (Parquet; package sink,
// staging) are appended to a staging object until then, with an index as
// any other: while the staging object exists, its bytes are checked
// exactly as an object's are. When it is sealed the data object is built
// from the staged records and written, then the staging object removed;
// the index still describes the staged bytes. A built data object whose
// staging object is gone is checked against its index: the index resolves
// against its seal, and the file's rows, read one at a time (a page per
// column in memory), must be the index's records, offset for offset
// (without an offset column: as many).

// checkBuilt checks a built data object whose staged bytes are gone.
func (c *checker) checkBuilt(es *epochState, o *dataObject, opts *walkOpts) objResult {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	opts.built = true
	opts.recordedEnd = 0
	if o.recorded > 0 {
		opts.recordedEnd = math.MaxInt64 // a built object is recorded whole or not at all
	}
	// First pass: the index alone.
	w := c.walk(o, opts)
	if c.walkFailed(es, o, w, "its record index %s cannot be used: %v; the records of the data object cannot be told", "its record index %s does not resolve: %v") {
		return r
	}

	ra := &storeReaderAt{ctx: c.ctx, st: c.st, key: o.key, size: o.size, progress: func(n int64) { c.prog.bytes(c.g.tp, o.key, n) }}
	rows := &rowChecker{c: c, es: es, o: o, r: &r, kafka: c.kafkaFor(es, o)}
	pr, err := parquetfile.NewReader(ra, o.size)
	if err != nil {
		if ra.err != nil {
			c.unreadable(es, o.key, ra.err)
			return r
		}
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("not a data object the sink builds from staged records: %v; its index says it holds %s", err, plural(w.records, "record"))})
	} else {
		rows.pr = pr
		rows.offsets = hasColumn(pr.Columns(), parquetfile.Offset)
	}
	opts.onLanded = rows.check
	w = c.walk(o, opts)
	if w.readErr == nil && ra.err != nil {
		w.readErr, w.readKey = ra.err, o.key
	}
	if w.readErr != nil {
		c.unreadable(es, w.readKey, w.readErr)
		return r
	}
	if err := cmpOr(w.invalid, w.inconsistent); err != nil {
		es.inexact = true
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its record index %s resolved once, then no more: %v", o.indexKey, err)})
		return r
	}
	rows.finish(w)
	r.read, r.indexed, r.exact = true, true, true
	c.fromIndex(&r, w)
	r.format = fmtParquet
	if w.enc != "" {
		c.checkExt(o, w.enc)
	}
	if w.first >= 0 && w.first != o.nameOff {
		c.addf(CodeNameOffset, o.key, nil, ptr(w.first),
			"named for offset %d, but its index says its first record has offset %d", o.nameOff, w.first)
	}
	return r
}

func hasColumn(cols []parquetfile.Column, c parquetfile.Column) bool {
	for _, x := range cols {
		if x == c {
			return true
		}
	}
	return false
}

// rowChecker reads a built object's rows beside its index's records.
type rowChecker struct {
	c       *checker
	es      *epochState
	o       *dataObject
	r       *objResult
	pr      *parquetfile.Reader // nil: unreadable (reported)
	offsets bool                // it has an offset column
	kafka   *kafkaStream
	row     parquetfile.Row
	n       int64 // rows read
	done    bool  // no more rows to read (the end, or an error reported)
	enc     string
	checked bool // its columns were checked against the encoding
}

func (rc *rowChecker) check(a *objindex.Append, recorded bool) error {
	c, o := rc.c, rc.o
	enc, err := c.encoder(a.Enc)
	switch {
	case err != nil || !enc.Built():
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Pos: &Position{Byte: a.Pos}, Offset: ptr(a.First()),
			Message: fmt.Sprintf("the append at staged byte %d (offsets %s) is in encoding %s, not one built when sealed", a.Pos, rangesString(runsOf(a), maxListedRanges), a.Enc)})
	case !rc.checked && rc.pr != nil:
		rc.checked = true
		rc.columns(enc)
	}
	for rec := range a.All() {
		if rc.pr != nil && !rc.done {
			if err := rc.next(enc, rec); err != nil {
				return err
			}
		}
		fresh, ordered := c.noteOffset(rc.es, o, rec.Offset, nil)
		rc.r.tailBad = rc.r.tailBad || (!recorded && (!fresh || !ordered))
	}
	return nil
}

// columns checks that the file has the columns of the encoding's fields.
func (rc *rowChecker) columns(enc format.Encoder) {
	cols := rc.pr.Columns()
	fs := enc.Fields
	same := len(cols) == fs.Len()
	for i := 0; same && i < len(cols); i++ {
		same = cols[i].String() == fs.At(i).String()
	}
	if !same {
		names := make([]string, len(cols))
		for i, col := range cols {
			names[i] = col.String()
		}
		rc.c.addf(CodeFinalMismatch, rc.o.key, nil, nil, "its columns are %v, its index's encoding %s has fields %s", names, enc.ID(), fs)
	}
}

// next reads the row of rec.
func (rc *rowChecker) next(enc format.Encoder, rec objindex.Record) error {
	c, o := rc.c, rc.o
	err := rc.pr.Next(&rc.row)
	switch {
	case errors.Is(err, io.EOF):
		rc.done = true
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: o.indexKey, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("it holds %s, its index says it holds more: the records from offset %d on are not in it", plural(rc.n, "row"), rec.Offset)})
		return nil
	case err != nil:
		rc.done = true
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: o.indexKey, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("row %d (offset %d by its index) cannot be read: %v", rc.n, rec.Offset, err)})
		return nil
	}
	rc.n++
	if rc.offsets && rc.row.Offset != rec.Offset {
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: o.indexKey, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("row %d holds offset %d, its index says this record has offset %d", rc.n-1, rc.row.Offset, rec.Offset)})
		return nil
	}
	if rc.kafka != nil {
		row := &rc.row
		d := format.Decoded{Fields: enc.Fields, Key: row.Key, HasKey: row.HasKey, Value: row.Value, Headers: row.Headers}
		if row.NullValue {
			d.ValueKind = events.ValueNull
		}
		rc.kafka.compare(c, o, rec.Offset, nil, storedOf(enc, d, row.NullValue))
	}
	return nil
}

// finish checks that the file holds no rows beyond the index's records.
func (rc *rowChecker) finish(w *walkResult) {
	if rc.pr == nil || rc.done {
		return
	}
	err := rc.pr.Next(&rc.row)
	switch {
	case errors.Is(err, io.EOF):
	case err != nil:
		rc.c.addf(CodeFinalMismatch, rc.o.key, nil, nil, "row %d cannot be read: %v", rc.n, err)
	default:
		rc.c.addf(CodeFinalMismatch, rc.o.key, nil, nil,
			"it holds %d rows (its footer says), its index %s: more rows than records", rc.pr.NumRows(), plural(w.records, "record"))
	}
}

// checkFinal checks a built data object whose staging object still
// exists (finalizing was cut short after writing it) against the staged
// records: as many rows, from the first offset to the last (its footer
// and first and last rows, format.Encoder.CheckBuilt).
func (c *checker) checkFinal(o *dataObject, w *walkResult) {
	if w.seal == nil {
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: sink.StageKey(o.key),
			Message: "the data object exists, but its staging object is not sealed: the sink writes the data object only once no more records are staged"})
		return
	}
	if o.copied() {
		// Its data object is the staged bytes before the seal.
		if o.finalSize != w.seal.At {
			c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: sink.StageKey(o.key),
				Message: fmt.Sprintf("it holds %d bytes, its staging object %d before its seal: the sink writes it as a copy of those", o.finalSize, w.seal.At)})
		}
		return
	}
	enc, err := c.encoder(w.enc)
	if err != nil {
		return // reported with the appends
	}
	ra := &storeReaderAt{ctx: c.ctx, st: c.st, key: o.key, size: o.finalSize}
	got, err := enc.CheckBuilt(ra, o.finalSize)
	switch {
	case ra.err != nil:
		c.addf(CodeUnreadable, o.key, nil, nil, "the object cannot be read: %v", ra.err)
	case err != nil:
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: sink.StageKey(o.key),
			Message: fmt.Sprintf("not a data object the sink builds from staged records: %v", err)})
	case got.Records != w.records || (got.HasOffsets && w.records > 0 && (got.FirstOffset != w.first || got.LastOffset != w.max)):
		c.add(Defect{Code: CodeFinalMismatch, Object: o.key, Other: sink.StageKey(o.key),
			Message: fmt.Sprintf("it holds %s (offsets %d to %d), its staging object %s (%d to %d)",
				plural(got.Records, "row"), got.FirstOffset, got.LastOffset, plural(w.records, "staged record"), w.first, w.max)})
	}
}

// checkFinalize reports where finalizing stands for the objects built
// when sealed: staged records waiting for their data object, a staging
// object not yet removed, and the meta object's list of objects still to
// write (sink.Meta.Finalize). Staged records are never lost by waiting,
// so waiting is a warning; an object the list names that exists in no
// form is an error.
func (c *checker) checkFinalize() {
	listed := map[string]*sink.Pending{}
	if c.meta != nil {
		for _, p := range c.meta.Finalize {
			listed[p.Object] = p
		}
	}
	for _, o := range c.objs {
		r := &c.res[o.idx]
		p := listed[o.key]
		delete(listed, o.key)
		if !o.staged {
			// A copied object written, its staging object gone before
			// the listing.
			if p != nil && o.dataSize >= 0 {
				c.add(Defect{Code: CodeFinalizePending, Object: o.key, Other: c.metaKey,
					Message: "written, but the meta object still lists it as to be written (its update after writing failed): the sink's next batch of the partition completes it"})
			}
			continue
		}
		stage := sink.StageKey(o.key)
		switch {
		case o.stageSize >= 0 && o.finalSize >= 0:
			c.add(Defect{Code: CodeFinalizePending, Object: o.key, Other: stage,
				Message: fmt.Sprintf("written from its staged records, but the staging object %s is not removed yet (finalizing was cut short): the sink's next batch of the partition removes it", stage)})
		case o.stageSize < 0 || c.openFolder(o) != nil || r.records == 0:
			if o.stageSize < 0 && o.finalSize >= 0 && p != nil {
				c.add(Defect{Code: CodeFinalizePending, Object: o.key, Other: c.metaKey,
					Message: "written, but the meta object still lists it as to be written (its update after writing failed): the sink's next batch of the partition completes it"})
			}
		case r.seal != nil || p != nil:
			not := ""
			if p == nil {
				not = " (the meta object does not list it yet: state behind its index, which the next batch replays)"
			}
			c.add(Defect{Code: CodeFinalizePending, Object: o.key, Other: stage,
				Message: fmt.Sprintf("sealed; its %s are in the staging object %s, from which the sink's next batch of the partition writes it%s",
					plural(r.records, "record"), stage, not)})
		case !c.unrecorded(o):
			c.add(Defect{Code: CodeFinalizePending, Object: o.key, Other: stage,
				Message: fmt.Sprintf("its %s are in the staging object %s, but neither the meta object's open objects nor its list of objects to write names it: no batch will write its data object (they are read from the staging object)",
					plural(r.records, "record"), stage)})
		}
	}
	if c.meta == nil {
		return
	}
	for _, p := range c.meta.Finalize {
		if listed[p.Object] == nil {
			continue
		}
		c.add(Defect{Code: CodeDataMissing, Object: p.Object, Other: c.metaKey, Offset: ptr(p.FirstOffset), Ranges: []Range{{p.FirstOffset, p.LastOffset}},
			Message: fmt.Sprintf("the meta object lists it as to be written from its staging object (%s, offsets %d to %d), but neither it, its staging object %s nor its index exists: those records are gone",
				plural(p.Records, "record"), p.FirstOffset, p.LastOffset, sink.StageKey(p.Object))})
	}
}

// unrecorded reports whether o is named after its epoch's committed
// offset (unrecorded_object: an attempt's that failed).
func (c *checker) unrecorded(o *dataObject) bool {
	for _, es := range c.epochs {
		if es.epoch != o.epoch {
			continue
		}
		committed, _, known := es.recorded(c.meta)
		return known && o.nameOff > committed
	}
	return false
}

// storeReaderAt reads an object of known size through ranged reads, for
// the Parquet reader; it keeps the first store error.
type storeReaderAt struct {
	ctx      context.Context
	st       store.Store
	key      string
	size     int64
	progress func(int64)
	err      error
}

func (r *storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.size-off)
	b, err := r.st.GetRange(r.ctx, r.key, off, n)
	if err == nil && int64(len(b)) != n {
		err = fmt.Errorf("read bytes %d-%d: got %d bytes", off, off+n-1, len(b))
	}
	if err != nil {
		r.err = cmp.Or(r.err, err)
		return 0, err
	}
	if r.progress != nil {
		r.progress(n)
	}
	k := copy(p, b)
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}
