package sink

import (
	"runtime"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
)

// compCache keeps the compressors of a Sink's codec warm from one append,
// and one Write, to the next. Building one allocates its tables and
// windows (a zstd encoder's first frame costs 4-20% more than the next),
// and a sync.Pool would not keep them: the payloads trigger a GC or two
// per invocation, and every GC empties a pool.
//
// It is also what bounds them: it holds n slots, each empty until first
// used and then holding one compressor, and a partition borrows a slot for
// the one Append of a segment only (never across a store request), so at
// most n compressors exist per Sink, in use or kept, whatever the
// concurrency of partitions and of invocations in the process. n is
// GOMAXPROCS (at most WithConcurrency): compression is cpu-bound, so more
// at once would only interleave. A partition that finds every slot in use
// waits for one, for the length of one Append.
//
// Memory kept, per compressor (the encoders' own buffers, measured by
// TestCompCacheMemory): zstd level 1 with WithLowerEncoderMem about 4.6
// MiB (its 4 MiB window + one 128 KiB block of history, 256 KiB of match
// table, the block encoder's buffers); gzip level 1 about 1 MiB; snappy
// a few hundred KiB. With GOMAXPROCS 2 that is under 10 MiB for zstd.
type compCache struct {
	codec format.Codec
	slots chan *format.Compressor // nil: a slot with no compressor yet
}

// newCompCache returns a cache of n slots (at least 1) for codec.
func newCompCache(codec format.Codec, n int) *compCache {
	n = max(n, 1)
	c := &compCache{codec: codec, slots: make(chan *format.Compressor, n)}
	for range n {
		c.slots <- nil
	}
	return c
}

// compCacheSize is the number of compressors a Sink of concurrency
// partitions keeps: GOMAXPROCS, at most concurrency.
func compCacheSize(concurrency int) int {
	return min(runtime.GOMAXPROCS(0), max(concurrency, 1))
}

// compress appends one complete member holding src to dst with a
// compressor of the cache's codec, and returns the extended buffer.
func (c *compCache) compress(dst, src []byte) []byte {
	cp := <-c.slots
	defer func() { c.slots <- cp }()
	if cp == nil {
		cp = format.NewCompressor(c.codec)
	}
	return cp.Append(dst, src)
}
