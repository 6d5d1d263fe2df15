package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// The tests in this file run the compiled binary as Function Compute runs
// it: started with FC_RUNTIME_API pointing at a pkg/fcemu emulator, served
// by the real fc-runtime-go-sdk loop, fed batches by a trigger that
// redelivers failures with other boundaries, writing to pkg/osstest. The
// process has no ALIBABA_CLOUD_* variables: OSS credentials reach it only
// through the x-fc-* headers of each invocation.

// fcCreds are the keys the OSS test server accepts and the emulator hands out.
var fcCreds = fcemu.Credentials{AccessKeyID: "fc-ak", AccessKeySecret: "fc-sk", SecurityToken: "fc-sts-token"}

const (
	fcTopic  = "orders"
	fcBucket = "sink"
	fcPrefix = "fc"
)

// fcSetup configures one harness.
type fcSetup struct {
	format string      // SINK_FORMAT; default raw
	env    []string    // extra KEY=VALUE, overriding the defaults
	emu    []fcemu.Opt // after the defaults: fcCreds, 30s timeout, instance concurrency 4
	oss    []osstest.Opt
}

// fcHarness is an OSS test server, an emulator and a supervised binary
// (restarted whenever it dies).
type fcHarness struct {
	t      *testing.T
	format string
	oss    *osstest.Server
	emu    *fcemu.Emulator
	sup    *fcemu.Supervisor
	logs   *testkit.SyncBuffer
}

func newFCHarness(t *testing.T, s fcSetup) *fcHarness {
	t.Helper()
	bin := binary(t)
	if s.format == "" {
		s.format = "raw"
	}
	srv := osskit.NewServer(t, append([]osstest.Opt{osstest.WithBucket(fcBucket), osstest.WithSeed(11),
		osstest.WithCredentials(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, fcCreds.SecurityToken)}, s.oss...)...)
	emu, err := fcemu.New(append([]fcemu.Opt{fcemu.WithCredentials(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, fcCreds.SecurityToken),
		fcemu.WithFunction("kafka-oss-sink", "main", 512), fcemu.WithTimeout(30 * time.Second), fcemu.WithInstanceConcurrency(4)}, s.emu...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })

	env := fcProcessEnv(srv.Endpoint(), s.format, s.env)
	logs := &testkit.SyncBuffer{}
	sup, err := emu.Supervise(func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Stdout = logs // FC keeps both streams as the function's log
		cmd.Stderr = logs
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sup.Stop()
		if t.Failed() {
			t.Logf("function logs (last 8 KB):\n%s", logs.Tail(8<<10))
		}
	})
	return &fcHarness{t: t, format: s.format, oss: srv, emu: emu, sup: sup, logs: logs}
}

// fcProcessEnv is the function's environment: the test's own, without
// anything the sink or FC reads (credentials above all), plus the sink's
// configuration and extra.
func fcProcessEnv(endpoint, format string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ALIBABA_CLOUD_") || strings.HasPrefix(name, "OSS_") || strings.HasPrefix(name, "SINK_") ||
			strings.HasPrefix(name, "FC_") || name == "LOG_LEVEL" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "OSS_BUCKET="+fcBucket, "OSS_ENDPOINT="+endpoint, "OSS_PREFIX="+fcPrefix,
		"SINK_FORMAT="+format, "SINK_FLUSH_BYTES=4KiB", "SINK_FLUSH_RECORDS=70", "SINK_FLUSH_INTERVAL=0", "LOG_LEVEL=warn")
	return append(env, extra...) // exec keeps the last value of a repeated name
}

// fcRender is the trigger's payload: a CloudEvents array.
func fcRender(batch []fcemu.Record) []byte {
	recs := make([][2]int64, len(batch))
	for i, r := range batch {
		recs[i] = [2]int64{int64(r.Partition), r.Offset}
	}
	return cloudEvents(fcTopic, recs)
}

// fcStreams returns per-partition offsets with gaps (as compaction leaves
// them), drawn from seed.
func fcStreams(seed uint64, partitions, perPartition int) map[int32][]int64 {
	rng := rand.New(rand.NewPCG(seed, 17))
	streams := map[int32][]int64{}
	for p := range int32(partitions) {
		off := int64(rng.IntN(1000))
		for range perPartition {
			streams[p] = append(streams[p], off)
			off += 1 + int64(rng.IntN(4)/3)
		}
	}
	return streams
}

