package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// pend adds the staged objects this call sealed to the meta object's list
// of objects to finalize, before it is written: the meta object records
// them before any of them is written, so that whatever happens next, the
// next batch knows what is left to do.
func (j *partitionJob) pend(m *Meta) {
	for _, p := range j.sealed {
		dup := false
		for _, q := range m.Finalize {
			dup = dup || q.Object == p.Object
		}
		if !dup {
			m.Finalize = append(m.Finalize, p)
		}
	}
	j.sealed = nil
}

// finalizeAll writes the data objects of the sealed staged objects the
// meta object lists (it has been written with them), and writes the meta
// object again without those confirmed. A failure leaves the entry for
// the next batch of the partition: the records are staged and committed,
// and finalizing is idempotent, so the batch still succeeds.
func (j *partitionJob) finalizeAll(ctx context.Context, m *Meta) {
	if len(m.Finalize) == 0 {
		return
	}
	var left []*Pending
	for _, p := range m.Finalize {
		if ctx.Err() != nil {
			left = append(left, p)
			continue
		}
		if err := j.finalize(ctx, p); err != nil {
			msg := "finalizing a sealed object failed: its records are staged and committed; the partition's next batch tries again"
			if store.IsPermanent(err) || errors.Is(err, ErrConflict) {
				msg = "finalizing a sealed object failed, and retrying cannot help until the cause is fixed (see the error): its records are staged and committed, and stay so"
			}
			j.log.Error().Err(err).Str("object", p.Object).Msg(msg)
			j.unfinalized++
			left = append(left, p)
			continue
		}
		j.finalized++
		if !slices.Contains(j.objects, p.Object) {
			j.objects = append(j.objects, p.Object)
		}
	}
	if len(left) == len(m.Finalize) {
		return
	}
	m.Finalize = left
	m.UpdatedAt = j.cfg.now().UTC()
	if err := j.putMeta(ctx, m); err != nil {
		// The entries stay in the stored meta object; the next batch
		// finds the data objects written and only removes the staging.
		j.log.Warn().Err(err).Msg("meta object not updated after finalizing; the next batch completes it")
	}
}

// finalize writes the data object of p from its staging object, unless it
// exists already, then removes the staging object. The data object's name
// and content are derived from the staged records alone and it is written
// only if absent (forbid-overwrite), so a retry, a racing attempt or a kill
// at any instant leaves exactly one data object; the staging object is
// removed only once that data object is confirmed to hold p's records.
func (j *partitionJob) finalize(ctx context.Context, p *Pending) error {
	enc, ok := encoderFor(p.Encoding)
	if !ok || !enc.Staged() {
		return fmt.Errorf("%w: %s: encoding %q is not staged", ErrConflict, p.Object, p.Encoding)
	}
	stage := StageKey(p.Object)
	if err := j.sealClosed(ctx, p); err != nil {
		return err
	}
	done, err := j.finalExists(ctx, p, enc)
	if err != nil {
		return err
	}
	if !done {
		if err := j.buildAndPut(ctx, p, enc, stage); err != nil {
			return err
		}
	}
	if err := j.st.Delete(ctx, stage); err != nil {
		return fmt.Errorf("remove staging object %s (its data object %s is written): %w", stage, p.Object, err)
	}
	j.log.Info().Str("object", p.Object).Int64("records", p.Records).Int64("staged_bytes", p.Size).Msg("data object written from its staged records")
	return nil
}

// sealClosed writes the seal entry of p's object if it has none: a folder
// closed past the bound drops its object from the state without one. Its
// state was complete then, and nothing names the object since, so the
// index is as the state recorded it (or holds this very entry, from an
// earlier try); anything else is ErrConflict. Every finalized object is
// sealed, so readers of its index know where its staged records ended.
func (j *partitionJob) sealClosed(ctx context.Context, p *Pending) error {
	if !p.Closed {
		return nil
	}
	_, err := j.writeSeal(ctx, p)
	if errors.Is(err, errIndexGrew) {
		return fmt.Errorf("%w: %w: its folder was closed there, and something appended to it since", ErrConflict, err)
	}
	return err
}

// errIndexGrew: a seal entry meant for the end of an index as recorded
// found the index longer, holding entries other than this very seal.
var errIndexGrew = errors.New("index holds more than recorded")

