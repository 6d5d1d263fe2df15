package main

import (
	"context"
	"io"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// BenchmarkInvokeFormats measures what a format and a compression cost:
// the full-size batch (eventstest.Bench: 10,000 records of 2.8 KB in 8
// partitions, 31 MB) through the handler into the local store, raw and
// then the format under test, one after the other on the same records in
// every iteration (alternating which goes first), each into a store of its
// own continuing its topic. It reports:
//
//	x-raw        the invocation's cpu time (user+system, this process)
//	             divided by raw's in the same iteration
//	cpu-ms/op    the invocation's cpu time
//	stored-MB/op the bytes the invocation stored (compressed, for the
//	             compressed cases); raw's are the values alone
//	ratio        the format's uncompressed bytes over its stored bytes
//	             (1 when uncompressed): the compression ratio on this batch
//	x-uncompressed the compressed case's cpu time over the same format's
//	             uncompressed (also measured in every iteration)
//
//	go test -run XXX -bench InvokeFormats -benchtime 10x ./function/
//
// The batch's values are JSON text (eventstest's default shape); the
// "-json" variant uses the trigger's Json data format shape (values
// embedded as JSON), the "-small" variant 47,000 records of 200 bytes.
func BenchmarkInvokeFormats(b *testing.B) {
	shapes := []struct {
		name string
		cfg  func() eventstest.BatchConfig
	}{
		{"text", eventstest.Bench},
		{"small", func() eventstest.BatchConfig {
			c := eventstest.Bench()
			c.Records, c.ValueSize = 47000, 200
			return c
		}},
	}
	cases := []struct{ name, format, codec, fields string }{
		{"control-raw", "raw", "none", ""},
		{"jsonl", "jsonl", "none", ""},
		{"csv", "csv", "none", ""},
		{"jsonl-gzip", "jsonl", "gzip", ""},
		{"jsonl-zstd", "jsonl", "zstd", ""},
		{"jsonl-snappy", "jsonl", "snappy", ""},
		{"csv-gzip", "csv", "gzip", ""},
		{"raw-gzip", "raw", "gzip", ""},
		{"raw-zstd", "raw", "zstd", ""},
		{"jsonl-fields", "jsonl", "none", "offset,key,value"},
		// Staged: the appends of the staging encoding; sealing (building
		// the Parquet file) is BenchmarkParquetSeal's.
		{"parquet-staged", "parquet", "snappy", ""},
	}
	for _, sh := range shapes {
		for _, tc := range cases {
			b.Run(sh.name+"/"+tc.name, func(b *testing.B) {
				raw := formatHandler(b, "raw", "none", "")
				fh := formatHandler(b, tc.format, tc.codec, tc.fields)
				var plain *handler.Handler
				if tc.codec != "none" && tc.format != "parquet" {
					plain = formatHandler(b, tc.format, "none", tc.fields)
				}
				batch := func(i int) []byte {
					cfg := sh.cfg()
					cfg.Seed = uint64(i + 1)
					for p := range cfg.Partitions {
						cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records+p))
					}
					return eventstest.Batch(cfg)
				}
				warm := batch(0)
				for _, h := range []*handler.Handler{raw, fh, plain} {
					if h == nil {
						continue
					}
					if _, err := h.Invoke(context.Background(), "warm-up", slices.Clone(warm)); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(int64(len(warm)))
				var cpuRaw, cpuF, cpuPlain time.Duration
				var stored, plainBytes int64
				run := func(h *handler.Handler, payload []byte) (*handler.Response, time.Duration) {
					b.StopTimer()
					runtime.GC()
					b.StartTimer()
					// The label tells the invocations apart in a -cpuprofile:
					// go tool pprof -tagfocus invocation=format.
					which := "format"
					switch h {
					case raw:
						which = "raw"
					case plain:
						which = "uncompressed"
					}
					var resp *handler.Response
					var err error
					c := cpuTime()
					pprof.Do(context.Background(), pprof.Labels("invocation", which), func(ctx context.Context) {
						resp, err = h.Invoke(ctx, "bench", payload)
					})
					d := cpuTime() - c
					if err != nil {
						b.Fatal(err)
					}
					return resp, d
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					p := batch(i + 1)
					q := slices.Clone(p)
					var pq []byte
					if plain != nil {
						pq = slices.Clone(p)
					}
					b.StartTimer()
					var resp *handler.Response
					var dRaw, dF time.Duration
					if i%2 == 0 {
						_, dRaw = run(raw, p)
						resp, dF = run(fh, q)
					} else {
						resp, dF = run(fh, q)
						_, dRaw = run(raw, p)
					}
					cpuRaw += dRaw
					cpuF += dF
					stored += resp.Bytes
					if plain != nil {
						r, d := run(plain, pq)
						plainBytes += r.Bytes
						cpuPlain += d
					}
				}
				b.ReportMetric(cpuF.Seconds()/cpuRaw.Seconds(), "x-raw")
				b.ReportMetric(float64(cpuF.Milliseconds())/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(stored)/float64(b.N)/1e6, "stored-MB/op")
				ratio, xPlain := 1.0, 1.0
				if plain != nil {
					ratio = float64(plainBytes) / float64(stored)
					xPlain = cpuF.Seconds() / cpuPlain.Seconds()
				}
				b.ReportMetric(ratio, "ratio")
				b.ReportMetric(xPlain, "x-uncompressed")
			})
		}
	}
}

