package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkevents "github.com/aliyun/fc-runtime-go-sdk/events"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// Whole-invocation benchmarks: one ~32 MB CloudEvents batch (10,000 records
// of ~3.2 KB on 8 partitions) through the handler — decode, engine, store —
// into the local directory store and into the OSS-protocol test server
// through the real SDK. Each reports, besides MB/s and allocations:
//
//	x-baseline     speed relative to the baseline — encoding/json into the
//	               SDK's KafkaEventBridgeEvent structs plus a bytes.Buffer per
//	               partition — run on the same payload just before each
//	               invocation (total baseline time / total invocation time)
//	peak-heap-MB   largest heap (live and not yet collected objects, the
//	               payload included) sampled every millisecond
//	peak-x-batch   that peak divided by the batch size
//	oss-req/op     storage requests per invocation
//
// "steady" batches continue one topic, appending to the open objects as a
// running sink does (3 requests per partition); "fresh" ones go to a new
// topic each time (new partitions: a LIST more, and new objects).
//
//	go test -run XXX -bench Invoke -benchmem ./function/

// benchBatch returns the i-th benchmark batch (eventstest.Bench). fresh:
// on a topic of its own, so every partition is new; otherwise on one topic,
// each batch continuing where the last one ended, as a running sink sees it.
func benchBatch(i int, fresh bool) []byte {
	cfg := eventstest.Bench()
	if fresh {
		cfg.Topics = []string{fmt.Sprintf("orders-%d", i)}
	} else {
		for p := range cfg.Partitions {
			// A partition gets fewer than Records records per batch.
			cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records+p))
		}
	}
	return eventstest.Batch(cfg)
}

// baseline decodes with encoding/json into the SDK's structs and appends
// each value and a newline to a buffer per partition.
func baseline(payload []byte) error {
	var evs []sdkevents.KafkaEventBridgeEvent
	if err := json.Unmarshal(payload, &evs); err != nil {
		return err
	}
	bufs := map[int]*bytes.Buffer{}
	for _, e := range evs {
		b := bufs[*e.Data.Partition]
		if b == nil {
			b = new(bytes.Buffer)
			bufs[*e.Data.Partition] = b
		}
		b.WriteString(*e.Data.Value)
		b.WriteByte('\n')
	}
	return nil
}

