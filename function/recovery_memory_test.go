package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// TestRecoveryMemory is issue 7 item 5: a meta object far behind its
// current object (an earlier attempt's appends landed, its meta PUT was
// lost) must not make recovery hold the unrecorded bytes in memory. For
// 50 MB and 200 MB of unrecorded bytes, the compiled binary, under fcemu,
// gets the redelivered batch (the first 1,000 records after the recorded
// state) against osstest-server running as a process of its own; its peak
// RSS (VmHWM, read once the invocation has answered, the process still
// alive) must not grow with the size. The indexed store is written by the
// sink itself, its meta object then put back as it was after the first
// batch, as if every later meta PUT had been lost: the binary reads and
// checks every unrecorded append, recovering the batch and adopting the
// rest. The legacy one (meta version 1, no index) is planted as a version
// 1 sink would have left it: the binary compares what follows the
// recorded size with the batch and leaves the rest for later batches. The
// figures are memory, not time; GOGC and GOMEMLIMIT are pinned to their
// defaults.
func TestRecoveryMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 750 MB to an OSS test server")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc to read a process's peak RSS from")
	}
	endpoint := externalOSS(t)
	st := osskit.Store(t, endpoint, "bench", benchCreds)
	const (
		mib   = 1 << 20
		slack = 16 * mib // runtime and allocator noise between two processes
		limit = 100 * mib
	)
	for _, c := range []struct {
		name   string
		legacy bool
		shape  memShape
	}{
		{"indexed", false, memShape{valueSize: 2780, batch: 2000}},
		// Many small records: state kept per record would show here.
		{"indexed small records", false, memShape{valueSize: 100, batch: 20000}},
		{"legacy", true, memShape{valueSize: 2780, batch: 2000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			small := measureRecovery(t, st, endpoint, c.legacy, c.shape, 50)
			large := measureRecovery(t, st, endpoint, c.legacy, c.shape, 200)
			t.Logf("peak RSS %.1f MiB with 50 MB unrecorded, %.1f MiB with 200 MB", float64(small)/mib, float64(large)/mib)
			if float64(large) > 1.3*float64(small)+slack || large > limit {
				t.Errorf("recovery memory grows with the unrecorded bytes: peak RSS %.1f MiB for 50 MB, %.1f MiB for 200 MB",
					float64(small)/mib, float64(large)/mib)
			}
		})
	}
}

// memShape is the records of a memory test: values of valueSize bytes,
// batch records per Write.
type memShape struct{ valueSize, batch int }

// memRedeliver is the size of the redelivered batch.
const memRedeliver = 1000

// records returns the k-th batch of partition 0 of topic: s.batch records
// from offset k*s.batch.
func (s memShape) records(topic string, k int) []events.Record {
	return eventstest.Records(eventstest.BatchConfig{Records: s.batch, Topics: []string{topic}, ValueSize: s.valueSize,
		StartOffsets: []int64{int64(k * s.batch)}, StartTimestamp: 1764032523000 + int64(k)*100000, Seed: uint64(k + 1)})
}

