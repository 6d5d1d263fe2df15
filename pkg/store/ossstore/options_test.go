package ossstore

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// gzipMember is one complete gzip member of a repetitive text, the shape of
// what the sink appends to a compressed object.
func gzipMember(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for range 500 {
		_, _ = io.WriteString(zw, text)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipObjectsReadBackAsStored stores gzip members labelled
// Content-Encoding: gzip, by Append and by Put, and reads the exact stored
// bytes back with Get and GetRange, through the pool's own transport and
// through a caller's client whose transport would transparently gunzip.
func TestGzipObjectsReadBackAsStored(t *testing.T) {
	srv := newServer(t)
	first, second := gzipMember(t, "offset,value\n1,first\n"), gzipMember(t, "2,second\n")
	both := append(append([]byte{}, first...), second...)
	opts := []store.WriteOption{store.WithContentType("text/csv; charset=utf-8"), store.WithContentEncoding("gzip")}

	clients := []struct {
		name string
		opts []Opt
	}{
		{"pool transport", nil},
		// http.DefaultTransport asks for gzip and decodes it unless the
		// request says otherwise.
		{"default transport", []Opt{WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})}},
	}
	for i, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			bucket := []string{"gzip-pool", "gzip-default"}[i]
			s := newStore(t, srv, bucket, c.opts...)
			ctx := t.Context()
			n, err := s.Append(ctx, "appended.csv.gz", 0, first, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, "appended.csv.gz", n, second, opts...); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "put.csv.gz", both, opts...); err != nil {
				t.Fatal(err)
			}
			if err := s.PutReader(ctx, "streamed.csv.gz", bytes.NewReader(both), int64(len(both)), opts...); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"appended.csv.gz", "put.csv.gz", "streamed.csv.gz"} {
				if stored, _ := srv.Object(bucket, key); !bytes.Equal(stored, both) {
					t.Fatalf("%s: the server holds %d bytes, want the %d sent", key, len(stored), len(both))
				}
				got, err := s.Get(ctx, key)
				if err != nil || !bytes.Equal(got, both) {
					t.Fatalf("Get(%s) = %d bytes, %v; want the %d stored bytes", key, len(got), err, len(both))
				}
				for _, r := range []struct{ off, n int64 }{{0, int64(len(both))}, {0, int64(len(first))}, {int64(len(first)), int64(len(second))}, {3, 20}} {
					got, err := s.GetRange(ctx, key, r.off, r.n)
					if err != nil || !bytes.Equal(got, both[r.off:r.off+r.n]) {
						t.Fatalf("GetRange(%s, %d, %d) = %d bytes, %v; want the stored bytes", key, r.off, r.n, len(got), err)
					}
				}
				info, err := s.Stat(ctx, key)
				if err != nil || info.ContentEncoding != "gzip" || info.ContentType != "text/csv; charset=utf-8" {
					t.Fatalf("Stat(%s) = %+v, %v", key, info, err)
				}
				oi, _ := srv.ObjectInfo(bucket, key)
				if oi.ContentEncoding != "gzip" || oi.ContentType != "text/csv; charset=utf-8" {
					t.Fatalf("the server keeps %s as {%q, %q}", key, oi.ContentType, oi.ContentEncoding)
				}
			}
		})
	}

	// The hazard is real: the same GET without Accept-Encoding: identity,
	// through the default transport, returns the decoded text.
	t.Run("without identity", func(t *testing.T) {
		client, err := oss.New(srv.Endpoint(), testAK, testSK, oss.SecurityToken(testToken),
			oss.HTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}), oss.EnableCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		b, err := client.Bucket("gzip-default")
		if err != nil {
			t.Fatal(err)
		}
		rc, err := b.GetObject("put.csv.gz")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, both) || !bytes.HasPrefix(got, []byte("offset,value\n")) {
			t.Fatalf("a plain SDK GET returned %d bytes starting %q; expected the transport to gunzip", len(got), got[:min(len(got), 16)])
		}
	})
}

// TestNoContentTypeIsOctetStream: without WithContentType the store sends
// application/octet-stream rather than letting the SDK guess from the key's
// extension, which would depend on the machine's MIME table.
func TestNoContentTypeIsOctetStream(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "content-type")
	ctx := t.Context()
	if err := s.Put(ctx, "a.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "b.csv.gz", 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutReader(ctx, "c.html", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a.json", "b.csv.gz", "c.html"} {
		oi, _ := srv.ObjectInfo("content-type", key)
		if oi.ContentType != "application/octet-stream" || oi.ContentEncoding != "" {
			t.Errorf("%s stored as {%q, %q}, want application/octet-stream and no encoding", key, oi.ContentType, oi.ContentEncoding)
		}
	}
}

