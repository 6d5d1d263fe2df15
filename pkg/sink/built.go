package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// builtSource reads the rows of a written data object of a staged encoding
// (Parquet) forward, to compare records delivered again with the rows built
// from their staged bytes once the staging object is gone. Only the row
// groups holding the rows asked for are read, one at a time, by ranged GETs
// of at most a read chunk: memory and requests do not grow with the object.
type builtSource struct {
	key string
	ra  *blockReaderAt
	br  *format.BuiltRecords
	at  int64 // the next row
}

// openBuilt opens the data object key, written in encoding enc, reading
// its footer. The caller knows that the object was written (its staging
// object is gone): missing, or not an object built in enc, it was deleted
// or replaced behind the sink's back, which no retry mends (ErrConflict).
func (j *partitionJob) openBuilt(ctx context.Context, key string, enc format.Encoder) (*builtSource, error) {
	info, err := j.st.Stat(ctx, key)
	if store.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s is missing, but its staging object is gone and its index says it was written: it was deleted behind the sink's back", ErrConflict, key)
	}
	if err != nil {
		return nil, fmt.Errorf("check length of %s: %w", key, err)
	}
	if info.StorageClass.Archived() && info.Restore != store.RestoreDone {
		return nil, fmt.Errorf("%s: %w (%s)", key, errArchivedFinal, info.StorageClass)
	}
	b := &builtSource{key: key, ra: j.blockReader(ctx, key, info.Size)}
	if b.br, err = enc.OpenBuilt(b.ra, info.Size); err != nil {
		return nil, b.fail(err)
	}
	return b, nil
}

// same reports whether row row of the object was built from the staged
// record want (a record's staging encoding). Rows are asked for in
// increasing order: the object is read forward once.
func (b *builtSource) same(row int64, want []byte) (bool, error) {
	if row < b.at {
		return false, fmt.Errorf("%s: row %d asked for after row %d (rows must come in order)", b.key, row, b.at-1)
	}
	if err := b.br.Skip(row - b.at); err != nil {
		return false, b.fail(err)
	}
	b.at = row
	same, err := b.br.Same(want)
	if err != nil {
		return false, b.fail(err)
	}
	b.at++
	return same, nil
}

// fail explains an error reading the object: the store's (transient, as
// it was), or an object that is not what its index and encoding say.
func (b *builtSource) fail(err error) error {
	if errors.Is(b.ra.err, store.ErrNotRestored) {
		return fmt.Errorf("read %s: %w: %w", b.key, errArchivedFinal, b.ra.err)
	}
	if b.ra.err != nil {
		return fmt.Errorf("read %s: %w", b.key, b.ra.err)
	}
	return fmt.Errorf("%w: %s is not the data object its index describes: %w", ErrConflict, b.key, err)
}

// errArchivedFinal says that a written data object is in an archive class
// (SINK_STORAGE_CLASS Archive and colder) and not restored: its rows cannot
// be read back without a restore, which takes minutes to days. Records
// repeated in such an object are then taken for duplicates on the
// evidence of the index alone (their staged sizes and the append's
// timestamps), as before the rows were compared: a documented limit
// (doc.go, Staging), not a failure of the batch.
var errArchivedFinal = errors.New("the written data object is archived, so its rows cannot be read back")

// builtCheck is a record to compare with a row of a written object: recs[k]
// of sameAsStored, whose staged encoding is want, at row row.
type builtCheck struct {
	k    int
	row  int64
	want []byte
}

// sameInBuilt compares the records of checks with the rows of the written
// data object key (encoding enc) at their row ordinals, in one forward
// pass, setting same[k] for each.
func (j *partitionJob) sameInBuilt(ctx context.Context, key string, enc format.Encoder, checks []builtCheck, same []bool) error {
	slices.SortFunc(checks, func(x, y builtCheck) int { return cmp.Compare(x.row, y.row) })
	b, err := j.openBuilt(ctx, key, enc)
	if err == nil {
		for _, c := range checks {
			if same[c.k], err = b.same(c.row, c.want); err != nil {
				break
			}
		}
	}
	if errors.Is(err, errArchivedFinal) {
		j.archivedSame(key, err)
		for _, c := range checks {
			same[c.k] = true
		}
		return nil
	}
	return err
}

// archivedSame logs that records repeated in the archived object key were
// compared by the index only (errArchivedFinal).
func (j *partitionJob) archivedSame(key string, err error) {
	j.log.Warn().Err(err).Str("object", key).
		Msg("records delivered again fall in an archived data object: compared with its index (staged sizes and timestamps) only, not read back")
}

// blockReader reads the object key of size bytes in blocks of a quarter
// read chunk (WithReadChunk), as every recovery read is bounded.
func (j *partitionJob) blockReader(ctx context.Context, key string, size int64) *blockReaderAt {
	return &blockReaderAt{ctx: ctx, st: j.st, key: key, size: size, block: max(int64(j.cfg.readChunk)/builtBlocks, 1)}
}

// builtBlocks is how many blocks a blockReaderAt keeps, each a quarter of
// the read chunk: together no more than one chunk, the most any recovery
// read holds.
const builtBlocks = 4

// blockReaderAt reads an object of size bytes in aligned blocks, one ranged
// GET each, and keeps the builtBlocks last used. A Parquet reader makes
// many small reads (the footer, page headers, a buffer per column) close
// to each other: through it, a small object costs one request, and a row
// group a request per block, not per read. It keeps the first store error.
type blockReaderAt struct {
	ctx   context.Context
	st    store.Store
	key   string
	size  int64
	block int64
	lru   []cachedBlock // the most recently used last
	err   error
}

type cachedBlock struct {
	off int64
	b   []byte
}

func (r *blockReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %s at %d: negative offset", r.key, off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		start := pos / r.block * r.block
		b, err := r.blockAt(start)
		if err != nil {
			if r.err == nil {
				r.err = err
			}
			return n, err
		}
		n += copy(p[n:], b[pos-start:])
	}
	return n, nil
}

// blockAt returns the block starting at off, from the cache or the store.
func (r *blockReaderAt) blockAt(off int64) ([]byte, error) {
	for i, c := range r.lru {
		if c.off == off {
			r.lru = append(append(r.lru[:i:i], r.lru[i+1:]...), c)
			return c.b, nil
		}
	}
	n := min(r.block, r.size-off)
	b, err := r.st.GetRange(r.ctx, r.key, off, n)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("read %s [%d, %d): got %d bytes: %w", r.key, off, off+n, len(b), io.ErrUnexpectedEOF)
	}
	if len(r.lru) == builtBlocks {
		r.lru = append(r.lru[:0], r.lru[1:]...)
	}
	r.lru = append(r.lru, cachedBlock{off, b})
	return b, nil
}
