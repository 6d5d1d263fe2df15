package ossstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// TestTransientFailuresAreRetried injects one failure per case and checks
// that the operation succeeds on the second request.
func TestTransientFailuresAreRetried(t *testing.T) {
	payload := []byte("the payload")
	tests := []struct {
		name  string
		op    osstest.Op
		fault osstest.Fault
		run   func(ctx context.Context, s *Store) error
	}{
		{"put 503 before", osstest.OpPut, osstest.Fault{Before: 1},
			func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", payload) }},
		{"put reset before", osstest.OpPut, osstest.Fault{Before: 1, Reset: true},
			func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", payload) }},
		{"put 500 after (idempotent)", osstest.OpPut, osstest.Fault{After: 1, Status: 500},
			func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", payload) }},
		{"put reset after (idempotent)", osstest.OpPut, osstest.Fault{After: 1, Reset: true},
			func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", payload) }},
		{"append throttled", osstest.OpAppend, osstest.Fault{Before: 1, Status: 429, Code: "Throttling"},
			func(ctx context.Context, s *Store) error { _, err := s.Append(ctx, "k", 0, payload); return err }},
		{"append reset before", osstest.OpAppend, osstest.Fault{Before: 1, Reset: true},
			func(ctx context.Context, s *Store) error { _, err := s.Append(ctx, "k", 0, payload); return err }},
		{"get 503", osstest.OpGet, osstest.Fault{Before: 1},
			func(ctx context.Context, s *Store) error { return wantGet(ctx, s, payload) }},
		{"get truncated body", osstest.OpGet, osstest.Fault{After: 1, Reset: true},
			func(ctx context.Context, s *Store) error { return wantGet(ctx, s, payload) }},
		{"head 503", osstest.OpHead, osstest.Fault{Before: 1},
			func(ctx context.Context, s *Store) error { _, err := s.Stat(ctx, "k"); return err }},
		{"list 503", osstest.OpList, osstest.Fault{Before: 1},
			func(ctx context.Context, s *Store) error { _, err := s.List(ctx, ""); return err }},
		{"list page reset", osstest.OpList, osstest.Fault{Before: 1, Reset: true},
			func(ctx context.Context, s *Store) error {
				infos, _, err := s.ListPage(ctx, "", "", 1)
				if err == nil && (len(infos) != 1 || infos[0].Key != "k") {
					return errors.New("wrong page")
				}
				return err
			}},
		{"delete reset after", osstest.OpDelete, osstest.Fault{After: 1, Reset: true},
			func(ctx context.Context, s *Store) error { return s.Delete(ctx, "k") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			s := newStore(t, srv, "retry")
			if tt.op != osstest.OpPut && tt.op != osstest.OpAppend {
				if err := srv.PutObjectDirect("retry", "k", payload, false); err != nil {
					t.Fatal(err)
				}
			}
			tt.fault.Limit = 1
			srv.SetFault(tt.op, tt.fault)
			if err := tt.run(t.Context(), s); err != nil {
				t.Fatalf("operation failed despite retries: %v", err)
			}
			// A GET reset before any reply byte may be re-sent by net/http
			// itself, but the store must have asked at least twice overall.
			if got := srv.Requests(tt.op); got != 2 {
				t.Fatalf("server saw %d %v requests, want 2", got, tt.op)
			}
			st := s.Stats()
			if st.Requests != 2 || st.Retries != 1 || st.Failures != 1 {
				t.Fatalf("Stats = %+v, want 2 requests, 1 retry, 1 failure", st)
			}
			if tt.op == osstest.OpPut || tt.op == osstest.OpAppend {
				if got, _ := srv.Object("retry", "k"); !bytes.Equal(got, payload) {
					t.Fatalf("object = %q, want %q exactly once", got, payload)
				}
			}
		})
	}
}

func wantGet(ctx context.Context, s *Store, want []byte) error {
	got, err := s.Get(ctx, "k")
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("wrong content: " + string(got))
	}
	return nil
}

// TestAppendLostReply is the ambiguous failure the sink's protocol is built
// for: the append lands, its reply is lost, and the retry is fenced off.
func TestAppendLostReply(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(map[bool]string{false: "503 after", true: "reset after"}[reset], func(t *testing.T) {
			srv := newServer(t)
			s := newStore(t, srv, "lost")
			ctx := t.Context()
			n, err := s.Append(ctx, "data", 0, []byte("first;"))
			if err != nil || n != 6 {
				t.Fatalf("Append = %d, %v", n, err)
			}
			srv.SetFault(osstest.OpAppend, osstest.Fault{After: 1, Limit: 1, Reset: reset})
			_, err = s.Append(ctx, "data", 6, []byte("second;"))
			pe, ok := store.AsPositionError(err)
			if !ok {
				t.Fatalf("err = %v, want a *store.PositionError", err)
			}
			if pe.Key != "data" || pe.Position != 6 || pe.Length != 13 {
				t.Fatalf("PositionError = %+v, want {data 6 13}", pe)
			}
			if got, _ := srv.Object("lost", "data"); string(got) != "first;second;" {
				t.Fatalf("object = %q, want the second append exactly once", got)
			}
			if got := srv.Requests(osstest.OpAppend); got != 3 {
				t.Fatalf("%d append requests, want 3", got)
			}
		})
	}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	tests := []struct {
		name      string
		op        osstest.Op
		setup     func(srv *osstest.Server)
		run       func(ctx context.Context, s *Store) error
		wantIs    error
		permanent bool
	}{
		{"403 injected", osstest.OpPut, func(srv *osstest.Server) {
			srv.SetFault(osstest.OpPut, osstest.Fault{Before: 1, Status: 403, Code: "AccessDenied"})
		}, func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", []byte("x")) }, store.ErrAccessDenied, true},
		{"403 by policy on put", osstest.OpPut, func(srv *osstest.Server) {
			srv.SetDenies(osstest.Deny{KeyPrefix: "locked/"})
		}, func(ctx context.Context, s *Store) error { return s.Put(ctx, "locked/k", []byte("x")) }, store.ErrAccessDenied, true},
		{"403 by policy on head", osstest.OpHead, func(srv *osstest.Server) {
			srv.SetDenies(osstest.Deny{KeyPrefix: "locked/"})
		}, func(ctx context.Context, s *Store) error { _, err := s.Stat(ctx, "locked/k"); return err }, store.ErrAccessDenied, true},
		{"403 by policy on list page", osstest.OpList, func(srv *osstest.Server) {
			srv.SetDenies(osstest.Deny{KeyPrefix: "locked/", Ops: []osstest.Op{osstest.OpList}})
		}, func(ctx context.Context, s *Store) error { _, _, err := s.ListPage(ctx, "locked/", "", 10); return err }, store.ErrAccessDenied, true},
		{"403 security token expired", osstest.OpAppend, func(srv *osstest.Server) {
			srv.ExpireCredentials(testAK)
		}, func(ctx context.Context, s *Store) error { _, err := s.Append(ctx, "k", 0, []byte("x")); return err }, store.ErrCredentialsExpired, false},
		{"404", osstest.OpGet, nil,
			func(ctx context.Context, s *Store) error { _, err := s.Get(ctx, "absent"); return err }, store.ErrNotFound, false},
		{"409 not appendable", osstest.OpAppend, func(srv *osstest.Server) {
			_ = srv.PutObjectDirect("perm", "k", []byte("x"), false)
		}, func(ctx context.Context, s *Store) error { _, err := s.Append(ctx, "k", 1, []byte("y")); return err }, store.ErrNotAppendable, true},
		{"416", osstest.OpGet, func(srv *osstest.Server) {
			_ = srv.PutObjectDirect("perm", "k", []byte("x"), false)
		}, func(ctx context.Context, s *Store) error { _, err := s.GetRange(ctx, "k", 5, 1); return err }, ErrOutOfRange, false},
		{"400 invalid object name", osstest.OpPut, func(srv *osstest.Server) {
			// A name OSS refuses that the local check lets through.
			srv.SetFault(osstest.OpPut, osstest.Fault{Before: 1, Status: 400, Code: "InvalidObjectName"})
		}, func(ctx context.Context, s *Store) error { return s.Put(ctx, "k", []byte("x")) }, store.ErrInvalidKey, true},
		{"400 injected", osstest.OpList, func(srv *osstest.Server) {
			srv.SetFault(osstest.OpList, osstest.Fault{Before: 1, Status: 400, Code: "InvalidArgument"})
		}, func(ctx context.Context, s *Store) error { _, err := s.List(ctx, ""); return err }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			s := newStore(t, srv, "perm")
			if tt.setup != nil {
				tt.setup(srv)
			}
			err := tt.run(t.Context(), s)
			if err == nil {
				t.Fatal("succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want one wrapping %v", err, tt.wantIs)
			}
			if got := store.IsPermanent(err); got != tt.permanent {
				t.Errorf("store.IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
			}
			if got := srv.Requests(tt.op); got != 1 {
				t.Fatalf("server saw %d requests, want 1 (no retry)", got)
			}
		})
	}
}

// TestInvalidKeysCostNoRequest: keys OSS would refuse are refused before
// any request, whatever the operation.
func TestInvalidKeysCostNoRequest(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "keys")
	ctx := t.Context()
	for _, key := range []string{"", "/lead", "\\lead", strings.Repeat("k", 1024), "bad\xff"} {
		errs := []error{
			s.Put(ctx, key, nil),
			s.Delete(ctx, key),
		}
		_, err := s.Get(ctx, key)
		errs = append(errs, err)
		_, err = s.GetRange(ctx, key, 0, 1)
		errs = append(errs, err)
		_, err = s.Stat(ctx, key)
		errs = append(errs, err)
		_, err = s.Append(ctx, key, 0, nil)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("call %d with key %.20q: err = %v, want one wrapping store.ErrInvalidKey", i, key, err)
			}
		}
	}
	if n := srv.Stats().Total(); n != 0 {
		t.Fatalf("%d requests sent for invalid keys", n)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "giveup", WithRetry(3, time.Millisecond, 2*time.Millisecond))
	srv.SetFault(osstest.OpPut, osstest.Fault{Before: 1})
	err := s.Put(t.Context(), "k", []byte("x"))
	var se oss.ServiceError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if got := srv.Requests(osstest.OpPut); got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
}

