package verify

import (
	"bytes"
	"context"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// line is one line of a data object, without its '\n'. data is valid only
// during the callback that receives it.
type line struct {
	data  []byte
	start int64 // byte offset of its first byte
	no    int64 // 1-based line number
}

// end is the byte offset just past the line's '\n'.
func (l line) end() int64 { return l.start + int64(len(l.data)) + 1 }

// chunk is one ranged read.
type chunk struct {
	b   []byte
	off int64
	err error
}

// readAhead reads the first size bytes of key in ranged reads of n bytes,
// one read ahead of the consumer, so that parsing a chunk overlaps fetching
// the next. At most three chunks are in memory. The channel closes after
// the last chunk or the first error; stop (or ctx) ends it early.
func readAhead(ctx context.Context, st store.Store, key string, size, n int64) (<-chan chunk, func()) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan chunk, 1)
	go func() {
		defer close(ch)
		for off := int64(0); off < size; {
			m := min(n, size-off)
			b, err := st.GetRange(ctx, key, off, m)
			if err == nil && int64(len(b)) != m {
				err = fmt.Errorf("got %d bytes", len(b))
			}
			if err != nil {
				err = fmt.Errorf("read bytes %d-%d: %w", off, off+m-1, err)
			}
			select {
			case ch <- chunk{b, off, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			off += m
		}
	}()
	stop := func() {
		cancel()
		for range ch { // wait for the reader to finish
		}
	}
	return ch, stop
}

// scanLines reads the first size bytes of key in ranged reads of chunk bytes
// and calls fn for every complete line, in order. A last line without '\n'
// is returned as tail (torn true). progress, if not nil, is called with the
// byte count of every chunk read. A failed read returns the error with the
// byte range it concerned.
func scanLines(ctx context.Context, st store.Store, key string, size, chunkSize int64, fn func(line), progress func(int64)) (tail line, torn bool, err error) {
	var (
		pending      []byte // a line begun in an earlier chunk
		pendingStart int64
		no           int64 = 1
	)
	chunks, stop := readAhead(ctx, st, key, size, chunkSize)
	defer stop()
	for c := range chunks {
		if c.err != nil {
			return line{}, false, c.err
		}
		b, base := c.b, c.off
		if progress != nil {
			progress(int64(len(b)))
		}
		if len(pending) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				pending = append(pending, b...)
				continue
			}
			pending = append(pending, b[:i]...)
			fn(line{data: pending, start: pendingStart, no: no})
			no++
			pending = pending[:0]
			b = b[i+1:]
			base += int64(i) + 1
		}
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				pending = append(pending[:0], b...)
				pendingStart = base
				break
			}
			fn(line{data: b[:i], start: base, no: no})
			no++
			b = b[i+1:]
			base += int64(i) + 1
		}
	}
	if err := ctx.Err(); err != nil {
		return line{}, false, err
	}
	if len(pending) > 0 {
		return line{data: pending, start: pendingStart, no: no}, true, nil
	}
	return line{}, false, nil
}
