package sink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

var errCrash = errors.New("the machine crashed")

// crashStore is a memstore with batches that make writes durable the way
// localstore's do (store.Batcher): appends to existing objects are
// durable when they return; a Put, a Delete and an append that creates an
// object are durable once the same view writes again or the batch syncs.
// A crash of the machine — at the crashAt-th write, or at the Sync of the
// crashSync-th batch — undoes every view's changes that were not durable
// yet, as a lost directory fsync would, and fails every request until
// restart.
type crashStore struct {
	store.Store
	mu        sync.Mutex
	writes    int // writes through views so far
	crashAt   int // 0: no crash at a write
	batches   int // batches started so far
	crashSync int // 0: no crash at a Sync
	crashed   bool
	views     []*crashView
	syncs     int // successful Syncs
	synced    int // writes made before the last successful Sync
}

func (c *crashStore) NewBatch() store.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	return &crashBatch{c: c, n: c.batches}
}

// crash undoes what is not durable; c.mu is held.
func (c *crashStore) crash() {
	c.crashed = true
	for _, v := range c.views {
		for _, undo := range slices.Backward(v.undo) {
			undo()
		}
		v.undo = nil
	}
}

// restart ends the crash: no more crashes.
func (c *crashStore) restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crashed, c.crashAt, c.crashSync = false, 0, 0
}

type crashBatch struct {
	c *crashStore
	n int
}

func (b *crashBatch) View() store.Store {
	v := &crashView{Store: b.c.Store, c: b.c}
	b.c.mu.Lock()
	b.c.views = append(b.c.views, v)
	b.c.mu.Unlock()
	return v
}

func (b *crashBatch) Sync(context.Context) error {
	c := b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.crashed && c.crashSync == b.n {
		c.crash()
	}
	if c.crashed {
		return errCrash
	}
	for _, v := range c.views {
		v.undo = nil
	}
	c.syncs++
	c.synced = c.writes
	return nil
}

type crashView struct {
	store.Store
	c    *crashStore
	undo []func() // restores what the view's changes not yet durable replaced
}

// begin starts a write: the view's earlier changes become durable, unless
// the machine crashes now.
func (v *crashView) begin() error {
	c := v.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return errCrash
	}
	c.writes++
	if c.writes == c.crashAt {
		c.crash()
		return errCrash
	}
	v.undo = nil
	return nil
}

// saved returns what restores key as it is now.
func (v *crashView) saved(key string) func() {
	ctx := context.Background()
	info, err := v.Store.Stat(ctx, key)
	if store.IsNotFound(err) {
		return func() { _ = v.Store.Delete(ctx, key) }
	}
	data, gerr := v.Store.Get(ctx, key)
	if err != nil || gerr != nil {
		panic(fmt.Sprintf("save %s: %v %v", key, err, gerr))
	}
	return func() {
		_ = v.Store.Delete(ctx, key)
		if info.Appendable {
			_, _ = v.Store.Append(ctx, key, 0, data)
		} else {
			_ = v.Store.Put(ctx, key, data)
		}
	}
}

func (v *crashView) changed(undo func()) {
	v.c.mu.Lock()
	v.undo = append(v.undo, undo)
	v.c.mu.Unlock()
}

func (v *crashView) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if err := v.begin(); err != nil {
		return err
	}
	undo := v.saved(key)
	err := v.Store.Put(ctx, key, data, opts...)
	if err == nil {
		v.changed(undo)
	}
	return err
}

func (v *crashView) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	if err := v.begin(); err != nil {
		return err
	}
	undo := v.saved(key)
	err := v.Store.PutReader(ctx, key, r, size, opts...)
	if err == nil {
		v.changed(undo)
	}
	return err
}

func (v *crashView) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if err := v.begin(); err != nil {
		return 0, err
	}
	_, serr := v.Store.Stat(ctx, key)
	n, err := v.Store.Append(ctx, key, pos, data, opts...)
	if err == nil && store.IsNotFound(serr) {
		v.changed(func() { _ = v.Store.Delete(context.Background(), key) })
	}
	return n, err
}

func (v *crashView) Delete(ctx context.Context, key string) error {
	if err := v.begin(); err != nil {
		return err
	}
	undo := v.saved(key)
	err := v.Store.Delete(ctx, key)
	if err == nil {
		v.changed(undo)
	}
	return err
}

// TestCrashBeforeSync: with a store that makes writes durable per batch
// (localstore's batches), a crash of the machine at any write of a batch,
// or at its Sync, loses what was not durable yet; the trigger then
// redelivers the batch, and every record is still stored exactly once.
// And a Write whose Sync failed reports every partition failed.
func TestCrashBeforeSync(t *testing.T) {
	ctx := context.Background()
	var all []events.Record
	for p := int32(0); p < 2; p++ {
		all = append(all, stream(p, 14)...)
	}
	slices.SortStableFunc(all, func(a, b events.Record) int { return int(a.Offset - b.Offset) })
	bounds := []int{0, 10, 18, 28}
	run := func(t *testing.T, su setup, crashAt, crashSync int) (writes int) {
		st := &crashStore{Store: memstore.New(), crashAt: crashAt, crashSync: crashSync}
		sk := newSink(t, su)
		for b := 1; b < len(bounds); b++ {
			batch := all[bounds[b-1]:bounds[b]]
			for attempt := 0; ; attempt++ {
				sum, err := sk.Write(ctx, st, batch)
				if err == nil {
					break
				}
				if !errors.Is(err, errCrash) || attempt == 3 {
					t.Fatalf("batch %d, attempt %d: %v", b, attempt, err)
				}
				for _, p := range sum.Partitions {
					if p.Error == "" {
						t.Fatalf("batch %d: Write failed but partition %d reports no error", b, p.Partition)
					}
				}
				st.restart()
			}
		}
		if st.syncs != len(bounds)-1 {
			t.Errorf("%d successful Syncs, want one per batch (%d)", st.syncs, len(bounds)-1)
		}
		if st.synced != st.writes {
			t.Errorf("the last Sync came after %d of %d writes", st.synced, st.writes)
		}
		if err := su.check(ctx, st, all); err != nil {
			t.Fatalf("crash at write %d, at sync %d: %v", crashAt, crashSync, err)
		}
		return st.writes
	}
	for _, su := range slices.Concat(setups, routedSetups, formatSetups, finalSetups) {
		t.Run(su.name, func(t *testing.T) {
			total := run(t, su, 0, 0)
			for crashSync := 1; crashSync < len(bounds); crashSync++ {
				run(t, su, 0, crashSync)
			}
			for crashAt := 1; crashAt <= total; crashAt++ {
				run(t, su, crashAt, 0)
			}
		})
	}
}
