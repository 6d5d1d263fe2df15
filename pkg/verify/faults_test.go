package verify_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// faultStore fails one request, the one numbered at (0-based, over every
// request): before it takes effect, or after (the caller sees an error for
// a request that landed, as when its reply is lost).
type faultStore struct {
	store.Store
	at    int
	after bool

	mu  sync.Mutex
	n   int
	hit bool
}

func (f *faultStore) do(op func() error) error {
	f.mu.Lock()
	hit := f.n == f.at
	f.n++
	f.hit = f.hit || hit
	f.mu.Unlock()
	if !hit {
		return op()
	}
	if !f.after {
		return errInjected
	}
	if err := op(); err != nil {
		return err
	}
	return errInjected
}

func (f *faultStore) Get(ctx context.Context, key string) (b []byte, err error) {
	err = f.do(func() error { b, err = f.Store.Get(ctx, key); return err })
	return b, err
}

func (f *faultStore) GetRange(ctx context.Context, key string, off, n int64) (b []byte, err error) {
	err = f.do(func() error { b, err = f.Store.GetRange(ctx, key, off, n); return err })
	return b, err
}

func (f *faultStore) Stat(ctx context.Context, key string) (i store.Info, err error) {
	err = f.do(func() error { i, err = f.Store.Stat(ctx, key); return err })
	return i, err
}

func (f *faultStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return f.do(func() error { return f.Store.Put(ctx, key, data, opts...) })
}

func (f *faultStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return f.do(func() error { return f.Store.PutReader(ctx, key, r, size, opts...) })
}

func (f *faultStore) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (n int64, err error) {
	err = f.do(func() error { n, err = f.Store.Append(ctx, key, pos, data, opts...); return err })
	return n, err
}

func (f *faultStore) List(ctx context.Context, prefix string) (l []store.Info, err error) {
	err = f.do(func() error { l, err = f.Store.List(ctx, prefix); return err })
	return l, err
}

func (f *faultStore) ListPage(ctx context.Context, prefix, after string, limit int) (l []store.Info, more bool, err error) {
	err = f.do(func() error { l, more, err = f.Store.ListPage(ctx, prefix, after, limit); return err })
	return l, more, err
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	return f.do(func() error { return f.Store.Delete(ctx, key) })
}

// TestEngineFaults runs the real engine over records with offset gaps,
// tombstones, keys and values holding '\n' or 0x0A bytes, in batches of
// two partitions, with one store request failing, each request in turn,
// before or after it takes effect; the failed batch is delivered again
// together with the one before it, as a trigger that resumes at or before
// the first unacknowledged record does. Whatever the engine left behind
// (announcements that never landed, appends the meta object does not
// record, objects sealed by the failed attempt), verify finds every record
// exactly once, with exact offsets, and no defect at all.
func TestEngineFaults(t *testing.T) {
	for _, enc := range []format.Encoder{{}, {ValueEncoding: events.Base64}, {Format: format.JSONL}} {
		binary := enc.ValueEncoding == events.Base64
		var batches [][]events.Record
		want := map[int32][]events.Record{}
		for p := range int32(2) {
			want[p] = fixture.Records(topic, p, 100, 21, binary)
		}
		for i := 0; i < 21; i += 4 {
			var b []events.Record
			for p := range int32(2) {
				b = append(b, want[p][i:min(i+4, 21)]...)
			}
			batches = append(batches, b)
		}
		sk, err := sink.New(sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(5), sink.WithConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		// A clean run counts the requests to fail in turn.
		clean := &faultStore{Store: memstore.New(), at: -1}
		for _, b := range batches {
			if _, err := sk.Write(context.Background(), clean, b); err != nil {
				t.Fatal(err)
			}
		}
		for at := range clean.n {
			for _, after := range []bool{false, true} {
				name := fmt.Sprintf("%s-%s/request-%d/fail-before", enc.Format, enc.ValueEncoding, at)
				if after {
					name = name[:len(name)-len("before")] + "after"
				}
				t.Run(name, func(t *testing.T) {
					st := &faultStore{Store: memstore.New(), at: at, after: after}
					for i, b := range batches {
						if _, err := sk.Write(context.Background(), st, b); err != nil {
							redelivery := b
							if i > 0 {
								redelivery = append(append([]events.Record{}, batches[i-1]...), b...)
							}
							if _, err := sk.Write(context.Background(), st, redelivery); err != nil {
								t.Fatalf("batch %d delivered again: %v", i, err)
							}
						}
					}
					if !st.hit {
						t.Fatal("the fault was not injected")
					}
					rep, err := verify.Run(context.Background(), st.Store, verify.WithPrefix(prefix), verify.WithChunkSize(24))
					if err != nil {
						t.Fatal(err)
					}
					if !rep.OK() || len(rep.AllDefects()) != 0 || len(rep.Partitions) != 2 {
						t.Fatalf("defects: %v", rep.AllDefects())
					}
					for _, p := range rep.Partitions {
						recs := want[p.Partition]
						if p.Records != int64(len(recs)) || !p.ExactOffsets || p.FirstOffset != recs[0].Offset || p.LastOffset != recs[len(recs)-1].Offset ||
							p.Meta.RecordsWritten != int64(len(recs)) || p.LegacyRaw != 0 {
							t.Errorf("partition %d: %+v", p.Partition, p)
						}
					}
				})
			}
		}
	}
}