// writeSeal appends to p's index, at p.IndexSize, the seal entry that ends
// p's object at p.Size and names the next object of its folder and epoch
// for p.LastOffset+1 (in its encoding), and returns the index's length
// after it. An earlier try of this very entry that landed counts as done;
// any other entry there is errIndexGrew, for the caller to judge (an index
// shorter than recorded is ErrConflict).
func (j *partitionJob) writeSeal(ctx context.Context, p *Pending) (int64, error) {
	ikey := objindex.Key(p.Object)
	next := ObjectKey(j.cfg.prefix, j.topic, p.Folder, j.partition, p.LastOffset+1, p.Epoch) + extOf(p.Encoding)
	entry := objindex.AppendEntry(nil, objindex.Entry{Seal: &objindex.Seal{At: p.Size, Next: next, NextOffset: p.LastOffset + 1, NextEnc: p.Encoding}})
	end := p.IndexSize + int64(len(entry))
	_, err := j.st.Append(ctx, ikey, p.IndexSize, entry)
	pe, isPos := store.AsPositionError(err)
	switch {
	case err == nil:
		return end, nil
	case !isPos:
		return 0, fmt.Errorf("seal %s: %w", p.Object, err)
	case pe.Length == end:
		// A try of this request landed, or something else of that length
		// (read in chunks, as every recovery read).
		same, err := j.source(ctx, ikey, p.IndexSize, end).equal(entry, nil)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", ikey, err)
		}
		if same {
			return end, nil
		}
	}
	if pe.Length < p.IndexSize {
		return 0, fmt.Errorf("%w: seal %s: its index %s is %d bytes, shorter than the %d recorded: it was truncated, replaced or deleted",
			ErrConflict, p.Object, ikey, pe.Length, p.IndexSize)
	}
	return 0, fmt.Errorf("seal %s: %w: %s is %d bytes, the seal was to go at %d", p.Object, errIndexGrew, ikey, pe.Length, p.IndexSize)
}

// finalExists reports whether p's data object exists and holds p's records
// (an earlier attempt wrote it). An object of that name that does not is
// ErrConflict: it is not the sink's, and the staged records stay.
func (j *partitionJob) finalExists(ctx context.Context, p *Pending, enc format.Encoder) (bool, error) {
	info, err := j.st.Stat(ctx, p.Object)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s: %w", p.Object, err)
	}
	ra := &storeReaderAt{ctx: ctx, st: j.st, key: p.Object, chunk: j.cfg.readChunk}
	got, err := enc.CheckBuilt(ra, info.Size)
	if ra.err != nil {
		return false, fmt.Errorf("read %s: %w", p.Object, ra.err)
	}
	// A file has offsets to compare exactly when its fields hold them
	// (SINK_FIELDS may leave the offset out): its record count alone
	// must do then.
	offsets := enc.Fields.Has(format.FieldOffset)
	if err != nil || got.Records != p.Records || got.HasOffsets != offsets ||
		offsets && (got.FirstOffset != p.FirstOffset || got.LastOffset != p.LastOffset) {
		return false, fmt.Errorf("%w: %s exists but is not the data object of the staged records (offsets %d-%d, %d records): %v %+v; "+
			"its records stay in %s", ErrConflict, p.Object, p.FirstOffset, p.LastOffset, p.Records, err, got, StageKey(p.Object))
	}
	return true, nil
}

