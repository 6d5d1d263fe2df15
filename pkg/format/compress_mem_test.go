package format

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdLowMemSameBytes: WithLowerEncoderMem (zstdOptions) changes the
// encoder's buffers, not its output: frames of one block, of many, and
// longer than the lower-memory history (4 MiB + 128 KiB, where it moves
// its history down) are the bytes of the encoder without it, also when the
// encoder is reused.
func TestZstdLowMemSameBytes(t *testing.T) {
	in := benchInputs()[2].data // jsonl of the invocation benchmark's records
	for len(in) < 9<<20 {
		in = append(in, in...)
	}
	hi, err := zstd.NewWriter(nil, append(zstdOptions(zstdLevel), zstd.WithLowerEncoderMem(false))...)
	if err != nil {
		t.Fatal(err)
	}
	lo := NewCompressor(Zstd)
	for _, n := range []int{0, 100, 128 << 10, 1 << 20, 4<<20 + 100<<10, 4<<20 + 300<<10, 9 << 20, 100} {
		src := in[len(in)-n:]
		want := hi.EncodeAll(src, nil)
		if got := lo.Append(nil, src); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: lower-memory encoder wrote %d bytes, other than the %d of the default one", n, len(got), len(want))
		}
	}
}

// TestCompressorMemory reports (and bounds) what one warm Compressor keeps
// between appends: what the sink's compressor cache holds per compressor
// (see pkg/sink compCache, README "Memory").
func TestCompressorMemory(t *testing.T) {
	src := benchInputs()[2].data
	for len(src) < 5<<20 {
		src = append(src, src...)
	}
	limits := map[Codec]uint64{Gzip: 2 << 20, Zstd: 6 << 20, Snappy: 2 << 20}
	for _, c := range []Codec{Gzip, Zstd, Snappy} {
		dst := make([]byte, 0, len(src))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cp := NewCompressor(c)
		for range 3 {
			dst = cp.Append(dst[:0], src)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept := after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
		t.Logf("%s: %.2f MiB kept by a warm compressor", c, float64(kept)/(1<<20))
		if kept > limits[c] {
			t.Errorf("%s: a warm compressor keeps %d bytes, more than %d", c, kept, limits[c])
		}
		runtime.KeepAlive(cp)
		runtime.KeepAlive(dst)
	}
}
