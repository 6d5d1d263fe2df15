package sink_test

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

type faultKind int

const (
	failBefore  faultKind = iota // the request fails without effect
	failAfter                    // the request takes effect, the caller sees an error
	crashBefore                  // the process dies just before the request
	crashAfter                   // the process dies just after the request took effect
)

func (k faultKind) String() string {
	return [...]string{"fail-before", "fail-after", "kill-before", "kill-after"}[k]
}

var (
	errInjected = errors.New("injected fault")
	errKilled   = errors.New("process killed")
)

// faultStore injects one fault at the request numbered at (0-based, over all
// methods, or over the requests of method only if it is set). After a kill
// every request fails: the invocation is dead, and whatever it had in flight
// either landed or did not.
type faultStore struct {
	store.Store
	at     int
	kind   faultKind
	method string // "Append", "Put", ...; "" counts every request

	mu     sync.Mutex
	n      int
	counts map[string]int
	dead   bool
}

func (f *faultStore) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *faultStore) do(method string, op func() error) error {
	f.mu.Lock()
	i := f.n
	f.n++
	if f.method != "" {
		i = f.counts[method]
		if f.counts == nil {
			f.counts = map[string]int{}
		}
		f.counts[method]++
		if method != f.method {
			i = -1
		}
	}
	dead, hit := f.dead, i == f.at
	if hit && (f.kind == crashBefore || f.kind == crashAfter) {
		f.dead = true
	}
	f.mu.Unlock()
	switch {
	case dead:
		return errKilled
	case hit && f.kind == failBefore:
		return errInjected
	case hit && f.kind == crashBefore:
		return errKilled
	}
	err := op()
	switch {
	case hit && f.kind == failAfter:
		return errInjected
	case hit && f.kind == crashAfter:
		return errKilled
	}
	return err
}

func (f *faultStore) Get(ctx context.Context, key string) (b []byte, err error) {
	err = f.do("Get", func() error { b, err = f.Store.Get(ctx, key); return err })
	return b, err
}

func (f *faultStore) GetRange(ctx context.Context, key string, off, n int64) (b []byte, err error) {
	err = f.do("GetRange", func() error { b, err = f.Store.GetRange(ctx, key, off, n); return err })
	return b, err
}

func (f *faultStore) Stat(ctx context.Context, key string) (i store.Info, err error) {
	err = f.do("Stat", func() error { i, err = f.Store.Stat(ctx, key); return err })
	return i, err
}

func (f *faultStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return f.do("Put", func() error { return f.Store.Put(ctx, key, data, opts...) })
}

func (f *faultStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return f.do("PutReader", func() error { return f.Store.PutReader(ctx, key, r, size, opts...) })
}

func (f *faultStore) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (n int64, err error) {
	err = f.do("Append", func() error { n, err = f.Store.Append(ctx, key, pos, data, opts...); return err })
	return n, err
}

func (f *faultStore) List(ctx context.Context, prefix string) (l []store.Info, err error) {
	err = f.do("List", func() error { l, err = f.Store.List(ctx, prefix); return err })
	return l, err
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	return f.do("Delete", func() error { return f.Store.Delete(ctx, key) })
}
