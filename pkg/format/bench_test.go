package format

import (
	"fmt"
	"testing"

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
