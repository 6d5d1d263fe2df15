package storetest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Option tells Run what the store under test does where store.go lets
// stores differ.
type Option func(*config)

type config struct {
	keepsContentHeaders bool
	keepsAttributes     bool
	completeRestore     func(t *testing.T, s store.Store, key string)
}

func defaultConfig() config { return config{keepsContentHeaders: true, keepsAttributes: true} }

// WithoutAttributes says the store keeps no storage classes, encryption,
// tags or user metadata (it accepts the writes OSS accepts and drops them):
// the suite then checks that Stat and List report none, that objects
// written in an archive class read at once, and that Restore and Tags fail
// with store.ErrUnsupported. Default: the store keeps them.
func WithoutAttributes() Option {
	return func(c *config) { c.keepsAttributes = false }
}

// WithCompleteRestore says the store's restores take time, and gives the
// suite the way to finish one: complete must make the running restore of
// key in s finish (for ossstore against osstest,
// osstest.Server.CompleteRestore on the subtest's bucket), and fail t if
// there is none. The suite then checks that a second Restore before
// complete answers RestoreInProgress and that the object stays unreadable
// until complete. Default: the store's restores finish at once, so the
// Restore after the one that answered RestoreRequested answers RestoreDone.
func WithCompleteRestore(complete func(t *testing.T, s store.Store, key string)) Option {
	return func(c *config) { c.completeRestore = complete }
}

// WithoutContentHeaders says the store does not keep content types and
// encodings: the suite then checks that Stat reports "" for both, instead
// of the values written. Default: the store keeps them.
func WithoutContentHeaders() Option {
	return func(c *config) { c.keepsContentHeaders = false }
}

// readerAt offers only ReadAt, so that a store cannot take a shortcut
// through another interface of the value it is given.
type readerAt struct{ r *bytes.Reader }

func newReaderAt(b []byte) readerAt { return readerAt{bytes.NewReader(b)} }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.r.ReadAt(p, off) }

// failingReaderAt returns its bytes up to fail, then an error.
type failingReaderAt struct {
	data []byte
	fail int64
}

var errSource = errors.New("storetest: the source broke")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.fail {
		return 0, errSource
	}
	n := copy(p, f.data[off:min(f.fail, int64(len(f.data)))])
	if int64(n) < int64(len(p)) {
		return n, errSource
	}
	return n, nil
}

func mustPutReader(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) {
	t.Helper()
	if err := s.PutReader(ctxFor(t), key, newReaderAt(data), int64(len(data)), opts...); err != nil {
		t.Fatalf("PutReader(%q, %d bytes): %v", key, len(data), err)
	}
}

// wantExists checks that err is the answer to a NoOverwrite write of a key
// that is taken.
func wantExists(t *testing.T, op, key string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrExists) || !store.IsExists(err) {
		t.Fatalf("%s(%q) with NoOverwrite on an existing key: error = %v, want one wrapping store.ErrExists", op, key, err)
	}
	if store.IsPermanent(err) {
		t.Errorf("store.IsPermanent(%v) = true; ErrExists is an answer", err)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s(%q) error %v wraps store.ErrNotFound", op, key, err)
	}
}

// putFuncs are the two ways to write a normal object, for tests that hold
// for both.
var putFuncs = []struct {
	name string
	put  func(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) error
}{
	{"Put", func(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) error {
		return s.Put(ctxFor(t), key, data, opts...)
	}},
	{"PutReader", func(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) error {
		return s.PutReader(ctxFor(t), key, newReaderAt(data), int64(len(data)), opts...)
	}},
}

