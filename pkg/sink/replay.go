package sink

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// unknownLength asks replay to look up a length itself.
const unknownLength = -2

// finalizedLength stands for the length of a staging object that is gone
// because its data object was written: the seal entry says it.
const finalizedLength = -3

// maxSameOffsetSeals bounds the seals at 0 that replay follows from an
// object to another named for the same offset (in another encoding): one
// per extension is the most a chain without a cycle can have.
const maxSameOffsetSeals = 16

// maxStalls bounds the replays of one call that find nothing new: each
// means another writer moved the object between two of our requests.
const maxStalls = 3

// replay reads the current object's index beyond its recorded length,
// resolves which of the appends announced there landed (package objindex),
// accounts for their records — comparing those this batch carries with what
// is stored, adopting the others — and follows a seal to the next object.
// dataLen and idxLen are the lengths of the data object (-1: absent) and of
// the index when the caller knows them, else unknownLength; a known data
// length must have been learned before the index length. It returns how
// many of recs are now known written; the caller goes on with the rest from
// the new state.
func (w *folderWriter) replay(ctx context.Context, recs []*events.Record, dataLen, idxLen int64) (int, error) {
	if dataLen == unknownLength {
		return w.replayOnce(ctx, recs, dataLen, idxLen)
	}
	// Lengths learned earlier may be older than what the index now says
	// landed (a racing writer in between): then look again, from scratch.
	snap := w.snapshot()
	n, err := w.replayOnce(ctx, recs, dataLen, idxLen)
	if errors.Is(err, objindex.ErrInconsistent) {
		w.restore(snap)
		return w.replayOnce(ctx, recs, unknownLength, unknownLength)
	}
	return n, err
}

// writerState is what replay changes, to undo a replay made on stale lengths.
type writerState struct {
	f                  Folder
	has, unverified    bool
	prev, pendingFrom  int64
	recovered, adopted int
	skipped            int
	objects            int
}

func (w *folderWriter) snapshot() writerState {
	j := w.job
	return writerState{w.f, w.has, w.unverified, w.prev, w.pendingFrom, j.recovered, j.adopted, j.skipped, len(j.objects)}
}

func (w *folderWriter) restore(s writerState) {
	j := w.job
	w.f, w.has, w.unverified, w.prev, w.pendingFrom = s.f, s.has, s.unverified, s.prev, s.pendingFrom
	j.recovered, j.adopted, j.skipped, j.objects = s.recovered, s.adopted, s.skipped, j.objects[:s.objects]
}

