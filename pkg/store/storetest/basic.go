package storetest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

func testNotFound(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "present/object", []byte("x"))
	ops := []struct {
		name string
		call func(key string) error
	}{
		{"Get", func(k string) error { _, err := s.Get(ctx, k); return err }},
		{"GetRange/empty", func(k string) error { _, err := s.GetRange(ctx, k, 0, 0); return err }},
		{"GetRange/one", func(k string) error { _, err := s.GetRange(ctx, k, 0, 1); return err }},
		{"Stat", func(k string) error { _, err := s.Stat(ctx, k); return err }},
	}
	keys := []struct{ name, key string }{
		{"absent", "absent"},
		{"absent nested", "no/such/dir/object"},
		{"dot name", ".oss_meta_file_partition_0"},
		{"directory-like", "present"},
		{"string prefix", "present/obj"},
		{"longer", "present/objects"},
		{"below an object", "present/object/child"},
	}
	for _, op := range ops {
		for _, k := range keys {
			t.Run(op.name+"/"+k.name, func(t *testing.T) {
				err := op.call(k.key)
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s(%q) error = %v, want one wrapping store.ErrNotFound", op.name, k.key, err)
				}
				if !store.IsNotFound(err) {
					t.Errorf("store.IsNotFound(%v) = false", err)
				}
			})
		}
	}
	// Reads must not create anything (no directories, no placeholders).
	wantKeys(t, s, "", []string{"present/object"})
	wantContent(t, s, "present/object", []byte("x"), false)
}

func testPut(t *testing.T, s store.Store) {
	const key = "put/object"
	steps := []struct {
		name  string
		value string
	}{
		{"create", "first value"},
		{"replace with longer", "a considerably longer second value"},
		{"replace with shorter", "s"},
		{"replace with empty", ""},
		{"replace empty", "after empty"},
		{"same again", "after empty"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			mustPut(t, s, key, []byte(step.value))
			wantContent(t, s, key, []byte(step.value), false)
			wantKeys(t, s, "", []string{key})
		})
	}
	t.Run("nil data", func(t *testing.T) {
		mustPut(t, s, "put/nil", nil)
		wantContent(t, s, "put/nil", []byte{}, false)
	})
}

func testPutBuffers(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key = "buffers/put"
	buf := []byte("original")
	mustPut(t, s, key, buf)
	copy(buf, "XXXXXXXX")
	wantContent(t, s, key, []byte("original"), false)

	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(got, "YYYYYYYY")
	part, err := s.GetRange(ctx, key, 1, 3)
	if err != nil {
		t.Fatalf("GetRange: %v", err)
	}
	copy(part, "ZZZ")
	wantContent(t, s, key, []byte("original"), false)
}

