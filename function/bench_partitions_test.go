package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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
// KB) spread over 1, 8, 64 and 512 partitions of one topic, steady
// (appending to open objects), into
//
//	local    the local store in a directory on tmpfs (/dev/shm when there
//	         is one), so that the figures are the code's and not this
//	         machine's disk
//	oss-5ms  the OSS test server in this process, through the SDK, with
//	         every request delayed by 5 ms (a request's round trip to OSS
//	         in the same region), which shows whether wall time follows
//	         the partition count
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
	for _, target := range []string{"local/steady", "local/fresh", "oss-5ms/steady"} {
		for _, parts := range []int{1, 8, 64, 512} {
			b.Run(fmt.Sprintf("%s/p=%d", target, parts), func(b *testing.B) {
				var h *handler.Handler
				var inflight *inflightGauge
				switch target {
				case "oss-5ms/steady":
					h, inflight = ossPartitionsHandler(b, 5*time.Millisecond)
				default:
					h = localPartitionsHandler(b)
				}
				benchPartitions(b, h, parts, target == "local/fresh", inflight)
			})
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

// partitionsBatch is the i-th batch of 10,000 records over parts
// partitions. Steady, each partition continues after where batch i-1 left
// it; fresh, the batch is on a topic of its own (every partition is new:
// a listing more, and new objects).
func partitionsBatch(i, parts int, fresh bool) []byte {
	cfg := eventstest.Bench()
	cfg.Partitions = parts
	cfg.Seed = uint64(i + 1)
	if fresh {
		cfg.Topics = []string{fmt.Sprintf("orders-%d", i)}
	} else {
		for range parts {
			cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records))
		}
	}
	return eventstest.Batch(cfg)
}

func benchPartitions(b *testing.B, h *handler.Handler, parts int, fresh bool, inflight *inflightGauge) {
	// Open the partitions' objects first, untimed.
	if _, err := h.Invoke(context.Background(), "warm-up", partitionsBatch(0, parts, fresh)); err != nil {
		b.Fatal(err)
	}
	if inflight != nil {
		inflight.max.Store(0)
	}
	size := len(partitionsBatch(0, parts, fresh))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	requests := 0
	var cpu, baseCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := partitionsBatch(i+1, parts, fresh)
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
		if resp.Written != 10000 {
			b.Fatalf("written %d records, want 10000", resp.Written)
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
