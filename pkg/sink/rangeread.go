package sink

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// DefaultReadChunk is the largest ranged read the sink makes on its
// recovery paths (WithReadChunk): what an earlier attempt left behind is
// read and compared piece by piece, so memory does not grow with it.
const DefaultReadChunk = 4 << 20

// rangeReader reads the bytes [off, end) of an object as an io.Reader, one
// ranged GET of at most chunk bytes at a time.
type rangeReader struct {
	ctx      context.Context
	st       store.Store
	key      string
	off, end int64
	chunk    int64
	buf      []byte
	pos      int // read position in buf
}

func newRangeReader(ctx context.Context, st store.Store, key string, off, end int64, chunk int) *rangeReader {
	return &rangeReader{ctx: ctx, st: st, key: key, off: off, end: end, chunk: int64(chunk)}
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.pos == len(r.buf) {
		if r.off >= r.end {
			return 0, io.EOF
		}
		n := min(r.chunk, r.end-r.off)
		b, err := r.st.GetRange(r.ctx, r.key, r.off, n)
		if err != nil {
			return 0, fmt.Errorf("read %s [%d, %d): %w", r.key, r.off, r.off+n, err)
		}
		if int64(len(b)) != n {
			return 0, fmt.Errorf("read %s [%d, %d): got %d bytes", r.key, r.off, r.off+n, len(b))
		}
		r.buf, r.pos = b, 0
		r.off += n
	}
	n := copy(p, r.buf[r.pos:])
	r.pos += n
	return n, nil
}

// byteSource hands out the bytes of an object range in order, in pieces of
// at most the reader's chunk, and keeps count of where it is.
type byteSource struct {
	br  *bufio.Reader
	pos int64 // object position of the next byte
}

func newByteSource(ctx context.Context, st store.Store, key string, off, end int64, chunk int) *byteSource {
	return reuseByteSource(nil, ctx, st, key, off, end, chunk)
}

// reuseByteSource is newByteSource reusing br's buffer when it is large
// enough (br may be nil): recovery reads one source after another, and a
// fresh buffer of up to a chunk for each would be garbage.
func reuseByteSource(br *bufio.Reader, ctx context.Context, st store.Store, key string, off, end int64, chunk int) *byteSource {
	rr := newRangeReader(ctx, st, key, off, end, chunk)
	if size := int(min(int64(chunk), max(end-off, 16))); br == nil || br.Size() < size {
		br = bufio.NewReaderSize(rr, size)
	} else {
		br.Reset(rr)
	}
	return &byteSource{br: br, pos: off}
}

// equal reports whether the next len(want) bytes are want, consuming them
// (and feeding them to sum) either way.
func (s *byteSource) equal(want []byte, sum func([]byte)) (bool, error) {
	same := true
	for len(want) > 0 {
		n := min(len(want), s.br.Size())
		b, err := s.br.Peek(n)
		if err != nil {
			return false, s.wrap(err)
		}
		if sum != nil {
			sum(b)
		}
		same = same && string(b) == string(want[:n])
		_, _ = s.br.Discard(n)
		s.pos += int64(n)
		want = want[n:]
	}
	return same, nil
}

// skip consumes n bytes, feeding them to sum.
func (s *byteSource) skip(n int64, sum func([]byte)) error {
	for n > 0 {
		k := int(min(n, int64(s.br.Size())))
		b, err := s.br.Peek(k)
		if err != nil {
			return s.wrap(err)
		}
		if sum != nil {
			sum(b)
		}
		_, _ = s.br.Discard(k)
		s.pos += int64(k)
		n -= int64(k)
	}
	return nil
}

// line returns the next line, '\n' included, without consuming it, if it
// ends within the reader's buffer; ok is false otherwise.
func (s *byteSource) line() (b []byte, ok bool, err error) {
	b, err = s.br.Peek(s.br.Size())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], true, nil
	}
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, false, s.wrap(err)
	}
	return nil, false, nil
}

// peek returns the next bytes, as many as the reader's buffer holds (fewer
// at the end), without consuming them.
func (s *byteSource) peek() ([]byte, error) {
	b, err := s.br.Peek(s.br.Size())
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, s.wrap(err)
	}
	return b, nil
}

