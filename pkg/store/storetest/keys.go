package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// testInvalidKeys checks that every object operation refuses the keys OSS
// refuses, with a permanent error wrapping store.ErrInvalidKey, and creates
// nothing.
func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	ops := []struct {
		name string
		call func(key string) error
	}{
		{"Get", func(k string) error { _, err := s.Get(ctx, k); return err }},
		{"GetRange", func(k string) error { _, err := s.GetRange(ctx, k, 0, 1); return err }},
		{"Stat", func(k string) error { _, err := s.Stat(ctx, k); return err }},
		{"Put", func(k string) error { return s.Put(ctx, k, []byte("x")) }},
		{"PutNoOverwrite", func(k string) error { return s.Put(ctx, k, []byte("x"), store.NoOverwrite()) }},
		{"PutReader", func(k string) error { return s.PutReader(ctx, k, newReaderAt([]byte("x")), 1) }},
		{"Append", func(k string) error { _, err := s.Append(ctx, k, 0, []byte("x")); return err }},
		{"Delete", func(k string) error { return s.Delete(ctx, k) }},
	}
	keys := []struct{ name, key string }{
		{"empty", ""},
		{"leading slash", "/abs/key"},
		{"leading backslash", "\\abs\\key"},
		{"1024 bytes", strings.Repeat("k/", 511) + "kk"},
		{"invalid UTF-8", "bad/\xff\xfe"},
		{"truncated UTF-8", "bad/\xc3"},
	}
	for _, op := range ops {
		for _, k := range keys {
			t.Run(op.name+"/"+k.name, func(t *testing.T) {
				err := op.call(k.key)
				if !errors.Is(err, store.ErrInvalidKey) {
					t.Fatalf("%s(%.40q) error = %v, want one wrapping store.ErrInvalidKey", op.name, k.key, err)
				}
				if !store.IsPermanent(err) {
					t.Errorf("store.IsPermanent(%v) = false", err)
				}
				if errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s(%.40q) error %v wraps store.ErrNotFound", op.name, k.key, err)
				}
			})
		}
	}
	wantKeys(t, s, "", nil)
}

// testLongestKey uses a key of exactly store.MaxKeyLen bytes, in segments
// short enough for any file system.
func testLongestKey(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	seg := strings.Repeat("ü", 100) // 200 bytes
	key := strings.Repeat(seg+"/", 5)
	key += strings.Repeat("x", store.MaxKeyLen-len(key))
	if len(key) != store.MaxKeyLen {
		t.Fatalf("test key is %d bytes", len(key))
	}
	n := mustAppend(t, s, key, 0, []byte("longest"))
	mustAppend(t, s, key, n, []byte(" key"))
	wantContent(t, s, key, []byte("longest key"), true)
	wantKeys(t, s, key, []string{key})
	wantPages(t, s, key[:500], "", 1, []string{key})
	mustPut(t, s, key, []byte("replaced"))
	wantContent(t, s, key, []byte("replaced"), false)
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, key)
	if t.Failed() {
		return
	}
	t.Run("one byte more", func(t *testing.T) {
		if err := s.Put(ctx, key+"x", nil); !errors.Is(err, store.ErrInvalidKey) {
			t.Fatalf("Put of a %d-byte key: error = %v, want one wrapping store.ErrInvalidKey", len(key)+1, err)
		}
	})
}