// testPutAtomic replaces an object with values of different sizes while
// readers check that every read is one whole value.
func testPutAtomic(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key = "atomic/meta"
	sizes := []int{1, 4097, 65537, 262147}
	values := make([][]byte, len(sizes))
	for i, n := range sizes {
		values[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
	}
	isValue := func(b []byte) bool {
		for _, v := range values {
			if bytes.Equal(b, v) {
				return true
			}
		}
		return false
	}
	mustPut(t, s, key, values[0])

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := 1; i <= 40; i++ {
			if err := s.Put(ctx, key, values[i%len(values)]); err != nil {
				t.Errorf("Put #%d: %v", i, err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for reads := 0; ; reads++ {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.Get(ctx, key)
				if err != nil {
					t.Errorf("Get during Puts: %v", err)
					return
				}
				if !isValue(got) {
					t.Errorf("Get during Puts returned %s, which is no value ever Put", short(got))
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Errorf("Stat during Puts: %v", err)
				return
			}
			ok := false
			for _, n := range sizes {
				ok = ok || info.Size == int64(n)
			}
			if !ok {
				t.Errorf("Stat during Puts reported size %d, which is no value's size", info.Size)
				return
			}
		}
	})
	wg.Wait()
	wantContent(t, s, key, values[40%len(values)], false)
}

func testGetRange(t *testing.T, s store.Store) {
	const content = "0123456789"
	mustPut(t, s, "range/normal", []byte(content))
	n := mustAppend(t, s, "range/appendable", 0, []byte(content[:4]))
	mustAppend(t, s, "range/appendable", n, []byte(content[4:]))
	mustPut(t, s, "range/empty", nil)

	cases := []struct {
		name   string
		off, n int64
		ok     bool
	}{
		{"empty at start", 0, 0, true},
		{"empty in middle", 5, 0, true},
		{"empty at end", 10, 0, true},
		{"whole", 0, 10, true},
		{"head", 0, 3, true},
		{"middle", 3, 4, true},
		{"tail", 7, 3, true},
		{"last byte", 9, 1, true},
		{"one past end", 9, 2, false},
		{"longer than object", 0, 11, false},
		{"empty past end", 11, 0, false},
		{"far past end", 100, 1, false},
		{"negative offset", -1, 1, false},
		{"negative length", 0, -1, false},
	}
	for _, key := range []string{"range/normal", "range/appendable"} {
		for _, c := range cases {
			t.Run(key+"/"+c.name, func(t *testing.T) {
				got, err := s.GetRange(ctxFor(t), key, c.off, c.n)
				switch {
				case c.ok && err != nil:
					t.Fatalf("GetRange(%d, %d): %v", c.off, c.n, err)
				case c.ok && string(got) != content[c.off:c.off+c.n]:
					t.Fatalf("GetRange(%d, %d) = %s, want %q", c.off, c.n, short(got), content[c.off:c.off+c.n])
				case !c.ok && err == nil:
					t.Fatalf("GetRange(%d, %d) = %s, want an error", c.off, c.n, short(got))
				case !c.ok && errors.Is(err, store.ErrNotFound):
					t.Fatalf("GetRange(%d, %d) error %v wraps ErrNotFound, but the object exists", c.off, c.n, err)
				}
			})
		}
	}
	t.Run("empty object", func(t *testing.T) {
		ctx := ctxFor(t)
		if got, err := s.GetRange(ctx, "range/empty", 0, 0); err != nil || len(got) != 0 {
			t.Errorf("GetRange(0, 0) = %s, %v; want empty, nil", short(got), err)
		}
		if _, err := s.GetRange(ctx, "range/empty", 0, 1); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRange(0, 1) error = %v, want an out-of-range error", err)
		}
	})
}

func testStat(t *testing.T, s store.Store) {
	before := time.Now()
	mustPut(t, s, "stat/normal", []byte("hello"))
	mustPut(t, s, "stat/empty", nil)
	n := mustAppend(t, s, "stat/appendable", 0, []byte("abc"))
	wantContent(t, s, "stat/normal", []byte("hello"), false)
	wantContent(t, s, "stat/empty", []byte{}, false)
	wantContent(t, s, "stat/appendable", []byte("abc"), true)
	mustAppend(t, s, "stat/appendable", n, []byte("defg"))
	wantContent(t, s, "stat/appendable", []byte("abcdefg"), true)

	for _, key := range []string{"stat/normal", "stat/empty", "stat/appendable"} {
		info, err := s.Stat(ctxFor(t), key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		checkModified(t, key, info.Modified, before)
	}
}

// checkModified accepts a zero time (the contract allows it) or one within
// an hour of the test, which tolerates a server clock that is off.
func checkModified(t *testing.T, key string, m, before time.Time) {
	t.Helper()
	if m.IsZero() {
		return
	}
	if m.Before(before.Add(-time.Hour)) || m.After(time.Now().Add(time.Hour)) {
		t.Errorf("%q: Modified = %v, not within an hour of the test (%v)", key, m, before)
	}
}

func testDelete(t *testing.T, s store.Store) {
	cases := []struct {
		name  string
		setup func(t *testing.T, key string)
	}{
		{"absent", func(*testing.T, string) {}},
		{"normal", func(t *testing.T, key string) { mustPut(t, s, key, []byte("normal")) }},
		{"empty", func(t *testing.T, key string) { mustPut(t, s, key, nil) }},
		{"appendable", func(t *testing.T, key string) { mustAppend(t, s, key, 0, []byte("appendable")) }},
	}
	mustPut(t, s, "delete/neighbour", []byte("stays"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxFor(t)
			key := "delete/" + c.name
			c.setup(t, key)
			for i := range 2 {
				if err := s.Delete(ctx, key); err != nil {
					t.Fatalf("Delete #%d: %v", i+1, err)
				}
				wantAbsent(t, s, key)
			}
			wantKeys(t, s, key, nil)
			wantContent(t, s, "delete/neighbour", []byte("stays"), false)

			// The key is free again, for either kind of object.
			mustAppend(t, s, key, 0, []byte("again"))
			wantContent(t, s, key, []byte("again"), true)
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			mustPut(t, s, key, []byte("again"))
			wantContent(t, s, key, []byte("again"), false)
			if err := s.Delete(ctx, key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		})
	}
	wantKeys(t, s, "", []string{"delete/neighbour"})
}

// testDeleteDirectoryLike checks that deleting a key that is only a path
// prefix of other keys removes nothing, and that deleting the last object
// under a prefix leaves nothing behind in List.
func testDeleteDirectoryLike(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "dir/sub/object", []byte("1"))
	mustAppend(t, s, "dir/other", 0, []byte("2"))
	for _, key := range []string{"dir", "dir/sub", "di", "dir/sub/obj"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
	}
	wantKeys(t, s, "", []string{"dir/other", "dir/sub/object"})
	wantContent(t, s, "dir/sub/object", []byte("1"), false)

	if err := s.Delete(ctx, "dir/sub/object"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantKeys(t, s, "", []string{"dir/other"})
	if err := s.Delete(ctx, "dir/other"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantKeys(t, s, "", nil)
	wantAbsent(t, s, "dir")
	wantAbsent(t, s, "dir/sub")

	// A new object can take the place of the emptied prefix.
	mustPut(t, s, "dir/sub/object", []byte("3"))
	wantContent(t, s, "dir/sub/object", []byte("3"), false)
}

func testBinary(t *testing.T, s store.Store) {
	var data []byte
	for range 4 {
		for b := range 256 {
			data = append(data, byte(b))
		}
		for b := 255; b >= 0; b-- {
			data = append(data, byte(b))
		}
	}
	mustPut(t, s, "binary/put", data)
	wantContent(t, s, "binary/put", data, false)

	var n int64
	for _, cut := range [][2]int{{0, 1}, {1, 300}, {300, 1000}, {1000, len(data)}} {
		n = mustAppend(t, s, "binary/append", n, data[cut[0]:cut[1]])
	}
	wantContent(t, s, "binary/append", data, true)

	got, err := s.GetRange(ctxFor(t), "binary/append", 250, 12)
	if err != nil || !bytes.Equal(got, data[250:262]) {
		t.Fatalf("GetRange(250, 12) = %v, %v; want %v", got, err, data[250:262])
	}
}

// testLarge builds an 8 MiB object out of uneven appends, as the sink does
// with batches, and writes the same bytes with one Put.
func testLarge(t *testing.T, s store.Store) {
	const size = 8 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{'s', 't', 'o', 'r', 'e'})
	_, _ = rng.Read(data)

	var pos int64
	for i := 0; pos < size; i++ {
		n := int64(1<<20 + (i%3-1)*4099) // around 1 MiB, never aligned
		n = min(n, size-pos)
		pos = mustAppend(t, s, "large/appended", pos, data[pos:pos+n])
	}
	wantContent(t, s, "large/appended", data, true)

	mustPut(t, s, "large/put", data)
	wantContent(t, s, "large/put", data, false)

	for _, key := range []string{"large/appended", "large/put"} {
		off, n := int64(1<<20-100), int64(3<<20+200)
		got, err := s.GetRange(ctxFor(t), key, off, n)
		if err != nil || !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("GetRange(%q, %d, %d) = %d bytes, %v; want the same bytes as written", key, off, n, len(got), err)
		}
	}
}

// testCancelled calls every operation with a cancelled context. A store
// should fail them; one that cannot interrupt local I/O may succeed, but
// none may hang or leave a partial write.
func testCancelled(t *testing.T, s store.Store) {
	mustPut(t, s, "cancel/normal", []byte("old"))
	mustPut(t, s, "cancel/streamed", []byte("old"))
	mustAppend(t, s, "cancel/appendable", 0, []byte("old"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ops := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "cancel/normal"); return err }},
		{"GetRange", func() error { _, err := s.GetRange(ctx, "cancel/normal", 0, 1); return err }},
		{"Stat", func() error { _, err := s.Stat(ctx, "cancel/normal"); return err }},
		{"List", func() error { _, err := s.List(ctx, "cancel/"); return err }},
		{"ListPage", func() error { _, _, err := s.ListPage(ctx, "cancel/", "", 1); return err }},
		{"Put", func() error { return s.Put(ctx, "cancel/normal", []byte("new value")) }},
		{"PutReader", func() error {
			return s.PutReader(ctx, "cancel/streamed", newReaderAt([]byte("streamed")), int64(len("streamed")))
		}},
		{"Append", func() error { _, err := s.Append(ctx, "cancel/appendable", 3, []byte("+more")); return err }},
		{"AppendCreate", func() error { _, err := s.Append(ctx, "cancel/created", 0, []byte("created")); return err }},
		{"Delete", func() error { return s.Delete(ctx, "cancel/absent") }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			// Buffered, so a call that returns after the test gave up on it
			// does not block or touch t.
			errc := make(chan error, 1)
			go func() { errc <- op.call() }()
			select {
			case err := <-errc:
				if err == nil {
					t.Logf("%s succeeded with a cancelled context (tolerated)", op.name)
				} else if !errors.Is(err, context.Canceled) {
					t.Logf("%s failed with %v, which does not wrap context.Canceled (tolerated)", op.name, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s with a cancelled context did not return within 10s", op.name)
			}
		})
	}

	// Whatever happened, it happened whole.
	wantOneOf(t, s, "cancel/normal", "old", "new value")
	wantOneOf(t, s, "cancel/streamed", "old", "streamed")
	wantOneOf(t, s, "cancel/appendable", "old", "old+more")
	if got, err := s.Get(ctxFor(t), "cancel/created"); err == nil && string(got) != "created" {
		t.Errorf("cancel/created = %s, want %q or absent", short(got), "created")
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(cancel/created): %v", err)
	}
}

func wantOneOf(t *testing.T, s store.Store, key string, values ...string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	for _, v := range values {
		if string(got) == v {
			return
		}
	}
	t.Errorf("Get(%q) = %s, want one of %q", key, short(got), values)
}