// check verifies that OSS holds exactly want, each record once.
func (h *fcHarness) check(want map[int32][]int64) {
	h.t.Helper()
	h.oss.ClearFaults()
	st := h.store()
	offsetOf := sinktest.RawOffset
	if h.format == "jsonl" {
		offsetOf = sinktest.JSONLOffset
	}
	if err := sinktest.Check(context.Background(), st, fcPrefix, fcTopic, offsetOf, want); err != nil {
		h.t.Fatal(err)
	}
}

// store opens the bucket through the SDK with the emulator's credentials.
func (h *fcHarness) store() *ossstore.Store {
	h.t.Helper()
	return osskit.Store(h.t, h.oss.Endpoint(), fcBucket,
		ossstore.Credentials{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret, SecurityToken: fcCreds.SecurityToken})
}

// dataWrites counts the OSS requests that could have changed the bucket.
func (h *fcHarness) dataWrites() int {
	return h.oss.Requests(osstest.OpPut) + h.oss.Requests(osstest.OpAppend) + h.oss.Requests(osstest.OpDelete)
}

// invoke sends one batch and waits for its end.
func (h *fcHarness) invoke(ctx context.Context, recs []fcemu.Record, opts ...fcemu.InvokeOpt) fcemu.Result {
	h.t.Helper()
	res, err := h.emu.Invoke(ctx, fcRender(recs), opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

// run delivers streams through a trigger until everything is
// acknowledged; every response must be a consistent summary and every
// failure one of allowed (errorType; "" for timeouts and lost instances).
func (h *fcHarness) run(ctx context.Context, cfg fcemu.TriggerConfig, allowed ...string) (fcemu.TriggerStats, fcTotals) {
	h.t.Helper()
	var tot fcTotals
	after := cfg.AfterInvoke
	cfg.Render = fcRender
	cfg.AfterInvoke = func(d fcemu.Delivery) error {
		if d.Result.Failed() {
			if !slices.Contains(allowed, d.Result.ErrorType) {
				return fmt.Errorf("failed in a way it must not: %s", d.Result)
			}
		} else {
			resp, err := fcCheckSummary(d.Batch, d.Result)
			if err != nil {
				return err
			}
			tot.written += resp.Written
			tot.recovered += resp.Recovered
			tot.duplicates += resp.Duplicates
		}
		if after != nil {
			return after(d)
		}
		return nil
	}
	tr, err := fcemu.NewTrigger(h.emu, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := tr.Run(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return st, tot
}

// fcTotals sums the summaries of successful invocations.
type fcTotals struct{ written, recovered, duplicates int }

// fcCheckSummary decodes a successful invocation's JSON summary and checks
// it against the batch it answers.
func fcCheckSummary(batch []fcemu.Record, res fcemu.Result) (*handler.Response, error) {
	var resp handler.Response
	if err := json.Unmarshal(res.Body, &resp); err != nil || resp.Summary == nil {
		return nil, fmt.Errorf("%s: response is not the JSON summary (%v): %q", res.RequestID, err, res.Body)
	}
	bad := func(format string, args ...any) (*handler.Response, error) {
		return nil, fmt.Errorf("%s: summary %s: %s", res.RequestID, fmt.Sprintf(format, args...), res.Body)
	}
	if resp.RequestID != res.RequestID || resp.Error != "" || resp.Records != len(batch) ||
		resp.Written+resp.Recovered+resp.Duplicates != resp.Records || (resp.Written > 0 && resp.Requests == 0) {
		return bad("totals do not add up for %d records", len(batch))
	}
	type span struct {
		first, last int64
		n           int
	}
	want := map[int32]*span{}
	for _, r := range batch {
		s := want[r.Partition]
		if s == nil {
			s = &span{first: r.Offset}
			want[r.Partition] = s
		}
		s.last, s.n = r.Offset, s.n+1
	}
	if len(resp.Partitions) != len(want) {
		return bad("%d partitions, batch has %d", len(resp.Partitions), len(want))
	}
	for _, p := range resp.Partitions {
		s := want[p.Partition]
		if p.Topic != fcTopic || s == nil || p.Records != s.n || p.FirstOffset != s.first || p.LastOffset != s.last ||
			p.Committed < s.last || p.Written+p.Recovered+p.Duplicates != p.Records || p.Error != "" {
			return bad("partition %d does not match its %d records %d..%d", p.Partition, s.n, s.first, s.last)
		}
	}
	return &resp, nil
}

// TestFCHappyPath: thousands of records over 8 partitions, several
// invocations at once in one process; every response a summary that
// matches its batch, every record in OSS once.
func TestFCHappyPath(t *testing.T) {
	per := 400
	if testing.Short() {
		per = 100
	}
	for _, format := range []string{"raw", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			h := newFCHarness(t, fcSetup{format: format})
			streams := fcStreams(1, 8, per)
			st, tot := h.run(fcCtx(t, 60*time.Second), fcemu.TriggerConfig{Streams: streams, Seed: 1, MaxBatch: 60, Concurrency: 3,
				AfterInvoke: func(d fcemu.Delivery) error {
					if d.Result.Failed() || d.RetryCount != 0 {
						return fmt.Errorf("failed or retried without faults: %s (retry count %d)", d.Result, d.RetryCount)
					}
					return nil
				}})
			t.Logf("%+v; written %d; OSS %+v", st, tot.written, h.oss.Stats())
			if tot.written != 8*per || tot.recovered != 0 || tot.duplicates != 0 {
				t.Errorf("written %d, recovered %d, duplicates %d; want %d, 0, 0", tot.written, tot.recovered, tot.duplicates, 8*per)
			}
			if h.sup.Starts() != 1 {
				t.Errorf("the process was started %d times", h.sup.Starts())
			}
			h.check(streams)
		})
	}
}

// fcCtx returns a context ending after d or with the test.
func fcCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestFCFaults: 10% of OSS requests fail before taking effect and 10% after
// (503s, which the store retries), and now and then OSS is out for longer
// than the store's retries last (six writes of a meta object in a row fail), so that
// invocations fail part-way. Failed invocations are WriteErrors only, the
// trigger redelivers them with other boundaries, and every record ends up
// in OSS once.
func TestFCFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of invocations through a flaky OSS")
	}
	h := newFCHarness(t, fcSetup{format: "jsonl"})
	flaky := osstest.Fault{Before: 0.1, After: 0.1}
	for _, op := range osstest.Ops() {
		h.oss.SetFault(op, flaky)
	}
	streams := fcStreams(2, 8, 250)
	st, tot := h.run(fcCtx(t, 90*time.Second), fcemu.TriggerConfig{Streams: streams, Seed: 2, MaxBatch: 30, Concurrency: 2, MaxAttempts: 30,
		BeforeInvoke: func(d *fcemu.Delivery) {
			if d.N%15 == 0 { // an outage of one partition's meta object
				meta := fmt.Sprintf("%s/%s/.oss_meta_file_partition_%d", fcPrefix, fcTopic, d.Batch[0].Partition)
				h.oss.SetFault(osstest.OpPut, osstest.Fault{Before: 1, Limit: 6, KeyPrefix: meta})
			}
		},
		AfterInvoke: func(d fcemu.Delivery) error {
			if d.N%15 == 0 {
				h.oss.SetFault(osstest.OpPut, flaky)
			}
			return nil
		}},
		"WriteError")
	t.Logf("%+v; written %d, recovered %d, duplicates %d; OSS %+v", st, tot.written, tot.recovered, tot.duplicates, h.oss.Stats())
	if st.Errors == 0 || tot.recovered == 0 || tot.duplicates == 0 {
		t.Errorf("no invocation failed (%d), or no redelivery recovered records (%d) or skipped committed ones (%d): the test lost its teeth",
			st.Errors, tot.recovered, tot.duplicates)
	}
	h.check(streams)
}