func (w *folderWriter) replayOnce(ctx context.Context, recs []*events.Record, dataLen, idxLen int64) (int, error) {
	j := w.job
	key, ikey := w.dataKey(), objindex.Key(w.f.Object)
	// The data object's length first, the index's second: an append
	// announced in between is then at worst an alternative that did not
	// land, never data without its entry. (A data length older than the
	// index's is safe: what it misses looks not landed, the next append at
	// that position fails on its fence, and the next replay sees more.)
	if dataLen == unknownLength {
		idxLen = unknownLength
		info, err := j.st.Stat(ctx, key)
		switch {
		case store.IsNotFound(err):
			dataLen = -1
			if key != w.f.Object {
				// A staging object is removed once its data object is
				// written, which only follows its seal: the seal entry
				// then says where its data ended.
				if _, err := j.st.Stat(ctx, w.f.Object); err == nil {
					dataLen = finalizedLength
				} else if !store.IsNotFound(err) {
					return 0, fmt.Errorf("check %s: %w", w.f.Object, err)
				}
			}
		case err != nil:
			return 0, fmt.Errorf("check length of %s: %w", key, err)
		default:
			dataLen = info.Size
		}
	}
	if idxLen == unknownLength {
		idxLen = 0
		if info, err := j.st.Stat(ctx, ikey); err == nil {
			idxLen = info.Size
		} else if !store.IsNotFound(err) {
			return 0, fmt.Errorf("check length of %s: %w", ikey, err)
		}
	}
	if idxLen < w.f.IndexSize {
		return 0, fmt.Errorf("%w: index %s is %d bytes but the meta object records %d: it was truncated, replaced or deleted",
			ErrConflict, ikey, idxLen, w.f.IndexSize)
	}
	if dataLen != finalizedLength && max(dataLen, 0) < w.f.Size {
		return 0, fmt.Errorf("%w: %s is %d bytes but the meta object records %d written: the object was truncated, replaced or deleted",
			ErrConflict, key, max(dataLen, 0), w.f.Size)
	}
	from := w.f.IndexSize
	if w.pendingFrom >= 0 && w.pendingFrom < from {
		from = w.pendingFrom
	}
	if idxLen == w.f.IndexSize && from == idxLen {
		if max(dataLen, 0) > w.f.Size {
			return 0, fmt.Errorf("%w: %s holds %d bytes after position %d that its index does not announce: something other than the sink appended to it",
				ErrConflict, key, dataLen-w.f.Size, w.f.Size)
		}
		// The fence moved and came back to where we stand: a racing
		// writer, or a reply lost in between. Try again, a few times.
		if w.stalls++; w.stalls > maxStalls {
			return 0, fmt.Errorf("%w: %s keeps changing under this invocation: another invocation is writing this partition", ErrConflict, key)
		}
		return 0, nil
	}

	w.written = dataLen == finalizedLength
	defer func() { w.written, w.built, w.archived = false, nil, false }()
	rd := newRangeReader(ctx, j.st, ikey, from, idxLen, j.cfg.readChunk)
	sc := objindex.NewScannerSize(rd, from, idxLen-from)
	res := objindex.NewResolver(w.f.Size, func(a *objindex.Append) (bool, error) { return w.crcMatches(ctx, a) })
	at := 0 // recs[at:] are not yet found stored
	land := func(as []*objindex.Append) error {
		for _, a := range as {
			var err error
			if at, err = w.land(ctx, a, recs, at); err != nil {
				return err
			}
		}
		return nil
	}
	for sc.Scan() {
		if err := res.Add(sc.Entry()); err != nil {
			return 0, resolveErr(w.f.Object, err)
		}
		if err := land(res.Landed()); err != nil {
			return 0, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, objindex.ErrInvalid) {
			return 0, fmt.Errorf("%w: %s: %w", ErrConflict, ikey, err)
		}
		return 0, fmt.Errorf("read index %s: %w", ikey, err)
	}
	if dataLen == finalizedLength {
		seal, ok := res.Sealed()
		if !ok {
			return 0, fmt.Errorf("%w: %s is missing, and its index %s has no seal: the staged records were deleted behind the sink's back", ErrConflict, key, ikey)
		}
		dataLen = seal.At
	}
	fin, err := res.Finish(dataLen)
	if err != nil {
		return 0, resolveErr(w.f.Object, err)
	}
	if err := land(fin.Landed); err != nil {
		return 0, err
	}
	w.f.IndexSize = idxLen
	w.unverified = false
	w.pendingFrom = fin.Pending
	if fin.Void > 0 {
		j.log.Warn().Str("object", key).Int("entries", fin.Void).Msg("index entries of appends that never landed")
	}
	if s := fin.Seal; s != nil {
		nextEnc := s.NextEnc
		if nextEnc == "" {
			// (Written before names had extensions: so has the next.)
			nextEnc = w.f.Encoding
		}
		// The next object is named for a later offset, or, sealed before
		// any data landed, for the same one in another encoding.
		later := s.NextOffset > w.f.FirstOffset || (s.NextOffset == w.f.FirstOffset && s.At == 0 && s.Next != w.f.Object)
		if _, ok := encoderFor(nextEnc); !ok || s.NextOffset <= w.prev || !later || s.Next != j.dataKey(w.name, s.NextOffset, nextEnc) {
			return 0, fmt.Errorf("%w: %s: sealed with next object %q for offset %d, which is not the object this partition's protocol names after offset %d",
				ErrConflict, ikey, s.Next, s.NextOffset, w.prev)
		}
		if s.NextOffset != w.f.FirstOffset {
			w.sameOffsetSeals = 0
		} else if w.sameOffsetSeals++; w.sameOffsetSeals > maxSameOffsetSeals {
			// Objects for one offset sealed at 0 toward each other (by a
			// version without nameTaken, see step): no end to follow.
			return 0, fmt.Errorf("%w: %s: the objects named for offset %d are sealed toward each other in a cycle (SINK_FORMAT changed back and forth "+
				"while a batch kept failing); move them away to go on", ErrConflict, ikey, s.NextOffset)
		}
		j.log.Warn().Str("object", w.f.Object).Str("next", s.Next).Msg("an earlier attempt sealed the data object and went on")
		w.sealed()
		w.openNext(s.Next, s.NextOffset, nextEnc)
		w.unverified = true
	}
	return at, nil
}

// resolveErr wraps an error of the resolver: an index inconsistent with
// its data is a conflict; anything else (the CRC check's reads failing) is
// the transient failure it was, for the trigger's retry.
func resolveErr(key string, err error) error {
	ikey := objindex.Key(key)
	if errors.Is(err, objindex.ErrInconsistent) {
		return fmt.Errorf("%w: %s and its index %s: %w", ErrConflict, key, ikey, err)
	}
	return fmt.Errorf("%s: %w", ikey, err)
}

