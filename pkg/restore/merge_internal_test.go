package restore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// getCounter counts the whole-object reads of data objects.
type getCounter struct {
	store.Store
	mu   sync.Mutex
	gets []string
}

func (g *getCounter) Get(ctx context.Context, key string) ([]byte, error) {
	if _, ok := objindex.DataKey(key); !ok && strings.Contains(key, "partition_") {
		g.mu.Lock()
		g.gets = append(g.gets, key)
		g.mu.Unlock()
	}
	return g.Store.Get(ctx, key)
}

// TestMergeLoadsLazily: the merge of many folders loads an object only
// when it reaches the offset the object is named for, and keeps at most
// one object per folder, only of the folders whose current object spans
// the offset reached: for folders of consecutive offset ranges (time
// folders), one object at a time, whatever the number of folders.
func TestMergeLoadsLazily(t *testing.T) {
	const folders, perFolder = 40, 6
	for _, tc := range []struct {
		name       string
		folder     func(off int64) int64
		maxLoaded  int // most objects held at once
		firstReads int // objects read to yield the first record
	}{
		{"consecutive", func(off int64) int64 { return off / perFolder }, 1, 1},
		{"interleaved", func(off int64) int64 { return off % folders }, folders, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &getCounter{Store: memstore.New()}
			w := &fixture.Writer{St: st, Prefix: "bk", Enc: format.Encoder{Format: format.JSONL}, Flush: 3,
				Route: func(r *events.Record) (string, bool) { return fmt.Sprintf("f%02d/", tc.folder(r.Offset)), true }}
			recs := fixture.Records("src", 0, 0, folders*perFolder, false)
			for i := range recs {
				recs[i].Offset = int64(i) // no gaps: the folders' ranges are exact
			}
			for i := 0; i < len(recs); i += 12 {
				w.Write(t, "src", 0, recs[i:min(i+12, len(recs))])
			}
			o := &options{prefix: "bk/", topic: "src", epoch: -1}
			jobs, _, _, err := plan(t.Context(), st, o)
			if err != nil || len(jobs) != 1 || len(jobs[0].folders) != folders {
				t.Fatalf("plan: %v, %d jobs", err, len(jobs))
			}
			st.gets = nil
			it := records(t.Context(), st, jobs[0].folders, events.Text, 0, -1, nil)
			maxLoaded := 0
			for n := int64(0); ; n++ {
				r, ok, err := it.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					if n != int64(len(recs)) {
						t.Fatalf("%d records, want %d", n, len(recs))
					}
					break
				}
				if r.offset != n {
					t.Fatalf("record %d has offset %d", n, r.offset)
				}
				if n == 0 && len(st.gets) != tc.firstReads {
					t.Fatalf("%d objects read for the first record, want %d: %v", len(st.gets), tc.firstReads, st.gets)
				}
				loaded := 0
				for _, c := range it.h {
					if c.recs != nil {
						loaded++
					}
				}
				maxLoaded = max(maxLoaded, loaded)
			}
			if maxLoaded != tc.maxLoaded {
				t.Errorf("up to %d objects held at once, want %d", maxLoaded, tc.maxLoaded)
			}
			if len(st.gets) != len(w.Objects("src", 0)) {
				t.Errorf("%d reads for %d objects", len(st.gets), len(w.Objects("src", 0)))
			}
		})
	}
}
