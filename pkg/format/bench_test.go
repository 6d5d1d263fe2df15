package format

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// benchInputs are the two shapes BenchmarkCompress measures, about 8 MB each:
// jsonl of small records (keys, a header, JSON values of ~100 bytes), and
// raw objects of JSON-text values of ~2.8 KB (the invocation benchmark's
// value size); plus the invocation benchmark's batch as jsonl.
func benchInputs() []struct {
	name string
	data []byte
} {
	small := eventstest.Records(eventstest.BatchConfig{Records: 40000, Partitions: 1, ValueSize: 100, Keys: true, Headers: true, JSONUsers: 1000, Seed: 3})
	values := eventstest.Records(eventstest.BatchConfig{Records: 3000, Partitions: 1, ValueSize: 2780, Keys: true, JSONUsers: 100000, Seed: 4})
	bench := eventstest.Bench()
	bench.Records = 3000
	invocation := eventstest.Records(bench)
	encode := func(e Encoder, recs []events.Record) []byte {
		var b []byte
		for i := range recs {
			b = e.Append(b, &recs[i])
		}
		return b
	}
	jsonl := Encoder{Format: JSONL, Fields: AllFields()}
	return []struct {
		name string
		data []byte
	}{
		{"jsonl-small", encode(jsonl, small)},
		{"json-values", encode(Encoder{}, values)},
		{"jsonl-bench", encode(jsonl, invocation)},
	}
}

// BenchmarkCompress reports the speed (MB/s of input, per wall second and
// per CPU second) and the ratio (input over output) of each codec and candidate level on each input shape; the
// fixed levels (gzipLevel, zstdLevel) were chosen from it.
func BenchmarkCompress(b *testing.B) {
	codecs := []struct {
		c      Codec
		levels []int
	}{
		{Gzip, []int{1, 2, 3, 6}},
		{Zstd, []int{1, 2}},
		{Snappy, []int{0}},
	}
	for _, in := range benchInputs() {
		for _, c := range codecs {
			for _, level := range c.levels {
				name := fmt.Sprintf("%s/%s-%d", in.name, c.c, level)
				if c.c == Snappy {
					name = fmt.Sprintf("%s/%s", in.name, c.c)
				}
				b.Run(name, func(b *testing.B) {
					cp, err := newCompressorLevel(c.c, level)
					if err != nil {
						b.Fatal(err)
					}
					out := cp.Append(nil, in.data)
					b.SetBytes(int64(len(in.data)))
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := processCPU()
					for b.Loop() {
						out = cp.Append(out[:0], in.data)
					}
					if cpu := processCPU() - cpu0; cpu > 0 {
						b.ReportMetric(float64(len(in.data))*float64(b.N)/cpu.Seconds()/1e6, "cpuMB/s")
					}
					b.ReportMetric(float64(len(in.data))/float64(len(out)), "ratio")
				})
			}
		}
	}
}

// BenchmarkAppend measures Size+Append, as the sink calls them, on the
// invocation benchmark's records (MB/s of encoded output).
func BenchmarkAppend(b *testing.B) {
	cfg := eventstest.Bench()
	cfg.Records = 2000
	recs := eventstest.Records(cfg)
	for _, e := range []Encoder{
		{},
		{Format: JSONL, Fields: AllFields()},
		{Format: JSONL, Fields: mustFields(b, "offset,value")},
		{Format: CSV, Fields: AllFields()},
		{Format: Parquet, Fields: AllFields()},
	} {
		b.Run(e.ID(), func(b *testing.B) {
			var buf []byte
			for i := range recs {
				buf = e.Append(buf, &recs[i])
			}
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				size := 0
				for i := range recs {
					size += e.Size(&recs[i])
				}
				if size > cap(buf) {
					buf = make([]byte, 0, size)
				}
				buf = buf[:0]
				for i := range recs {
					buf = e.Append(buf, &recs[i])
				}
			}
		})
	}
}