// skipLine consumes everything up to and including the next '\n' (or the
// end), however long the line.
func (s *byteSource) skipLine() error {
	for {
		b, err := s.peek()
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		n := len(b)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			n = i + 1
		}
		_, _ = s.br.Discard(n)
		s.pos += int64(n)
		if n < len(b) || b[n-1] == '\n' {
			return nil
		}
	}
}

func (s *byteSource) wrap(err error) error {
	if err == io.EOF {
		return fmt.Errorf("object ends at %d, before the bytes expected: %w", s.pos, io.ErrUnexpectedEOF)
	}
	return err
}

// crcReader computes the CRC-32C of what it reads, and keeps the error of
// the reader below (the store's), to tell it from a decoding error above.
type crcReader struct {
	r   io.Reader
	crc uint32
	err error
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, objindex.Castagnoli, p[:n])
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// appendSource reads one landed append's records: the decoded bytes after
// its preamble, the records' encodings one after the other. The CRC its
// entry announced is checked over the bytes as stored (the compressed
// member, for compressed encodings) by finish.
type appendSource struct {
	*byteSource
	key string
	a   *objindex.Append
	crc *crcReader
	dz  io.ReadCloser
}

// openAppend opens the bytes of a, an append to key in encoding enc.
func (j *partitionJob) openAppend(ctx context.Context, key string, a *objindex.Append, enc format.Encoder) (*appendSource, error) {
	cr := &crcReader{r: newRangeReader(ctx, j.st, key, a.Pos, a.Pos+a.Bytes, j.cfg.readChunk)}
	s := &appendSource{key: key, a: a, crc: cr}
	var r io.Reader = cr
	size := a.Bytes
	if a.Decoded > 0 {
		dz, err := format.NewDecompressor(enc.Codec, cr)
		if err != nil {
			return nil, s.fail(err)
		}
		s.dz, r, size = dz, dz, a.Decoded
	}
	size = min(size, int64(j.cfg.readChunk))
	if br := j.br; br != nil && int64(br.Size()) >= max(size, 16) {
		br.Reset(r)
	} else {
		j.br = bufio.NewReaderSize(r, int(max(size, 16)))
	}
	s.byteSource = &byteSource{br: j.br}
	if err := s.skip(a.Head, nil); err != nil {
		return nil, s.fail(err)
	}
	return s, nil
}

// fail explains an error reading the append: the store's (a transient
// failure, as it was), or bytes that do not decode, which the CRC tells
// from a bad encoder: either way the object is not what its index says.
func (s *appendSource) fail(err error) error {
	if s.crc.err != nil {
		return fmt.Errorf("read %s: %w", s.key, s.crc.err)
	}
	if _, derr := io.Copy(io.Discard, s.crc); derr == nil && s.crc.crc != s.a.CRC32C {
		return fmt.Errorf("%w: bytes %d-%d of %s do not match the CRC its index announced", ErrConflict, s.a.Pos, s.a.Pos+s.a.Bytes, s.key)
	} else if s.crc.err != nil {
		return fmt.Errorf("read %s: %w", s.key, s.crc.err)
	}
	return fmt.Errorf("%w: bytes %d-%d of %s do not decode as the index announced (%s): %v", ErrConflict, s.a.Pos, s.a.Pos+s.a.Bytes, s.key, s.a.Enc, err)
}

// finish checks that the records took all of the append's bytes and that
// those have the announced CRC.
func (s *appendSource) finish() error {
	if b, err := s.peek(); err != nil {
		return s.fail(err)
	} else if len(b) > 0 {
		return s.fail(fmt.Errorf("%d bytes more than its records", len(b)))
	}
	if _, err := io.Copy(io.Discard, s.crc); err != nil {
		return s.fail(err)
	}
	if s.dz != nil {
		_ = s.dz.Close()
	}
	if s.crc.crc != s.a.CRC32C {
		return fmt.Errorf("%w: bytes %d-%d of %s do not match the CRC its index announced", ErrConflict, s.a.Pos, s.a.Pos+s.a.Bytes, s.key)
	}
	return nil
}

// take appends the next n bytes to dst.
func (s *byteSource) take(dst []byte, n int64) ([]byte, error) {
	for n > 0 {
		k := int(min(n, int64(s.br.Size())))
		b, err := s.br.Peek(k)
		if err != nil {
			return dst, s.wrap(err)
		}
		dst = append(dst, b...)
		_, _ = s.br.Discard(k)
		s.pos += int64(k)
		n -= int64(k)
	}
	return dst, nil
}
