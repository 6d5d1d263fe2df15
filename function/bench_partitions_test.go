package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// BenchmarkInvokePartitions: the full-size batch (10,000 records of ~3.2
// KB) spread over 1, 8, 64 and 512 partitions of one topic, and a small
// one (100 records of ~1 KB: 100 KB) over 1 and 8, and 8 records of 100
// bytes per partition over 64 and 512 (OSS only: wall time is then the requests'
// latency), steady (appending to open objects) or fresh (every partition
// new), into
//
//	local    the local store in a directory on tmpfs (/dev/shm when there
//	         is one), so that the figures are the code's and not this
//	         machine's disk
//	oss-5ms  the OSS test server in this process, through the SDK, with
//	         every request delayed by 5 ms (a request's round trip to OSS
//	         in the same region), which shows whether wall time follows
//	         the partition count
//	oss-5ms-process  the same server as a process of its own, so that the
//	         cpu figures are the handler's alone
//
// Besides MB/s it reports
//
//	cpu-x-baseline  the process's cpu time (user+system) during the
//	                invocation, over the baseline's (encoding/json into the
//	                SDK's structs and a buffer per partition) on the same
//	                payload just before; the OSS server's own cpu is in it
//	                for oss-5ms
//	cpu-ms/op       that cpu time
//	oss-req/op      storage requests per invocation
//	max-inflight    the most requests the server held at once (oss-5ms)
//
//	go test -run XXX -bench InvokePartitions -benchtime 5x ./function/
func BenchmarkInvokePartitions(b *testing.B) {
	type shape struct {
		name      string
		records   int // 10,000 of ValueSize 2780: the full batch
		valueSize int
	}
	full := shape{"", 10000, 2780}
	// A small batch, as the trigger sends on a quiet topic: 100 KB.
	small := shape{"small-100KB/", 100, 900}
	// A few small records per partition (8 on average, spread at random
	// like the others): little cpu, so wall time is the requests'
	// latency, in rounds of the partitions written at once.
	latency := shape{"8-records/", 0, 100}
	for _, target := range []string{"local/steady", "local/fresh", "oss-5ms/steady", "oss-5ms-process/steady"} {
		for _, sh := range []shape{full, small, latency} {
			for _, parts := range []int{1, 8, 64, 512} {
				if sh == small && parts > 8 || sh == latency && (parts < 64 || target == "local/steady" || target == "local/fresh") {
					continue
				}
				records := sh.records
				if records == 0 {
					records = 8 * parts
				}
				b.Run(fmt.Sprintf("%s/%sp=%d", target, sh.name, parts), func(b *testing.B) {
					var h *handler.Handler
					var inflight *inflightGauge
					switch target {
					case "oss-5ms/steady":
						h, inflight = ossPartitionsHandler(b, 5*time.Millisecond)
					case "oss-5ms-process/steady":
						h = ossProcessHandler(b, 5*time.Millisecond)
					default:
						h = localPartitionsHandler(b)
					}
					benchPartitions(b, h, batchShape{parts, records, sh.valueSize, target == "local/fresh"}, inflight)
				})
			}
		}
	}
}

func localPartitionsHandler(b *testing.B) *handler.Handler {
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "bench-partitions-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	cfg := benchConfig()
	cfg.LocalDir = filepath.Join(dir, "oss-local")
	h, err := handler.New(cfg, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// inflightGauge counts the requests a server holds and the most at once.
type inflightGauge struct{ now, max atomic.Int64 }

func (g *inflightGauge) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := g.now.Add(1)
		for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
		}
		defer g.now.Add(-1)
		next.ServeHTTP(w, r)
	})
}

// ossPartitionsHandler returns a handler writing to an OSS test server
// whose every request is delayed by latency, and the gauge of the
// requests the server holds at once.
func ossPartitionsHandler(tb testing.TB, latency time.Duration) (*handler.Handler, *inflightGauge) {
	srv := osskit.NewServer(tb, osstest.WithBucket("bench"),
		osstest.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken))
	for _, op := range osstest.Ops() {
		srv.SetFault(op, osstest.Fault{Latency: latency})
	}
	g := &inflightGauge{}
	hs := httptest.NewServer(g.wrap(srv.Handler()))
	tb.Cleanup(hs.Close)
	cfg := benchConfig()
	cfg.Bucket, cfg.Endpoint = "bench", hs.URL
	creds := func(context.Context) (ossstore.Credentials, error) { return benchCreds, nil }
	h, err := handler.New(cfg, io.Discard, creds)
	if err != nil {
		tb.Fatal(err)
	}
	return h, g
}

// batchShape is what partitionsBatch makes.
type batchShape struct {
	partitions, records, valueSize int
	// fresh: every batch on a topic of its own (every partition is new: a
	// listing more, and new objects); otherwise each partition continues
	// after where the last batch left it.
	fresh bool
}

// ossProcessHandler returns a handler writing to an OSS test server run
// as a process of its own, with every request delayed by latency, so that
// the cpu figures are the handler's alone.
func ossProcessHandler(b *testing.B, latency time.Duration) *handler.Handler {
	bin, err := bins.Path("../pkg/osstest/cmd/osstest-server")
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-addr", addr, "-bucket", "bench", "-latency", latency.String(),
		"-access-key-id", benchCreds.AccessKeyID, "-access-key-secret", benchCreds.AccessKeySecret, "-security-token", benchCreds.SecurityToken)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			b.Fatalf("osstest-server did not start on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cfg := benchConfig()
	cfg.Bucket, cfg.Endpoint = "bench", "http://"+addr
	creds := func(context.Context) (ossstore.Credentials, error) { return benchCreds, nil }
	h, err := handler.New(cfg, io.Discard, creds)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// partitionsBatch is the i-th batch of shape sh.
func partitionsBatch(i int, sh batchShape) []byte {
	cfg := eventstest.Bench()
	cfg.Partitions, cfg.Records, cfg.ValueSize = sh.partitions, sh.records, sh.valueSize
	cfg.Seed = uint64(i + 1)
	if sh.fresh {
		cfg.Topics = []string{fmt.Sprintf("orders-%d", i)}
	} else {
		for range sh.partitions {
			cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records))
		}
	}
	return eventstest.Batch(cfg)
}

func benchPartitions(b *testing.B, h *handler.Handler, sh batchShape, inflight *inflightGauge) {
	// Open the partitions' objects first, untimed.
	if _, err := h.Invoke(context.Background(), "warm-up", partitionsBatch(0, sh)); err != nil {
		b.Fatal(err)
	}
	if inflight != nil {
		inflight.max.Store(0)
	}
	size := len(partitionsBatch(0, sh))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	requests := 0
	var cpu, baseCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := partitionsBatch(i+1, sh)
		runtime.GC()
		c0 := cpuTime()
		if err := baseline(p); err != nil {
			b.Fatal(err)
		}
		baseCPU += cpuTime() - c0
		runtime.GC()
		b.StartTimer()
		c0 = cpuTime()
		resp, err := h.Invoke(context.Background(), "bench", p)
		cpu += cpuTime() - c0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if resp.Written != sh.records {
			b.Fatalf("written %d records, want %d", resp.Written, sh.records)
		}
		requests += resp.Requests
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()/baseCPU.Seconds(), "cpu-x-baseline")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(requests)/float64(b.N), "oss-req/op")
	if inflight != nil {
		b.ReportMetric(float64(inflight.max.Load()), "max-inflight")
	}
}
