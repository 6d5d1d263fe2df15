package sink

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// folderWriter appends one folder's share of a partition's pending records.
type folderWriter struct {
	job   *partitionJob
	name  string
	now   time.Time
	encID string
	buf   []byte

	// has: f is the folder's current data object. Without one, the next
	// record starts a chain (chainStart).
	has bool
	f   Folder

	// prev is the offset of the last record known written to the folder
	// (the committed offset, then each record written, recovered or
	// adopted).
	prev int64

	// Legacy objects only (see legacy.go).
	legacyChecked bool
	lagging       bool
	stalls        int
	recordSeal    func(ctx context.Context) error

	// pendingFrom is the index position of announced appends at the
	// current data end that had not landed when last resolved (-1: none).
	// A request cut by a deadline may land later: every later resolution,
	// and the meta object's index_size, start there so that they see it.
	pendingFrom int64

	// sameOffsetSeals counts the seals replay followed in a row from an
	// object to one named for the same offset (see maxSameOffsetSeals).
	sameOffsetSeals int

	// emptyChecked: the current object, announced for a later record than
	// the next one, was replayed once in this call.
	emptyChecked bool

	// unverified: the current object is the one a seal found on replay
	// names, and nothing of its index has been read or fenced since: the
	// attempt that sealed may have gone on to store records there. Such a
	// folder's state is not complete (closeFolders must not close it: its
	// next record could open an object of another name — SINK_FORMAT or
	// SINK_COMPRESSION changed — and store them again).
	unverified bool

	// trustAdopted: land does not read appends that hold none of the
	// batch's records (rebuild, whose cost must not be the data's size);
	// the last append of an object is still checked by the resolver.
	trustAdopted bool

	// written: the current object's staging object is gone because its
	// data object was written (replay found it so): land cannot read the
	// staged bytes, and takes the index's word for them (see land).
	written bool
	// built reads the written data object's rows while replay compares
	// records with them (written only; nil until one is compared).
	built *builtSource
	// archived: the written object could not be read back (errArchivedFinal);
	// the rest of its records are compared by the index only.
	archived bool

	// dataLen is the current object's length when it was last looked up
	// and nothing has been written to it since (unknownLength otherwise):
	// replay may use it with an index length learned later.
	dataLen int64

	ib    objindex.Builder
	entry []byte
}

