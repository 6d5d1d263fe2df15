// Package memstore is an in-memory store.Store: the reference
// implementation of the contract in package store, and the store that unit
// tests of the sink engine run against.
//
// Every object lives in a map guarded by one RWMutex, so each operation is
// linearizable: a Get sees a Put or an Append entirely or not at all, and
// concurrent Appends at one position are decided by whoever takes the lock
// first. Data is copied on the way in and on the way out, so callers may
// reuse their buffers and may modify what Get returns.
//
// Keys must follow the OSS naming rules (store.CheckKey); others fail with
// store.ErrInvalidKey, so that a unit test meets the same refusal the
// sink would meet on OSS. Unlike localstore, memstore does not mind keys
// that a file system cannot hold (such as "a" next to "a/b").
//
// Content types and encodings are kept and reported by Stat (List leaves
// them empty, as on OSS); without WithContentType Stat reports "". PutReader
// reads the whole object into memory before storing it.
//
// memstore never fails otherwise: it never reports store.ErrAccessDenied or
// store.ErrNoSuchBucket. Tests that need those wrap it or use ossstore
// against osstest.
//
// Keys and Object are helpers for tests that want to look at the store's
// contents without going through a context and error checks.
package memstore

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Store is an in-memory store.Store, safe for concurrent use.
// The zero value is not usable; call New.
type Store struct {
	mu   sync.RWMutex
	objs map[string]*object
}

type object struct {
	// data is owned by the store: it is never handed out, only copied, so
	// Append can grow it in place (amortised O(n) over a run of appends).
	data       []byte
	appendable bool
	modified   time.Time
	// contentType and contentEncoding are the creating write's options.
	contentType, contentEncoding string
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{objs: make(map[string]*object)}
}

func check(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s %q: %w", op, key, err)
	}
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("memstore: %s %.64q: %w", op, key, err)
	}
	return nil
}

func notFound(op, key string) error {
	return fmt.Errorf("memstore: %s %q: %w", op, key, store.ErrNotFound)
}

func (o *object) info(key string) store.Info {
	return store.Info{Key: key, Size: int64(len(o.data)), Appendable: o.appendable, Modified: o.modified}
}

// Get returns a copy of the object's content.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, notFound("get", key)
	}
	return clone(o.data), nil
}

// GetRange returns a copy of n bytes at off. Negative off or n is an error.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	if err := check(ctx, "get range", key); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, notFound("get range", key)
	}
	size := int64(len(o.data))
	// Written as off > size-n rather than off+n > size so that huge values
	// cannot overflow past the check.
	if off < 0 || n < 0 || n > size || off > size-n {
		return nil, fmt.Errorf("memstore: get range %q: bytes [%d, %d+%d) out of range of a %d-byte object", key, off, off, n, size)
	}
	return clone(o.data[off : off+n]), nil
}

// Stat returns the object's size, kind, content type and encoding.
func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	if err := check(ctx, "stat", key); err != nil {
		return store.Info{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[key]
	if !ok {
		return store.Info{}, notFound("stat", key)
	}
	info := o.info(key)
	info.ContentType, info.ContentEncoding = o.contentType, o.contentEncoding
	return info, nil
}

// Put replaces the object with a copy of data, as a normal object.
func (s *Store) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if err := check(ctx, "put", key); err != nil {
		return err
	}
	// Copy outside the lock: a large Put should not stall readers.
	return s.put("put", key, clone(data), store.ApplyWriteOptions(opts))
}

// PutReader reads size bytes from r into memory and stores them as Put does.
func (s *Store) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	const op = "put reader"
	if err := check(ctx, op, key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("memstore: %s %q: negative size %d", op, key, size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(r, 0, size), data); err != nil {
		return fmt.Errorf("memstore: %s %q: reading %d bytes: %w", op, key, size, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %s %q: %w", op, key, err)
	}
	return s.put(op, key, data, store.ApplyWriteOptions(opts))
}

// put stores data, which the store owns from now on, as a normal object.
func (s *Store) put(op, key string, data []byte, wo store.WriteOptions) error {
	o := &object{data: data, modified: time.Now(), contentType: wo.ContentType, contentEncoding: wo.ContentEncoding}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.objs[key]; exists && wo.NoOverwrite {
		return fmt.Errorf("memstore: %s %q: %w", op, key, store.ErrExists)
	}
	s.objs[key] = o
	return nil
}

// Append appends a copy of data if the object's length is pos. The content
// type and encoding in opts are kept if the append creates the object.
func (s *Store) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if err := check(ctx, "append", key); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		if pos != 0 {
			return 0, fmt.Errorf("memstore: %w", &store.PositionError{Key: key, Position: pos, Length: 0})
		}
		wo := store.ApplyWriteOptions(opts)
		o = &object{data: clone(data), appendable: true, modified: time.Now(),
			contentType: wo.ContentType, contentEncoding: wo.ContentEncoding}
		s.objs[key] = o
		return int64(len(o.data)), nil
	}
	// Kind before position, as OSS does: a normal object is never
	// appendable, whatever position the caller guessed.
	if !o.appendable {
		return 0, fmt.Errorf("memstore: append %q: %w", key, store.ErrNotAppendable)
	}
	if size := int64(len(o.data)); size != pos {
		return 0, fmt.Errorf("memstore: %w", &store.PositionError{Key: key, Position: pos, Length: size})
	}
	o.data = append(o.data, data...)
	o.modified = time.Now()
	return int64(len(o.data)), nil
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list %q: %w", prefix, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	infos := []store.Info{}
	for k, o := range s.objs {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, o.info(k))
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return infos, nil
}

// ListPage returns up to limit objects after startAfter; see store.Store.
// It sorts the matching keys on every call, which is fine for the store of
// unit tests.
func (s *Store) ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]store.Info, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("memstore: list page %q after %q: %w", prefix, startAfter, err)
	}
	if limit <= 0 || limit > store.MaxListPage {
		limit = store.MaxListPage
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var keys []string
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	more := len(keys) > limit
	keys = keys[:min(len(keys), limit)]
	infos := make([]store.Info, len(keys))
	for i, k := range keys {
		infos[i] = s.objs[k].info(k)
	}
	return infos, more, nil
}

// Delete removes the object; an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	return nil
}

// Keys returns every key in the store, sorted. It is a test helper.
func (s *Store) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.objs))
	for k := range s.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Object returns a copy of the content at key and whether it exists.
// It is a test helper.
func (s *Store) Object(key string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, false
	}
	return clone(o.data), true
}

// clone returns a copy of b that is never nil, so that an empty object reads
// back as an empty slice rather than nil.
func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}
