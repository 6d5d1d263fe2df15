package verify

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// An object with a record index is checked in two passes over the index
// (package objindex), each streamed with a Scanner and resolved as it goes:
// the first only resolves it against the data object's length (reading the
// data only where the Resolver checks a CRC), so that an index that cannot
// be used leaves nothing half-checked; the second reads the data in ranged
// chunks, append by append as they resolve, and checks every landed
// append's CRC and record boundaries (and for JSONL each line against the
// index). Memory is one append entry and one chunk, plus one record for
// JSONL.

// indexState is what an object's index says, resolved against its data.
type indexState struct {
	enc        string // encoding of its landed appends, "" when none landed
	encMixedAt int64  // position of the first landed append in another encoding; -1 if none
	encOther   string
	records    int64 // records of the landed appends
	recRecords int64 // of them in the bytes the meta object accounts for
	// Offsets of the landed appends (first: of the first in data order);
	// -1 when none.
	first, min, max, recMax, recLast int64
	seal                             *objindex.Seal
	end                              int64 // data length the landed appends (or the seal) account for
	// Landed appends past the recorded bytes: what the sink's next batch
	// absorbs.
	tailRecords, tailBytes int64
	tail                   rangeList
	rec                    *recordedPart // the meta object's open object: its recorded state
	// The data object is gone: the records the index says landed.
	lost    rangeList
	lostRec int64            // of them, in the part the meta object accounts for
	unsure  *objindex.Append // gone, unsealed: the last announced append, which may have landed too
}

// recordedPart is what the part of an open object's index that the meta
// object records (its first index_size bytes) resolves to against the
// recorded size.
type recordedPart struct {
	err        error
	shortIndex bool // the index is shorter than index_size
	midEntry   bool // index_size falls inside an entry
	midAppend  bool // size falls inside a landed append
	end        int64
	records    int64
	last       int64
}

// walkOpts says how one pass resolves an index.
type walkOpts struct {
	dataLen int64 // the data object's length
	noData  bool  // it is gone: every alternative is taken for landed (no CRC to check)
	// built: its index's bytes were staged and are gone, the data object
	// built from them exists: resolved against the seal, no CRC to check.
	built bool
	// unread: the data object is not read (archived, WithoutReading):
	// resolved against its size, no CRC to check.
	unread bool
	// recordedEnd is how many data bytes the meta object accounts for.
	recordedEnd int64
	rec         *sink.Folder // the meta object's record of the object, if it is open
	// forced holds positions where none of the alternatives matches its
	// CRC: the latest is taken, and its bytes are reported as changed.
	forced, recForced map[int64]bool
	crcs              map[crcKey]bool // CRC checks already made
	onLanded          func(a *objindex.Append, recorded bool) error
}

type crcKey struct {
	pos, n int64
	crc    uint32
}

// walkResult is the outcome of one pass.
type walkResult struct {
	indexState
	invalid      error // the index cannot be parsed
	inconsistent error // it does not resolve against the data
	failPos      int64 // with inconsistent: where no alternative's CRC matched; -1 otherwise
	recFailPos   int64
	readErr      error
	readKey      string
	maxPos       int64            // the largest position an append entry announces
	maxAppend    *objindex.Append // the last append entry at maxPos
	sealFed      *objindex.Seal   // the first seal fed to the resolver
}

// maxForced bounds the passes spent finding appends whose bytes match no CRC.
const maxForced = 8

func newIndexState() indexState {
	return indexState{encMixedAt: -1, first: -1, min: -1, max: -1, recMax: -1, recLast: -1}
}

