package fcemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTriggerDeadLetters: with GiveUpAfter, a delivery holding a poison
// record always fails; once a partition has failed GiveUpAfter deliveries
// in a row, its records of the last failed delivery go to the dead-letter
// list and the partition goes on right after them. A shadow of the
// trigger's state checks every delivery as it is made; at the end every
// record was acknowledged by a successful delivery or skipped in a dead
// letter, never both, and every poison record was skipped.
func TestTriggerDeadLetters(t *testing.T) {
	stream := func(from, n int64) []int64 {
		var offs []int64
		for o := from; o < from+n; o++ {
			offs = append(offs, o)
		}
		return offs
	}
	every := func(k int, p int32, n int64) map[Record]bool {
		m := map[Record]bool{}
		for o := int64(k - 1); o < n; o += int64(k) {
			m[Record{p, o}] = true
		}
		return m
	}
	tests := []struct {
		name        string
		streams     map[int32][]int64
		poison      map[Record]bool
		giveUpAfter int
		maxAttempts int
		concurrency int
		wantErr     string // Run's error; "" for success
	}{
		{name: "one partition", streams: map[int32][]int64{0: stream(0, 40)},
			poison: map[Record]bool{{0, 12}: true}, giveUpAfter: 3},
		{name: "poison first record", streams: map[int32][]int64{0: stream(100, 20)},
			poison: map[Record]bool{{0, 100}: true}, giveUpAfter: 3},
		{name: "poison last record", streams: map[int32][]int64{0: stream(0, 20)},
			poison: map[Record]bool{{0, 19}: true}, giveUpAfter: 2},
		{name: "several partitions, several poisons", streams: map[int32][]int64{0: stream(0, 50), 1: stream(500, 50), 2: stream(7, 30)},
			poison: map[Record]bool{{0, 5}: true, {0, 30}: true, {1, 520}: true, {2, 7}: true}, giveUpAfter: 3, concurrency: 2},
		{name: "give up at once", streams: map[int32][]int64{0: stream(0, 30), 1: stream(0, 30)},
			poison: map[Record]bool{{1, 3}: true, {1, 4}: true, {1, 20}: true}, giveUpAfter: 1},
		{name: "dense poison", streams: map[int32][]int64{0: stream(0, 60), 1: stream(0, 60)},
			poison: every(4, 0, 60), giveUpAfter: 2}, // redeliveries right after a give-up must not rewind into it
		{name: "no giving up", streams: map[int32][]int64{0: stream(0, 20)},
			poison: map[Record]bool{{0, 3}: true}, maxAttempts: 4, wantErr: "4 deliveries in a row failed"},
		{name: "MaxAttempts first", streams: map[int32][]int64{0: stream(0, 20)},
			poison: map[Record]bool{{0, 3}: true}, giveUpAfter: 4, maxAttempts: 4, wantErr: "4 deliveries in a row failed"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t, WithInstanceConcurrency(4), WithTimeout(30*time.Second))
			startTestfunc(t, e)
			render := func(batch []Record) []byte {
				doc := map[string]any{"records": batch}
				if slices.ContainsFunc(batch, func(r Record) bool { return tt.poison[r] }) {
					doc["fail"] = "poison"
				}
				b, _ := json.Marshal(doc)
				return b
			}
			sh := newDeadLetterShadow(tt.streams, max(tt.giveUpAfter, 0))
			tr, err := NewTrigger(e, TriggerConfig{Streams: tt.streams, Render: render, Seed: uint64(i), MaxBatch: 6,
				Concurrency: tt.concurrency, MaxAttempts: tt.maxAttempts, GiveUpAfter: tt.giveUpAfter, AfterInvoke: sh.check})
			if err != nil {
				t.Fatal(err)
			}
			st, err := tr.Run(ctxFor(t, 60*time.Second))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(st.DeadLetters) != 0 {
					t.Fatalf("Run: %v, %d dead letters; want %q and none", err, len(st.DeadLetters), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Done() || st.Errors == 0 {
				t.Fatalf("done %v, %+v", tr.Done(), st)
			}
			sh.checkEnd(t, st.DeadLetters, tt.poison)
		})
	}
}

// deadLetterShadow follows a trigger with GiveUpAfter from its deliveries
// alone and checks each against the contract.
type deadLetterShadow struct {
	streams     map[int32][]int64
	giveUpAfter int
	acked       map[int32]int // index of the first unacknowledged record
	floor       map[int32]int // index after the last dead-lettered record
	failed      map[int32]int // failures in a row
	batches     map[int]Delivery
	ok          map[Record]bool // records of successful deliveries
	gaveUp      map[int32]int   // give-ups per partition, as the shadow expects them
}