// TestFCKill: the process is SIGKILLed mid-invocation at random moments and
// restarted (a new process behind the same emulator); the killed
// invocations end as lost at once, the trigger redelivers them with other
// boundaries, and every record ends up in OSS once.
func TestFCKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the binary dozens of times")
	}
	h := newFCHarness(t, fcSetup{format: "raw"})
	// Slow appends widen the window between data and state writes.
	h.oss.SetFault(osstest.OpAppend, osstest.Fault{Latency: 15 * time.Millisecond})
	rng := rand.New(rand.NewPCG(3, 3))
	var timers []*time.Timer
	defer func() {
		for _, tm := range timers {
			tm.Stop()
		}
	}()
	streams := fcStreams(3, 8, 150)
	st, tot := h.run(fcCtx(t, 90*time.Second), fcemu.TriggerConfig{Streams: streams, Seed: 3, MaxBatch: 25, Concurrency: 2, MaxAttempts: 30,
		BeforeInvoke: func(d *fcemu.Delivery) {
			if rng.IntN(3) != 0 {
				return
			}
			inst := h.sup.Current()
			delay := time.Duration(rng.IntN(80)) * time.Millisecond
			timers = append(timers, time.AfterFunc(delay, func() { _ = inst.Kill() }))
		}}, "")
	t.Logf("%+v; %d processes; written %d, recovered %d, duplicates %d", st, h.sup.Starts(), tot.written, tot.recovered, tot.duplicates)
	if st.Lost == 0 || h.sup.Starts() < 2 {
		t.Errorf("no invocation was lost to a kill (%d lost, %d processes): the test lost its teeth", st.Lost, h.sup.Starts())
	}
	h.check(streams)
}

