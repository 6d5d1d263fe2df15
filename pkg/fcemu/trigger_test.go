package fcemu

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTriggerRedelivers runs the trigger against testfunc with failures
// of every kind (errors, timeouts, lost processes replaced by a
// supervisor) and checks the trigger's own contract on every delivery:
// per-partition order, contiguous runs of the stream, redeliveries from at
// or before the first unacknowledged record, first deliveries from it, and
// x-fc-retry-count counting failures in a row.
func TestTriggerRedelivers(t *testing.T) {
	streams := map[int32][]int64{}
	for p := range int32(4) {
		for o := int64(0); o < 60; o += 1 + int64(p%2) {
			streams[p] = append(streams[p], 100*int64(p)+o)
		}
	}
	// The timeout is generous, so that a loaded machine does not turn
	// answers into timeouts; only stuck batches get a short one, and they
	// cannot answer before it ends.
	e := newEmu(t, WithInstanceConcurrency(4), WithTimeout(30*time.Second), WithGrace(100*time.Millisecond))
	sup, err := e.Supervise(func() *exec.Cmd { return testfuncCmd(t) })
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Stop()

	// BeforeInvoke decides each batch's fate (and a stuck batch's timeout);
	// Render, which comes after it for the same delivery, writes the fate
	// into the payload, the batch riding along. The batches of one round
	// are for disjoint partitions, so the batch itself is a unique key.
	rng := rand.New(rand.NewPCG(3, 4))
	fates := map[string]string{}
	decide := func(d *Delivery) {
		switch rng.IntN(10) {
		case 0:
			fates[fmt.Sprint(d.Batch)] = "fail"
		case 1:
			fates[fmt.Sprint(d.Batch)] = "stuck"
			d.Opts = append(d.Opts, InvokeTimeout(300*time.Millisecond))
		case 2:
			fates[fmt.Sprint(d.Batch)] = "exit"
		}
	}
	render := func(batch []Record) []byte {
		key := fmt.Sprint(batch)
		doc := map[string]any{"records": batch}
		switch fates[key] {
		case "fail":
			doc["fail"] = "flaky"
		case "stuck":
			doc["stuck"] = true // until the process dies: past the deadline and the grace
		case "exit":
			doc["exit"] = 1
		}
		delete(fates, key)
		b, _ := json.Marshal(doc)
		return b
	}

	acked := map[int32]int{}  // shadow of the trigger's state
	failed := map[int32]int{} // failures in a row
	index := func(p int32, off int64) int {
		for i, o := range streams[p] {
			if o == off {
				return i
			}
		}
		return -1
	}
	check := func(d Delivery) error {
		first := map[int32]int{}
		last := map[int32]int{}
		retry := 0
		for _, r := range d.Batch {
			i := index(r.Partition, r.Offset)
			if i < 0 {
				return fmt.Errorf("record %+v not in the stream", r)
			}
			if l, ok := last[r.Partition]; ok && i != l+1 {
				return fmt.Errorf("partition %d: record %d follows %d", r.Partition, i, l)
			}
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = i
				retry = max(retry, failed[r.Partition])
			}
			last[r.Partition] = i
		}
		for p, i := range first {
			switch {
			case i > acked[p]:
				return fmt.Errorf("partition %d starts at %d, after the first unacknowledged %d", p, i, acked[p])
			case failed[p] == 0 && i != acked[p]:
				return fmt.Errorf("partition %d: first delivery starts at %d, not at %d", p, i, acked[p])
			}
		}
		sent := d.Result.Header.Get("x-fc-retry-count") // every delivery here was dispatched
		if d.RetryCount != retry || sent != fmt.Sprint(retry) {
			return fmt.Errorf("retry count %d (header %q), want %d", d.RetryCount, sent, retry)
		}
		for p := range first {
			if d.Result.Failed() {
				failed[p]++
			} else {
				failed[p], acked[p] = 0, last[p]+1
			}
		}
		return nil
	}

	tr, err := NewTrigger(e, TriggerConfig{Streams: streams, Render: render, Seed: 1, MaxBatch: 8, Concurrency: 3,
		BeforeInvoke: decide, AfterInvoke: check})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Run(ctxFor(t, 60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v, %d processes", st, sup.Starts())
	if st.Errors == 0 || st.Timeouts == 0 || st.Lost == 0 || st.ErrorTypes["TestError"] != st.Errors {
		t.Errorf("not every kind of failure happened: %+v", st)
	}
	for p, offs := range streams {
		if tr.Acked(p) != len(offs) || acked[p] != len(offs) {
			t.Errorf("partition %d: %d/%d acknowledged (shadow %d)", p, tr.Acked(p), len(offs), acked[p])
		}
	}
}

func TestTriggerGivesUp(t *testing.T) {
	e := newEmu(t)
	startTestfunc(t, e)
	tr, err := NewTrigger(e, TriggerConfig{
		Streams:     map[int32][]int64{0: {1, 2, 3}},
		Render:      func([]Record) []byte { return []byte(`{"fail":"always"}`) },
		MaxAttempts: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := tr.Run(ctxFor(t, 30*time.Second))
	if err == nil || !strings.Contains(err.Error(), "3 deliveries in a row failed") || st.Invocations != 3 {
		t.Fatalf("Run: %+v, %v", st, err)
	}
}

func TestNewTriggerValidates(t *testing.T) {
	e := newEmu(t)
	render := func([]Record) []byte { return nil }
	for name, cfg := range map[string]TriggerConfig{
		"no render":  {Streams: map[int32][]int64{0: {1}}},
		"unordered":  {Streams: map[int32][]int64{0: {2, 1}}, Render: render},
		"duplicates": {Streams: map[int32][]int64{0: {1, 1}}, Render: render},
	} {
		if _, err := NewTrigger(e, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
