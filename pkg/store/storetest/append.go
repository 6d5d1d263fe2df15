package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

func testAppend(t *testing.T, s store.Store) {
	const key = "append/object"
	var want []byte
	var pos int64
	for i, piece := range []string{"abc", "de", "f", "ghijklmnopqrstuvwxyz"} {
		t.Run(fmt.Sprintf("piece %d", i), func(t *testing.T) {
			pos = mustAppend(t, s, key, pos, []byte(piece))
			want = append(want, piece...)
			wantContent(t, s, key, want, true)
			wantKeys(t, s, "", []string{key})
		})
	}
}

func testAppendWrongPosition(t *testing.T, s store.Store) {
	cases := []struct {
		name     string
		existing string // "" means the key is absent
		pos      int64
	}{
		{"absent at 1", "", 1},
		{"absent far", "", 1 << 40},
		{"absent negative", "", -1},
		{"existing at 0", "hello", 0},
		{"existing one short", "hello", 4},
		{"existing one past", "hello", 6},
		{"existing far past", "hello", 1 << 20},
		{"existing negative", "hello", -1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := fmt.Sprintf("wrong/%d", i)
			if c.existing != "" {
				mustAppend(t, s, key, 0, []byte(c.existing))
			}
			_, err := s.Append(ctxFor(t), key, c.pos, []byte("XYZ"))
			wantPositionError(t, err, key, c.pos, int64(len(c.existing)))

			// Nothing was written: an absent key stays absent, an object
			// keeps its bytes and still takes an append at its length.
			if c.existing == "" {
				wantAbsent(t, s, key)
				wantKeys(t, s, key, nil)
				return
			}
			wantContent(t, s, key, []byte(c.existing), true)
			mustAppend(t, s, key, int64(len(c.existing)), []byte("!"))
			wantContent(t, s, key, []byte(c.existing+"!"), true)
		})
	}
}

func testAppendToPutObject(t *testing.T, s store.Store) {
	cases := []struct {
		name string
		data string
		pos  int64
	}{
		{"at 0", "hello", 0},
		{"at length", "hello", 5},
		{"past length", "hello", 6},
		{"empty object at 0", "", 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := fmt.Sprintf("normal/%d", i)
			mustPut(t, s, key, []byte(c.data))
			_, err := s.Append(ctxFor(t), key, c.pos, []byte("XYZ"))
			if !errors.Is(err, store.ErrNotAppendable) {
				t.Fatalf("Append(%q, %d) to a Put object: error = %v, want one wrapping store.ErrNotAppendable", key, c.pos, err)
			}
			if !store.IsPermanent(err) {
				t.Errorf("store.IsPermanent(%v) = false for a not-appendable object", err)
			}
			wantContent(t, s, key, []byte(c.data), false)
		})
	}
}