func formatHandler(b *testing.B, format, codec, fields string) *handler.Handler {
	env := map[string]string{config.EnvFormat: format, config.EnvCompression: codec, config.EnvFields: fields}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	cfg.LocalDir = filepath.Join(b.TempDir(), "oss-local")
	h, err := handler.New(cfg, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkParquetSeal measures sealing Parquet objects: batches of one
// partition (eventstest.Bench's records, in 1 partition) through the
// handler into the local store with SINK_FORMAT=parquet and
// SINK_FLUSH_BYTES of 16 and 64 MiB, until an invocation seals an object
// and writes its Parquet file from the staged records. It reports, for
// the invocations that sealed and for those that only staged:
//
//	seal-cpu-ms     cpu time of a sealing invocation (staging its records,
//	                building and writing the Parquet object, removing the
//	                staging object)
//	stage-cpu-ms    cpu time of an invocation that only staged
//	seal-heap-MiB   peak heap (sampled every millisecond) of a sealing
//	                invocation; that it does not grow with the flush size
//	                is the point: the staged bytes are read back in chunks
//	                and the file is built in a temporary file
//	stage-heap-MiB  the same for staging-only invocations
//
//	go test -run XXX -bench ParquetSeal -benchtime 2x ./function/
func BenchmarkParquetSeal(b *testing.B) {
	for _, size := range []string{"16MiB", "64MiB", "256MiB"} {
		for _, codec := range []string{"none", "snappy", "zstd"} {
			b.Run(size+"/"+codec, func(b *testing.B) {
				env := map[string]string{config.EnvFormat: "parquet", config.EnvCompression: codec, config.EnvFlushBytes: size}
				cfg, err := config.FromEnv(func(k string) string { return env[k] })
				if err != nil {
					b.Fatal(err)
				}
				cfg.LocalDir = filepath.Join(b.TempDir(), "oss-local")
				h, err := handler.New(cfg, io.Discard, nil)
				if err != nil {
					b.Fatal(err)
				}
				next := int64(0)
				batch := func() []byte {
					c := eventstest.Bench()
					c.Partitions = 1
					c.Records = 4000 // 11 MB
					c.Seed = uint64(next + 1)
					c.StartOffsets = []int64{next}
					next += int64(c.Records)
					return eventstest.Batch(c)
				}
				var sealCPU, stageCPU time.Duration
				var sealHeap, stageHeap uint64
				seals, stages := 0, 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for {
						b.StopTimer()
						p := batch()
						runtime.GC()
						b.StartTimer()
						hp := startHeapPeak()
						c := cpuTime()
						resp, err := h.Invoke(context.Background(), "bench", p)
						d := cpuTime() - c
						peak := hp.Stop()
						if err != nil {
							b.Fatal(err)
						}
						if resp.Finalized > 0 {
							seals++
							sealCPU += d
							sealHeap = max(sealHeap, peak)
							break
						}
						stages++
						stageCPU += d
						stageHeap = max(stageHeap, peak)
					}
				}
				b.ReportMetric(float64(sealCPU.Milliseconds())/float64(max(seals, 1)), "seal-cpu-ms")
				b.ReportMetric(float64(stageCPU.Milliseconds())/float64(max(stages, 1)), "stage-cpu-ms")
				b.ReportMetric(float64(sealHeap)/(1<<20), "seal-heap-MiB")
				b.ReportMetric(float64(stageHeap)/(1<<20), "stage-heap-MiB")
			})
		}
	}
}
