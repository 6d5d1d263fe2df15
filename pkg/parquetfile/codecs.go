package parquetfile

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// The library's own snappy and zstd codecs are replaced by these two, on
// the same compression package (github.com/klauspost/compress):
//   - its snappy codec uses the slower "better" encoder and allocates a new
//     output for every page; s2.EncodeSnappy is the fast snappy encoder,
//     about 3x faster on JSON records, into a reused buffer;
//   - its zstd codec keeps encoders in a sync.Pool, which every GC empties,
//     so a new encoder (with its window) is built after each collection;
//     this one keeps one encoder for the file, with a 1 MiB window (pages
//     are about 256 KiB) to bound its memory.
//
// Both are deterministic: single-threaded block encoders, fixed parameters.

type snappyCodec struct{}

func (snappyCodec) String() string                            { return "SNAPPY" }
func (snappyCodec) CompressionCodec() format.CompressionCodec { return format.Snappy }

func (snappyCodec) Encode(dst, src []byte) ([]byte, error) {
	if n := s2.MaxEncodedLen(len(src)); cap(dst) < n {
		if n < 0 {
			return nil, fmt.Errorf("parquetfile: snappy: page of %d bytes too large", len(src))
		}
		dst = make([]byte, n)
	}
	return s2.EncodeSnappy(dst[:cap(dst)], src), nil
}

func (snappyCodec) Decode(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.Decode(dst[:n], src)
}

// zstdWindow is the window of the zstd encoder: a page's values rarely
// repeat beyond it, and it sets the encoder's memory.
const zstdWindow = 1 << 20

type zstdCodec struct {
	level zstd.EncoderLevel
	mu    sync.Mutex // the library may encode columns concurrently; this writer does not
	enc   *zstd.Encoder
	dec   *zstd.Decoder
}

func (*zstdCodec) String() string                            { return "ZSTD" }
func (*zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc == nil {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(c.level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(zstdWindow),
			zstd.WithLowerEncoderMem(true),
			zstd.WithZeroFrames(true),
			zstd.WithEncoderCRC(false))
		if err != nil {
			return nil, fmt.Errorf("parquetfile: zstd encoder: %w", err)
		}
		c.enc = enc
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dec == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("parquetfile: zstd decoder: %w", err)
		}
		c.dec = dec
	}
	return c.dec.DecodeAll(src, dst[:0])
}

// close releases the encoder's and decoder's buffers.
func (c *zstdCodec) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.enc != nil {
		c.enc.Close()
		c.enc = nil
	}
	if c.dec != nil {
		c.dec.Close()
		c.dec = nil
	}
}