func newDeadLetterShadow(streams map[int32][]int64, giveUpAfter int) *deadLetterShadow {
	return &deadLetterShadow{streams: streams, giveUpAfter: giveUpAfter, acked: map[int32]int{}, floor: map[int32]int{}, failed: map[int32]int{},
		batches: map[int]Delivery{}, ok: map[Record]bool{}, gaveUp: map[int32]int{}}
}

func (s *deadLetterShadow) check(d Delivery) error {
	s.batches[d.N] = d
	first, last, err := streamRuns(s.streams, d.Batch)
	if err != nil {
		return err
	}
	var gaveUp []int32
	for _, p := range slices.Sorted(maps.Keys(first)) {
		switch i := first[p]; {
		case i > s.acked[p]:
			return fmt.Errorf("partition %d starts at %d, after the first unacknowledged %d", p, i, s.acked[p])
		case i < s.floor[p]:
			return fmt.Errorf("partition %d starts at %d, in the records dead-lettered before %d", p, i, s.floor[p])
		case s.failed[p] == 0 && i != s.acked[p]:
			return fmt.Errorf("partition %d: first delivery starts at %d, not at %d (after a give-up too)", p, i, s.acked[p])
		}
		if !d.Result.Failed() {
			s.failed[p], s.acked[p] = 0, last[p]+1
			continue
		}
		if s.failed[p]++; s.giveUpAfter > 0 && s.failed[p] >= s.giveUpAfter {
			gaveUp = append(gaveUp, p)
			s.gaveUp[p]++
			s.failed[p], s.acked[p], s.floor[p] = 0, last[p]+1, last[p]+1
		}
	}
	if !slices.Equal(d.GaveUp, gaveUp) {
		return fmt.Errorf("delivery %d (%s): gave up on partitions %v, want %v", d.N, d.Result, d.GaveUp, gaveUp)
	}
	if !d.Result.Failed() {
		for _, r := range d.Batch {
			s.ok[r] = true
		}
	}
	return nil
}

// checkEnd checks the dead letters against the deliveries: each is one
// partition's records of a failed delivery that gave up on it, its
// rewound ones acknowledged before, its skipped ones never; every record
// is acknowledged or skipped, and every poison record is skipped.
func (s *deadLetterShadow) checkEnd(t *testing.T, dls []DeadLetter, poison map[Record]bool) {
	t.Helper()
	skipped := map[Record]bool{}
	perPart := map[int32]int{}
	for _, dl := range dls {
		d, ok := s.batches[dl.Delivery]
		if !ok || !d.Result.Failed() || !slices.Contains(d.GaveUp, dl.Partition) || dl.Result.RequestID != d.Result.RequestID {
			t.Fatalf("dead letter %+v: not of a failed delivery that gave up on its partition", dl)
		}
		var want []Record
		for _, r := range d.Batch {
			if r.Partition == dl.Partition {
				want = append(want, r)
			}
		}
		if !slices.Equal(dl.Records, want) || dl.Rewound < 0 || dl.Rewound >= len(dl.Records) {
			t.Fatalf("dead letter of delivery %d: records %v (rewound %d), the delivery had %v", dl.Delivery, dl.Records, dl.Rewound, want)
		}
		for i, r := range dl.Records {
			if rewound := i < dl.Rewound; rewound != s.ok[r] {
				t.Fatalf("dead letter of delivery %d: record %+v rewound %v, acknowledged %v", dl.Delivery, r, rewound, s.ok[r])
			}
		}
		for _, r := range dl.Skipped() {
			if skipped[r] {
				t.Fatalf("record %+v skipped twice", r)
			}
			skipped[r] = true
		}
		perPart[dl.Partition]++
	}
	if !maps.Equal(perPart, s.gaveUp) {
		t.Fatalf("dead letters per partition %v, deliveries gave up %v", perPart, s.gaveUp)
	}
	for p, offs := range s.streams {
		for _, o := range offs {
			r := Record{p, o}
			if s.ok[r] == skipped[r] {
				t.Fatalf("record %+v: acknowledged %v, skipped %v: want exactly one", r, s.ok[r], skipped[r])
			}
		}
	}
	for r := range poison {
		if !skipped[r] {
			t.Fatalf("poison record %+v was not skipped", r)
		}
	}
	if len(dls) == 0 {
		t.Fatal("no dead letters")
	}
}
