package sink

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
)

// TestCompCache: concurrent compress calls share the n slots (never two at
// once on one compressor: -race sees a shared one), every member decodes
// to its input, every slot comes back, and the compressors survive GCs
// (kept warm, the same ones, not rebuilt).
func TestCompCache(t *testing.T) {
	for _, codec := range []format.Codec{format.Gzip, format.Zstd, format.Snappy} {
		const n = 3
		c := newCompCache(codec, n)
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 20 {
					src := bytes.Repeat([]byte{byte('a' + g), byte(i), '\n'}, 1000+g*i)
					member := c.compress(nil, src)
					got := decode(t, codec, member)
					if !bytes.Equal(got, src) {
						t.Errorf("%s: member decodes to %d bytes, not its %d", codec, len(got), len(src))
					}
					if i%7 == 0 {
						runtime.GC()
					}
				}
			}()
		}
		wg.Wait()
		if len(c.slots) != n || cap(c.slots) != n {
			t.Fatalf("%s: %d of %d slots back, want %d", codec, len(c.slots), cap(c.slots), n)
		}
		// The compressors are still held after GCs, and are the ones used
		// next: warm, not rebuilt.
		before := held(c)
		runtime.GC()
		runtime.GC()
		c.compress(nil, []byte("again\n"))
		after := held(c)
		if len(before) == 0 || len(before) > n {
			t.Errorf("%s: %d compressors kept, want 1..%d", codec, len(before), n)
		}
		for cp := range after {
			if len(before) == n && !before[cp] {
				t.Errorf("%s: a compressor was rebuilt after a GC", codec)
			}
		}
	}
}

// held returns the compressors in c's slots (every slot must be free).
func held(c *compCache) map[*format.Compressor]bool {
	kept := map[*format.Compressor]bool{}
	var all []*format.Compressor
	for range cap(c.slots) {
		cp := <-c.slots
		all = append(all, cp)
		if cp != nil {
			kept[cp] = true
		}
	}
	for _, cp := range all {
		c.slots <- cp
	}
	return kept
}

// TestCompCacheBound: a caller finding every slot taken waits for one; no
// compressor is built beyond the n slots.
func TestCompCacheBound(t *testing.T) {
	c := newCompCache(format.Zstd, 2)
	a, b := <-c.slots, <-c.slots // both slots taken
	done := make(chan []byte)
	go func() { done <- c.compress(nil, []byte("x\n")) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("compress ran with every slot taken")
	default:
	}
	c.slots <- a
	if m := <-done; len(decode(t, format.Zstd, m)) != 2 {
		t.Fatal("bad member")
	}
	c.slots <- b
	if len(c.slots) != 2 {
		t.Fatalf("%d slots, want 2", len(c.slots))
	}
	if n := compCacheSize(64); n != min(runtime.GOMAXPROCS(0), 64) {
		t.Errorf("compCacheSize(64) = %d", n)
	}
	if compCacheSize(1) != 1 || compCacheSize(0) != 1 {
		t.Error("compCacheSize of concurrency 1 or 0 must be 1")
	}
	if c := newCompCache(format.Gzip, 0); cap(c.slots) != 1 {
		t.Error("a cache has at least one slot")
	}
}

func decode(t *testing.T, codec format.Codec, member []byte) []byte {
	t.Helper()
	r, err := format.NewDecompressor(codec, bytes.NewReader(member))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