// checkIndexed checks o through its index. It returns false when the index
// cannot be used (reported), for the data to be checked as if it had none.
func (c *checker) checkIndexed(es *epochState, o *dataObject) (objResult, bool) {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	opts := &walkOpts{dataLen: o.size, rec: c.openFolder(o), recordedEnd: o.recorded,
		forced: map[int64]bool{}, recForced: map[int64]bool{}, crcs: map[crcKey]bool{}}
	if o.size < 0 {
		return c.checkIndexOnly(es, o, opts), true
	}
	if o.built {
		return c.checkBuilt(es, o, opts), true
	}
	var w *walkResult
	for tries := 0; ; tries++ {
		w = c.walk(o, opts)
		if tries >= maxForced {
			break
		}
		if w.inconsistent != nil && w.failPos >= 0 && !opts.forced[w.failPos] {
			opts.forced[w.failPos] = true
			continue
		}
		if w.rec != nil && w.rec.err != nil && w.recFailPos >= 0 && !opts.recForced[w.recFailPos] {
			opts.recForced[w.recFailPos] = true
			continue
		}
		break
	}
	switch {
	case w.readErr != nil:
		c.unreadable(es, w.readKey, w.readErr)
		return r, true
	case w.invalid != nil:
		c.add(Defect{Code: CodeIndexInvalid, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its record index %s cannot be used: %v; %s", o.indexKey, w.invalid, byLines(o))})
		return r, false
	case w.inconsistent != nil:
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its record index %s and the %d bytes of %s cannot both be right: %v; %s", o.indexKey, o.size, o.src, w.inconsistent, byLines(o))})
		return r, false
	}

	ds := &dataStream{progress: func(n int64) { c.prog.bytes(c.g.tp, o.key, n) }}
	var stop func()
	ds.ch, stop = readAhead(c.ctx, c.st, o.src, o.size, c.cfg.chunkSize)
	defer stop()
	ac := appendChecker{c: c, es: es, o: o, r: &r, ds: ds, kafka: c.kafkaFor(es, o)}
	opts.onLanded = ac.check
	w = c.walk(o, opts)
	if w.readErr != nil {
		c.unreadable(es, w.readKey, w.readErr)
		return r, true
	}
	if err := cmpOr(w.invalid, w.inconsistent); err != nil {
		// The first pass resolved the same bytes: only an index that
		// changed in between gets here.
		es.inexact = true
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its record index %s resolved once, then no more: %v", o.indexKey, err)})
		return r, true
	}
	r.read, r.indexed, r.exact = true, true, true
	c.fromIndex(&r, w)
	if w.enc != "" {
		r.format = formatOfEnc(w.enc)
		c.checkExt(o, w.enc)
	}
	if o.staged && o.stageSize >= 0 && o.finalSize >= 0 {
		c.checkFinal(o, w)
	}
	// The sink names an object for the first record it stores there; a
	// record stored out of order or twice after it is reported as such.
	if w.first >= 0 && w.first != o.nameOff {
		c.addf(CodeNameOffset, o.key, nil, ptr(w.first),
			"named for offset %d, but its index says its first record has offset %d", o.nameOff, w.first)
	}
	if w.encMixedAt >= 0 {
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Pos: &Position{Byte: w.encMixedAt},
			Message: fmt.Sprintf("its index says the append at byte %d is in encoding %s, earlier ones in %s: the sink never mixes encodings in one object", w.encMixedAt, w.encOther, w.enc)})
	}
	return r, true
}

func cmpOr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (c *checker) fromIndex(r *objResult, w *walkResult) {
	st := w.indexState
	r.idx = &st
	r.seal = w.seal
	r.records, r.recRecords = w.records, w.recRecords
	r.min, r.max, r.recMax, r.recLast = w.min, w.max, w.recMax, w.recLast
}

