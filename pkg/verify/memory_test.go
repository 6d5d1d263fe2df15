package verify_test

import (
	"bytes"
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// heapWatch samples the live heap at every ranged read: the points where
// verify holds the most (a chunk read while the previous ones are parsed).
type heapWatch struct {
	store.Store
	peak uint64
}

func (h *heapWatch) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b, err := h.Store.GetRange(ctx, key, off, n)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.peak = max(h.peak, ms.HeapAlloc)
	return b, err
}

// TestIndexedMemoryBounded: verifying a partition of 46 MiB or more of indexed
// objects, in every format, holds a few chunks and one append's index
// entry at a time, not the data.
func TestIndexedMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 48 MiB per format")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	for _, enc := range []format.Encoder{{}, {Format: format.JSONL}} {
		t.Run(enc.Format.String(), func(t *testing.T) {
			st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
			value := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB
			const n, batch = 24000, 1000
			recs := make([]events.Record, n)
			for i := range recs {
				off := int64(i)
				recs[i] = events.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: 1_700_000_000_000 + off, Value: value}
			}
			fixture.ByEngine(t, st, batch, recs, sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(4000))
			recs = nil
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			hw := &heapWatch{Store: st}
			rep, err := verify.Run(context.Background(), hw, verify.WithPrefix(prefix), verify.WithChunkSize(512<<10))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || rep.Total.Records != n || rep.Total.Bytes < 46<<20 {
				t.Fatalf("report: %+v %v", rep.Total, rep.AllDefects())
			}
			grew := int64(hw.peak) - int64(base)
			t.Logf("%s: %.1f MiB verified, heap grew by at most %.1f MiB", enc.Format, float64(rep.Total.Bytes)/(1<<20), float64(grew)/(1<<20))
			if grew > 16<<20 {
				t.Errorf("heap grew by %d MiB verifying %d MiB", grew>>20, rep.Total.Bytes>>20)
			}
		})
	}
}