// fcBatch returns records [from, to) of partition p's stream.
func fcBatch(streams map[int32][]int64, p int32, from, to int) []fcemu.Record {
	var recs []fcemu.Record
	for _, o := range streams[p][from:to] {
		recs = append(recs, fcemu.Record{Partition: p, Offset: o})
	}
	return recs
}

// TestFCDeadline: with OSS slower than the function's time, the binary
// answers /error before the deadline (its sink stops 2s early) with a
// WriteError, and a later redelivery completes the batch once.
func TestFCDeadline(t *testing.T) {
	h := newFCHarness(t, fcSetup{emu: []fcemu.Opt{fcemu.WithTimeout(5 * time.Second)}})
	h.oss.SetFault(osstest.OpAppend, osstest.Fault{Latency: 4 * time.Second})
	streams := fcStreams(4, 2, 40)
	ctx := fcCtx(t, 60*time.Second)
	first := append(fcBatch(streams, 0, 0, 30), fcBatch(streams, 1, 0, 20)...)
	res := h.invoke(ctx, first)
	if res.Status != fcemu.StatusError || res.ErrorType != "WriteError" || !strings.Contains(res.ErrorMessage, "deadline") {
		t.Fatalf("got %s; want a WriteError about the deadline", res)
	}
	if !res.Answered.Before(res.Deadline) {
		t.Fatalf("answered at %v, after the deadline %v", res.Answered, res.Deadline)
	}
	h.oss.ClearFaults()
	// The redelivery starts at the same records and goes further.
	res = h.invoke(ctx, append(fcBatch(streams, 0, 0, 40), fcBatch(streams, 1, 0, 40)...), fcemu.RetryCount(1))
	if _, err := fcCheckSummary(append(fcBatch(streams, 0, 0, 40), fcBatch(streams, 1, 0, 40)...), res); err != nil {
		t.Fatalf("redelivery: %s: %v", res, err)
	}
	h.check(streams)
}

