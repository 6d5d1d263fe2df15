package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

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
	done, err := j.finalExists(ctx, p, enc, nil)
	if err != nil {
		return err
	}
	if !done {
		if enc.Built() {
			err = j.buildAndPut(ctx, p, enc, stage)
		} else {
			err = j.copyAndPut(ctx, p, enc, stage)
		}
		if err != nil {
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
	_, err := j.st.Append(ctx, ikey, p.IndexSize, entry, stateOptions(p.IndexSize)...)
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

// finalSum is what a finalize call knows of the data object it wrote (or
// tried to): its size and CRC-64/ECMA, to compare with an object found at
// the name without reading it (it may be archived).
type finalSum struct {
	size  int64
	crc64 uint64
}

// finalExists reports whether p's data object exists and holds p's records
// (an earlier attempt wrote it). An object of that name that does not is
// ErrConflict: it is not the sink's, and the staged records stay. sum is
// what this call wrote (nil: nothing yet).
//
// The data object may be archived (SINK_STORAGE_CLASS Archive and colder,
// a lifecycle rule, a bucket whose default class is one), and then cannot
// be read without a restore: it is never read then. It is compared by what
// a HEAD gives — size, CRC-64 (OSS x-oss-hash-crc64ecma) and the user
// metadata the sink writes with it (finalOptions) — and by reading only
// when it is readable (a store that keeps neither CRC nor metadata:
// localstore).
func (j *partitionJob) finalExists(ctx context.Context, p *Pending, enc format.Encoder, sum *finalSum) (bool, error) {
	info, err := j.st.Stat(ctx, p.Object)
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check %s: %w", p.Object, err)
	}
	ok, why, err := j.finalMatches(ctx, p, enc, info, sum)
	if err != nil {
		return false, err
	}
	if ok {
		return true, nil
	}
	if why == "" {
		// Not decidable without this call's own bytes (an archived
		// Parquet object without the sink's metadata): build them, and
		// let the forbid-overwrite PUT's answer bring them here again.
		return false, nil
	}
	return false, fmt.Errorf("%w: %s exists but is not the data object of the staged records (offsets %d-%d, %d records): %s; "+
		"its records stay in %s, and retrying cannot help until the object at that name is moved away", ErrConflict, p.Object, p.FirstOffset, p.LastOffset, p.Records, why, StageKey(p.Object))
}

// finalMatches compares info, the object at p's data object's name, with
// p (see finalExists). It returns false with a reason when they differ,
// and false without one when it cannot tell without sum.
func (j *partitionJob) finalMatches(ctx context.Context, p *Pending, enc format.Encoder, info store.Info, sum *finalSum) (bool, string, error) {
	present, why := metaMatches(info.Metadata, p)
	if why != "" {
		return false, "its metadata " + why, nil
	}
	readable := !info.StorageClass.Archived() || info.Restore == store.RestoreDone
	if sum != nil {
		switch {
		case info.Size != sum.size:
			return false, fmt.Sprintf("it is %d bytes, the data object written from them %d", info.Size, sum.size), nil
		case info.HasCRC64 && info.CRC64 != sum.crc64:
			return false, fmt.Sprintf("its CRC-64 is %016x, that of the data object written from them %016x", info.CRC64, sum.crc64), nil
		case info.HasCRC64 || present:
			return true, "", nil
		}
		// Neither CRC nor metadata (localstore): read it, below.
	}
	if enc.Built() {
		if !readable {
			if present {
				return true, "", nil
			}
			// The staging object is removed only once its data object
			// is confirmed: without it, an earlier try confirmed this
			// one (and there is nothing left to build from).
			if _, err := j.st.Stat(ctx, StageKey(p.Object)); store.IsNotFound(err) {
				return true, "", nil
			} else if err != nil {
				return false, "", fmt.Errorf("check %s: %w", StageKey(p.Object), err)
			}
			return false, "", nil
		}
		ok, why, err := j.checkBuilt(ctx, p, enc, info)
		if errors.Is(err, store.ErrNotRestored) {
			// Archived since the HEAD (a lifecycle rule): metadata alone.
			return present, "", nil
		}
		return ok, why, err
	}
	if info.Size != p.Size {
		return false, fmt.Sprintf("it is %d bytes, the staged records %d", info.Size, p.Size), nil
	}
	if !info.HasCRC64 && !readable {
		if present {
			return true, "", nil
		}
		return false, "it is archived, and has neither a CRC-64 nor the sink's metadata to compare", nil
	}
	want, err := j.stagedCRC64(ctx, p)
	if store.IsNotFound(err) {
		// The staging object is removed only once its data object is
		// confirmed: an earlier try confirmed this one and stopped
		// before the meta object said so.
		if present || info.HasCRC64 {
			return true, "", nil
		}
		return false, "its staging object is gone, and it has neither a CRC-64 nor the sink's metadata to compare", nil
	}
	if err != nil {
		return false, "", err
	}
	got := info.CRC64
	if !info.HasCRC64 {
		if got, err = j.objectCRC64(ctx, p.Object, info.Size); err != nil {
			return false, "", fmt.Errorf("read %s: %w", p.Object, err)
		}
	}
	if got != want {
		return false, fmt.Sprintf("its CRC-64 is %016x, that of the staged bytes %016x", got, want), nil
	}
	return true, "", nil
}

// checkBuilt reads the footer of the built (Parquet) object at p's name:
// it must hold p's records (row count and offset range).
func (j *partitionJob) checkBuilt(ctx context.Context, p *Pending, enc format.Encoder, info store.Info) (bool, string, error) {
	ra := j.blockReader(ctx, p.Object, info.Size)
	got, err := enc.CheckBuilt(ra, info.Size)
	if ra.err != nil {
		return false, "", fmt.Errorf("read %s: %w", p.Object, ra.err)
	}
	// A file has offsets to compare exactly when its fields hold them
	// (SINK_FIELDS may leave the offset out): its record count alone
	// must do then.
	offsets := enc.Fields.Has(format.FieldOffset)
	if err != nil || got.Records != p.Records || got.HasOffsets != offsets ||
		offsets && (got.FirstOffset != p.FirstOffset || got.LastOffset != p.LastOffset) {
		return false, fmt.Sprintf("%v %+v", err, got), nil
	}
	return true, "", nil
}

// Metadata keys of the data objects written whole (OSS returns them in
// lower case).
const (
	metaFirstOffset = "first-offset"
	metaLastOffset  = "last-offset"
	metaRecords     = "records"
	metaTopic       = "topic"
	metaPartition   = "partition"
	metaEncoding    = "encoding"
)

// metaMatches reports whether md holds the sink's metadata (present), and
// what in it disagrees with p ("" if nothing).
func metaMatches(md []store.Tag, p *Pending) (present bool, why string) {
	want := map[string]string{
		metaFirstOffset: strconv.FormatInt(p.FirstOffset, 10),
		metaLastOffset:  strconv.FormatInt(p.LastOffset, 10),
		metaRecords:     strconv.FormatInt(p.Records, 10),
		metaEncoding:    p.Encoding,
	}
	found := 0
	for _, m := range md {
		w, ok := want[strings.ToLower(m.Key)]
		if !ok {
			continue
		}
		found++
		if m.Value != w {
			return true, fmt.Sprintf("says %s %q, the staged records %q", m.Key, m.Value, w)
		}
	}
	switch found {
	case 0:
		return false, ""
	case len(want):
		return true, ""
	}
	return true, fmt.Sprintf("lacks some of %s, %s, %s, %s", metaFirstOffset, metaLastOffset, metaRecords, metaEncoding)
}

// finalOptions are the write options of p's data object: created once
// (forbid-overwrite), with its content headers, the configured class and
// encryption, the sink's tags and SINK_TAGS, and user metadata that lets
// it be checked without reading it (finalMatches).
func (j *partitionJob) finalOptions(p *Pending, enc format.Encoder) []store.WriteOption {
	c := j.cfg
	opts := []store.WriteOption{store.NoOverwrite()}
	if ct := enc.ContentType(); ct != "" {
		opts = append(opts, store.WithContentType(ct))
	}
	if ce := enc.ContentEncoding(); ce != "" {
		opts = append(opts, store.WithContentEncoding(ce))
	}
	if c.class != "" {
		opts = append(opts, store.WithStorageClass(c.class))
	}
	if c.sse != "" {
		opts = append(opts, store.WithSSE(c.sse, c.sseKeyID))
	}
	part := strconv.FormatInt(int64(j.partition), 10)
	first, last, recs := strconv.FormatInt(p.FirstOffset, 10), strconv.FormatInt(p.LastOffset, 10), strconv.FormatInt(p.Records, 10)
	codec := "none"
	if enc.Codec != format.None {
		codec = enc.Codec.String()
	}
	// Tag values allow letters, digits, spaces and + - = . _ : / only:
	// the encoding id (with ';' and ',') goes in the metadata, the format
	// and codec names in tags. Kafka topic names fit (letters, digits,
	// '.', '_', '-').
	tags := []store.Tag{{Key: "topic", Value: j.topic}, {Key: "partition", Value: part},
		{Key: "first-offset", Value: first}, {Key: "last-offset", Value: last}, {Key: "records", Value: recs},
		{Key: "format", Value: enc.Format.String()}, {Key: "compression", Value: codec}}
	opts = append(opts, store.WithTags(append(tags, c.tags...)...),
		store.WithMetadata(store.Tag{Key: metaFirstOffset, Value: first}, store.Tag{Key: metaLastOffset, Value: last},
			store.Tag{Key: metaRecords, Value: recs}, store.Tag{Key: metaTopic, Value: j.topic},
			store.Tag{Key: metaPartition, Value: part}, store.Tag{Key: metaEncoding, Value: p.Encoding}))
	return opts
}

// stateOptions are the write options of the sink's own objects (meta
// objects, indexes) when a write creates them (pos 0, or a PUT): always
// Standard, whatever the bucket's default class, since they are read and
// appended to all the time.
func stateOptions(pos int64) []store.WriteOption {
	if pos > 0 {
		return nil
	}
	return []store.WriteOption{store.WithStorageClass(store.Standard)}
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
	crc := crc64.New(crc64Table)
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
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
	return j.putFinal(ctx, p, enc, tmp, size, &finalSum{size: size, crc64: crc.Sum64()})
}

// putFinal writes p's data object, the size bytes of r, if absent. An
// "already exists" answer means an earlier try of this very request, or a
// racing attempt, wrote it: it must be the same (sum: what r holds, if
// known; else finalExists compares with the staged bytes).
func (j *partitionJob) putFinal(ctx context.Context, p *Pending, enc format.Encoder, r io.ReaderAt, size int64, sum *finalSum) error {
	err := j.st.PutReader(ctx, p.Object, r, size, j.finalOptions(p, enc)...)
	if errors.Is(err, store.ErrExists) {
		done, err := j.finalExists(ctx, p, enc, sum)
		if err == nil && !done {
			err = fmt.Errorf("%w: %s was reported existing, then missing or not comparable", ErrConflict, p.Object)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p.Object, err)
	}
	return nil
}

// copyAndPut writes p's data object as the staged bytes [0, p.Size) of
// its staging object (raw, jsonl and csv staged with SINK_FINALIZE: the
// bytes an appendable object would hold), streamed from the store in
// chunks, each append's CRC checked on the way (a mismatch fails the read,
// and so the PUT, before anything is written). Memory does not grow with
// the object: the store streams the body (ossstore), or holds it once
// (memstore).
func (j *partitionJob) copyAndPut(ctx context.Context, p *Pending, enc format.Encoder, stage string) error {
	landed, err := j.stagedAppends(ctx, p, stage)
	if err != nil {
		return err
	}
	sr := &stagedReaderAt{ctx: ctx, st: j.st, key: stage, chunk: j.cfg.readChunk, appends: landed, size: p.Size}
	sr.reset()
	err = j.putFinal(ctx, p, enc, sr, p.Size, nil)
	if sr.err != nil && err != nil {
		// The stage's own failure (a read, a CRC), not the PUT's.
		return sr.err
	}
	return err
}

// stagedAppends returns the landed appends of p's staged object up to its
// seal, checked to cover its staged bytes [0, p.Size) one after the other
// and to hold p's records.
func (j *partitionJob) stagedAppends(ctx context.Context, p *Pending, stage string) ([]*objindex.Append, error) {
	landed, err := j.resolveStaged(ctx, p, stage)
	if err != nil {
		return nil, err
	}
	at, n, last := int64(0), int64(0), int64(-1)
	for _, a := range landed {
		if a.Pos != at || a.First() <= last || n == 0 && a.First() != p.FirstOffset {
			return nil, fmt.Errorf("%w: %s: the append at %d (offsets %d-%d) does not follow the one before (ending at %d, offset %d)", ErrConflict, stage, a.Pos, a.First(), a.Last(), at, last)
		}
		at, n, last = a.Pos+a.Bytes, n+a.Records(), a.Last()
	}
	if at != p.Size || n != p.Records || last != p.LastOffset {
		return nil, fmt.Errorf("%w: %s: %d records up to offset %d staged in %d bytes, the meta object says %d up to %d in %d", ErrConflict, stage, n, last, at, p.Records, p.LastOffset, p.Size)
	}
	return landed, nil
}

// stagedCRC64 returns the CRC-64/ECMA of the staged bytes [0, p.Size) of
// p's staging object, read in chunks, each append's CRC checked; an error
// wrapping ErrNotFound if the staging object is gone.
func (j *partitionJob) stagedCRC64(ctx context.Context, p *Pending) (uint64, error) {
	stage := StageKey(p.Object)
	if _, err := j.st.Stat(ctx, stage); err != nil {
		if store.IsNotFound(err) {
			return 0, err
		}
		return 0, fmt.Errorf("check %s: %w", stage, err)
	}
	landed, err := j.stagedAppends(ctx, p, stage)
	if err != nil {
		return 0, err
	}
	sr := &stagedReaderAt{ctx: ctx, st: j.st, key: stage, chunk: j.cfg.readChunk, appends: landed, size: p.Size}
	sr.reset()
	if _, err := io.Copy(io.Discard, io.NewSectionReader(sr, 0, p.Size)); err != nil {
		if sr.err != nil {
			return 0, sr.err
		}
		return 0, fmt.Errorf("read %s: %w", stage, err)
	}
	return sr.crc.Sum64(), nil
}

// objectCRC64 returns the CRC-64/ECMA of the first size bytes of key, read
// in chunks (for a store that reports none).
func (j *partitionJob) objectCRC64(ctx context.Context, key string, size int64) (uint64, error) {
	crc := crc64.New(crc64Table)
	if _, err := io.Copy(crc, newRangeReader(ctx, j.st, key, 0, size, j.cfg.readChunk)); err != nil {
		return 0, err
	}
	return crc.Sum64(), nil
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

// stagedReaderAt reads a staging object's bytes [0, size) for a PUT by
// ranged GETs of chunk bytes, one chunk held at a time. Read in order from 0 (as stores stream a body; a
// retry starts again at 0), it checks each landed append's CRC-32C as its
// last byte goes by, failing the read on a mismatch, and sums the
// CRC-64/ECMA of everything read. It keeps the first error.
type stagedReaderAt struct {
	ctx     context.Context
	st      store.Store
	key     string
	chunk   int
	appends []*objindex.Append
	err     error

	size int64 // the staged bytes: [0, size)

	buf    []byte // the chunk last read, at bufOff
	bufOff int64

	next int64 // the position a read in order comes next
	ai   int   // the append the next byte is in
	a32  uint32
	crc  hash.Hash64
	// skewed: a read out of order happened; the sums are not checked.
	skewed bool
}

func (r *stagedReaderAt) reset() {
	r.next, r.ai, r.a32, r.skewed = 0, 0, 0, false
	if r.crc == nil {
		r.crc = crc64.New(crc64Table)
	}
	r.crc.Reset()
}

func (r *stagedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 && r.next != 0 {
		r.reset()
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at < r.bufOff || at >= r.bufOff+int64(len(r.buf)) {
			// One ranged GET of a whole chunk, however little the reader
			// asks at once (an HTTP body is read 32 KB at a time).
			if at >= r.size {
				return n, io.EOF
			}
			k := min(r.size-at, int64(max(r.chunk, 1)))
			b, err := r.st.GetRange(r.ctx, r.key, at, k)
			if err == nil && int64(len(b)) != k {
				err = fmt.Errorf("got %d bytes: %w", len(b), io.ErrUnexpectedEOF)
			}
			if err != nil {
				err = fmt.Errorf("read %s [%d, %d): %w", r.key, at, at+k, err)
				if r.err == nil {
					r.err = err
				}
				return n, err
			}
			r.buf, r.bufOff = b, at
		}
		c := copy(p[n:], r.buf[at-r.bufOff:])
		if err := r.sum(p[n:n+c], at); err != nil {
			return n, err
		}
		n += c
	}
	return n, nil
}

// sum feeds b, read at off, to the sums while reads are in order.
func (r *stagedReaderAt) sum(b []byte, off int64) error {
	if r.skewed || off != r.next {
		r.skewed = true
		return nil
	}
	r.crc.Write(b)
	r.next += int64(len(b))
	for len(b) > 0 && r.ai < len(r.appends) {
		a := r.appends[r.ai]
		pos := r.next - int64(len(b))
		k := min(int64(len(b)), a.Pos+a.Bytes-pos)
		r.a32 = crc32.Update(r.a32, objindex.Castagnoli, b[:k])
		b = b[k:]
		if pos+k == a.Pos+a.Bytes {
			if r.a32 != a.CRC32C {
				r.err = fmt.Errorf("%w: bytes %d-%d of %s do not match the CRC its index announced", ErrConflict, a.Pos, a.Pos+a.Bytes, r.key)
				return r.err
			}
			r.ai, r.a32 = r.ai+1, 0
		}
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
	landed, err := j.resolveStaged(ctx, p, stage)
	if err != nil {
		return nil, err
	}

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

// resolveStaged returns the landed appends of p's staged object up to its
// seal, by its index (each alternative's CRC checked against the stage).
func (j *partitionJob) resolveStaged(ctx context.Context, p *Pending, stage string) ([]*objindex.Append, error) {
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
	return landed, nil
}