// measureRecovery builds a partition whose meta object records batch 0
// of its current object while the object holds about mb MB more (batches
// 1 and on), runs the binary on the redelivered batch and returns the
// process's peak RSS in bytes. The topic's objects are deleted afterwards.
func measureRecovery(t *testing.T, st store.Store, endpoint string, legacy bool, shape memShape, mb int) int64 {
	t.Helper()
	ctx := fcCtx(t, 5*time.Minute)
	topic := fmt.Sprintf("mem-%d", mb)
	prefix := sink.NormalizePrefix(fcPrefix)
	defer deleteUnder(t, st, prefix+topic+"/")
	batches := (mb*1e6 + shape.batch*shape.valueSize - 1) / (shape.batch * shape.valueSize)
	var last int64 // the last offset stored
	if legacy {
		last = buildLegacy(t, ctx, st, topic, shape, batches)
	} else {
		last = buildIndexed(t, ctx, st, topic, shape, batches)
	}
	redo := shape.records(topic, 1)[:memRedeliver]

	emu, err := fcemu.New(fcemu.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken),
		fcemu.WithFunction("kafka-oss-sink", "main", 512), fcemu.WithTimeout(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	cmd := exec.Command(binary(t))
	cmd.Env = fcProcessEnv(endpoint, "raw", []string{"OSS_BUCKET=bench", fmt.Sprintf("SINK_FLUSH_BYTES=%d", int64(sink.MaxFlushBytes)),
		"SINK_FLUSH_RECORDS=0", "GOGC=100", "GOMEMLIMIT=off"})
	logs := &testkit.SyncBuffer{}
	cmd.Stderr = logs
	inst, err := emu.StartProcess(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inst.Kill() }()
	res, err := emu.Invoke(ctx, eventstest.Encode(eventstest.CloudEvents, redo, events.Text))
	if err != nil {
		t.Fatal(err)
	}
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("%d MB: %s\n%s", mb, res, logs.Tail(4<<10))
	}
	var resp struct{ Recovered, Adopted, Written int }
	if err := json.Unmarshal(res.Body, &resp); err != nil {
		t.Fatalf("summary %q: %v", res.Body, err)
	}
	// Indexed: every unrecorded append read and accounted for. Legacy:
	// the batch's records found, the rest left for the next batches.
	wantAdopted, wantCommitted := int(last)-shape.batch+1-memRedeliver, last
	if legacy {
		wantAdopted, wantCommitted = 0, redo[len(redo)-1].Offset
	}
	if resp.Recovered != memRedeliver || resp.Adopted != wantAdopted || resp.Written != 0 {
		t.Fatalf("%d MB: recovered %d, adopted %d, written %d; want %d, %d, 0", mb, resp.Recovered, resp.Adopted, resp.Written, memRedeliver, wantAdopted)
	}
	b, err := st.Get(ctx, sink.MetaKey(prefix, topic, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sink.DecodeMeta(b, prefix, topic, 0)
	if err != nil || m.Committed != wantCommitted {
		t.Fatalf("%d MB: meta object after recovery: %+v, %v; want committed_offset %d", mb, m, err, wantCommitted)
	}
	t.Logf("%d MB unrecorded (%d records): peak RSS %.1f MiB", mb, int(last)-shape.batch+1, float64(peak)/(1<<20))
	return peak
}

// buildIndexed writes batches+1 batches with the sink, as the binary
// would (raw, no flush limit but OSS's), then puts back the meta object
// as it was after batch 0: what the store holds when the meta PUTs of
// every later batch were lost. It returns the last offset stored.
func buildIndexed(t *testing.T, ctx context.Context, st store.Store, topic string, shape memShape, batches int) int64 {
	t.Helper()
	sk, err := sink.New(sink.WithPrefix(fcPrefix), sink.WithEncoder(format.Encoder{Format: format.Raw, ValueEncoding: events.Text}),
		sink.WithFlushBytes(sink.MaxFlushBytes), sink.WithFlushRecords(0), sink.WithFlushInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	return buildMetaLost(t, ctx, st, topic, shape, batches, func(k int, recs []events.Record) {
		if _, err := sk.Write(ctx, st, recs); err != nil {
			t.Fatalf("batch %d: %v", k, err)
		}
	})
}

// buildLegacy writes what a sink of meta schema version 1 leaves when the
// meta PUTs after batch 0 were lost: one data object without an index
// holding the raw encodings of batches 0 to batches, and a version 1 meta
// object recording batch 0 only. It returns the last offset stored.
func buildLegacy(t *testing.T, ctx context.Context, st store.Store, topic string, shape memShape, batches int) int64 {
	t.Helper()
	w := &fixture.LegacyWriter{St: st, Prefix: fcPrefix, Enc: format.Encoder{Format: format.Raw, ValueEncoding: events.Text}} // no limit: one object
	return buildMetaLost(t, ctx, st, topic, shape, batches, func(_ int, recs []events.Record) { w.Write(t, topic, 0, recs) })
}

// buildMetaLost writes batches 0 to batches of topic with write, then puts
// back the meta object as it was after batch 0, and returns the last
// offset stored.
func buildMetaLost(t *testing.T, ctx context.Context, st store.Store, topic string, shape memShape, batches int, write func(k int, recs []events.Record)) int64 {
	t.Helper()
	metaKey := sink.MetaKey(sink.NormalizePrefix(fcPrefix), topic, 0)
	var recorded []byte
	var last int64
	for k := 0; k <= batches; k++ {
		recs := shape.records(topic, k)
		write(k, recs)
		last = recs[len(recs)-1].Offset
		if k == 0 {
			var err error
			if recorded, err = st.Get(ctx, metaKey); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Put(ctx, metaKey, recorded); err != nil {
		t.Fatal(err)
	}
	return last
}

// peakRSS returns a live process's peak resident set size (VmHWM). Unlike
// the rusage of a waited-for child, it is the process's own: Go starts a
// child sharing the parent's memory until exec, and rusage carries that
// high-water mark over.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmHWM %q: %w", pid, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM (the process has exited?)", pid)
}

// deleteUnder deletes every object under prefix, so that the shared server
// holds no more than one case's data.
func deleteUnder(t testing.TB, st store.Store, prefix string) {
	ctx := context.Background()
	infos, err := st.List(ctx, prefix)
	if err != nil {
		t.Error(err)
		return
	}
	for _, o := range infos {
		if err := st.Delete(ctx, o.Key); err != nil {
			t.Error(err)
		}
	}
}
