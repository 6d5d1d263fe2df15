package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

var (
	// externalProcs are helper processes to stop when the tests end.
	externalProcs []*os.Process

	// bins holds the binaries built for these tests, once per run.
	bins bintest.Cache
)

// binary builds ./function once per test run, as it is deployed.
func binary(t testing.TB) string {
	t.Helper()
	return bins.Build(t, ".", "-trimpath")
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range externalProcs {
		_ = p.Kill()
	}
	bins.Remove()
	os.Exit(code)
}

// testValue embeds partition and offset, so that raw objects can be checked;
// the padding has characters that need escaping in JSON.
func testValue(p int32, off int64) string {
	return string(sinktest.Value(p, off, strings.Repeat("é\"\\x", int(off%13))))
}

// cloudEvents renders records as the trigger's CloudEvents array.
func cloudEvents(topic string, recs [][2]int64) []byte {
	type data struct {
		Topic     string          `json:"topic"`
		Partition int32           `json:"partition"`
		Offset    int64           `json:"offset"`
		Timestamp int64           `json:"timestamp"`
		Headers   json.RawMessage `json:"headers"`
		Key       string          `json:"key"`
		Value     string          `json:"value"`
	}
	type event struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Source      string `json:"source"`
		Type        string `json:"type"`
		Subject     string `json:"subject"`
		Time        string `json:"time"`
		Data        data   `json:"data"`
	}
	evs := make([]event, len(recs))
	for i, r := range recs {
		p, off := int32(r[0]), r[1]
		evs[i] = event{"1.0", fmt.Sprintf("id-%d-%d", p, off), "acs:alikafka", "alikafka:Topic:Message",
			"acs:alikafka:alikafka_pre-cn-test:topic:" + topic, "2026-11-25T01:02:03.000Z",
			data{topic, p, off, 1764032523000 + off, json.RawMessage(`{"headers":[],"isReadOnly":false}`), fmt.Sprintf("key-%d", off), testValue(p, off)}}
	}
	b, _ := json.Marshal(evs)
	return b
}

// TestBinaryExactlyOnceUnderFaults drives the compiled binary the way the
// trigger would, through a hostile OSS: 10% of requests fail before taking
// effect, 10% after; a quarter of the processes are killed at a random
// moment; every failed batch is redelivered with other boundaries, starting
// at or before the first unacknowledged record. At the end every record must
// be in OSS exactly once.
func TestBinaryExactlyOnceUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary hundreds of times")
	}
	bin := binary(t)
	for _, format := range []string{"raw", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			runTrigger(t, bin, format, 8, 300, nil)
		})
	}
	// Routed: a template no record satisfies (no header "tenant"), so every
	// record goes to invalidRuleData/orders/, outside the topic's
	// directory, through announced folders; and a filter dropping the
	// offsets that end in 0 or 5, committed like the others.
	t.Run("routed-jsonl", func(t *testing.T) {
		t.Parallel()
		runTrigger(t, bin, "jsonl", 4, 200, &routedRun{
			env:  []string{"SINK_FOLDER={topic}/{header:tenant}/", `SINK_FILTER=drop value ~ "-o[0-9]*[05]-"`},
			keep: func(off int64) bool { return off%5 != 0 },
		})
	})
}

// routedRun is what runTrigger sets besides its defaults, and which offsets
// the settings store.
type routedRun struct {
	env  []string
	keep func(off int64) bool
}