// TestFCConcurrency: the SDK runs invocations concurrently in one process.
func TestFCConcurrency(t *testing.T) {
	t.Run("different partitions", func(t *testing.T) {
		// Both succeed. Slow appends make each invocation last a second, so
		// they overlap.
		h := newFCHarness(t, fcSetup{})
		streams := fcStreams(5, 2, 60)
		h.oss.SetFault(osstest.OpAppend, osstest.Fault{Latency: time.Second})
		a, b := fcBatch(streams, 0, 0, 60), fcBatch(streams, 1, 0, 60)
		ra, rb := h.invokeBoth(fcCtx(t, 60*time.Second), a, b)
		for _, x := range []struct {
			batch []fcemu.Record
			res   fcemu.Result
		}{{a, ra}, {b, rb}} {
			if _, err := fcCheckSummary(x.batch, x.res); err != nil {
				t.Fatalf("%s: %v", x.res, err)
			}
		}
		if !(ra.Dispatched.Before(rb.Answered) && rb.Dispatched.Before(ra.Answered)) || ra.Instance != rb.Instance {
			t.Errorf("the invocations did not run at once in one process: %v-%v on %d, %v-%v on %d",
				ra.Dispatched, ra.Answered, ra.Instance, rb.Dispatched, rb.Answered, rb.Instance)
		}
		h.check(streams)
	})

	t.Run("same partition", func(t *testing.T) {
		// Every delivery is two batches of one partition at once, both
		// starting at or before the first unacknowledged record (a
		// redelivery racing with an attempt still running) with different
		// ends; a success acknowledges its batch. Each invocation succeeds
		// or fails with a WriteError or StateConflictError; a partition
		// either gets all its records acknowledged, or stops (every
		// delivery, raced or not, a StateConflictError), as pkg/sink allows
		// when a stale meta write lands last. Either way no record is
		// written twice, and none acknowledged is missing.
		h := newFCHarness(t, fcSetup{})
		streams := fcStreams(6, 6, 60)
		ctx := fcCtx(t, 60*time.Second)
		rng := rand.New(rand.NewPCG(6, 6))
		h.oss.SetFault(osstest.OpAppend, osstest.Fault{Latency: 10 * time.Millisecond})
		outcomes := map[string]int{}
		acked := map[int32]int{}
		stopped := map[int32]bool{}
		for p := range int32(len(streams)) {
			n := len(streams[p])
			for round := 1; acked[p] < n && !stopped[p]; round++ {
				if round > 40 {
					t.Fatalf("partition %d: %d of %d records acknowledged after %d rounds (outcomes %v)", p, acked[p], n, round, outcomes)
				}
				var batches [2][]fcemu.Record
				var ends [2]int
				for i := range batches {
					ends[i] = min(n, acked[p]+1+rng.IntN(20))
					batches[i] = fcBatch(streams, p, max(0, acked[p]-rng.IntN(4)), ends[i])
				}
				ra, rb := h.invokeBoth(ctx, batches[0], batches[1])
				conflicts := 0
				for i, r := range []fcemu.Result{ra, rb} {
					outcomes[r.Status.String()+" "+r.ErrorType]++
					switch {
					case !r.Failed():
						if _, err := fcCheckSummary(batches[i], r); err != nil {
							t.Fatalf("partition %d: %v", p, err)
						}
						acked[p] = max(acked[p], ends[i])
					case r.ErrorType == "StateConflictError":
						conflicts++
					case r.ErrorType != "WriteError":
						t.Fatalf("partition %d: a racing invocation failed in a way it must not: %s", p, r)
					}
				}
				if conflicts == 2 {
					// Stopped for good? A lone redelivery tells.
					batch := fcBatch(streams, p, max(0, acked[p]-rng.IntN(4)), min(n, acked[p]+20))
					r := h.invoke(ctx, batch, fcemu.RetryCount(round))
					stopped[p] = r.ErrorType == "StateConflictError"
					if _, err := fcCheckSummary(batch, r); err == nil {
						acked[p] = max(acked[p], min(n, acked[p]+20))
					}
				}
			}
		}
		t.Logf("racing invocations: %v; stopped partitions: %v", outcomes, stopped)
		// A racer's late meta write can leave a fully acknowledged
		// partition's state behind its data (pkg/sink: "the next batch
		// resolves"). Show that it does: one more delivery of the tail,
		// without racing, must store nothing twice and bring the meta
		// object up to date; checkAtMostOnce then checks both.
		for p, stream := range streams {
			if acked[p] == len(stream) && !stopped[p] {
				r := h.invoke(ctx, fcBatch(streams, p, max(0, len(stream)-25), len(stream)), fcemu.RetryCount(99))
				if r.Failed() && r.ErrorType != "StateConflictError" {
					t.Fatalf("partition %d: the resolving delivery failed: %s", p, r)
				}
				stopped[p] = r.Failed()
			}
		}
		h.checkAtMostOnce(streams, acked, stopped)
	})
}