// land accounts for one append that landed in the current object, beyond
// the recorded state. Its bytes are read (in chunks) and checked against
// the CRC its entry announced; the records this batch carries (recs[at:]
// and on) must be stored exactly as they encode now, in the object's own
// encoding; the others are adopted: stored by an attempt whose batch this
// one does not repeat. It returns the index of the first record of recs
// not yet found.
func (w *folderWriter) land(ctx context.Context, a *objindex.Append, recs []*events.Record, at int) (int, error) {
	j := w.job
	key := w.dataKey()
	switch {
	case a.Pos != w.f.Size:
		return 0, fmt.Errorf("%w: %s: index announces an append at %d, the object's records end at %d", ErrConflict, key, a.Pos, w.f.Size)
	case a.First() <= w.prev:
		return 0, fmt.Errorf("%w: %s: index announces offset %d at %d, at or below the last record known written (%d)", ErrConflict, key, a.First(), a.Pos, w.prev)
	case w.f.Records > 0 && a.Enc != w.f.Encoding:
		return 0, fmt.Errorf("%w: %s: an append in encoding %s follows records in %s", ErrConflict, key, a.Enc, w.f.Encoding)
	case stagedEnc(a.Enc) != stagedEnc(w.f.Encoding):
		// (Staged or not, an object keeps what it was named as: see step.)
		return 0, fmt.Errorf("%w: %s: an append in encoding %s, which is read elsewhere than %s's bytes", ErrConflict, key, a.Enc, w.f.Encoding)
	}
	enc, ok := encoderFor(a.Enc)
	if !ok {
		return 0, fmt.Errorf("%w: %s: index names an unknown encoding %q", ErrConflict, key, a.Enc)
	}
	if _, ext := SplitExt(w.f.Object); enc.Ext() != ext || enc.Compressed() != (a.Decoded > 0) {
		return 0, fmt.Errorf("%w: %s: index announces an append in encoding %s, which objects named %s cannot hold", ErrConflict, key, a.Enc, w.f.Object)
	}
	if w.f.Records == 0 {
		w.f.Encoding = a.Enc
	}
	if w.written {
		if !enc.Built() && !w.archived {
			// A copied encoding (SINK_FINALIZE): the data object holds
			// the staged bytes at the same positions; read them there.
			snap, at0 := w.snapshot(), at
			n, err := w.landRead(ctx, w.f.Object, a, enc, recs, at)
			if !errors.Is(err, store.ErrNotRestored) {
				return n, err
			}
			w.restore(snap)
			j.archivedSame(w.f.Object, err)
			w.archived, at = true, at0
		}
		return w.landWritten(ctx, a, enc, recs, at)
	}
	if w.trustAdopted && (at >= len(recs) || recs[at].Offset > a.Last()) {
		for rec := range a.All() {
			j.adopted++
			w.note(rec.Offset, 0)
		}
		w.landed(a)
		return at, nil
	}
	snap, at0 := w.snapshot(), at
	n, err := w.landRead(ctx, key, a, enc, recs, at)
	if errors.Is(err, store.ErrNotRestored) {
		// An archived data object (appendable, SINK_STORAGE_CLASS
		// Archive, or a lifecycle rule): its bytes cannot be read without
		// a restore, so the index is taken at its word, as for a written
		// staged object.
		w.restore(snap)
		j.archivedSame(key, err)
		w.archived = true
		return w.landWritten(ctx, a, enc, recs, at0)
	}
	return n, err
}

// landRead is land reading the append's bytes.
func (w *folderWriter) landRead(ctx context.Context, key string, a *objindex.Append, enc format.Encoder, recs []*events.Record, at int) (int, error) {
	j := w.job
	// An object shorter than the append the index says landed (or gone)
	// was replaced behind the sink's back, or re-created by a request
	// landing late (doc.go, the limits of staging): ErrConflict, not a
	// read failure that a retry would repeat forever.
	bad := func(err error) error { return j.diagnose(ctx, key, a.Pos+a.Bytes, err) }
	src, err := j.openAppend(ctx, key, a, enc)
	if err != nil {
		return 0, bad(err)
	}
	var tmp []byte
	for rec := range a.All() {
		for at < len(recs) && recs[at].Offset < rec.Offset {
			// A record of this batch that the attempt which stored the
			// later ones did not carry: the trigger gave up on it (with
			// ErrorsTolerance ALL it is in the dead-letter queue), and this
			// redelivery reaches back to it. Storing it now would break
			// offset order; it stays where the trigger put it.
			j.skipped++
			at++
		}
		if at < len(recs) && recs[at].Offset == rec.Offset {
			tmp = enc.Append(tmp[:0], recs[at])
			same := int64(len(tmp)) == rec.Size
			if same {
				var err error
				if same, err = src.equal(tmp, nil); err != nil {
					return 0, bad(src.fail(err))
				}
			}
			if !same {
				return 0, fmt.Errorf("%w: %s holds, at offset %d, a record other than the one delivered now: "+
					"the topic was probably deleted and recreated (see `sinkctl new-epoch`)", ErrOffsetsReset, key, rec.Offset)
			}
			j.recovered++
			at++
		} else {
			if err := src.skip(rec.Size, nil); err != nil {
				return 0, bad(src.fail(err))
			}
			j.adopted++
		}
		w.note(rec.Offset, 0)
	}
	if err := src.finish(); err != nil {
		return 0, bad(err)
	}
	w.landed(a)
	return at, nil
}