func testPutOverAppendable(t *testing.T, s store.Store) {
	const key = "kind/object"
	n := mustAppend(t, s, key, 0, []byte("ab"))
	mustAppend(t, s, key, n, []byte("cd"))
	mustPut(t, s, key, []byte("xyz"))
	wantContent(t, s, key, []byte("xyz"), false)
	if _, err := s.Append(ctxFor(t), key, 3, []byte("w")); !errors.Is(err, store.ErrNotAppendable) {
		t.Fatalf("Append after Put: error = %v, want one wrapping store.ErrNotAppendable", err)
	}
	if err := s.Delete(ctxFor(t), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustAppend(t, s, key, 0, []byte("new"))
	wantContent(t, s, key, []byte("new"), true)
}

func testAppendBuffers(t *testing.T, s store.Store) {
	const key = "buffers/append"
	buf := []byte("first;")
	n := mustAppend(t, s, key, 0, buf)
	copy(buf, "second")
	mustAppend(t, s, key, n, buf)
	copy(buf, "XXXXXX")
	wantContent(t, s, key, []byte("first;second"), true)
}

// testAppendRace starts several appenders at the same position at once,
// round after round (the first round creates the object). Each round must
// have exactly one winner.
func testAppendRace(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key, racers, rounds = "race/object", 8, 10
	type result struct {
		n       int64
		err     error
		payload []byte
	}
	var want []byte
	var length int64
	for r := range rounds {
		results := make([]result, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			// Distinct content and sizes, so the object tells who won.
			results[i].payload = bytes.Repeat([]byte{byte('a' + i)}, 1+7*i+r)
			wg.Go(func() {
				<-start
				results[i].n, results[i].err = s.Append(ctx, key, length, results[i].payload)
			})
		}
		close(start)
		wg.Wait()

		var winner *result
		for i := range results {
			if results[i].err != nil {
				continue
			}
			if winner != nil {
				t.Fatalf("round %d: racers %c and %c both appended at %d", r, winner.payload[0], results[i].payload[0], length)
			}
			winner = &results[i]
		}
		if winner == nil {
			t.Fatalf("round %d: no racer won at %d; first error: %v", r, length, results[0].err)
		}
		if want := length + int64(len(winner.payload)); winner.n != want {
			t.Fatalf("round %d: winner got length %d, want %d", r, winner.n, want)
		}
		for i := range results {
			if res := &results[i]; res != winner {
				wantPositionError(t, res.err, key, length, winner.n)
			}
		}
		want = append(want, winner.payload...)
		length = winner.n
		wantContent(t, s, key, want, true)
	}
}

// testAppendContended has writers append fixed-size records to one object,
// each retrying at the length a PositionError reports, as the sink does on
// recovery. Every record must land exactly once, whole, in each writer's
// order.
func testAppendContended(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key, writers, records = "contended/object", 6, 30
	record := func(w, i int) []byte { return fmt.Appendf(nil, "<%02d:%04d>", w, i) }
	recLen := len(record(0, 0))

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			var pos int64
			for i := range records {
				for attempt := 0; ; attempt++ {
					if attempt > 100*writers*records {
						t.Errorf("writer %d: record %d never landed", w, i)
						return
					}
					n, err := s.Append(ctx, key, pos, record(w, i))
					if err == nil {
						pos = n
						break
					}
					pe, ok := store.AsPositionError(err)
					if !ok {
						t.Errorf("writer %d: Append: %v", w, err)
						return
					}
					pos = pe.Length
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(got) != writers*records*recLen {
		t.Fatalf("object has %d bytes, want %d (%d records of %d bytes)", len(got), writers*records*recLen, writers*records, recLen)
	}
	next := make([]int, writers)
	for off := 0; off < len(got); off += recLen {
		var w, i int
		if _, err := fmt.Sscanf(string(got[off:off+recLen]), "<%02d:%04d>", &w, &i); err != nil || w < 0 || w >= writers {
			t.Fatalf("bytes %d-%d are not a whole record: %q", off, off+recLen, got[off:off+recLen])
		}
		if i != next[w] {
			t.Fatalf("at byte %d: writer %d record %d, want record %d (lost, duplicated or reordered)", off, w, i, next[w])
		}
		next[w]++
	}
}

// testAppendAtomic reads an object while it grows by large appends: every
// read must end on an append boundary, never inside one.
func testAppendAtomic(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key = "atomic/data"
	var full []byte
	ends := []int64{}         // where each append ends, in order
	isEnd := map[int64]bool{} // the same, for the readers
	for i := range 24 {
		full = append(full, bytes.Repeat([]byte{byte('a' + i)}, 1+(i%4)*65536+i)...)
		ends = append(ends, int64(len(full)))
		isEnd[int64(len(full))] = true
	}
	mustAppend(t, s, key, 0, full[:ends[0]])

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := 1; i < len(ends); i++ {
			if _, err := s.Append(ctx, key, ends[i-1], full[ends[i-1]:ends[i]]); err != nil {
				t.Errorf("Append #%d: %v", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := s.Get(ctx, key)
			if err != nil {
				t.Errorf("Get during appends: %v", err)
				return
			}
			if !isEnd[int64(len(got))] || !bytes.Equal(got, full[:len(got)]) {
				t.Errorf("Get during appends returned %d bytes, which is not the object after some whole append", len(got))
				return
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Errorf("Stat during appends: %v", err)
				return
			}
			if !isEnd[info.Size] {
				t.Errorf("Stat during appends reported size %d, inside an append", info.Size)
				return
			}
		}
	})
	wg.Wait()
	wantContent(t, s, key, full, true)
}