// countingReaderAt counts the reads that start at offset 0: one per attempt.
type countingReaderAt struct {
	r      io.ReaderAt
	starts atomic.Int32
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 {
		c.starts.Add(1)
	}
	return c.r.ReadAt(p, off)
}

func TestPutReaderRetriesFromTheStart(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	faults := []struct {
		name  string
		fault osstest.Fault
	}{
		{"503 before", osstest.Fault{Before: 1, Limit: 2}},
		{"reset before", osstest.Fault{Before: 1, Limit: 1, Reset: true}},
		{"503 after", osstest.Fault{After: 1, Limit: 1}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			srv := newServer(t)
			s := newStore(t, srv, "retry")
			srv.SetFault(osstest.OpPut, f.fault)
			src := &countingReaderAt{r: bytes.NewReader(data)}
			if err := s.PutReader(t.Context(), "big", src, int64(len(data))); err != nil {
				t.Fatalf("PutReader: %v", err)
			}
			if got, _ := srv.Object("retry", "big"); !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes, want the %d sent", len(got), len(data))
			}
			want := int32(f.fault.Limit) + 1
			if got := src.starts.Load(); got != want {
				t.Fatalf("the source was read from the start %d times, want %d (one per attempt)", got, want)
			}
		})
	}
}

// TestNoOverwriteAfterLostReply: a NoOverwrite put whose reply is lost
// landed; the retry finds the key taken. The store reports ErrExists, as
// its contract warns, and the object holds what was sent.
func TestNoOverwriteAfterLostReply(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		srv := newServer(t)
		s := newStore(t, srv, "lost")
		srv.SetFault(osstest.OpPut, osstest.Fault{After: 1, Limit: 1})
		var err error
		if streamed {
			err = s.PutReader(t.Context(), "final.parquet", bytes.NewReader([]byte("PAR1")), 4, store.NoOverwrite())
		} else {
			err = s.Put(t.Context(), "final.parquet", []byte("PAR1"), store.NoOverwrite())
		}
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("streamed %v: err = %v, want ErrExists", streamed, err)
		}
		if got, _ := srv.Object("lost", "final.parquet"); string(got) != "PAR1" {
			t.Fatalf("streamed %v: stored %q", streamed, got)
		}
		if n := srv.Requests(osstest.OpPut); n != 2 {
			t.Fatalf("streamed %v: %d PUT requests, want 2", streamed, n)
		}
	}
}

// TestPutReaderSourceFailureIsFinal: a source that fails is not retried,
// and its error stays in the chain.
func TestPutReaderSourceFailureIsFinal(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "source")
	broken := errors.New("disk read error")
	src := &failAt{data: bytes.Repeat([]byte("x"), 1<<20), at: 300 << 10, err: broken}
	err := s.PutReader(t.Context(), "k", src, 1<<20)
	if !errors.Is(err, broken) {
		t.Fatalf("err = %v, want the source's error in the chain", err)
	}
	if n := srv.Requests(osstest.OpPut); n > 1 {
		t.Fatalf("%d PUT requests, want at most 1", n)
	}
	if _, ok := srv.Object("source", "k"); ok {
		t.Fatal("a failed PutReader left an object")
	}
	// A source shorter than the size is such a failure too.
	if err := s.PutReader(t.Context(), "k", bytes.NewReader([]byte("short")), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short source: err = %v, want io.ErrUnexpectedEOF in the chain", err)
	}
	if n := srv.Requests(osstest.OpPut); n > 2 {
		t.Fatalf("%d PUT requests after the short source, want at most 2", n)
	}
}

type failAt struct {
	data []byte
	at   int64
	err  error
}

func (f *failAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		n := copy(p, f.data[off:max(off, f.at)])
		return n, f.err
	}
	return copy(p, f.data[off:]), nil
}

// pattern is an io.ReaderAt of size bytes that takes no memory.
type pattern struct{ size int64 }

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-off))
	for i := range n {
		b[i] = byte(off + int64(i))
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// TestPutReaderStreams: a 64 MiB PutReader allocates a small fraction of
// its size (against a server that discards the body, so that only the
// client's memory counts).
func TestPutReaderStreams(t *testing.T) {
	const size = 64 << 20
	var received atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		w.Header().Set("X-Oss-Request-Id", "discard")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hs.Close)
	s, err := New(Config{Endpoint: hs.URL, Bucket: "discard"}, testCreds, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	// Warm up the connection and the SDK's lazily built state.
	if err := s.PutReader(t.Context(), "warm", pattern{1 << 10}, 1<<10); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := s.PutReader(t.Context(), "big", pattern{size}, size); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if received.Load() != size {
		t.Fatalf("the server received %d bytes, want %d", received.Load(), size)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("PutReader of %d MiB allocated %d KiB", size>>20, alloc>>10)
	if alloc > size/16 {
		t.Fatalf("PutReader of %d MiB allocated %d KiB: memory grows with the object", size>>20, alloc>>10)
	}
}
