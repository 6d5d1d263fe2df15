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
// Storage classes, encryption, tags and user metadata are kept as written
// (writes OSS would refuse are refused: store.CheckWriteOptions). Objects of
// an archive class refuse Get and GetRange with store.ErrNotRestored until
// Restore is called; the restore completes at once (osstest models the
// wait).
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
	"hash/crc64"
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
	// attrs are the creating write's class, encryption, tags and metadata.
	class         store.StorageClass
	sse, sseKeyID string
	tags, meta    []store.Tag
	// restored says a restore of an archived object was asked for; the
	// first Restore completes at once (memstore has no clock to wait on).
	restored bool
}

var _ store.Store = (*Store)(nil)

var crcTable = crc64.MakeTable(crc64.ECMA)

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
	return store.Info{Key: key, Size: int64(len(o.data)), Appendable: o.appendable, Modified: o.modified, StorageClass: o.class}
}

func newObject(data []byte, appendable bool, wo store.WriteOptions) *object {
	class := wo.StorageClass
	if class == "" {
		class = store.Standard
	}
	return &object{data: data, appendable: appendable, modified: time.Now(),
		contentType: wo.ContentType, contentEncoding: wo.ContentEncoding,
		class: class, sse: wo.SSE, sseKeyID: wo.SSEKeyID,
		tags: sortedTags(wo.Tags), meta: lowerMeta(wo.Metadata)}
}

func sortedTags(tags []store.Tag) []store.Tag {
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// lowerMeta is what OSS returns for user metadata: keys in lower case,
// sorted (a later duplicate wins, as a repeated header would).
func lowerMeta(meta []store.Tag) []store.Tag {
	var out []store.Tag
	for _, m := range meta {
		k := strings.ToLower(m.Key)
		out = slices.DeleteFunc(out, func(t store.Tag) bool { return t.Key == k })
		out = append(out, store.Tag{Key: k, Value: m.Value})
	}
	return sortedTags(out)
}

// readable reports, as ErrNotRestored, an archived object not restored.
func (o *object) readable(op, key string) error {
	if o.class.Archived() && !o.restored {
		return fmt.Errorf("memstore: %s %q: %w", op, key, store.ErrNotRestored)
	}
	return nil
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
	if err := o.readable("get", key); err != nil {
		return nil, err
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
	if err := o.readable("get range", key); err != nil {
		return nil, err
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
	info.SSE, info.SSEKeyID, info.Metadata = o.sse, o.sseKeyID, slices.Clone(o.meta)
	info.CRC64, info.HasCRC64 = crc64.Checksum(o.data, crcTable), true
	if o.restored {
		info.Restore = store.RestoreDone
	}
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
	if err := store.CheckWriteOptions(wo, false); err != nil {
		return fmt.Errorf("memstore: %s %q: %w", op, key, err)
	}
	o := newObject(data, false, wo)
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
	wo := store.ApplyWriteOptions(opts)
	if err := store.CheckWriteOptions(wo, true); err != nil {
		return 0, fmt.Errorf("memstore: append %q: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		if pos != 0 {
			return 0, fmt.Errorf("memstore: %w", &store.PositionError{Key: key, Position: pos, Length: 0})
		}
		o = newObject(clone(data), true, wo)
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

// Restore makes an archived object readable at once: the first call
// answers RestoreRequested, later ones RestoreDone. Days and tier are not
// kept (nothing expires in memory). Objects not archived fail with
// store.ErrUnsupported, as OSS refuses them.
func (s *Store) Restore(ctx context.Context, key string, days int, tier store.RestoreTier) (store.RestoreState, error) {
	if err := check(ctx, "restore", key); err != nil {
		return store.RestoreNone, err
	}
	if days < 1 {
		return store.RestoreNone, fmt.Errorf("memstore: restore %q: %w: days must be at least 1, not %d", key, store.ErrUnsupported, days)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return store.RestoreNone, notFound("restore", key)
	}
	if !o.class.Archived() {
		return store.RestoreNone, fmt.Errorf("memstore: restore %q: %w: the object's class is %s, not an archive class", key, store.ErrUnsupported, o.class)
	}
	if o.restored {
		return store.RestoreDone, nil
	}
	o.restored = true
	return store.RestoreRequested, nil
}

// Tags returns the tags the object was written with, sorted by key.
func (s *Store) Tags(ctx context.Context, key string) ([]store.Tag, error) {
	if err := check(ctx, "get tags of", key); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, notFound("get tags of", key)
	}
	return slices.Clone(o.tags), nil
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
