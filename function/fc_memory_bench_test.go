package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
)

// fcMemoryMB is the function's memory size in BenchmarkFCMemory: FC's
// smallest instance that the issue asks a full batch to fit.
const fcMemoryMB = 128

// BenchmarkFCMemory is memory as FC sees it: the compiled binary served
// through the runtime API (pkg/fcemu, function memory 128 MB, so
// FC_FUNCTION_MEMORY_SIZE=128 and x-fc-function-memory: 128), writing to
// osstest-server (a process of its own) through the OSS SDK, one
// iteration = one round of consecutive batches: conc batches sent at once
// (instance concurrency conc), each on a topic of its own continuing
// where its last batch ended, as a running trigger sends them. Batches
// are the shape of the other benchmarks (eventstest.Bench: ~3.2 KB
// records on 8 partitions), 1,250 to 10,000 records: 4.1, 8.2, 16.4 and
// 32.7 MB; "mixed": rounds of 32, 4, 16 and 8 MB in turn (for buffers
// kept from one size to the next); and "-small": records of 200-byte
// values (47,000 in 32 MB, as the formats benchmark's small records). It
// reports
//
//	peak-rss-MiB  the process's peak resident set size (VmHWM of
//	              /proc/PID/status, read once the last round answered,
//	              the process still alive: a waited-for child's rusage
//	              would carry over the test process's own high-water mark)
//	rss-x-batch   that divided by one (the largest) batch's size
//
// for two builds of the same function: loop=fcruntime, the deployed
// binary (pkg/fcruntime: right-sized reusable body buffers, a Go memory
// limit from the memory size, admission by memory), and loop=sdk, the
// binary built with -tags fcsdkloop, served by fc-runtime-go-sdk's fc.Start
// as before (the baseline). GOGC and GOMEMLIMIT are left to the binary.
// Use enough rounds for the peak to settle:
//
//	go test -run XXX -bench FCMemory -benchtime 8x ./function/
func BenchmarkFCMemory(b *testing.B) {
	loops := []struct{ name, tags string }{{"sdk", "fcsdkloop"}, {"fcruntime", ""}}
	for _, sh := range []memSeries{
		{"4MB", []int{4}, false}, {"8MB", []int{8}, false}, {"16MB", []int{16}, false}, {"32MB", []int{32}, false},
		{"mixed", []int{32, 4, 16, 8}, false}, {"32MB-small", []int{32}, true}, {"mixed-small", []int{32, 4, 16, 8}, true},
	} {
		for _, conc := range []int{1, 4} {
			for _, lp := range loops {
				b.Run(fmt.Sprintf("batch=%s/conc=%d/loop=%s", sh.name, conc, lp.name), func(b *testing.B) {
					flags := []string{"-trimpath"}
					if lp.tags != "" {
						flags = append(flags, "-tags", lp.tags)
					}
					benchFCMemory(b, bins.Build(b, ".", flags...), conc, sh)
				})
			}
		}
	}
}

// memSeries is a series of batches for BenchmarkFCMemory: round i's are
// of mb[i%len(mb)] MB, of eventstest.Bench records or, small, of records
// of 200-byte values (4.7 times as many).
type memSeries struct {
	name  string
	mb    []int
	small bool
}

// records is round's number of records.
func (s memSeries) records(round int) int {
	n := s.mb[round%len(s.mb)] * 10000 / 32
	if s.small {
		n = n * 47 / 10
	}
	return n
}

// memBatch is a batch of records records on topic, every partition's
// offsets from start on: a partition gets fewer than records records, so
// batches whose starts grow by their record counts continue one another.
func memBatch(topic string, records, start int, small bool) []byte {
	cfg := eventstest.Bench()
	cfg.Records = records
	if small {
		cfg.ValueSize = 200
	}
	cfg.Topics = []string{topic}
	cfg.Seed = uint64(start + 1)
	for range cfg.Partitions {
		cfg.StartOffsets = append(cfg.StartOffsets, int64(start))
	}
	return eventstest.Batch(cfg)
}

// benchFCMemory runs b.N rounds of conc batches of shape sh.
func benchFCMemory(b *testing.B, bin string, conc int, sh memSeries) {
	endpoint := externalOSS(b)
	prefix := fmt.Sprintf("fcmem-%d", time.Now().UnixNano())
	st := osskit.Store(b, endpoint, "bench", benchCreds)
	b.Cleanup(func() { deleteUnder(b, st, prefix+"/") })

	emu, err := fcemu.New(fcemu.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken),
		fcemu.WithFunction("kafka-oss-sink", "main", fcMemoryMB), fcemu.WithTimeout(5*time.Minute),
		fcemu.WithInstanceConcurrency(conc))
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	cmd := exec.Command(bin)
	cmd.Env = memProcessEnv(endpoint, prefix)
	logs := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	inst, err := emu.StartProcess(cmd)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = inst.Kill() }()

	ctx := context.Background()
	size, sent := 0, 0 // the largest batch, and all bytes sent
	offsets := make([]int, conc)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		records := sh.records(i)
		payloads := make([][]byte, conc)
		for j := range payloads {
			payloads[j] = memBatch(fmt.Sprintf("mem-%d", j), records, offsets[j], sh.small)
			offsets[j] += records
			size, sent = max(size, len(payloads[j])), sent+len(payloads[j])
		}
		b.StartTimer()
		results := make([]fcemu.Result, conc)
		errs := make([]error, conc)
		var wg sync.WaitGroup
		for j := range payloads {
			wg.Go(func() { results[j], errs[j] = emu.Invoke(ctx, payloads[j]) })
		}
		wg.Wait()
		for j := range results {
			if errs[j] != nil {
				b.Fatal(errs[j])
			}
			if results[j].Failed() {
				b.Fatalf("round %d: %s\n%s", i, results[j], logs.Tail(4<<10))
			}
		}
	}
	b.StopTimer()
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sent / b.N))
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(peak)/float64(size), "rss-x-batch")
}

// memProcessEnv is the function's environment for BenchmarkFCMemory: the
// test's own without anything the sink, FC or the Go runtime's memory
// settings read, plus the OSS settings; the sink's defaults otherwise.
func memProcessEnv(endpoint, prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ALIBABA_CLOUD_") || strings.HasPrefix(name, "OSS_") || strings.HasPrefix(name, "SINK_") ||
			strings.HasPrefix(name, "FC_") || name == "LOG_LEVEL" || name == "GOGC" || name == "GOMEMLIMIT" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OSS_BUCKET=bench", "OSS_ENDPOINT="+endpoint, "OSS_PREFIX="+prefix, "LOG_LEVEL=warn")
}