// checkIndexOnly checks the index of a data object that does not exist.
// That is normal when the index resolves to no landed append (sealed at 0,
// or announcements that never landed); otherwise the records it says landed
// are gone, and it names them.
func (c *checker) checkIndexOnly(es *epochState, o *dataObject, opts *walkOpts) objResult {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	opts.noData = true
	committed, _, known := es.recorded(c.meta)
	switch {
	case opts.rec != nil:
		opts.recordedEnd = opts.rec.Size
	case !known || o.nameOff <= committed:
		opts.recordedEnd = math.MaxInt64
	default:
		opts.recordedEnd = 0
	}
	w := c.walk(o, opts)
	if c.walkFailed(es, o, w, "the data object does not exist and its record index %s cannot be used: %v",
		"the data object does not exist and its record index %s does not resolve: %v") {
		return r
	}
	r.read, r.indexed, r.exact = true, true, true
	c.fromIndex(&r, w)
	// Nothing is stored: the offsets count for the comparison with the
	// meta object's state (lostRec), not as records held.
	r.records, r.recRecords, r.min, r.max = 0, 0, -1, -1
	if w.records == 0 {
		return r // sealed at 0, or nothing landed: normal
	}
	if opts.rec != nil && opts.rec.Size > 0 {
		return r // the open object: compareOpen reports it, with these offsets
	}
	unsure := ""
	if w.unsure != nil {
		unsure = fmt.Sprintf(" (and perhaps offsets %d to %d, announced last: the index cannot tell whether they landed)", w.unsure.First(), w.unsure.Last())
	}
	what := "the data object does not exist"
	if o.staged {
		what = fmt.Sprintf("neither the staging object %s nor the data object built from it exists", sink.StageKey(o.key))
	}
	c.add(Defect{Code: CodeDataMissing, Object: o.key, Other: o.indexKey, Offset: ptr(w.min), Ranges: w.lost.ranges(),
		Message: fmt.Sprintf("%s, but its record index %s says %s landed in it: offsets %s%s. They are gone from the store",
			what, o.indexKey, plural(w.records, "record"), w.lost.String(), unsure)})
	return r
}