func (w *folderWriter) write(ctx context.Context, recs []*events.Record) error {
	for len(recs) > 0 {
		var n int
		var err error
		switch {
		case !w.has:
			err = w.chainStart(ctx, recs[0], recs[len(recs)-1].Offset)
		case w.f.Legacy:
			n, err = w.legacy(ctx, recs)
			if err == nil && w.lagging {
				return nil
			}
		default:
			n, err = w.step(ctx, recs)
		}
		if err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// step makes one decision about the current (indexed) object and carries it
// out: seal it before recs[0], or append the longest run of recs that fits.
// Each decision is first written to the object's index at its recorded
// length; if that position is taken, someone else decided first, and replay
// learns what. It returns how many records are done.
func (w *folderWriter) step(ctx context.Context, recs []*events.Record) (int, error) {
	j := w.job
	r := recs[0]
	if w.f.Records == 0 && r.Offset < w.f.FirstOffset {
		// The object was announced for a later record by an attempt whose
		// batch did not hold these: the trigger gave up on them (they are
		// in its dead-letter queue) and this redelivery reaches back. First
		// learn what the object holds; then what precedes it is skipped, as
		// it was, never sealed backwards.
		if !w.emptyChecked {
			w.emptyChecked = true
			return w.replay(ctx, recs, unknownLength, unknownLength)
		}
		n := 0
		for n < len(recs) && recs[n].Offset < w.f.FirstOffset {
			n++
		}
		j.skipped += n
		j.log.Warn().Int64("first_offset", r.Offset).Int("records", n).Str("object", w.f.Object).
			Msg("records an earlier attempt passed over (given up on by the trigger): not written")
		return n, nil
	}
	ownEnc := false
	if reason := w.sealReason(r); reason != "" {
		// (An object with no records known, named for another offset or
		// encoding, is sealed at 0 — unless its index holds more than the
		// state knows, which the seal's fence reveals and replay reads.)
		if w.f.Records > 0 || r.Offset != w.f.FirstOffset {
			return w.seal(ctx, recs, r.Offset, reason)
		}
		// Named for r in another format. The object for r in today's
		// format may be in this one's chain already, sealed at 0 toward
		// it when SINK_FORMAT was changed, and changed back, while r kept
		// failing: sealing toward it again would make the two name each
		// other, for ever. Then this object takes r in its own encoding
		// (the one its name says), and the next records seal it.
		taken, err := w.nameTaken(ctx, r.Offset)
		if err != nil {
			return 0, err
		}
		if !taken {
			return w.seal(ctx, recs, r.Offset, reason)
		}
		ownEnc = true
		j.log.Warn().Str("object", w.f.Object).Str("encoding", w.f.Encoding).
			Msg("the object for this offset in today's encoding was sealed by an earlier attempt: this one takes the records in its own")
	}
	if w.f.Records == 0 && !ownEnc {
		// Nothing landed in it yet: it takes today's encoding — but
		// staged or not as it was named (SINK_FINALIZE changed since):
		// an earlier attempt may have stored records in it, which its
		// index reveals only when the next entry's fence refuses, and
		// replay must then read them where they went (the staging object
		// or the data object itself, both of the same name). Its next
		// records seal it, as after any change of encoding.
		w.f.Encoding = withStaged(w.encID, stagedEnc(w.f.Encoding))
	}
	k, data := w.segment(recs)
	before := w.f.IndexSize
	idxLen, err := w.logEntry(ctx, objindex.Entry{Append: w.ib.Append()})
	if err != nil {
		return 0, err
	}
	if idxLen >= 0 {
		return w.replayAfterFence(ctx, recs, idxLen)
	}
	w.dataLen = unknownLength
	n, err := j.st.Append(ctx, w.dataKey(), w.f.Size, data, w.createOptions()...)
	if pe, isPos := store.AsPositionError(err); isPos {
		// Our entry stands in the index as one alternative at this
		// position; replay tells which landed (ours, if an earlier try of
		// this very request took effect).
		w.f.IndexSize = before
		return w.replay(ctx, recs, pe.Length, unknownLength)
	}
	if err != nil {
		return 0, fmt.Errorf("append %d records (offsets %d-%d) to %s at %d: %w",
			k, recs[0].Offset, recs[k-1].Offset, w.dataKey(), w.f.Size, err)
	}
	if want := w.f.Size + int64(len(data)); n != want {
		return 0, fmt.Errorf("%w: append to %s returned length %d, expected %d", ErrConflict, w.dataKey(), n, want)
	}
	w.add(recs[:k], int64(len(data)))
	if stagedEnc(w.f.Encoding) && w.full() {
		// A staged object becomes readable only when sealed: seal it as
		// soon as it is full rather than when a later record arrives,
		// naming the next object for the next offset (sealed at 0 in turn
		// if that offset never comes).
		n, err := w.seal(ctx, recs[k:], w.f.LastOffset+1, "full")
		return k + n, err
	}
	return k, nil
}

// seal writes a seal entry to the current object's index, naming the next
// object for the record at offset next in today's encoding, and makes that
// object the current one. If the index's fence refuses the entry, replay
// learns what another attempt decided instead; it returns how many of recs
// that replay found written.
func (w *folderWriter) seal(ctx context.Context, recs []*events.Record, next int64, reason string) (int, error) {
	idxLen, err := w.sealEntry(ctx, next, reason)
	if err != nil {
		return 0, err
	}
	if idxLen >= 0 {
		return w.replayAfterFence(ctx, recs, idxLen)
	}
	return 0, nil
}

// sealEntry writes the seal entry of the current object, naming the next
// object for the record at offset next in today's encoding, and makes that
// object the current one; it returns -1. When the index's fence refuses
// the entry it changes nothing and returns the index's length, w.entry
// holding the entry refused: the caller replays (Write) or backs off
// (SealIdle).
func (w *folderWriter) sealEntry(ctx context.Context, next int64, reason string) (int64, error) {
	key := w.job.dataKey(w.name, next, w.encID)
	idxLen, err := w.logEntry(ctx, objindex.Entry{Seal: &objindex.Seal{At: w.f.Size, Next: key, NextOffset: next, NextEnc: w.encID}})
	if err != nil || idxLen >= 0 {
		return idxLen, err
	}
	w.sealedTo(key, next, reason)
	return -1, nil
}

// sealedTo notes that the current object is sealed by an entry naming key,
// for offset next in today's encoding, and makes key the current object.
func (w *folderWriter) sealedTo(key string, next int64, reason string) {
	w.job.log.Debug().Str("object", w.f.Object).Int64("bytes", w.f.Size).Int64("records", w.f.Records).Str("reason", reason).Msg("data object sealed")
	w.sealed()
	w.openNext(key, next, w.encID)
}

// nameTaken reports whether the object for offset in today's encoding
// has an index: an attempt decided something about it, so that it cannot
// be the next object of a seal at 0 (see step).
func (w *folderWriter) nameTaken(ctx context.Context, offset int64) (bool, error) {
	key := objindex.Key(w.job.dataKey(w.name, offset, w.encID))
	_, err := w.job.st.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case store.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("look for the index of %s: %w", key, err)
}

// dataKey returns the key the current object's bytes are appended to: the
// data object, or its staging object for a staged encoding.
func (w *folderWriter) dataKey() string {
	if stagedEnc(w.f.Encoding) {
		return StageKey(w.f.Object)
	}
	return w.f.Object
}

// createOptions are the attributes a data object (or staging object) gets
// when its first append creates it: what engines and browsers need to read
// it, and the configured class and encryption where OSS allows them on an
// appendable object. A staging object stays Standard (it is read back and
// deleted within the object's lifetime) and gets the encryption without a
// customer key, which appendable objects cannot use.
func (w *folderWriter) createOptions() []store.WriteOption {
	e, ok := encoderFor(w.f.Encoding)
	if w.f.Size > 0 || !ok {
		return nil
	}
	c := w.job.cfg
	var opts []store.WriteOption
	if c.sse != "" {
		opts = append(opts, store.WithSSE(c.sse, ""))
	}
	if e.Staged() {
		return append(opts, store.WithStorageClass(store.Standard))
	}
	if ct := e.ContentType(); ct != "" {
		opts = append(opts, store.WithContentType(ct))
	}
	if ce := e.ContentEncoding(); ce != "" {
		opts = append(opts, store.WithContentEncoding(ce))
	}
	// (A class appendable objects cannot have is refused without
	// finalize; with it, an object that keeps its earlier, appendable
	// encoding after SINK_FINALIZE was turned on gets the bucket's.)
	if c.class != "" && c.class.Appendable() {
		opts = append(opts, store.WithStorageClass(c.class))
	}
	return opts
}

// sealed notes that the current object was sealed (by this attempt or an
// earlier one): a staged object's data object is then to be written.
func (w *folderWriter) sealed() {
	if !stagedEnc(w.f.Encoding) || w.f.Records == 0 {
		return
	}
	j := w.job
	j.sealed = append(j.sealed, pendingOf(w.name, j.epoch, &w.f))
}

// pendingOf returns the object to finalize that f, a staged object taking
// no more records, is.
func pendingOf(folder string, epoch int64, f *Folder) *Pending {
	return &Pending{Folder: folder, Epoch: epoch, Object: f.Object, Encoding: f.Encoding,
		FirstOffset: f.FirstOffset, LastOffset: f.LastOffset, Records: f.Records, Size: f.Size, IndexSize: f.IndexSize}
}

// logEntry appends e to the current object's index at its recorded length.
// It returns -1 when e is in, or the index's length when that position is
// taken (another attempt wrote entries the state does not know of).
func (w *folderWriter) logEntry(ctx context.Context, e objindex.Entry) (int64, error) {
	w.entry = objindex.AppendEntry(w.entry[:0], e)
	key := objindex.Key(w.f.Object)
	n, err := w.job.st.Append(ctx, key, w.f.IndexSize, w.entry, stateOptions(w.f.IndexSize)...)
	if pe, isPos := store.AsPositionError(err); isPos {
		return pe.Length, nil
	}
	if err != nil {
		return 0, fmt.Errorf("write index entry of %s at %d: %w", w.f.Object, w.f.IndexSize, err)
	}
	if want := w.f.IndexSize + int64(len(w.entry)); n != want {
		return 0, fmt.Errorf("%w: append to %s returned length %d, expected %d", ErrConflict, key, n, want)
	}
	w.f.IndexSize = n
	w.unverified = false
	return -1, nil
}

// replayAfterFence replays after the index's fence refused an entry, with
// the index length the refusal reported, and the data length if one was
// looked up before (else both are looked up afresh).
func (w *folderWriter) replayAfterFence(ctx context.Context, recs []*events.Record, idxLen int64) (int, error) {
	dataLen := w.dataLen
	w.dataLen = unknownLength
	if dataLen == unknownLength {
		idxLen = unknownLength
	}
	return w.replay(ctx, recs, dataLen, idxLen)
}

// resume returns a writer that goes on from the folder's recorded state
// f without records of a batch to write: for the work on folders a batch
// does not carry records for (sealFull, settle) and for StartEpoch's
// replay of an ended epoch's objects. Its last record known written is the
// folder's own.
func (j *partitionJob) resume(name string, f *Folder) *folderWriter {
	return &folderWriter{job: j, name: name, now: j.cfg.now(), encID: encodingID(j.cfg.enc), f: *f, has: true,
		prev: f.LastOffset, dataLen: unknownLength, pendingFrom: -1}
}

// openNext makes key, announced by a seal entry for its first record at
// offset first in encoding enc (the one its name's extension is for), the
// current object. Nothing is known of it yet: its index may hold what an
// earlier attempt wrote, which the first entry's fence reveals.
func (w *folderWriter) openNext(key string, first int64, enc string) {
	w.f = Folder{Object: key, Encoding: enc, FirstOffset: first, LastOffset: first - 1, OpenedAt: w.now.UTC()}
	w.has = true
	w.dataLen = unknownLength
	w.pendingFrom = -1
	w.emptyChecked = false
}

// sealReason says why the current object must take no more records before
// next, or "".
func (w *folderWriter) sealReason(next *events.Record) string {
	if w.f.Records == 0 {
		if extOf(w.f.Encoding) != extOf(w.encID) {
			// Named for another format: the name must say what it holds.
			return "named for encoding " + w.f.Encoding
		}
		if next.Offset != w.f.FirstOffset {
			return "named for offset " + strconv.FormatInt(w.f.FirstOffset, 10) + ", which was never stored"
		}
		return ""
	}
	switch {
	case w.f.Encoding != w.encID:
		return "format changed from " + w.f.Encoding
	case w.full():
		return "full"
	case w.tooOld(next, w.f.MinTimestamp):
		return "age"
	}
	return ""
}

func (w *folderWriter) full() bool { return w.fullAt(w.f.Size, w.f.Records) }

func (w *folderWriter) fullAt(size, records int64) bool {
	c := w.job.cfg
	return size >= c.flushBytes || (c.flushRecords > 0 && records >= c.flushRecords)
}

// tooOld reports whether r is SINK_FLUSH_INTERVAL or more newer than the
// oldest record of the object (minTS, its smallest Kafka timestamp), in
// record time. Record time, not the clock, so that the decision is a
// function of the records alone. Measuring from the oldest record rather
// than the first means that a record with a far-future timestamp cannot
// switch the rule off for the rest of the object: the records after it are
// measured from the earliest one, and the future record only ever makes the
// object look younger to nobody. Records without a timestamp (0) neither
// age an object nor are aged.
func (w *folderWriter) tooOld(r *events.Record, minTS int64) bool {
	iv := w.job.cfg.flushInterval.Milliseconds()
	return iv > 0 && minTS > 0 && r.Timestamp > 0 && r.Timestamp-minTS >= iv
}

// segment encodes the longest run of records that fits in the current
// object, and builds its index entry: records are added while the object is
// not yet full nor too old, so the cut depends only on the records and the
// settings, never on where a batch happens to end or on the clock.
func (w *folderWriter) segment(recs []*events.Record) (int, []byte) {
	j := w.job
	// Today's encoding, but for an object that takes records in its own
	// (see step): the object's.
	enc, encID := j.cfg.enc, w.encID
	if w.f.Encoding != w.encID {
		enc, _ = encoderFor(w.f.Encoding)
		encID = w.f.Encoding
	}
	buf := w.buf[:0]
	w.ib.Reset(encID, w.f.Size)
	if enc.Compressed() {
		w.ib.WillCompress() // the entry's CRC is the member's
	}
	if h := enc.Header(); w.f.Size == 0 && len(h) > 0 {
		buf = append(buf, h...)
		w.ib.Head(h)
	}
	minTS := w.f.MinTimestamp
	k := 0
	for k < len(recs) {
		r := recs[k]
		if k > 0 && (w.fullAt(w.f.Size+int64(len(buf)), w.f.Records+int64(k)) || w.tooOld(r, minTS)) {
			break
		}
		start := len(buf)
		buf = enc.Append(buf, r)
		w.ib.Add(r.Offset, buf[start:], r.ValueKind == events.ValueNull, r.Timestamp)
		if r.Timestamp > 0 && (minTS == 0 || r.Timestamp < minTS) {
			minTS = r.Timestamp
		}
		k++
	}
	w.buf = buf
	if enc.Compressed() {
		// One complete member per append: the object is a valid
		// concatenation of members between any two appends.
		if j.zbuf == nil {
			j.zbuf = j.bufs.get(len(buf)/2 + 4096)
		}
		if enc.Codec == j.cfg.enc.Codec {
			j.zbuf = j.comps.compress(j.zbuf[:0], buf)
		} else {
			j.zbuf = format.NewCompressor(enc.Codec).Append(j.zbuf[:0], buf)
		}
		w.ib.Compressed(j.zbuf)
		return k, j.zbuf
	}
	return k, buf
}

// add accounts for records this call appended.
func (w *folderWriter) add(recs []*events.Record, n int64) {
	j := w.job
	for _, r := range recs {
		w.note(r.Offset, r.Timestamp)
		if j.cfg.enc.Format == format.Raw && bytes.IndexByte(r.Value, '\n') >= 0 {
			j.separators++
		}
	}
	w.f.Size += n
	w.pendingFrom = -1
	j.written += len(recs)
	j.bytes += n
	j.noteObject(w.f.Object)
}

// recorded returns the current object as the meta object records it: its
// index_size goes back to unresolved announcements, if any.
func (w *folderWriter) recorded() Folder {
	f := w.f
	if w.pendingFrom >= 0 {
		f.IndexSize = w.pendingFrom
	}
	return f
}

// note accounts for one record stored in the current object.
func (w *folderWriter) note(offset, ts int64) {
	if w.f.Records == 0 {
		w.f.FirstTimestamp = ts
	}
	w.f.Records++
	w.f.LastOffset = offset
	if ts > 0 && (w.f.MinTimestamp == 0 || ts < w.f.MinTimestamp) {
		w.f.MinTimestamp = ts
	}
	w.prev = offset
}

// chainStart finds the object for r, the first of records up to offset
// last, when the folder has no current one: a new partition or epoch, or
// after a legacy object. No index entry can announce it, so what an earlier
// attempt may have left is looked for: an object starting after the last
// record known written and up to last (records the state does not know of),
// or r's own object.
func (w *folderWriter) chainStart(ctx context.Context, r *events.Record, last int64) error {
	j := w.job
	j.strays()
	lo := w.prev + 1
	if r.Offset > lo || last > r.Offset {
		// Before r, and within the batch after it: a redelivery may reach
		// back before what a failed attempt stored (records the trigger gave
		// up on), and that attempt's object starts later than r.
		stray, first, err := w.findStray(ctx, lo, last)
		if err != nil {
			return err
		}
		if stray != "" {
			j.log.Warn().Str("object", stray).Int64("committed_offset", w.prev).Msg("data object beyond the committed offset")
			return w.adoptExisting(ctx, stray, first)
		}
	}
	key := j.dataKey(w.name, r.Offset, w.encID)
	if r.Offset <= lo && last <= r.Offset {
		// r's own object, in whatever encoding an earlier attempt opened
		// it (the search above covers it otherwise).
		at, _, err := w.findStray(ctx, r.Offset, r.Offset)
		if err != nil {
			return err
		}
		if at != "" {
			return w.adoptExisting(ctx, at, r.Offset)
		}
	}
	w.openNext(key, r.Offset, w.encID)
	w.dataLen = -1 // absent when looked up, before the first entry's fence
	return nil
}

// adoptExisting makes an existing data object, which the state does not
// know, the current object: indexed, its index is replayed by the next
// step's fence; without an index it was written by the previous version
// and is handled as a legacy object.
func (w *folderWriter) adoptExisting(ctx context.Context, key string, first int64) error {
	j := w.job
	w.openNext(key, first, w.encForName(key))
	if _, err := j.st.Stat(ctx, objindex.Key(key)); err == nil {
		// Staged or not: the name does not say (SINK_FINALIZE keeps
		// names), what exists does. A staging object, or a normal object
		// (written whole from one), is staged; an appendable object is not.
		staged, err := j.stagedAt(ctx, key)
		if err != nil {
			return err
		}
		w.f.Encoding = withStaged(w.f.Encoding, staged)
		return nil
	} else if !store.IsNotFound(err) {
		return fmt.Errorf("look for the index of %s: %w", key, err)
	}
	w.f.Legacy = true
	return nil
}

// stagedAt reports whether the records of the data object key, found
// without a state naming its encoding, are staged: it has a staging
// object, or it is a normal object (written from one). Parquet names are
// staged whatever exists.
func (j *partitionJob) stagedAt(ctx context.Context, key string) (bool, error) {
	_, err := j.st.Stat(ctx, StageKey(key))
	switch {
	case err == nil:
		return true, nil
	case !store.IsNotFound(err):
		return false, fmt.Errorf("look for the staging object of %s: %w", key, err)
	}
	info, err := j.st.Stat(ctx, key)
	switch {
	case err == nil:
		return !info.Appendable, nil
	case store.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("check %s: %w", key, err)
}

// findStray returns the data object of the folder (of this epoch, by its
// full derived name) with the smallest first offset in [lo, hi], or "".
// No attempt opens an object there without a record there, so such an
// object holds records the meta object does not know of. Each run of
// offsets with the same number of digits is listed under its common decimal
// prefix, so the listing is bounded by the gap, not by the partition's age.
func (w *folderWriter) findStray(ctx context.Context, lo, hi int64) (string, int64, error) {
	j := w.job
	stray, at := "", int64(0)
	if j.listed != nil {
		// The partition was listed moments ago (no meta object).
		for key := range j.listed {
			if off, ok := w.ownObject(key); ok && off >= lo && off <= hi && (stray == "" || off < at) {
				stray, at = key, off
			}
		}
		return stray, at, nil
	}
	base := objectPrefix(j.cfg.prefix, j.topic, w.name, j.partition)
	for a := lo; a <= hi; {
		b := min(hi, nextPow10(a)-1)
		as, bs := strconv.FormatInt(a, 10), strconv.FormatInt(b, 10)
		narrow := 0
		for narrow < len(as) && as[narrow] == bs[narrow] {
			narrow++
		}
		err := j.listData(ctx, base+as[:narrow], func(info store.Info) bool {
			off, ok := w.ownObject(info.Key)
			if ok && off >= a && off <= b && (stray == "" || off < at) {
				stray, at = info.Key, off
			}
			return true
		})
		if err != nil {
			return "", 0, err
		}
		if stray != "" || b == hi {
			break
		}
		a = b + 1
	}
	return stray, at, nil
}

// ownObject returns the first offset of a data object key of this folder,
// partition and epoch, if key is exactly the name the protocol derives for
// it; look-alikes (same pattern, other suffix) are not the sink's.
func (w *folderWriter) ownObject(key string) (int64, bool) {
	j := w.job
	p, off, ok := ParseObjectName(path.Base(key))
	if stem, _ := SplitExt(key); !ok || p != j.partition || ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, off, j.epoch) != stem {
		return 0, false
	}
	return off, true
}

// encForName returns the encoding to assume for an existing object of the
// folder, key, until its index says: today's when its name's extension is
// today's, else one its extension names (replay takes each append's own).
func (w *folderWriter) encForName(key string) string {
	_, ext := SplitExt(key)
	if ext == extOf(w.encID) {
		return w.encID
	}
	return encodingID(format.ForExt(ext, w.job.cfg.enc.ValueEncoding))
}

// strays makes listings look for staging objects whatever today's
// encoding, before a search for objects that a failed attempt left with
// no state naming them (no meta object, or no current object): that
// attempt may have staged records in Parquet before SINK_FORMAT changed,
// and a stage it missed would have its records written again.
func (j *partitionJob) strays() { j.staging = true }

// listData calls fn for each object whose key starts with prefix (a
// folder's objectPrefix and leading digits of a first offset), and, when
// staged encodings may be in use, for each staging object there, by its
// data object's key (see StageKey): a staged object's data object exists
// only once it is sealed and written.
//
// Staging objects are listed first: a data object is written before its
// staging object is removed, so an object finalized between the two
// listings is in the second one (listed the other way round, it could be
// in neither, and its records taken for never stored).
func (j *partitionJob) listData(ctx context.Context, prefix string, fn func(store.Info) bool) error {
	stop := false
	if j.staging {
		dir, base := path.Split(prefix)
		err := listAll(ctx, j.st, dir+stagePrefix+base, func(info store.Info) bool {
			dk, ok := StageData(info.Key)
			if !ok {
				return true
			}
			info.Key = dk
			stop = !fn(info)
			return !stop
		})
		if err != nil || stop {
			return err
		}
	}
	return listAll(ctx, j.st, prefix, fn)
}

// nextPow10 returns the smallest power of ten greater than n (n >= 0), or
// the largest int64 when there is none.
func nextPow10(n int64) int64 {
	p := int64(10)
	for p <= n {
		if p > (1<<63-1)/10 {
			return 1<<63 - 1
		}
		p *= 10
	}
	return p
}

// listAll calls fn for each object under prefix, in key order, until it
// returns false. Callers narrow prefix to what they look for: nothing here
// lists a whole partition on the write path.
func listAll(ctx context.Context, st store.Store, prefix string, fn func(store.Info) bool) error {
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %s*: %w", prefix, err)
	}
	for _, info := range infos {
		if !fn(info) {
			return nil
		}
	}
	return nil
}
