package format

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec names a compression (SINK_COMPRESSION): of the whole object for
// raw, jsonl and csv, of the column chunks for parquet.
type Codec uint8

const (
	None Codec = iota
	Gzip
	Zstd
	Snappy
)

// The levels the encoders write, recorded in the encoding ids (";z=gzip-1").
// They are part of the bytes of every compressed object: changing one is a
// new encoding id, never an edit here. Chosen for speed by BenchmarkCompress
// (per CPU second on the development box, JSON of small records / of 2.8 KB
// text values): gzip level 1 ~600/~420 MB/s, ratio 6.1/4.3 (level 2-3 gain
// 1-3% of ratio for 20-30% more CPU, level 6 costs twice the CPU); zstd
// level 1 (SpeedFastest, about zstd -1) ~540/~300 MB/s, ratio 6.7/4.6
// (level 2: 7% better ratio on large values, 20% slower on small records).
// Snappy has no levels: s2's fast snappy-compatible encoder, ~1100/~720
// MB/s, ratio 4.4/3.6.
const (
	gzipLevel = 1
	zstdLevel = 1
)

// String returns the SINK_COMPRESSION name: "none", "gzip", "zstd" or "snappy".
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Snappy:
		return "snappy"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// ParseCodec returns the Codec named s ("" means none).
func ParseCodec(s string) (Codec, error) {
	switch s {
	case "", "none":
		return None, nil
	case "gzip":
		return Gzip, nil
	case "zstd":
		return Zstd, nil
	case "snappy":
		return Snappy, nil
	}
	return 0, fmt.Errorf("unknown compression %q (want none, gzip, zstd or snappy)", s)
}

// level returns the fixed level of c, 0 for codecs without levels.
func (c Codec) level() int {
	switch c {
	case Gzip:
		return gzipLevel
	case Zstd:
		return zstdLevel
	}
	return 0
}

// id returns the codec's part of an encoding id ("gzip-1", "snappy").
func (c Codec) id() string {
	if l := c.level(); l != 0 {
		return c.String() + "-" + strconv.Itoa(l)
	}
	return c.String()
}

// ext returns the file extension of c for whole-object compression.
func (c Codec) ext() string {
	switch c {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	case Snappy:
		return ".sz"
	}
	return ""
}

// contentEncoding returns the Content-Encoding of an object compressed whole with c.
func (c Codec) contentEncoding() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Snappy:
		return "x-snappy-framed"
	}
	return ""
}

// Compressor compresses one member at a time: each Append adds one complete
// gzip member (RFC 1952: no name, no comment, mtime 0, OS 255), one zstd frame
// (content size and checksum, one segment per call) or one snappy framing
// format stream (stream identifier, then chunks of at most 64 KiB with
// masked CRC-32C), so that any concatenation of Appends — an appendable
// object after any number of invocations — is a valid compressed stream
// that gzip -dc, zstd -dc and snappy framing readers read whole.
//
// Output is a pure function of the input: fixed levels and parameters,
// no concurrency, no clock, no randomness. gzip (klauspost/compress/flate) and
// the zstd encoder are pure Go and give the same bytes on every
// architecture; the snappy block encoder (klauspost/compress/s2 in its
// snappy-compatible mode) uses assembly on amd64 and arm64, whose output is
// fixed per architecture but may differ from the pure-Go fallback. A
// Compressor keeps its state between calls to avoid allocating; it is not
// safe for concurrent use.
type Compressor struct {
	codec Codec
	gz    *gzip.Writer
	zs    *zstd.Encoder
	sn    *s2.Writer
	w     appendWriter
}

// NewCompressor returns a Compressor for c; None copies its input.
func NewCompressor(c Codec) *Compressor {
	cp, err := newCompressorLevel(c, c.level())
	if err != nil {
		panic("format: " + err.Error()) // the fixed levels are valid
	}
	return cp
}