// buildAndPut builds p's data object from the staged records, in a
// temporary file (memory does not grow with the object), and writes it if
// absent.
func (j *partitionJob) buildAndPut(ctx context.Context, p *Pending, enc format.Encoder, stage string) error {
	tmp, err := os.CreateTemp("", ".oss-sink-final-*")
	if err != nil {
		return fmt.Errorf("build %s: %w", p.Object, err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	next, err := j.stagedRecords(ctx, p, enc, stage)
	if err != nil {
		return err
	}
	if err := enc.Build(bw, next); err != nil {
		var se *stagedError
		if errors.As(err, &se) {
			return se.err
		}
		return fmt.Errorf("build %s: %w", p.Object, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("build %s: %w", p.Object, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("build %s: %w", p.Object, err)
	}
	opts := []store.WriteOption{store.NoOverwrite()}
	if ct := enc.ContentType(); ct != "" {
		opts = append(opts, store.WithContentType(ct))
	}
	err = j.st.PutReader(ctx, p.Object, tmp, size, opts...)
	if errors.Is(err, store.ErrExists) {
		// Written meanwhile (an earlier try of this very request, or a
		// racing attempt): it must be the same.
		done, err := j.finalExists(ctx, p, enc)
		if err == nil && !done {
			err = fmt.Errorf("%w: %s was reported existing, then missing", ErrConflict, p.Object)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p.Object, err)
	}
	return nil
}

// stagedError carries a failure to read the staged records through the
// format's builder.
type stagedError struct{ err error }

func (e *stagedError) Error() string { return e.err.Error() }

// stagedRecords returns an iterator over the staged records of p, in order,
// each as its staging encoding: the landed appends its index announces up
// to its seal, read in chunks and checked against their CRCs. It returns
// io.EOF after the last record, once every count agrees with p.
func (j *partitionJob) stagedRecords(ctx context.Context, p *Pending, enc format.Encoder, stage string) (func() ([]byte, error), error) {
	ikey := objindex.Key(p.Object)
	info, err := j.st.Stat(ctx, ikey)
	if err != nil {
		if store.IsNotFound(err) {
			return nil, fmt.Errorf("%w: the index %s of sealed object %s is missing", ErrConflict, ikey, p.Object)
		}
		return nil, fmt.Errorf("check length of %s: %w", ikey, err)
	}
	sc := objindex.NewScannerSize(newRangeReader(ctx, j.st, ikey, 0, info.Size, j.cfg.readChunk), 0, info.Size)
	res := objindex.NewResolver(0, func(a *objindex.Append) (bool, error) { return j.crcMatches(ctx, stage, a) })
	var landed []*objindex.Append
	for sc.Scan() {
		if err := res.Add(sc.Entry()); err != nil {
			return nil, resolveErr(p.Object, err)
		}
		landed = append(landed, res.Landed()...)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, objindex.ErrInvalid) {
			return nil, fmt.Errorf("%w: %s: %w", ErrConflict, ikey, err)
		}
		return nil, fmt.Errorf("read index %s: %w", ikey, err)
	}
	if seal, ok := res.Sealed(); !ok || seal.At != p.Size {
		return nil, fmt.Errorf("%w: %s: the index has no seal at %d, where the meta object says the object ends", ErrConflict, ikey, p.Size)
	}
	fin, err := res.Finish(p.Size)
	if err != nil {
		return nil, resolveErr(p.Object, err)
	}
	landed = append(landed, fin.Landed...)

	var (
		ai    int
		src   *appendSource
		recs  []objindex.Record
		ri    int
		buf   []byte
		count int64
		last  = int64(-1)
	)
	bad := func(format string, args ...any) error {
		return &stagedError{fmt.Errorf("%w: %s: "+format, append([]any{ErrConflict, stage}, args...)...)}
	}
	next := func() ([]byte, error) {
		for src == nil || ri == len(recs) {
			if src != nil {
				if err := src.finish(); err != nil {
					return nil, &stagedError{err}
				}
				src = nil
			}
			if ai == len(landed) {
				if count != p.Records || last != p.LastOffset {
					return nil, bad("%d records up to offset %d staged, the meta object says %d up to %d", count, last, p.Records, p.LastOffset)
				}
				return nil, io.EOF
			}
			a := landed[ai]
			ai++
			s, err := j.openAppend(ctx, stage, a, enc)
			if err != nil {
				return nil, &stagedError{err}
			}
			src, recs, ri = s, recs[:0], 0
			for r := range a.All() {
				recs = append(recs, r)
			}
		}
		r := recs[ri]
		ri++
		if count == 0 && r.Offset != p.FirstOffset || r.Offset <= last {
			return nil, bad("record at offset %d out of place (previous %d, first %d)", r.Offset, last, p.FirstOffset)
		}
		buf = buf[:0]
		var err error
		if buf, err = src.take(buf, r.Size); err != nil {
			return nil, &stagedError{src.fail(err)}
		}
		count++
		last = r.Offset
		return buf, nil
	}
	return next, nil
}

// storeReaderAt reads an object through ranged GETs of at most chunk
// bytes (WithReadChunk: like every recovery read, whatever the reader
// asks at once), for a reader of a file's footer; it keeps the first
// store error.
type storeReaderAt struct {
	ctx   context.Context
	st    store.Store
	key   string
	chunk int
	err   error
}

func (r *storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k := min(len(p)-n, max(r.chunk, 1))
		b, err := r.st.GetRange(r.ctx, r.key, off+int64(n), int64(k))
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			return n, err
		}
		n += copy(p[n:], b)
		if len(b) < k {
			return n, io.ErrUnexpectedEOF
		}
	}
	return n, nil
}