// landWritten is land for an append to a staged object whose data object
// is written and staging object removed: a state behind the index (a stale
// meta object landing late, a racing invocation) replays such an object.
// The staged bytes are gone: the data object was built from them and
// checked against the index when written, so the index is taken at its
// word for the records this batch does not carry (adopted), and the
// records it carries are compared as the duplicate check compares records
// in such an object: with the rows built from them (a record's row is the
// object's records before it, which the state counts). Only then is the
// data object read, forward, once per replay (w.built).
func (w *folderWriter) landWritten(ctx context.Context, a *objindex.Append, enc format.Encoder, recs []*events.Record, at int) (int, error) {
	j := w.job
	var tmp []byte
	for rec := range a.All() {
		for at < len(recs) && recs[at].Offset < rec.Offset {
			j.skipped++ // as in land
			at++
		}
		if at < len(recs) && recs[at].Offset == rec.Offset {
			r := recs[at]
			tmp = enc.Append(tmp[:0], r)
			same := int64(len(tmp)) == rec.Size && !(a.MinTS > 0 && r.Timestamp > 0 && (r.Timestamp < a.MinTS || r.Timestamp > a.MaxTS))
			if same && !w.archived {
				var err error
				if w.built == nil {
					w.built, err = j.openBuilt(ctx, w.f.Object, enc)
				}
				if err == nil {
					same, err = w.built.same(w.f.Records, tmp)
				}
				switch {
				case errors.Is(err, errArchivedFinal):
					j.archivedSame(w.f.Object, err)
					w.archived, same = true, true
				case err != nil:
					return 0, err
				}
			}
			if !same {
				return 0, fmt.Errorf("%w: %s holds, at offset %d, a record other than the one delivered now: "+
					"the topic was probably deleted and recreated (see `sinkctl new-epoch`)", ErrOffsetsReset, w.f.Object, rec.Offset)
			}
			j.recovered++
			at++
		} else {
			j.adopted++
		}
		w.note(rec.Offset, 0)
	}
	w.landed(a)
	return at, nil
}

// landed accounts for the object-level effects of a landed append.
func (w *folderWriter) landed(a *objindex.Append) {
	if a.MinTS > 0 && (w.f.MinTimestamp == 0 || a.MinTS < w.f.MinTimestamp) {
		w.f.MinTimestamp = a.MinTS
	}
	if w.f.FirstTimestamp == 0 {
		w.f.FirstTimestamp = a.MinTS
	}
	w.f.Size += a.Bytes
	w.job.noteObject(w.f.Object)
	w.job.log.Warn().Str("object", w.f.Object).Int64("first_offset", a.First()).Int64("last_offset", a.Last()).Int64("bytes", a.Bytes).
		Msg("found records written by an earlier attempt")
}

// crcMatches reports whether the current object's bytes announced by a have
// its CRC (to tell apart alternatives of one size).
func (w *folderWriter) crcMatches(ctx context.Context, a *objindex.Append) (bool, error) {
	j := w.job
	return j.crcMatches(ctx, w.dataKey(), a)
}

// crcMatches reports whether the bytes of key that a announces have its
// CRC.
func (j *partitionJob) crcMatches(ctx context.Context, key string, a *objindex.Append) (bool, error) {
	info, err := j.st.Stat(ctx, key)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check length of %s: %w", key, err)
	}
	if info.Size < a.Pos+a.Bytes {
		return false, nil
	}
	var crc uint32
	src := j.source(ctx, key, a.Pos, a.Pos+a.Bytes)
	if err := src.skip(a.Bytes, func(b []byte) { crc = crc32.Update(crc, objindex.Castagnoli, b) }); err != nil {
		if errors.Is(err, store.ErrNotRestored) {
			// Archived: the length says the bytes are there, and which of
			// two alternatives of one size landed cannot be told without
			// a restore. Alternatives of one size come from retries of
			// one batch (the same bytes), so the first is taken.
			return true, nil
		}
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	return crc == a.CRC32C, nil
}