// testNoOverwrite: NoOverwrite creates an absent key, and leaves an
// existing object of either kind as it was.
func testNoOverwrite(t *testing.T, s store.Store) {
	for _, pf := range putFuncs {
		t.Run(pf.name, func(t *testing.T) {
			pre := "nooverwrite/" + pf.name + "/"
			cases := []struct {
				name       string
				setup      func(key string) // nil: the key is absent
				want       string           // content afterwards
				appendable bool
			}{
				{"absent", nil, "new", false},
				{"normal", func(k string) { mustPut(t, s, k, []byte("old")) }, "old", false},
				{"empty normal", func(k string) { mustPut(t, s, k, nil) }, "", false},
				{"appendable", func(k string) { mustAppend(t, s, k, 0, []byte("old")) }, "old", true},
				{"empty appendable", func(k string) { mustAppend(t, s, k, 0, nil) }, "", true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					key := pre + tc.name
					if tc.setup != nil {
						tc.setup(key)
					}
					err := pf.put(t, s, key, []byte("new"), store.NoOverwrite())
					if tc.setup == nil {
						if err != nil {
							t.Fatalf("%s(%q) with NoOverwrite on an absent key: %v", pf.name, key, err)
						}
					} else {
						wantExists(t, pf.name, key, err)
					}
					wantContent(t, s, key, []byte(tc.want), tc.appendable)
					// A second attempt finds the key taken, whatever the first did.
					wantExists(t, pf.name, key, pf.put(t, s, key, []byte("again"), store.NoOverwrite()))
					wantContent(t, s, key, []byte(tc.want), tc.appendable)
					// Without the option the object is replaced as ever.
					if err := pf.put(t, s, key, []byte("replaced")); err != nil {
						t.Fatalf("%s(%q) without NoOverwrite: %v", pf.name, key, err)
					}
					wantContent(t, s, key, []byte("replaced"), false)
				})
			}
			// Appends ignore the option: the fence decides.
			key := pre + "append"
			n := mustAppend(t, s, key, 0, []byte("a"), store.NoOverwrite())
			mustAppend(t, s, key, n, []byte("b"), store.NoOverwrite())
			wantContent(t, s, key, []byte("ab"), true)
			wantKeys(t, s, pre, []string{
				pre + "absent", pre + "append", pre + "appendable", pre + "empty appendable", pre + "empty normal", pre + "normal",
			})
		})
	}
}

// testNoOverwriteRace: of several NoOverwrite puts racing for one absent
// key exactly one succeeds, and the object holds its bytes.
func testNoOverwriteRace(t *testing.T, s store.Store) {
	const racers = 8
	for _, pf := range putFuncs {
		t.Run(pf.name, func(t *testing.T) {
			key := "race/nooverwrite/" + pf.name
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					errs[i] = pf.put(t, s, key, fmt.Appendf(nil, "racer %d", i), store.NoOverwrite())
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("racers %d and %d both created %q", winner, i, key)
				case err == nil:
					winner = i
				default:
					wantExists(t, pf.name, key, err)
				}
			}
			if winner < 0 {
				t.Fatalf("no racer created %q", key)
			}
			wantContent(t, s, key, fmt.Appendf(nil, "racer %d", winner), false)
		})
	}
}