// walk makes one pass over o's index.
func (c *checker) walk(o *dataObject, opts *walkOpts) *walkResult {
	w := &walkResult{indexState: newIndexState(), failPos: -1, recFailPos: -1, maxPos: -1}
	full := objindex.NewResolver(0, c.verifier(o, opts, opts.forced, &w.failPos))
	var rec *objindex.Resolver
	f := opts.rec
	if f != nil {
		w.rec = &recordedPart{last: -1}
		switch {
		case o.indexSize < f.IndexSize:
			w.rec.shortIndex = true
		case !opts.noData && f.Size > opts.dataLen:
			// Reported from the sizes (open_object_size).
		default:
			rec = objindex.NewResolver(0, c.verifier(o, opts, opts.recForced, &w.recFailPos))
		}
	}
	fail := func(err error) {
		if errors.Is(err, objindex.ErrInconsistent) {
			w.inconsistent = err
		} else if w.readErr == nil {
			w.readErr, w.readKey = err, o.src
		}
	}
	ch, stop := readAhead(c.ctx, c.st, o.indexKey, o.indexSize, c.cfg.chunkSize)
	defer stop()
	sc := objindex.NewScanner(&chunkReader{ch: ch}, 0)
	future := false
	for sc.Scan() {
		e := sc.Entry()
		if e.Append != nil && e.Append.Pos >= w.maxPos {
			w.maxPos, w.maxAppend = e.Append.Pos, e.Append
		}
		if rec != nil && w.rec.err == nil {
			switch end := e.Off + e.Len; {
			case end <= f.IndexSize:
				if err := rec.Add(e); err != nil {
					w.rec.err = err
				}
				for _, a := range rec.Landed() {
					w.rec.note(a)
				}
			case e.Off < f.IndexSize:
				w.rec.midEntry = true
			}
		}
		if future || w.inconsistent != nil || w.readErr != nil {
			continue
		}
		// The data length was read before the index: an entry beyond it
		// announces data written since, by a sink still at work.
		if o.live && !opts.noData && !opts.built && entryPos(e) > opts.dataLen {
			future = true
			continue
		}
		if e.Seal != nil && w.sealFed == nil {
			w.sealFed = e.Seal
		}
		if err := full.Add(e); err != nil {
			fail(err)
			continue
		}
		for _, a := range full.Landed() {
			if err := c.landed(w, a, opts); err != nil {
				fail(err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, objindex.ErrInvalid) {
			w.invalid = err
		} else if w.readErr == nil {
			w.readErr, w.readKey = err, o.indexKey
		}
		return w
	}
	if c.ctx.Err() != nil {
		w.readErr, w.readKey = c.ctx.Err(), o.indexKey
		return w
	}
	if w.inconsistent == nil && w.readErr == nil {
		dataLen := opts.dataLen
		switch {
		case opts.noData:
			dataLen = goneLength(w, f)
		case opts.built && w.sealFed != nil:
			dataLen = w.sealFed.At
		}
		var res objindex.Result
		var err error
		if opts.built && w.sealFed == nil {
			err = fmt.Errorf("%w: the data object is built from staged records when sealed, but its index has no seal", objindex.ErrInconsistent)
		} else {
			res, err = full.Finish(dataLen)
		}
		if err != nil {
			fail(err)
		} else {
			for _, a := range res.Landed {
				if err := c.landed(w, a, opts); err != nil {
					fail(err)
				}
			}
			w.seal, w.end = res.Seal, res.End
			if opts.noData && w.seal == nil && f == nil && w.maxAppend != nil && w.maxAppend.Pos == res.End {
				w.unsure = w.maxAppend
			}
		}
	}
	if rec != nil && w.rec.err == nil {
		res, err := rec.Finish(f.Size)
		if err != nil {
			w.rec.err = err
		} else {
			for _, a := range res.Landed {
				w.rec.note(a)
			}
			w.rec.end = res.End
		}
	}
	return w
}

// goneLength is the data length the index of a data object that is gone
// must be resolved against: where its seal says it ended, the recorded size
// of an open object, or else the position of its last announcement (whose
// bytes, nothing vouching for them, are not taken as landed).
func goneLength(w *walkResult, f *sink.Folder) int64 {
	switch {
	case w.sealFed != nil:
		return w.sealFed.At
	case f != nil:
		return max(f.Size, w.maxPos, 0)
	}
	return max(w.maxPos, 0)
}

func entryPos(e objindex.Entry) int64 {
	if e.Append != nil {
		return e.Append.Pos
	}
	return e.Seal.At
}

// landed takes one landed append of the pass.
func (c *checker) landed(w *walkResult, a *objindex.Append, opts *walkOpts) error {
	recorded := a.Pos+a.Bytes <= opts.recordedEnd
	n := a.Records()
	w.records += n
	if w.first < 0 {
		w.first = a.First()
	}
	if w.min < 0 || a.First() < w.min {
		w.min = a.First()
	}
	w.max = max(w.max, a.Last())
	switch {
	case w.enc == "":
		w.enc = a.Enc
	case a.Enc != w.enc && w.encMixedAt < 0:
		w.encMixedAt, w.encOther = a.Pos, a.Enc
	}
	if f := opts.rec; f != nil && a.Pos < f.Size && a.Pos+a.Bytes > f.Size {
		w.rec.midAppend = true
	}
	if recorded {
		w.recRecords += n
		w.recMax = max(w.recMax, a.Last())
		w.recLast = a.Last()
	} else {
		w.tailRecords += n
		w.tailBytes += a.Bytes
		for _, r := range a.Offsets {
			w.tail.add(r.First, r.First+r.Count-1)
		}
	}
	if opts.noData {
		if recorded {
			w.lostRec += n
		}
		for _, r := range a.Offsets {
			w.lost.add(r.First, r.First+r.Count-1)
		}
	}
	if opts.onLanded != nil {
		return opts.onLanded(a, recorded)
	}
	return nil
}

func (p *recordedPart) note(a *objindex.Append) {
	p.records += a.Records()
	p.last = a.Last()
}

// verifier returns the CRC check a Resolver calls to tell alternatives of
// the same size apart and to vouch for the last append. fail is set to the
// position of a failed check, and cleared by a successful one, so that
// after an inconsistency it says whether no alternative matched there.
func (c *checker) verifier(o *dataObject, opts *walkOpts, forced map[int64]bool, fail *int64) func(*objindex.Append) (bool, error) {
	done := map[int64]bool{}
	return func(a *objindex.Append) (bool, error) {
		if opts.noData || opts.built || opts.unread {
			return true, nil
		}
		if forced[a.Pos] && !done[a.Pos] {
			// The Resolver asks the latest alternative first.
			done[a.Pos] = true
			*fail = -1
			return true, nil
		}
		ok, err := c.crcMatches(o, opts, a)
		if err != nil {
			return false, err
		}
		*fail = -1
		if !ok {
			*fail = a.Pos
		}
		return ok, nil
	}
}

// crcMatches reads a's bytes of the data object in ranged chunks and
// compares their CRC with a's.
func (c *checker) crcMatches(o *dataObject, opts *walkOpts, a *objindex.Append) (bool, error) {
	if a.Pos+a.Bytes > opts.dataLen {
		return false, nil
	}
	k := crcKey{a.Pos, a.Bytes, a.CRC32C}
	if v, ok := opts.crcs[k]; ok {
		return v, nil
	}
	var crc uint32
	for off, end := a.Pos, a.Pos+a.Bytes; off < end; {
		n := min(c.cfg.chunkSize, end-off)
		b, err := c.st.GetRange(c.ctx, o.src, off, n)
		if err == nil && int64(len(b)) != n {
			err = fmt.Errorf("got %d bytes", len(b))
		}
		if err != nil {
			return false, fmt.Errorf("read bytes %d-%d: %w", off, off+n-1, err)
		}
		crc = crc32.Update(crc, objindex.Castagnoli, b)
		off += n
	}
	opts.crcs[k] = crc == a.CRC32C
	return crc == a.CRC32C, nil
}

// runsOf returns a's offsets as ranges, at most MaxRanges.
func runsOf(a *objindex.Append) []Range {
	var l rangeList
	for _, r := range a.Offsets {
		l.add(r.First, r.First+r.Count-1)
	}
	return l.ranges()
}

// dataStream hands out the bytes of a data object in order, from ranged
// reads made one ahead.
type dataStream struct {
	ch       <-chan chunk
	cur      []byte
	progress func(int64)
}

// take calls fn with the next n bytes, in one or more non-empty pieces.
func (d *dataStream) take(n int64, fn func([]byte)) error {
	for n > 0 {
		if len(d.cur) == 0 {
			ch, ok := <-d.ch
			if !ok {
				return io.ErrUnexpectedEOF // only when the run is cancelled
			}
			if ch.err != nil {
				return ch.err
			}
			d.cur = ch.b
			d.progress(int64(len(ch.b)))
		}
		k := min(n, int64(len(d.cur)))
		fn(d.cur[:k])
		d.cur = d.cur[k:]
		n -= k
	}
	return nil
}

// chunkReader reads the chunks of readAhead as an io.Reader.
type chunkReader struct {
	ch  <-chan chunk
	cur []byte
	err error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		c, ok := <-r.ch
		switch {
		case !ok:
			r.err = io.EOF
		case c.err != nil:
			r.err = c.err
		default:
			r.cur = c.b
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// walkFailed reports a walk of o's index that could not be completed (a
// read failure, an unusable or an unresolvable index) as its defect, with
// the messages given (each formatted with the index key and the cause),
// and reports whether it failed.
func (c *checker) walkFailed(es *epochState, o *dataObject, w *walkResult, invalidMsg, inconsistentMsg string) bool {
	switch {
	case w.readErr != nil:
		c.unreadable(es, w.readKey, w.readErr)
	case w.invalid != nil:
		es.inexact = true
		c.add(Defect{Code: CodeIndexInvalid, Object: o.key, Other: o.indexKey, Message: fmt.Sprintf(invalidMsg, o.indexKey, w.invalid)})
	case w.inconsistent != nil:
		es.inexact = true
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Message: fmt.Sprintf(inconsistentMsg, o.indexKey, w.inconsistent)})
	default:
		return false
	}
	return true
}
