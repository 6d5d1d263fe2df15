package osstest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// object is one stored object. Its bytes are never modified after they are
// written: Put replaces the whole object and Append adds a chunk past the
// end. So a reader may keep a copy of the struct, taken under the lock, and
// use its data without holding the lock.
type object struct {
	data        content
	appendable  bool
	crc         uint64 // CRC-64/ECMA of data
	modified    time.Time
	contentType string
	// contentEncoding is the creating request's Content-Encoding ("" if
	// none); it labels data, which is kept as sent.
	contentEncoding string
	// attrs are the creating request's storage class, encryption, tags
	// and user metadata. Its slices are never modified once set (a
	// PutObjectTagging replaces the tags slice).
	attrs attrs
	// restore is where a restore of an archived object stands.
	restore restoreState
}

// content is an object's bytes, kept as the chunks they were written in: an
// append adds a chunk instead of copying what came before, so that objects
// that grow to hundreds of MB by appends (benchmarks of the sink) cost the
// server no more than the bytes of each request. Chunks are never modified
// once added, and a copy of a content value stays valid while appends add
// chunks past its length.
type content struct {
	chunks [][]byte
	n      int
}

func contentOf(b []byte) content {
	var c content
	c.add(b)
	return c
}

func (c content) len() int { return c.n }

// add appends b, which the object owns from now on.
func (c *content) add(b []byte) {
	if len(b) > 0 {
		c.chunks = append(c.chunks, b)
		c.n += len(b)
	}
}

// bytes returns bytes [start, end): a sub-slice of one chunk when the range
// lies in one, else a copy. Callers must not modify the result.
func (c content) bytes(start, end int) []byte {
	if start >= end {
		return []byte{}
	}
	off := 0
	for i, ch := range c.chunks {
		if start >= off+len(ch) {
			off += len(ch)
			continue
		}
		if end <= off+len(ch) {
			return ch[start-off : end-off : end-off]
		}
		out := make([]byte, 0, end-start)
		out = append(out, ch[start-off:]...)
		for _, ch := range c.chunks[i+1:] {
			out = append(out, ch[:min(len(ch), end-start-len(out))]...)
			if len(out) == end-start {
				break
			}
		}
		return out
	}
	return []byte{}
}

// all returns the whole content (see bytes).
func (c content) all() []byte { return c.bytes(0, c.n) }

func (o *object) etag() string {
	// OSS ETags are MD5 sums for simple uploads; tests only compare them, so
	// an opaque value spares a second pass over every byte.
	return fmt.Sprintf("\"%016X%08X\"", o.crc, uint32(o.data.len()))
}

func (o *object) objectType() string {
	if o.appendable {
		return "Appendable"
	}
	return "Normal"
}

type bucket struct {
	objects map[string]*object
	keys    []string // sorted, for listing
}

func newBucket() *bucket { return &bucket{objects: map[string]*object{}} }

// set stores o at key; the caller holds s.mu for writing.
func (b *bucket) set(key string, o *object) {
	if _, ok := b.objects[key]; !ok {
		i, _ := slices.BinarySearch(b.keys, key)
		b.keys = slices.Insert(b.keys, i, key)
	}
	b.objects[key] = o
}

// remove deletes key; the caller holds s.mu for writing.
func (b *bucket) remove(key string) bool {
	if _, ok := b.objects[key]; !ok {
		return false
	}
	delete(b.objects, key)
	if i, ok := slices.BinarySearch(b.keys, key); ok {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
	return true
}

// lookup returns a snapshot of the object at bucket/key.
func (s *Server) lookup(bkt, key string) (object, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.buckets[bkt]
	if b == nil {
		return object{}, false
	}
	o := b.objects[key]
	if o == nil {
		return object{}, false
	}
	return *o, true
}

func (s *Server) hasBucket(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.buckets[name] != nil
}

// CreateBucket creates an empty bucket; creating an existing one is a no-op.
func (s *Server) CreateBucket(name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("osstest: invalid bucket name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		s.buckets[name] = newBucket()
	}
	return nil
}

// Object returns a copy of the content of bucket/key.
func (s *Server) Object(bkt, key string) ([]byte, bool) {
	o, ok := s.lookup(bkt, key)
	if !ok {
		return nil, false
	}
	return slices.Clone(o.data.all()), true
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Size            int64
	Appendable      bool
	CRC64           uint64 // CRC-64/ECMA of the content, as in x-oss-hash-crc64ecma
	Modified        time.Time
	ContentType     string // as the creating request sent it ("" if it sent none)
	ContentEncoding string // as the creating request sent it ("" if it sent none)

	StorageClass  string // ClassStandard, ..., ClassDeepColdArchive
	SSE, SSEKeyID string // the creating request's server-side encryption
	Tags          []Tag  // in the order the request that set them gave them
	Metadata      []Tag  // user metadata, keys in lower case, sorted

	// Restore is where a restore stands by the server's clock: "" (none
	// asked for, or its copy expired), "ongoing" or "done" (readable until
	// RestoreExpiry).
	Restore       string
	RestoreExpiry time.Time
}

// ObjectInfo describes bucket/key without copying its content.
func (s *Server) ObjectInfo(bkt, key string) (ObjectInfo, bool) {
	o, ok := s.lookup(bkt, key)
	if !ok {
		return ObjectInfo{}, false
	}
	var restore string
	var expiry time.Time
	switch st := o.restore.at(s.now()); st {
	case restoreOngoing:
		restore = "ongoing"
	case restoreDone:
		restore, expiry = "done", o.restore.expiry
	}
	return ObjectInfo{
		Size:            int64(o.data.len()),
		Appendable:      o.appendable,
		CRC64:           o.crc,
		Modified:        o.modified,
		ContentType:     o.contentType,
		ContentEncoding: o.contentEncoding,
		StorageClass:    o.attrs.class,
		SSE:             o.attrs.sse,
		SSEKeyID:        o.attrs.sseKeyID,
		Tags:            slices.Clone(o.attrs.tags),
		Metadata:        slices.Clone(o.attrs.meta),
		Restore:         restore,
		RestoreExpiry:   expiry,
	}, true
}

// Keys returns the sorted keys in bkt that start with prefix.
func (s *Server) Keys(bkt, prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.buckets[bkt]
	if b == nil {
		return nil
	}
	i, _ := slices.BinarySearch(b.keys, prefix)
	var out []string
	for _, k := range b.keys[i:] {
		if !strings.HasPrefix(k, prefix) {
			break
		}
		out = append(out, k)
	}
	return out
}

// PutObjectDirect stores a copy of data at bkt/key, bypassing the protocol,
// faults and counters, as a normal or an appendable object. It is meant for
// planting state (or defects) in tests.
func (s *Server) PutObjectDirect(bkt, key string, data []byte, appendable bool) error {
	if key == "" {
		return fmt.Errorf("osstest: empty key")
	}
	o := &object{
		data:        contentOf(slices.Clone(data)),
		appendable:  appendable,
		crc:         s.crc(0, data),
		modified:    s.now().UTC(),
		contentType: "application/octet-stream",
		attrs:       attrs{class: s.cfg.defaultClass},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bkt]
	if b == nil {
		return fmt.Errorf("osstest: no bucket %q", bkt)
	}
	b.set(key, o)
	return nil
}

// DeleteObjectDirect removes bkt/key, bypassing the protocol, and reports
// whether it existed.
func (s *Server) DeleteObjectDirect(bkt, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bkt]
	return b != nil && b.remove(key)
}
