package parquetfile

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"
)

const mib = 1 << 20

// input is a stream of rows of one shape, built in memory beforehand so
// that generating it costs nothing while writing.
type input struct {
	rows  []Row
	bytes int64 // the sum of Row.size
}

// shapes are the two record shapes of the benchmark and the memory test.
var shapes = []struct {
	name string
	gen  func(total int64) *input
}{
	{"json200", func(total int64) *input { return genInput(total, 200, jsonValue) }},
	{"text4k", func(total int64) *input { return genInput(total, 4096, textValue) }},
}

var words = []string{"kafka", "offset", "partition", "order", "payment", "user", "the", "a", "of", "to", "and",
	"stream", "record", "value", "shipped", "pending", "refund", "cart", "session", "click", "view", "error"}

// textValue appends about n bytes of words.
func textValue(dst []byte, rng *rand.Rand, _ int, n int) []byte {
	start := len(dst)
	for len(dst)-start < n {
		dst = append(dst, words[rng.IntN(len(words))]...)
		dst = append(dst, ' ')
	}
	return dst[:start+n]
}

// jsonValue appends a JSON record of about n bytes.
func jsonValue(dst []byte, rng *rand.Rand, i int, n int) []byte {
	start := len(dst)
	dst = fmt.Appendf(dst, `{"id":%d,"user":"user-%d","event":"%s","amount":%d.%02d,"ts":%d,"note":"`,
		i, rng.IntN(10000), words[rng.IntN(len(words))], rng.IntN(1000), rng.IntN(100), 1700000000000+int64(i)*3)
	for len(dst)-start < n-2 {
		dst = append(dst, words[rng.IntN(len(words))]...)
		dst = append(dst, ' ')
	}
	dst = append(dst[:start+n-2], `"}`...)
	return dst
}

func genInput(total int64, valueSize int, value func([]byte, *rand.Rand, int, int) []byte) *input {
	rng := rand.New(rand.NewPCG(1, 2))
	in := &input{}
	buf := make([]byte, 0, total+total/4)
	for i := 0; in.bytes < total; i++ {
		start := len(buf)
		buf = value(buf, rng, i, valueSize)
		v := len(buf)
		buf = fmt.Appendf(buf, "user-%d", rng.IntN(10000))
		k := len(buf)
		buf = fmt.Appendf(buf, `[{"key":"trace","value":"%016x"}]`, rng.Uint64())
		r := Row{Topic: "orders", Partition: 7, Offset: int64(1000 + i), Timestamp: 1700000000000 + int64(i)*3,
			Key: buf[v:k:k], HasKey: true, Value: buf[start:v:v], Headers: buf[k:len(buf):len(buf)]}
		in.rows = append(in.rows, r)
		in.bytes += r.size()
	}
	return in
}

// heapMeter measures the live heap (after a GC) at chosen instants and
// keeps the largest value above a baseline.
type heapMeter struct {
	base, peak uint64
}

func (m *heapMeter) inuse() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapInuse
}

// start takes the baseline after a second GC, which empties the sync.Pools
// that earlier writers filled.
func (m *heapMeter) start() {
	runtime.GC()
	m.base = m.inuse()
}

func (m *heapMeter) sample() {
	if u := m.inuse(); u > m.base && u-m.base > m.peak {
		m.peak = u - m.base
	}
}

// sampledDiscard is io.Discard that samples the heap every 1 MiB written,
// so that instants inside a row group's flush are measured too.
type sampledDiscard struct {
	m       *heapMeter
	n, next int64
}

func (d *sampledDiscard) Write(b []byte) (int, error) {
	if d.n += int64(len(b)); d.n >= d.next {
		d.m.sample()
		d.next = d.n + mib
	}
	return len(b), nil
}

// TestMemoryBound writes 64 MiB of rows of each shape and codec with 8 MiB
// row groups and checks the heap in use after a GC, measured when a row
// group is complete and every 1 MiB of output, against the documented
// bound: 2 x RowGroupBytes + 16 MiB above what was in use before.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB per case")
	}
	const total = 64 * mib
	const rowGroup = 8 * mib
	const bound = 2*rowGroup + 16*mib
	for _, shape := range shapes {
		in := shape.gen(total)
		for _, codec := range codecs {
			t.Run(shape.name+"/"+codec, func(t *testing.T) {
				var m heapMeter
				m.start()
				out := &sampledDiscard{m: &m}
				w, err := NewWriter(out, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: rowGroup})
				if err != nil {
					t.Fatal(err)
				}
				groups := 0
				w.beforeFlush = func() { groups++; m.sample() }
				for i := range in.rows {
					if err := w.Write(&in.rows[i]); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if groups < total/rowGroup {
					t.Fatalf("%d row groups, want %d", groups, total/rowGroup)
				}
				t.Logf("%s %s: peak heap in use %.1f MiB above the baseline (bound %d MiB), %d row groups, %.1f MiB out",
					shape.name, codec, float64(m.peak)/mib, bound/mib, groups, float64(out.n)/mib)
				if m.peak > bound {
					t.Fatalf("peak heap in use %.1f MiB above the baseline, bound %d MiB", float64(m.peak)/mib, bound/mib)
				}
			})
		}
		in = nil
	}
}

// BenchmarkWrite64MiB writes 64 MiB of rows (counted by Row.size) to
// io.Discard with 8 MiB row groups. MB/s is of those input bytes;
// peak-heap-MiB is the largest heap (live and not yet collected objects,
// sampled every millisecond) above the heap before the writer, and
// out-MiB the file's size.
func BenchmarkWrite64MiB(b *testing.B) {
	const total = 64 * mib
	for _, shape := range shapes {
		in := shape.gen(total)
		for _, codec := range codecs {
			b.Run(shape.name+"/"+codec, func(b *testing.B) {
				b.SetBytes(in.bytes)
				b.ReportAllocs()
				var peak, out uint64
				var cpu time.Duration
				for i := 0; i < b.N; i++ {
					p, n, c := benchWrite(b, in, codec)
					peak, out, cpu = max(peak, p), n, cpu+c
				}
				// CPU time, less disturbed than wall time by other work on the machine.
				b.ReportMetric(float64(in.bytes)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
				b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
				b.ReportMetric(float64(out)/mib, "out-MiB")
			})
		}
	}
}

func benchWrite(b *testing.B, in *input, codec string) (peak, out uint64, cpu time.Duration) {
	b.StopTimer()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > base && v-base > peak {
					peak = v - base
				}
			}
		}
	}()
	b.StartTimer()
	cpu0 := cpuTime()
	cw := &countingWriter{w: io.Discard}
	w, err := NewWriter(cw, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 8 * mib})
	if err != nil {
		b.Fatal(err)
	}
	for i := range in.rows {
		if err := w.Write(&in.rows[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	cpu = cpuTime() - cpu0
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.StartTimer()
	return peak, cw.n, cpu
}

// cpuTime is the process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countingWriter struct {
	w io.Writer
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += uint64(len(p))
	return c.w.Write(p)
}