func BenchmarkBaselineEncodingJSON(b *testing.B) {
	payload := benchBatch(0, true)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := baseline(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// heapPeak samples the heap until stopped.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) Stop() uint64 { close(h.stop); <-h.done; return h.peak.Load() }

func BenchmarkInvoke(b *testing.B) {
	type target struct {
		name  string
		setup func(b *testing.B) *handler.Handler
		clean func(b *testing.B) // between iterations, untimed
	}
	targets := []target{
		{"local", func(b *testing.B) *handler.Handler {
			cfg := benchConfig()
			cfg.LocalDir = filepath.Join(b.TempDir(), "oss-local")
			h, err := handler.New(cfg, io.Discard, nil)
			if err != nil {
				b.Fatal(err)
			}
			return h
		}, func(*testing.B) {}},
		{"oss", func(b *testing.B) *handler.Handler {
			cfg := benchConfig()
			cfg.Bucket, cfg.Endpoint = "bench", externalOSS(b)
			creds := func(context.Context) (ossstore.Credentials, error) { return benchCreds, nil }
			h, err := handler.New(cfg, io.Discard, creds)
			if err != nil {
				b.Fatal(err)
			}
			return h
		}, func(b *testing.B) {
			// Keep the server's memory to about one batch.
			st := osskit.Store(b, externalOSS(b), "bench", benchCreds)
			infos, err := st.List(context.Background(), "")
			if err != nil {
				b.Fatal(err)
			}
			for _, o := range infos {
				if err := st.Delete(context.Background(), o.Key); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
	for _, tg := range targets {
		for _, fresh := range []bool{false, true} {
			name := tg.name + "/steady"
			if fresh {
				name = tg.name + "/fresh"
			}
			b.Run(name, func(b *testing.B) { benchInvoke(b, tg.setup, tg.clean, fresh) })
		}
	}
}

// benchInvoke runs one handler over b.N batches, as one FC instance serves
// invocation after invocation.
func benchInvoke(b *testing.B, setup func(*testing.B) *handler.Handler, clean func(*testing.B), fresh bool) {
	h := setup(b)
	clean(b)
	if !fresh {
		// Open the partitions' objects first, untimed: the loop measures
		// invocations that append to them.
		if _, err := h.Invoke(context.Background(), "warm-up", benchBatch(0, false)); err != nil {
			b.Fatal(err)
		}
	}
	size := len(benchBatch(0, fresh))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var peak uint64
	requests := 0
	var elapsed, baseElapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := benchBatch(i+1, fresh)
		if fresh {
			clean(b)
		}
		// The baseline on the same payload, just before: the ratio compares
		// runs seconds apart, not minutes, on this noisy machine. (The
		// handler decodes in place, so it goes second.)
		runtime.GC()
		bstart := time.Now()
		if err := baseline(p); err != nil {
			b.Fatal(err)
		}
		baseElapsed += time.Since(bstart)
		runtime.GC()
		hp := startHeapPeak()
		b.StartTimer()
		start := time.Now()
		resp, err := h.Invoke(context.Background(), "bench", p)
		elapsed += time.Since(start)
		b.StopTimer()
		peak = max(peak, hp.Stop())
		if err != nil {
			b.Fatal(err)
		}
		if resp.Written != 10000 {
			b.Fatalf("written %d records, want 10000", resp.Written)
		}
		requests += resp.Requests
		b.StartTimer()
	}
	b.ReportMetric(baseElapsed.Seconds()/elapsed.Seconds(), "x-baseline")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(peak)/float64(size), "peak-x-batch")
	b.ReportMetric(float64(requests)/float64(b.N), "oss-req/op")
}

var benchCreds = ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "tok"}

var (
	ossOnce     sync.Once
	ossEndpoint string
	ossErr      error
)

// externalOSS starts the OSS-protocol test server as a process of its own,
// so that the handler's heap figures are the handler's alone (and the memory
// tests' figures the binary's). It lives until the test binary exits.
func externalOSS(tb testing.TB) string {
	ossOnce.Do(func() {
		bin, err := bins.Path("../pkg/osstest/cmd/osstest-server")
		if err != nil {
			ossErr = err
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ossErr = err
			return
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "-addr", addr, "-bucket", "bench", "-access-key-id", benchCreds.AccessKeyID,
			"-access-key-secret", benchCreds.AccessKeySecret, "-security-token", benchCreds.SecurityToken)
		if err := cmd.Start(); err != nil {
			ossErr = err
			return
		}
		externalProcs = append(externalProcs, cmd.Process)
		for range 100 {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				ossEndpoint = "http://" + addr
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		ossErr = fmt.Errorf("osstest-server did not start on %s", addr)
	})
	if ossErr != nil {
		tb.Fatal(ossErr)
	}
	return ossEndpoint
}

// benchConfig is the default configuration: nothing set.
func benchConfig() config.Config {
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	return cfg
}

// BenchmarkBinaryInvoke is the whole run as a user or FC sees it: the
// compiled binary started as a process on a full-size batch file (local
// directory store, default configuration), from exec to exit. It reports,
// besides MB/s of payload:
//
//	x-baseline   the baseline's time on the same payload, in this process just
//	             before, divided by the binary's wall time (start-up included)
//	peak-rss-MB  the process's maximum resident set size, as /usr/bin/time
//	             reports it (Debian package "time"; without it the metric is
//	             left out: Go starts children sharing the test's memory until
//	             exec, and Linux carries that high-water mark into the child's
//	             own rusage)
//	rss-x-batch  that divided by the batch size
//
//	go test -run XXX -bench BinaryInvoke ./function/
func BenchmarkBinaryInvoke(b *testing.B) {
	bin := binary(b)
	dir := b.TempDir()
	const timeCmd = "/usr/bin/time"
	_, err := os.Stat(timeCmd)
	haveTime := err == nil
	var peakRSS int64
	var elapsed, baseElapsed time.Duration
	size := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := benchBatch(i, true)
		size = len(p)
		file := filepath.Join(dir, "batch.json")
		if err := os.WriteFile(file, p, 0o644); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		bstart := time.Now()
		if err := baseline(p); err != nil {
			b.Fatal(err)
		}
		baseElapsed += time.Since(bstart)
		args := []string{bin, "invoke", "-dir", filepath.Join(dir, "oss-local"), file}
		if haveTime {
			args = append([]string{timeCmd, "-f", "maxrss-KiB %M"}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = []string{"LOG_LEVEL=warn"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b.StartTimer()
		start := time.Now()
		err := cmd.Run()
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("%v\n%s", err, stderr.String())
		}
		if haveTime {
			var kib int64
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if _, err := fmt.Sscanf(lines[len(lines)-1], "maxrss-KiB %d", &kib); err != nil {
				b.Fatalf("no RSS from %s: %q", timeCmd, stderr.String())
			}
			peakRSS = max(peakRSS, kib*1024)
		}
		b.StartTimer()
	}
	b.SetBytes(int64(size))
	b.ReportMetric(baseElapsed.Seconds()/elapsed.Seconds(), "x-baseline")
	if haveTime {
		b.ReportMetric(float64(peakRSS)/1e6, "peak-rss-MB")
		b.ReportMetric(float64(peakRSS)/float64(size), "rss-x-batch")
	}
}
