package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

// TestFCMemorySize: in a 128 MB instance of concurrency 4, the binary sets
// its Go memory limit from FC_FUNCTION_MEMORY_SIZE and serves four full
// batches sent at once, one at a time (each waits for room instead of the
// instance running out of memory), every one a summary of its batch.
// Peak RSS is BenchmarkFCMemory's business, not this test's.
func TestFCMemorySize(t *testing.T) {
	if testing.Short() {
		t.Skip("four 32 MB batches")
	}
	srv := osskit.NewServer(t, osstest.WithBucket("bench"), osstest.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken))
	emu, err := fcemu.New(fcemu.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken),
		fcemu.WithFunction("kafka-oss-sink", "main", 128), fcemu.WithTimeout(5*time.Minute), fcemu.WithInstanceConcurrency(4))
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	cmd := exec.Command(binary(t))
	cmd.Env = memProcessEnv(srv.Endpoint(), "mem")
	logs := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	inst, err := emu.StartProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inst.Kill() }()
	ctx := fcCtx(t, 10*time.Minute)
	var wg sync.WaitGroup
	for j := range 4 {
		wg.Go(func() {
			res, err := emu.Invoke(ctx, memBatch(fmt.Sprintf("mem-%d", j), 10000, 0, false))
			if err != nil {
				t.Error(err)
				return
			}
			if res.Failed() || !strings.Contains(string(res.Body), `"written":10000`) {
				t.Errorf("batch %d: %s %.200s", j, res, res.Body)
			}
		})
	}
	wg.Wait()
	if out := logs.String(); !strings.Contains(out, "memory 128 MB (FC_FUNCTION_MEMORY_SIZE): Go memory limit 96 MiB (set), batches admitted within 80 MiB") {
		t.Errorf("no memory settings logged:\n%s", logs.Tail(2<<10))
	}
}
