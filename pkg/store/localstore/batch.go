package localstore

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// NewBatch starts a batch of writes made durable together (see the
// package doc, "Batches").
//
// The durability a view defers is that of its last changes to a
// directory's entries: the rename of a Put, the link of a create, the
// unlink of a Delete. File contents are fsynced as always before they get
// a name (Put, create) or before an append returns, and every write
// through a view first fsyncs the directories its earlier writes changed,
// so a crash of the machine can undo only a view's last directory
// changes, never one that a later surviving write depends on. Sync then
// fsyncs each directory that any view changed once, however many views
// and writes changed it: the sink's 512 partitions rename their meta
// objects in one topic directory, which a batch syncs once instead of 512
// times.
func (s *Store) NewBatch() store.Batch {
	return &batch{s: s, dirs: map[string]struct{}{}}
}

var _ store.Batcher = (*Store)(nil)

// batch is a store.Batch of a Store.
type batch struct {
	s    *Store
	mu   sync.Mutex
	dirs map[string]struct{} // changed by a view since the last Sync
}

// View returns a store.Store whose writes the batch's Sync makes durable.
func (b *batch) View() store.Store {
	return &view{b: b}
}

// Sync fsyncs every directory a view changed, once.
func (b *batch) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("localstore: sync: %w", err)
	}
	b.mu.Lock()
	dirs := make([]string, 0, len(b.dirs))
	for d := range b.dirs {
		dirs = append(dirs, d)
	}
	b.dirs = map[string]struct{}{}
	b.mu.Unlock()
	sort.Strings(dirs)
	for i, d := range dirs {
		// A directory gone since (Delete prunes empty ones) has nothing
		// left to make durable, as for Delete's own sync.
		if err := b.s.syncDir(d); err != nil && !isNotExist(err) {
			b.mu.Lock()
			for _, d := range dirs[i:] {
				b.dirs[d] = struct{}{} // still to do, for a Sync again
			}
			b.mu.Unlock()
			return b.s.fail("sync", d, err)
		}
	}
	return nil
}

// view is one sequence of dependent writes of a batch.
type view struct {
	b *batch
	// mu orders the view's writes with their flushes; pending is the
	// directories its writes changed that are not yet fsynced.
	mu      sync.Mutex
	pending []string
}

var _ store.Store = (*view)(nil)

// changed records a change to dir's entries, for the view's next write and
// the batch's Sync.
func (v *view) changed(dir string) error {
	if !v.b.s.cfg.fsync {
		return nil
	}
	v.b.mu.Lock()
	v.b.dirs[dir] = struct{}{}
	v.b.mu.Unlock()
	for _, d := range v.pending {
		if d == dir {
			return nil
		}
	}
	v.pending = append(v.pending, dir)
	return nil
}

// write runs one write of the view after making the view's earlier
// directory changes durable, so that none of them can be undone by a
// crash that this write survives.
func (v *view) write(op, key string, fn func() error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(v.pending) > 0 {
		d := v.pending[0]
		if err := v.b.s.syncDir(d); err != nil && !isNotExist(err) {
			return v.b.s.fail(op, key, fmt.Errorf("sync the directory of an earlier write: %w", err))
		}
		v.pending = v.pending[1:]
	}
	return fn()
}

func (v *view) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return v.write("put", key, func() error { return v.b.s.putData(ctx, key, data, opts, v) })
}

func (v *view) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return v.write("put reader", key, func() error { return v.b.s.putReader(ctx, key, r, size, opts, v) })
}

func (v *view) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	var n int64
	err := v.write("append", key, func() error {
		var err error
		n, err = v.b.s.append(ctx, key, pos, data, opts, v)
		return err
	})
	return n, err
}

func (v *view) Delete(ctx context.Context, key string) error {
	return v.write("delete", key, func() error { return v.b.s.delete(ctx, key, v) })
}

// Reads are the store's: they see every write, durable or not.

func (v *view) Get(ctx context.Context, key string) ([]byte, error) { return v.b.s.Get(ctx, key) }
func (v *view) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	return v.b.s.GetRange(ctx, key, off, n)
}
func (v *view) Stat(ctx context.Context, key string) (store.Info, error) {
	return v.b.s.Stat(ctx, key)
}
func (v *view) List(ctx context.Context, prefix string) ([]store.Info, error) {
	return v.b.s.List(ctx, prefix)
}
func (v *view) ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]store.Info, bool, error) {
	return v.b.s.ListPage(ctx, prefix, startAfter, limit)
}
func (v *view) Restore(ctx context.Context, key string, days int, tier store.RestoreTier) (store.RestoreState, error) {
	return v.b.s.Restore(ctx, key, days, tier)
}
func (v *view) Tags(ctx context.Context, key string) ([]store.Tag, error) {
	return v.b.s.Tags(ctx, key)
}