// invokeBoth sends two batches at once.
func (h *fcHarness) invokeBoth(ctx context.Context, a, b []fcemu.Record) (fcemu.Result, fcemu.Result) {
	var ra, rb fcemu.Result
	var wg sync.WaitGroup
	wg.Go(func() { ra = h.invoke(ctx, a) })
	wg.Go(func() { rb = h.invoke(ctx, b) })
	wg.Wait()
	return ra, rb
}

// checkAtMostOnce checks the guarantee left when partitions may have
// stopped: per partition, the data objects hold stream records only, each
// at most once and in order, including every acknowledged one; for a
// partition whose every record was acknowledged and that did not stop, that
// is all of them and its meta object agrees.
func (h *fcHarness) checkAtMostOnce(streams map[int32][]int64, acked map[int32]int, stopped map[int32]bool) {
	h.t.Helper()
	h.oss.ClearFaults()
	st := h.store()
	parts, err := sinktest.Read(context.Background(), st, fcPrefix, fcTopic, sinktest.RawOffset)
	if err != nil {
		h.t.Fatal(err)
	}
	for p := range parts {
		if _, ok := streams[p]; !ok {
			h.t.Fatalf("partition %d written but never sent", p)
		}
	}
	for p, stream := range streams {
		var got []int64
		if parts[p] != nil {
			for _, o := range parts[p].Objects {
				got = append(got, o.Offsets...)
			}
		}
		for i, o := range got {
			if i > 0 && o <= got[i-1] {
				h.t.Fatalf("partition %d: offset %d after %d (written twice or out of order)", p, o, got[i-1])
			}
			if !slices.Contains(stream, o) {
				h.t.Fatalf("partition %d: offset %d is not in the stream", p, o)
			}
		}
		for _, o := range stream[:acked[p]] {
			if !slices.Contains(got, o) {
				h.t.Fatalf("partition %d: acknowledged offset %d is missing", p, o)
			}
		}
		if acked[p] == len(stream) && !stopped[p] {
			if m := parts[p].Meta; m == nil || m.Committed != stream[len(stream)-1] || m.Records != int64(len(stream)) {
				h.t.Fatalf("partition %d: every record acknowledged, but the meta object says %+v", p, m)
			}
		}
	}
}

// TestFCBadEvent: a malformed batch fails with a BadEventError naming the
// element and the field, and nothing is written; the process serves on.
func TestFCBadEvent(t *testing.T) {
	h := newFCHarness(t, fcSetup{})
	ctx := fcCtx(t, 30*time.Second)
	valid := func() []map[string]any {
		var evs []map[string]any
		if err := json.Unmarshal(cloudEvents(fcTopic, [][2]int64{{0, 10}, {1, 11}, {0, 12}}), &evs); err != nil {
			t.Fatal(err)
		}
		return evs
	}
	data := func(ev map[string]any) map[string]any { return ev["data"].(map[string]any) }
	tests := []struct {
		name    string
		payload func() []byte
		want    []string
	}{
		{"negative offset", func() []byte {
			evs := valid()
			data(evs[2])["offset"] = -5
			return fcMust(json.Marshal(evs))
		}, []string{"event[2]", "data.offset"}},
		{"partition not a number", func() []byte {
			evs := valid()
			data(evs[1])["partition"] = "seven"
			return fcMust(json.Marshal(evs))
		}, []string{"event[1]", "data.partition"}},
		{"no topic", func() []byte {
			evs := valid()
			delete(data(evs[0]), "topic")
			return fcMust(json.Marshal(evs))
		}, []string{"event[0]", "data.topic"}},
		{"truncated", func() []byte { return []byte(`[{"specversion":"1.0",`) }, []string{"event[0]", "specversion", "unexpected end"}},
		{"not an array", func() []byte { return []byte(`"orders"`) }, []string{"payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.emu.Invoke(ctx, tt.payload())
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != fcemu.StatusError || res.ErrorType != "BadEventError" {
				t.Fatalf("got %s, want a BadEventError", res)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.ErrorMessage, w) {
					t.Errorf("message %q does not name %q", res.ErrorMessage, w)
				}
			}
		})
	}
	if n := h.dataWrites(); n != 0 || len(h.oss.Keys(fcBucket, "")) != 0 {
		t.Fatalf("malformed batches wrote: %d requests, keys %v", n, h.oss.Keys(fcBucket, ""))
	}
	good := fcBatch(map[int32][]int64{0: {10, 12}}, 0, 0, 2)
	if _, err := fcCheckSummary(good, h.invoke(ctx, good)); err != nil {
		t.Fatal(err)
	}
	if h.sup.Starts() != 1 {
		t.Errorf("the process was started %d times", h.sup.Starts())
	}
}

func fcMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFCConfigError: with an invalid variable every invocation fails with
// the same ConfigError naming it; the process does not exit, and its
// lifecycle hooks still answer.
func TestFCConfigError(t *testing.T) {
	h := newFCHarness(t, fcSetup{env: []string{"SINK_FLUSH_BYTES=lots"}})
	ctx := fcCtx(t, 30*time.Second)
	inst := h.sup.Current()
	if r, err := inst.Initialize(ctx); err != nil || r.Status != fcemu.StatusOK {
		t.Fatalf("initializer: %s, %v", r, err)
	}
	var msgs []string
	for i := range 3 {
		res := h.invoke(ctx, fcBatch(map[int32][]int64{int32(i): {1, 2, 3}}, int32(i), 0, 3))
		if res.Status != fcemu.StatusError || res.ErrorType != "ConfigError" || !strings.Contains(res.ErrorMessage, "SINK_FLUSH_BYTES") {
			t.Fatalf("invocation %d: %s; want a ConfigError naming SINK_FLUSH_BYTES", i, res)
		}
		msgs = append(msgs, res.ErrorMessage)
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("messages differ: %q", msgs)
	}
	if inst.Err() != nil || h.sup.Starts() != 1 || h.dataWrites() != 0 {
		t.Errorf("instance %v, %d processes, %d writes: want the one process alive and nothing written", inst.Err(), h.sup.Starts(), h.dataWrites())
	}
	if r, err := inst.PreStop(ctx); err != nil || r.Status != fcemu.StatusOK {
		t.Fatalf("PreStop: %s, %v", r, err)
	}
}

// TestFCPreStop: PreStop while an invocation waits on a slow OSS ends that
// invocation with a WriteError (it stops its OSS requests) and PreStop
// returns once the handler has; the instance is then stopped, and a
// redelivery to the next instance completes the batch once. (PreStop may
// answer a moment before the SDK posts the invocation's error: the hook
// can wait for the handler, not for the SDK's post.)
func TestFCPreStop(t *testing.T) {
	h := newFCHarness(t, fcSetup{})
	streams := fcStreams(6, 3, 50)
	ctx := fcCtx(t, 60*time.Second)
	h.oss.SetFault(osstest.OpAppend, osstest.Fault{Latency: 20 * time.Second})
	inst := h.sup.Current()
	batch := append(append(fcBatch(streams, 0, 0, 30), fcBatch(streams, 1, 0, 30)...), fcBatch(streams, 2, 0, 30)...)
	running := make(chan fcemu.Result, 1)
	go func() { running <- h.invoke(ctx, batch) }()
	testkit.WaitFor(t, 10*time.Second, "the appends to start", func() bool { return h.oss.Requests(osstest.OpAppend) > 0 })

	ps, err := inst.PreStop(ctx)
	if err != nil || ps.Status != fcemu.StatusOK {
		t.Fatalf("PreStop: %s, %v", ps, err)
	}
	res := <-running
	if res.Status != fcemu.StatusError || res.ErrorType != "WriteError" || !strings.Contains(res.ErrorMessage, "PreStop") {
		t.Fatalf("the running invocation: %s; want a WriteError saying the instance stops", res)
	}
	if err := inst.Kill(); err != nil { // FC stops the instance after PreStop
		t.Fatal(err)
	}
	h.oss.ClearFaults()
	full := append(append(fcBatch(streams, 0, 0, 50), fcBatch(streams, 1, 0, 50)...), fcBatch(streams, 2, 0, 50)...)
	redo := h.invoke(ctx, full, fcemu.RetryCount(1))
	if _, err := fcCheckSummary(full, redo); err != nil {
		t.Fatalf("redelivery: %s: %v", redo, err)
	}
	if redo.Instance == inst.ID() {
		t.Errorf("the redelivery went to the stopped instance")
	}
	h.check(streams)
}