// testContentHeaders: the content type and encoding of the write that
// creates an object come back from Stat (or "" from a store that does not
// keep them), whatever later appends ask for.
func testContentHeaders(t *testing.T, s store.Store, keeps bool) {
	ctx := ctxFor(t)
	const ct, ce = "application/x-ndjson", "gzip"
	want := func(t *testing.T, key, wantCT, wantCE string) {
		t.Helper()
		if !keeps {
			wantCT, wantCE = "", ""
		}
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if info.ContentType != wantCT || info.ContentEncoding != wantCE {
			t.Fatalf("Stat(%q) = {ContentType %q, ContentEncoding %q}, want {%q, %q}",
				key, info.ContentType, info.ContentEncoding, wantCT, wantCE)
		}
	}
	opts := []store.WriteOption{store.WithContentType(ct), store.WithContentEncoding(ce)}
	for _, pf := range putFuncs {
		t.Run(pf.name, func(t *testing.T) {
			key := "content/" + pf.name
			if err := pf.put(t, s, key, []byte("x"), opts...); err != nil {
				t.Fatalf("%s(%q): %v", pf.name, key, err)
			}
			want(t, key, ct, ce)
			// A later option of the same kind wins.
			if err := pf.put(t, s, key, []byte("y"), store.WithContentType("text/plain"), store.WithContentType("text/csv; charset=utf-8")); err != nil {
				t.Fatalf("%s(%q): %v", pf.name, key, err)
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if keeps && info.ContentType != "text/csv; charset=utf-8" {
				t.Fatalf("Stat(%q).ContentType = %q after a replace, want %q", key, info.ContentType, "text/csv; charset=utf-8")
			}
			// A replace without options drops the encoding; the type is the
			// store's default, whatever that is, but not the old one.
			if err := pf.put(t, s, key, []byte("z")); err != nil {
				t.Fatalf("%s(%q): %v", pf.name, key, err)
			}
			if info, err = s.Stat(ctx, key); err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if info.ContentEncoding != "" || info.ContentType == "text/csv; charset=utf-8" {
				t.Fatalf("Stat(%q) after a replace without options = {ContentType %q, ContentEncoding %q}, want the defaults",
					key, info.ContentType, info.ContentEncoding)
			}
		})
	}
	t.Run("Append", func(t *testing.T) {
		const key = "content/appendable"
		n := mustAppend(t, s, key, 0, []byte("a"), opts...)
		want(t, key, ct, ce)
		n = mustAppend(t, s, key, n, []byte("b"), store.WithContentType("text/plain"), store.WithContentEncoding("zstd"))
		mustAppend(t, s, key, n, []byte("c"))
		want(t, key, ct, ce)
		wantContent(t, s, key, []byte("abc"), true)
	})
	t.Run("AppendToEmpty", func(t *testing.T) {
		// Position 0 on an existing empty object appends; it creates nothing.
		const key = "content/empty-appendable"
		mustAppend(t, s, key, 0, nil, opts...)
		mustAppend(t, s, key, 0, []byte("a"), store.WithContentType("text/plain"), store.WithContentEncoding("zstd"))
		want(t, key, ct, ce)
	})
	t.Run("List", func(t *testing.T) {
		infos, err := s.List(ctx, "content/")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		page, _, err := s.ListPage(ctx, "content/", "", 0)
		if err != nil {
			t.Fatalf("ListPage: %v", err)
		}
		for _, info := range append(infos, page...) {
			if info.ContentType != "" || info.ContentEncoding != "" {
				t.Errorf("List reports {ContentType %q, ContentEncoding %q} for %q; only Stat reports them",
					info.ContentType, info.ContentEncoding, info.Key)
			}
		}
	})
}

// testEncodedBytes stores a gzip member labelled Content-Encoding: gzip and
// checks that every read returns the stored bytes, never the decoded ones.
func testEncodedBytes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	member := func(text string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		// Large and repetitive enough that any transport would bother to
		// compress or decompress it.
		for range 200 {
			_, _ = io.WriteString(zw, text)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	first, second := member(`{"offset":1,"value":"first"}`+"\n"), member(`{"offset":2,"value":"second"}`+"\n")
	both := append(append([]byte{}, first...), second...)
	opts := []store.WriteOption{store.WithContentType("application/x-ndjson"), store.WithContentEncoding("gzip")}

	n := mustAppend(t, s, "encoded/appended.jsonl.gz", 0, first, opts...)
	mustAppend(t, s, "encoded/appended.jsonl.gz", n, second, opts...)
	mustPut(t, s, "encoded/put.jsonl.gz", both, opts...)
	mustPutReader(t, s, "encoded/streamed.jsonl.gz", both, opts...)
	for _, key := range []string{"encoded/appended.jsonl.gz", "encoded/put.jsonl.gz", "encoded/streamed.jsonl.gz"} {
		t.Run(key, func(t *testing.T) {
			wantContent(t, s, key, both, key == "encoded/appended.jsonl.gz")
			for _, r := range []struct{ off, n int64 }{{0, 10}, {0, int64(len(first))}, {int64(len(first)), int64(len(second))}, {5, int64(len(both)) - 5}} {
				got, err := s.GetRange(ctx, key, r.off, r.n)
				if err != nil {
					t.Fatalf("GetRange(%q, %d, %d): %v", key, r.off, r.n, err)
				}
				if !bytes.Equal(got, both[r.off:r.off+r.n]) {
					t.Fatalf("GetRange(%q, %d, %d) = %s, want the stored bytes %s", key, r.off, r.n, short(got), short(both[r.off:r.off+r.n]))
				}
			}
		})
	}
}

// testPutReader checks PutReader's content, kinds and failures.
func testPutReader(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	t.Run("sizes", func(t *testing.T) {
		for _, n := range []int{0, 1, 4096, 1<<20 + 7} {
			key := fmt.Sprintf("reader/size-%d", n)
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			mustPutReader(t, s, key, data)
			wantContent(t, s, key, data, false)
		}
	})
	t.Run("reads only size bytes", func(t *testing.T) {
		src := newReaderAt([]byte("0123456789"))
		if err := s.PutReader(ctx, "reader/prefix", src, 4); err != nil {
			t.Fatalf("PutReader: %v", err)
		}
		wantContent(t, s, "reader/prefix", []byte("0123"), false)
	})
	t.Run("replaces appendable", func(t *testing.T) {
		mustAppend(t, s, "reader/was-appendable", 0, []byte("appended"))
		mustPutReader(t, s, "reader/was-appendable", []byte("streamed"))
		wantContent(t, s, "reader/was-appendable", []byte("streamed"), false)
	})
	t.Run("same again", func(t *testing.T) {
		mustPutReader(t, s, "reader/twice", []byte("twice"))
		mustPutReader(t, s, "reader/twice", []byte("twice"))
		wantContent(t, s, "reader/twice", []byte("twice"), false)
	})
	failures := []struct {
		name string
		src  io.ReaderAt
		size int64
	}{
		{"short source", newReaderAt([]byte("only ten b")), 64 << 10},
		{"failing source", failingReaderAt{data: bytes.Repeat([]byte("x"), 256<<10), fail: 100 << 10}, 256 << 10},
		{"failing at once", failingReaderAt{data: []byte("abc"), fail: 0}, 3},
		{"negative size", newReaderAt([]byte("abc")), -1},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			mustPut(t, s, "reader/kept", []byte("old"))
			for _, key := range []string{"reader/kept", "reader/never"} {
				err := s.PutReader(ctx, key, f.src, f.size)
				if err == nil {
					t.Fatalf("PutReader(%q) from a %s succeeded", key, f.name)
				}
				if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) || store.IsPermanent(err) {
					t.Errorf("PutReader(%q) from a %s: error %v claims something about the store", key, f.name, err)
				}
			}
			wantContent(t, s, "reader/kept", []byte("old"), false)
			wantAbsent(t, s, "reader/never")
		})
	}
}

// testPutReaderAtomic is testPutAtomic through PutReader.
func testPutReaderAtomic(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const key = "atomic/streamed"
	sizes := []int{1, 4097, 65537, 262147}
	values := make([][]byte, len(sizes))
	for i, n := range sizes {
		values[i] = bytes.Repeat([]byte{byte('a' + i)}, n)
	}
	mustPutReader(t, s, key, values[0])
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := 1; i <= 24; i++ {
			v := values[i%len(values)]
			if err := s.PutReader(ctx, key, newReaderAt(v), int64(len(v))); err != nil {
				t.Errorf("PutReader #%d: %v", i, err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.Get(ctx, key)
				if err != nil {
					t.Errorf("Get during PutReaders: %v", err)
					return
				}
				ok := false
				for _, v := range values {
					ok = ok || bytes.Equal(got, v)
				}
				if !ok {
					t.Errorf("Get during PutReaders returned %s, which is no value ever put", short(got))
					return
				}
			}
		})
	}
	wg.Wait()
	wantContent(t, s, key, values[24%len(values)], false)
}