// BenchmarkCompressOptions compares, on each input shape, the encoder
// settings that could make compression cheaper with the fixed ones
// (NewCompressor), all run one after the other in every iteration so that
// a loaded machine disturbs them alike. Per variant it reports its cpu time
// over the fixed codec's (x-..., below 1 is cheaper) and its ratio (r-...):
//
//	zstd-cold      a new Compressor per append (what the sink paid when its
//	               sync.Pool of compressors had been emptied by a GC; it now
//	               keeps them in a bounded cache, pkg/sink compCache)
//	zstd-highmem   without zstd.WithLowerEncoderMem (the fixed settings
//	               have it since 2026-12-02): the same bytes, twice the
//	               encoder's memory (8.7 instead of 4.6 MiB)
//	zstd-win1M     a 1 MiB window: other bytes for appends above 1 MiB
//	zstd-nocrc     no frame checksum: other bytes
//	zstd-noentropy literals not Huffman-coded: other bytes
//	gzip-cold      a new Compressor per append
//	gzip-stateless klauspost's stateless level (-3): other bytes
//
//	go test -run XXX -bench CompressOptions -benchtime 20x ./pkg/format/
//
// On 2026-12-02 (2 cores loaded by other work, three runs, the three
// shapes) none was worth changing the bytes for: zstd-cold 1.04-1.20,
// lowmem 0.90-1.01 (then a variant, now the fixed setting), win1M
// 0.94-1.06, nocrc 0.87-1.00, noentropy 0.89-0.98 (ratio 6.7 -> 5.4 on
// small records), gzip-cold 0.97-1.03, gzip-stateless 1.14-1.21. What
// compression costs is the match finding and entropy coding themselves;
// the one avoidable part was a cold zstd encoder (its history and tables
// allocated and first touched), which an invocation paid when a GC had
// emptied the sink's pool of compressors since the last one.
func BenchmarkCompressOptions(b *testing.B) {
	zs := func(opts ...zstd.EOption) func() *Compressor {
		return func() *Compressor {
			cp, err := newCompressorLevel(Zstd, zstdLevel)
			if err != nil {
				b.Fatal(err)
			}
			if len(opts) > 0 {
				cp.zs, err = zstd.NewWriter(nil, append(zstdOptions(zstdLevel), opts...)...)
				if err != nil {
					b.Fatal(err)
				}
			}
			return cp
		}
	}
	variants := []struct {
		name string
		new  func() *Compressor
		cold bool
	}{
		{"zstd", zs(), false},
		{"zstd-cold", zs(), true},
		{"zstd-highmem", zs(zstd.WithLowerEncoderMem(false)), false},
		{"zstd-win1M", zs(zstd.WithWindowSize(1 << 20)), false},
		{"zstd-nocrc", zs(zstd.WithEncoderCRC(false)), false},
		{"zstd-noentropy", zs(zstd.WithNoEntropyCompression(true)), false},
		{"gzip", func() *Compressor { return NewCompressor(Gzip) }, false},
		{"gzip-cold", func() *Compressor { return NewCompressor(Gzip) }, true},
		{"gzip-stateless", func() *Compressor {
			cp, err := newCompressorLevel(Gzip, gzip.StatelessCompression)
			if err != nil {
				b.Fatal(err)
			}
			return cp
		}, false},
	}
	for _, in := range benchInputs() {
		// One partition's append in the invocation benchmark is about 4 MB.
		src := in.data[:min(len(in.data), 4<<20)]
		b.Run(in.name, func(b *testing.B) {
			comps := make([]*Compressor, len(variants))
			outs := make([][]byte, len(variants))
			for i, v := range variants {
				comps[i] = v.new()
				outs[i] = comps[i].Append(nil, src)
			}
			cpu := make([]time.Duration, len(variants))
			b.SetBytes(int64(len(src)) * int64(len(variants)))
			for b.Loop() {
				for i, v := range variants {
					c := processCPU()
					cp := comps[i]
					if v.cold {
						cp = v.new()
					}
					outs[i] = cp.Append(outs[i][:0], src)
					cpu[i] += processCPU() - c
				}
			}
			base := map[string]time.Duration{}
			for i, v := range variants {
				codec, _, variant := strings.Cut(v.name, "-")
				if !variant {
					base[codec] = cpu[i]
					continue
				}
				b.ReportMetric(cpu[i].Seconds()/base[codec].Seconds(), "x-"+v.name)
				b.ReportMetric(float64(len(src))/float64(len(outs[i])), "r-"+v.name)
			}
		})
	}
}
