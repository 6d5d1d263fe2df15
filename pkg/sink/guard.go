package sink

import (
	"context"
	"fmt"
	"io"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// guardedStore counts the requests of one partition's work and refuses to
// start a request once the (margin-shortened) deadline has passed: a request
// started then could still be running when the platform ends the
// invocation, and the trigger's retry would race with it.
type guardedStore struct {
	st       store.Store
	requests int
	// large, when set, is the Sink's bound on partitions reading large
	// ranges at once (see largeRead); held: this partition holds a place,
	// until release.
	large chan struct{}
	held  bool
}

// largeRead is the smallest GetRange that needs a place in the Sink's
// bound on large reads (MaxLargeReaders). The steady path reads only the
// meta object; recovery, the duplicate check and finalizing read data in
// chunks of up to WithReadChunk (4 MiB), and with 64 partitions at once
// those could hold 256 MiB. Smaller reads are one at a time per
// partition: at most 64 x 256 KiB in flight.
const largeRead = 256 << 10

// admitLarge waits for a place in the bound on large reads, once per
// partition: a partition keeps its place until release, so that it never
// waits again in the middle of its work, and never while holding anything
// another partition waits for.
func (g *guardedStore) admitLarge(ctx context.Context, key string) error {
	if g.large == nil || g.held {
		return nil
	}
	select {
	case g.large <- struct{}{}:
		g.held = true
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to read %s: %w", key, context.Cause(ctx))
	}
}

// release gives up the partition's place in the bound on large reads.
func (g *guardedStore) release() {
	if g.held {
		<-g.large
		g.held = false
	}
}

func (g *guardedStore) start(ctx context.Context, op, key string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w", op, key, context.Cause(ctx))
	}
	g.requests++
	return nil
}

func (g *guardedStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := g.start(ctx, "get", key); err != nil {
		return nil, err
	}
	return g.st.Get(ctx, key)
}

func (g *guardedStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if n >= largeRead {
		if err := g.admitLarge(ctx, key); err != nil {
			return nil, err
		}
	}
	if err := g.start(ctx, "get range of", key); err != nil {
		return nil, err
	}
	return g.st.GetRange(ctx, key, off, n)
}

func (g *guardedStore) Stat(ctx context.Context, key string) (store.Info, error) {
	if err := g.start(ctx, "stat", key); err != nil {
		return store.Info{}, err
	}
	return g.st.Stat(ctx, key)
}

func (g *guardedStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if err := g.start(ctx, "put", key); err != nil {
		return err
	}
	return g.st.Put(ctx, key, data, opts...)
}

func (g *guardedStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	if err := g.start(ctx, "put", key); err != nil {
		return err
	}
	return g.st.PutReader(ctx, key, r, size, opts...)
}

func (g *guardedStore) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if err := g.start(ctx, "append to", key); err != nil {
		return 0, err
	}
	return g.st.Append(ctx, key, pos, data, opts...)
}

func (g *guardedStore) List(ctx context.Context, prefix string) ([]store.Info, error) {
	if err := g.start(ctx, "list", prefix); err != nil {
		return nil, err
	}
	return g.st.List(ctx, prefix)
}

func (g *guardedStore) ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]store.Info, bool, error) {
	if err := g.start(ctx, "list a page of", prefix); err != nil {
		return nil, false, err
	}
	return g.st.ListPage(ctx, prefix, startAfter, limit)
}

func (g *guardedStore) Delete(ctx context.Context, key string) error {
	if err := g.start(ctx, "delete", key); err != nil {
		return err
	}
	return g.st.Delete(ctx, key)
}

func (g *guardedStore) Restore(ctx context.Context, key string, days int, tier store.RestoreTier) (store.RestoreState, error) {
	if err := g.start(ctx, "restore", key); err != nil {
		return store.RestoreNone, err
	}
	return g.st.Restore(ctx, key, days, tier)
}

func (g *guardedStore) Tags(ctx context.Context, key string) ([]store.Tag, error) {
	if err := g.start(ctx, "get tags of", key); err != nil {
		return nil, err
	}
	return g.st.Tags(ctx, key)
}