// newCompressorLevel is NewCompressor at another level, for the benchmark
// that chose the fixed ones.
func newCompressorLevel(c Codec, level int) (*Compressor, error) {
	cp := &Compressor{codec: c}
	var err error
	switch c {
	case None:
	case Gzip:
		cp.gz, err = gzip.NewWriterLevel(nil, level)
	case Zstd:
		cp.zs, err = zstd.NewWriter(nil, zstdOptions(level)...)
	case Snappy:
		cp.sn = s2.NewWriter(nil, s2.WriterSnappyCompat(), s2.WriterConcurrency(1))
	default:
		err = fmt.Errorf("unknown codec %d", c)
	}
	if err != nil {
		return nil, fmt.Errorf("compressor %s level %d: %w", c, level, err)
	}
	return cp, nil
}

// zstdOptions are the zstd encoder's settings at level.
func zstdOptions(level int) []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(zstd.EncoderLevel(level)),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),
		// The same bytes with half the memory: a 4 MiB window plus one
		// 128 KiB block of history (not twice the window), and no buffers
		// allocated ahead of need. About 4.6 MiB per encoder, not 8.7
		// (TestCompressorMemory), which the sink keeps one per core of
		// (issue 11: 128 MB instances). The price: for appends up to
		// 4 MiB + 128 KiB (the benchmark batch's are 2-4 MiB per
		// partition) it is as fast or 0-10% faster (BenchmarkCompressOptions),
		// but above that the history moves down by the whole window for
		// every 128 KiB block, and compression is 15-20% slower
		// (8 and 16 MiB appends, 2026-12-02).
		zstd.WithLowerEncoderMem(true),
		// An empty member is still a frame, so every Append is one.
		zstd.WithZeroFrames(true),
	}
}

// snappyMagic is the framing format's stream identifier chunk.
const snappyMagic = "\xff\x06\x00\x00sNaPpY"

// Append appends one complete member holding src to dst and returns the
// extended buffer.
func (c *Compressor) Append(dst, src []byte) []byte {
	switch c.codec {
	case Gzip:
		c.w.b = dst
		c.gz.Reset(&c.w)
		// klauspost's writer stores the zero time.Time as a non-zero
		// mtime (its Unix() cut to 32 bits); the epoch is the gzip "none".
		c.gz.ModTime = time.Unix(0, 0)
		// Writes to an appendWriter cannot fail.
		_, _ = c.gz.Write(src)
		_ = c.gz.Close()
		dst = c.w.b
	case Zstd:
		dst = c.zs.EncodeAll(src, dst)
	case Snappy:
		if len(src) == 0 {
			// The writer emits nothing for no data; a stream of just its
			// identifier keeps "one member per call".
			return append(dst, snappyMagic...)
		}
		c.w.b = dst
		c.sn.Reset(&c.w)
		_, _ = c.sn.Write(src)
		_ = c.sn.Close()
		dst = c.w.b
	default:
		dst = append(dst, src...)
	}
	c.w.b = nil // do not keep the caller's buffer alive
	return dst
}

// appendWriter is an io.Writer appending to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// NewDecompressor returns a reader of the decompressed content of r, a
// concatenation of members as Compressor writes them (or as any other
// writer of the codec does: gzip multistream, zstd frames, snappy framing
// streams). None returns r itself. Close releases the decoder; it does not
// close r.
func NewDecompressor(c Codec, r io.Reader) (io.ReadCloser, error) {
	switch c {
	case None:
		return io.NopCloser(r), nil
	case Gzip:
		zr, err := gzip.NewReader(r) // multistream by default
		if errors.Is(err, io.EOF) {
			return io.NopCloser(eofReader{}), nil // an empty object: no members
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case Zstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zstdReader{zr}, nil
	case Snappy:
		return io.NopCloser(s2.NewReader(r)), nil
	}
	return nil, fmt.Errorf("unknown codec %d", c)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type zstdReader struct{ *zstd.Decoder }

func (z zstdReader) Close() error {
	z.Decoder.Close()
	return nil
}