func TestDeadline(t *testing.T) {
	t.Run("latency longer than the deadline", func(t *testing.T) {
		srv := newServer(t)
		s := newStore(t, srv, "deadline")
		srv.SetFault(osstest.OpGet, osstest.Fault{Latency: 30 * time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Get(ctx, "k")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Get returned after %v", d)
		}
		if got := srv.Requests(osstest.OpGet); got != 1 {
			t.Fatalf("%d requests, want 1", got)
		}
	})
	t.Run("no retry that would pass the deadline", func(t *testing.T) {
		srv := newServer(t)
		s := newStore(t, srv, "deadline", WithRetry(6, 10*time.Second, 20*time.Second))
		srv.SetFault(osstest.OpPut, osstest.Fault{Before: 1})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		start := time.Now()
		err := s.Put(ctx, "k", []byte("x"))
		var se oss.ServiceError
		if !errors.As(err, &se) || se.StatusCode != 503 {
			t.Fatalf("err = %v, want the 503", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Put returned after %v; it should not have slept", d)
		}
		if got := srv.Requests(osstest.OpPut); got != 1 {
			t.Fatalf("%d requests, want 1", got)
		}
	})
	t.Run("cancelled before the first request", func(t *testing.T) {
		srv := newServer(t)
		s := newStore(t, srv, "deadline")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Put(ctx, "k", []byte("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if got := srv.Stats().Total(); got != 0 {
			t.Fatalf("%d requests sent with a cancelled context", got)
		}
	})
}

// TestUnresponsiveServer: against a server that accepts connections and
// never answers, each attempt ends at the I/O timeout, is retried as a
// network failure, and the operation fails with the timeout, never hangs.
func TestUnresponsiveServer(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "silent", WithTimeouts(5*time.Second, 100*time.Millisecond), WithRetry(3, time.Millisecond, 2*time.Millisecond))
	srv.SetUnresponsive(true)
	_, err := s.Get(t.Context(), "k")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a network timeout", err)
	}
	if store.IsPermanent(err) {
		t.Errorf("a timeout is reported as permanent: %v", err)
	}
	if st := s.Stats(); st.Requests != 3 || st.Retries != 2 || st.Failures != 3 {
		t.Fatalf("Stats = %+v, want 3 requests, 2 retries, 3 failures", st)
	}
}

// rewritingTransport lets a test tamper with replies on the way to the SDK.
type rewritingTransport struct {
	next    http.RoundTripper
	rewrite func(req *http.Request, resp *http.Response) *http.Response
}

func (t rewritingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	return t.rewrite(req, resp), nil
}

func TestUnparseable5xxIsRetried(t *testing.T) {
	srv := newServer(t)
	var sent int
	hc := &http.Client{Transport: rewritingTransport{http.DefaultTransport.(*http.Transport).Clone(),
		func(req *http.Request, resp *http.Response) *http.Response {
			sent++
			if sent > 1 {
				return resp
			}
			// A load balancer's HTML error page instead of OSS XML.
			resp.Body.Close()
			body := "<html><body>502 Bad Gateway</body></html>"
			return &http.Response{
				StatusCode: 502, Status: "502 Bad Gateway", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/html"}}, Body: io.NopCloser(strings.NewReader(body)),
				ContentLength: int64(len(body)), Request: req,
			}
		}}}
	s := newStore(t, srv, "html", WithHTTPClient(hc))
	if err := s.Put(t.Context(), "k", []byte("x")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if st := s.Stats(); st.Requests != 2 || st.Retries != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestPositionErrorWithoutHeaderFallsBackToHead(t *testing.T) {
	srv := newServer(t)
	hc := &http.Client{Transport: rewritingTransport{http.DefaultTransport.(*http.Transport).Clone(),
		func(req *http.Request, resp *http.Response) *http.Response {
			if resp.StatusCode == 409 {
				resp.Header.Del("X-Oss-Next-Append-Position")
			}
			return resp
		}}}
	s := newStore(t, srv, "fallback", WithHTTPClient(hc))
	if _, err := s.Append(t.Context(), "k", 0, []byte("12345")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(t.Context(), "k", 2, []byte("x"))
	pe, ok := store.AsPositionError(err)
	if !ok || pe.Length != 5 {
		t.Fatalf("err = %v, want a PositionError with length 5", err)
	}
	if got := srv.Requests(osstest.OpHead); got != 1 {
		t.Fatalf("%d HEAD requests, want 1", got)
	}
}

func TestCorruptDownloadIsRetried(t *testing.T) {
	srv := newServer(t)
	var flipped bool
	hc := &http.Client{Transport: rewritingTransport{http.DefaultTransport.(*http.Transport).Clone(),
		func(req *http.Request, resp *http.Response) *http.Response {
			if req.Method != http.MethodGet || flipped || resp.StatusCode != 200 {
				return resp
			}
			flipped = true
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			data[0] ^= 0xff
			resp.Body = io.NopCloser(bytes.NewReader(data))
			return resp
		}}}
	s := newStore(t, srv, "corrupt", WithHTTPClient(hc))
	_ = srv.PutObjectDirect("corrupt", "k", []byte("precious"), false)
	got, err := s.Get(t.Context(), "k")
	if err != nil || string(got) != "precious" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if st := s.Stats(); st.Requests != 2 {
		t.Fatalf("Stats = %+v, want the corrupt download retried", st)
	}
}

func TestBackoff(t *testing.T) {
	base, max := 50*time.Millisecond, 2*time.Second
	for n := 1; n <= 10; n++ {
		want := min(base<<(n-1), max)
		for range 50 {
			d := backoff(n, base, max)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
}

// corruptingUploads flips one byte of the first PUT body it sends, as a
// faulty network path might; the signature does not cover the body.
type corruptingUploads struct {
	next    http.RoundTripper
	flipped bool
}

func (t *corruptingUploads) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && !t.flipped && req.Body != nil {
		t.flipped = true
		data, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		data[0] ^= 0xff
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
	}
	return t.next.RoundTrip(req)
}

func TestCorruptUploadIsRetried(t *testing.T) {
	srv := newServer(t)
	hc := &http.Client{Transport: &corruptingUploads{next: http.DefaultTransport.(*http.Transport).Clone()}}
	s := newStore(t, srv, "corrupt-put", WithHTTPClient(hc))
	if err := s.Put(t.Context(), "meta", []byte(`{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.Object("corrupt-put", "meta"); string(got) != `{"version":1}` {
		t.Fatalf("stored %q: the corrupted upload was not replaced", got)
	}
	if st := s.Stats(); st.Requests != 2 {
		t.Fatalf("Stats = %+v, want the corrupt upload retried", st)
	}
}
