package sink_test

// Helpers of the adversarial tests of the formats (attack_*_test.go).

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// atkSink builds a sink of prefix "backup" with the encoding id enc.
func atkSink(t testing.TB, enc string, opts ...sink.Option) *sink.Sink {
	t.Helper()
	sk, err := sink.New(append([]sink.Option{sink.WithPrefix("backup"), sink.WithEncoder(mustEnc(enc)), sink.WithConcurrency(1),
		sink.WithClock(func() time.Time { return rvBase })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// atkKeys returns the keys of st holding s.
func atkKeys(st *memstore.Store, s string) []string {
	var out []string
	for _, k := range st.Keys() {
		if strings.Contains(k, s) {
			out = append(out, k)
		}
	}
	return out
}

// atkCheck: every record of all exactly once (sinktest.Check, which reads
// every format), and no staging object left but the open objects'.
func atkCheck(t *testing.T, st *memstore.Store, all []events.Record) {
	t.Helper()
	ctx := context.Background()
	if err := sinktest.Check(ctx, st, "backup", topic, rawOffset, offsets(all)); err != nil {
		t.Fatalf("%v\nkeys: %v", err, st.Keys())
	}
	parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
	if err != nil {
		t.Fatal(err)
	}
	for p, part := range parts {
		open := map[string]bool{}
		for _, f := range part.Meta.Folders {
			open[sink.StageKey(f.Object)] = true
		}
		if len(part.Meta.Finalize) > 0 {
			t.Fatalf("partition %d: objects left to finalize after a clean batch: %+v", p, part.Meta.Finalize[0])
		}
		for _, k := range atkKeys(st, ".oss_stage_") {
			if !open[k] {
				t.Fatalf("partition %d: staging object %s left behind (open: %v)", p, k, open)
			}
		}
	}
}

// atkCheckAll: su.check (every record of all once, in the right folder),
// no staging object left but the open objects', nothing left to finalize,
// and in the ended epoch exactly the offsets older, in written objects.
func atkCheckAll(t *testing.T, su setup, st *memstore.Store, all []events.Record, older []int64, what string) {
	t.Helper()
	ctx := context.Background()
	if err := su.check(ctx, st, all); err != nil {
		t.Fatalf("%s: %v\nkeys: %v", what, err, st.Keys())
	}
	parts, err := sinktest.ReadDirs(ctx, st, "backup", topic, nil, rawOffset)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	part := parts[0]
	open := map[string]bool{}
	for _, f := range part.Meta.Folders {
		open[sink.StageKey(f.Object)] = true
	}
	if len(part.Meta.Finalize) > 0 {
		t.Fatalf("%s: objects left to finalize after a clean batch: %+v", what, *part.Meta.Finalize[0])
	}
	for _, k := range st.Keys() {
		if strings.Contains(k, ".oss_stage_") && !open[k] {
			t.Fatalf("%s: staging object %s left behind (open: %v)\nkeys: %v", what, k, open, st.Keys())
		}
	}
	var old []int64
	for _, o := range part.Older {
		if o.Staged {
			t.Fatalf("%s: %s of the ended epoch still staged", what, o.Key)
		}
		old = append(old, o.Offsets...)
	}
	// (By first offset across folders: sorted, for routed layouts; the
	// order within each folder is sinktest's and verify's to check.)
	slices.Sort(old)
	if !slices.Equal(old, older) {
		t.Fatalf("%s: the ended epoch holds %v, want %v", what, old, older)
	}
}

// atkRedeliver writes all[s:e] with faults, then again cleanly if that
// failed, and returns e.
func atkRedeliver(t *testing.T, sk *sink.Sink, st *memstore.Store, all []events.Record, s, e int, faults []rvFault) int {
	t.Helper()
	if faults != nil {
		ch := &rvChaos{Store: st, faults: faults}
		if _, err := sk.Write(context.Background(), ch, all[s:e]); err == nil && !ch.dead {
			return e
		}
	}
	mustWrite(t, sk, st, all[s:e])
	return e
}

// atkCheckGivenUp: like atkCheckAll, but the records of mayLack (a batch
// given up on) may be missing; none is stored twice, nor out of order.
func atkCheckGivenUp(t *testing.T, su setup, st *memstore.Store, all []events.Record, mayLack map[int64]bool, what string) {
	t.Helper()
	ctx := context.Background()
	parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
	if err != nil {
		t.Fatalf("%s: %v\nkeys: %v", what, err, st.Keys())
	}
	part := parts[0]
	seen := map[int64]int{}
	last := map[string]int64{}
	for _, o := range part.Objects {
		for _, off := range o.Offsets {
			seen[off]++
			if l, ok := last[o.Folder]; ok && off <= l {
				t.Fatalf("%s: offset %d after %d in folder %q", what, off, l, o.Folder)
			}
			last[o.Folder] = off
		}
	}
	for i := range all {
		r := &all[i]
		want := su.stored == nil || su.stored(r)
		switch {
		case seen[r.Offset] > 1:
			t.Fatalf("%s: offset %d stored %d times\nkeys: %v", what, r.Offset, seen[r.Offset], st.Keys())
		case seen[r.Offset] == 1 && !want:
			t.Fatalf("%s: offset %d stored, the settings store it nowhere", what, r.Offset)
		case seen[r.Offset] == 0 && want && !mayLack[r.Offset]:
			t.Fatalf("%s: acknowledged offset %d missing\nkeys: %v", what, r.Offset, st.Keys())
		}
	}
	if len(part.Meta.Finalize) > 0 {
		t.Fatalf("%s: objects left to finalize after a clean batch: %+v", what, *part.Meta.Finalize[0])
	}
	open := map[string]bool{}
	for _, f := range part.Meta.Folders {
		open[sink.StageKey(f.Object)] = true
	}
	for _, k := range st.Keys() {
		if strings.Contains(k, ".oss_stage_") && !open[k] {
			t.Fatalf("%s: staging object %s left behind", what, k)
		}
	}
}