// runTrigger returns the server, whose faults are cleared, and the offsets
// of each partition; extra settings apply after the defaults.
func runTrigger(t *testing.T, bin, format string, partitions, perPartition int, routed *routedRun, extra ...string) (*osstest.Server, map[int32][]int64) {
	const topic = "orders"
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak-test", "sk-test", "sts-token"), osstest.WithSeed(7))
	for _, op := range osstest.Ops() {
		srv.SetFault(op, osstest.Fault{Before: 0.1, After: 0.1})
	}
	rng := rand.New(rand.NewPCG(1, uint64(len(format))))

	// Offsets with gaps, as compaction and transaction markers leave them.
	offs := make([][]int64, partitions)
	want := map[int32][]int64{}
	for p := range offs {
		off := int64(rng.IntN(50))
		for range perPartition {
			offs[p] = append(offs[p], off)
			off += 1 + int64(rng.IntN(3)/2)
		}
		want[int32(p)] = offs[p]
	}
	acked := make([]int, partitions)
	env := append(os.Environ(),
		"OSS_BUCKET=sink", "OSS_ENDPOINT="+srv.Endpoint(), "OSS_PREFIX=e2e",
		"ALIBABA_CLOUD_ACCESS_KEY_ID=ak-test", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=sk-test", "ALIBABA_CLOUD_SECURITY_TOKEN=sts-token",
		"SINK_FORMAT="+format, "SINK_FLUSH_BYTES=4KiB", "SINK_FLUSH_RECORDS=70", "SINK_FLUSH_INTERVAL=0", "LOG_LEVEL=warn")
	env = append(env, extra...)
	if routed != nil {
		env = append(env, routed.env...)
	}

	done := func() bool {
		for p := range acked {
			if acked[p] < len(offs[p]) {
				return false
			}
		}
		return true
	}
	invocations, kills, failures := 0, 0, 0
	written, recovered, dups := 0, 0, 0
	for !done() {
		if invocations++; invocations > 3000 {
			t.Fatalf("no convergence after %d invocations", invocations)
		}
		// A batch: for some partitions, records from at or before the first
		// unacknowledged one, of random length; interleaved by partition.
		var recs [][2]int64
		ends := make([]int, partitions)
		for p := range partitions {
			ends[p] = acked[p]
			if acked[p] == len(offs[p]) || rng.IntN(4) == 0 {
				continue
			}
			start := max(0, acked[p]-rng.IntN(4))
			end := min(len(offs[p]), acked[p]+1+rng.IntN(25))
			for _, o := range offs[p][start:end] {
				recs = append(recs, [2]int64{int64(p), o})
			}
			ends[p] = end
		}
		if len(recs) == 0 {
			continue
		}
		rng.Shuffle(len(recs), func(i, j int) {
			// Keep per-partition order, as the trigger does: only swap
			// records of different partitions.
			if recs[i][0] != recs[j][0] {
				recs[i], recs[j] = recs[j], recs[i]
			}
		})
		sortPerPartition(recs)

		cmd := exec.Command(bin, "invoke", "-request-id", fmt.Sprintf("e2e-%d", invocations), "-")
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(cloudEvents(topic, recs))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var timer *time.Timer
		if rng.IntN(4) == 0 {
			delay := time.Duration(rng.IntN(120)) * time.Millisecond
			timer = time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		}
		err := cmd.Wait()
		killed := timer != nil && !timer.Stop()
		if err == nil {
			var resp struct{ Written, Recovered, Duplicates int }
			if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
				t.Fatalf("invocation %d: summary: %v\n%s", invocations, err, stdout.String())
			}
			written, recovered, dups = written+resp.Written, recovered+resp.Recovered, dups+resp.Duplicates
			copy(acked, ends)
			continue
		}
		if killed && strings.Contains(err.Error(), "killed") {
			kills++
			continue
		}
		failures++
		for _, bad := range []string{"conflicts with the partition state", "meta object missing", "meta object invalid", "panic"} {
			if strings.Contains(stderr.String(), bad) {
				t.Fatalf("invocation %d failed in a way faults must never cause:\n%s", invocations, stderr.String())
			}
		}
	}
	t.Logf("%s: %d invocations (%d killed, %d failed); acknowledged ones wrote %d records, recovered %d an earlier attempt had written, skipped %d duplicates; server: %+v",
		format, invocations, kills, failures, written, recovered, dups, srv.Stats())
	if recovered == 0 || kills == 0 {
		t.Errorf("the run never exercised recovery (recovered %d, kills %d): the test lost its teeth", recovered, kills)
	}

	srv.ClearFaults()
	pool, err := ossstore.NewPool(ossstore.Config{Endpoint: srv.Endpoint(), Bucket: "sink"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := pool.Store(ossstore.Credentials{AccessKeyID: "ak-test", AccessKeySecret: "sk-test", SecurityToken: "sts-token"})
	if err != nil {
		t.Fatal(err)
	}
	offsetOf := sinktest.RawOffset
	if format == "jsonl" {
		offsetOf = sinktest.JSONLOffset
	}
	if routed == nil {
		if err := sinktest.Check(context.Background(), st, "e2e", topic, offsetOf, want); err != nil {
			t.Fatal(err)
		}
		return srv, want
	}
	w := sinktest.Want{Offsets: map[int32][]int64{}, Committed: map[int32]int64{}, Folders: map[int32]map[int64]string{}}
	for p, os := range want {
		w.Committed[p] = os[len(os)-1]
		w.Folders[p] = map[int64]string{}
		for _, o := range os {
			if routed.keep(o) {
				w.Offsets[p] = append(w.Offsets[p], o)
				w.Folders[p][o] = "/invalidRuleData/" + topic + "/"
			}
		}
	}
	if err := sinktest.CheckWith(context.Background(), st, "e2e", topic, offsetOf, w); err != nil {
		t.Fatal(err)
	}
	return srv, want
}

// sortPerPartition restores offset order within each partition while keeping
// the interleaving of partitions.
func sortPerPartition(recs [][2]int64) {
	byPart := map[int64][]int64{}
	for _, r := range recs {
		byPart[r[0]] = append(byPart[r[0]], r[1])
	}
	for _, o := range byPart {
		for i := 1; i < len(o); i++ {
			for j := i; j > 0 && o[j] < o[j-1]; j-- {
				o[j], o[j-1] = o[j-1], o[j]
			}
		}
	}
	next := map[int64]int{}
	for i, r := range recs {
		recs[i][1] = byPart[r[0]][next[r[0]]]
		next[r[0]]++
	}
}