// TestFCCredentials: the process has no credentials of its own; each
// invocation signs with those of its x-fc-* headers, so a wrong token
// fails it (AccessDeniedError, permanent), a rotation takes effect at the
// next invocation, and a bad token after good ones fails again (no stale
// client is reused). An expired token is a WriteError: the retry brings
// fresh credentials.
func TestFCCredentials(t *testing.T) {
	other := fcemu.Credentials{AccessKeyID: "fc-ak-2", AccessKeySecret: "fc-sk-2", SecurityToken: "fc-sts-token-2"}
	expired := fcemu.Credentials{AccessKeyID: "fc-ak-old", AccessKeySecret: "fc-sk-old", SecurityToken: "fc-sts-token-old"}
	h := newFCHarness(t, fcSetup{oss: []osstest.Opt{osstest.WithCredentials(other.AccessKeyID, other.AccessKeySecret, other.SecurityToken),
		osstest.WithCredentials(expired.AccessKeyID, expired.AccessKeySecret, expired.SecurityToken)}})
	h.oss.ExpireCredentials(expired.AccessKeyID)
	streams := fcStreams(7, 1, 70)
	ctx := fcCtx(t, 30*time.Second)
	wrongToken := fcCreds
	wrongToken.SecurityToken = "stolen"
	wrongSecret := other
	wrongSecret.AccessKeySecret = "guess"
	steps := []struct {
		name  string
		creds fcemu.Credentials
		want  string // "" for success, else a word of the error
		typ   string // errorType
	}{
		{"wrong token", wrongToken, "InvalidSecurityToken", "AccessDeniedError"},
		{"right keys", fcCreds, "", ""},
		{"rotated", other, "", ""},
		{"wrong secret", wrongSecret, "SignatureDoesNotMatch", "AccessDeniedError"},
		{"rotated back", fcCreds, "", ""},
		{"wrong token again", wrongToken, "InvalidSecurityToken", "AccessDeniedError"},
		{"no credentials", fcemu.Credentials{}, "no OSS credentials", "ConfigError"},
		// Transient: the next invocation brings fresh credentials.
		{"expired token", expired, "SecurityTokenExpired", "WriteError"},
		{"rotated again", other, "", ""},
	}
	acked := 0
	for i, s := range steps {
		h.emu.SetCredentials(s.creds)
		end := min(len(streams[0]), acked+10)
		batch := fcBatch(streams, 0, acked, end)
		res := h.invoke(ctx, batch)
		if got := res.Header.Get("x-fc-security-token"); got != s.creds.SecurityToken {
			t.Fatalf("step %d (%s): sent token %q, want %q", i, s.name, got, s.creds.SecurityToken)
		}
		if s.want == "" {
			if _, err := fcCheckSummary(batch, res); err != nil {
				t.Fatalf("step %d (%s): %s: %v", i, s.name, res, err)
			}
			acked = end
			continue
		}
		if res.Status != fcemu.StatusError || res.ErrorType != s.typ || !strings.Contains(res.ErrorMessage, s.want) {
			t.Fatalf("step %d (%s): %s; want a %s mentioning %s", i, s.name, res, s.typ, s.want)
		}
		for _, secret := range []string{s.creds.AccessKeySecret, s.creds.SecurityToken} {
			if secret != "" && strings.Contains(res.ErrorMessage, secret) {
				t.Fatalf("step %d (%s): the error message leaks a secret: %q", i, s.name, res.ErrorMessage)
			}
		}
	}
	h.check(map[int32][]int64{0: streams[0][:acked]})
	logs := h.logs.Tail(1 << 30)
	for _, secret := range []string{fcCreds.AccessKeySecret, fcCreds.SecurityToken, other.AccessKeySecret, other.SecurityToken, "stolen", "guess"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the function's logs contain the secret %q", secret)
		}
	}
}
