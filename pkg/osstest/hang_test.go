package osstest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// waitFor polls cond, which the server makes true, with a generous deadline
// as a safety net only.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// nextLog returns the next request log entry, with a safety deadline.
func nextLog(t *testing.T, logs <-chan LogEntry) LogEntry {
	t.Helper()
	select {
	case e := <-logs:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no request finished")
		return LogEntry{}
	}
}

// TestHang checks that a held request gets no reply at all (not even the
// empty 200 a returning handler would send) until its client gives up, and
// that the server then lets it go.
func TestHang(t *testing.T) {
	payload := bytes.Repeat([]byte("p"), 1<<20)
	tests := []struct {
		name    string
		op      Op
		fault   Fault
		hangAll bool
		call    func(ctx context.Context, b *oss.Bucket) error
		landed  bool // whether the write takes effect although unanswered
	}{
		{"get held before", OpGet, Fault{Hang: true, Before: 1}, false,
			func(ctx context.Context, b *oss.Bucket) error {
				_, err := getAll(b, "k", oss.WithContext(ctx))
				return err
			}, false},
		{"put held after it landed", OpPut, Fault{Hang: true, After: 1, Reset: true}, false,
			func(ctx context.Context, b *oss.Bucket) error {
				return b.PutObject("new", bytes.NewReader(payload), oss.WithContext(ctx))
			}, true},
		{"append held before", OpAppend, Fault{Hang: true, Before: 1}, false,
			func(ctx context.Context, b *oss.Bucket) error {
				_, err := b.AppendObject("new", bytes.NewReader(payload), 0, oss.WithContext(ctx))
				return err
			}, false},
		{"unresponsive server, list", OpList, Fault{}, true,
			func(ctx context.Context, b *oss.Bucket) error {
				_, err := b.ListObjectsV2(oss.WithContext(ctx))
				return err
			}, false},
		{"unresponsive server, large put", OpPut, Fault{}, true,
			func(ctx context.Context, b *oss.Bucket) error {
				return b.PutObject("new", bytes.NewReader(payload), oss.WithContext(ctx))
			}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := make(chan LogEntry, 16)
			srv := newTestServer(t, WithRequestLog(func(e LogEntry) { logs <- e }))
			b := testClient(t, srv)
			_ = srv.PutObjectDirect(testBucket, "k", []byte("x"), false)
			srv.SetFault(tt.op, tt.fault)
			srv.SetUnresponsive(tt.hangAll)

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- tt.call(ctx, b) }()
			waitFor(t, "the request to arrive", func() bool { return srv.Requests(tt.op) == 1 })
			if tt.landed {
				waitFor(t, "the write to land", func() bool { _, ok := srv.Object(testBucket, "new"); return ok })
			}
			select {
			case err := <-errc:
				t.Fatalf("the client got an answer: %v", err)
			default:
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want the client's own cancellation", err)
			}
			if e := nextLog(t, logs); e.Op != tt.op || e.Status != 0 {
				t.Fatalf("log entry = %+v, want %v without a status", e, tt.op)
			}
			if _, ok := srv.Object(testBucket, "new"); ok != tt.landed {
				t.Fatalf("object stored = %v, want %v", ok, tt.landed)
			}

			// Afterwards the server answers again.
			srv.ClearFaults()
			srv.SetUnresponsive(false)
			if got, err := getAll(b, "k"); err != nil || string(got) != "x" {
				t.Fatalf("after the hang: %q, %v", got, err)
			}
		})
	}
}

// TestCloseReleasesHeldRequests: Close ends a held request by closing its
// connection, without a reply and without waiting for the client to give up,
// also when the server is mounted under another one (Handler).
func TestCloseReleasesHeldRequests(t *testing.T) {
	for _, mounted := range []bool{false, true} {
		t.Run(map[bool]string{false: "own listener", true: "mounted"}[mounted], func(t *testing.T) {
			srv := newTestServer(t)
			b := testClient(t, srv) // its own read timeout is 10s; Close must come first
			if mounted {
				outer := httptest.NewServer(srv.Handler())
				t.Cleanup(outer.Close)
				c, err := oss.New(outer.URL, testAK, testSK, oss.SecurityToken(testToken), oss.Timeout(5, 10))
				if err != nil {
					t.Fatal(err)
				}
				if b, err = c.Bucket(testBucket); err != nil {
					t.Fatal(err)
				}
			}
			_ = srv.PutObjectDirect(testBucket, "k", []byte("x"), false)
			srv.SetUnresponsive(true)
			errc := make(chan error, 1)
			go func() { _, err := getAll(b, "k"); errc <- err }()
			waitFor(t, "the request to arrive", func() bool { return srv.Requests(OpGet) >= 1 })
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			err := <-errc
			var ne net.Error
			var se oss.ServiceError
			switch {
			case err == nil:
				t.Fatal("the held GET got a reply")
			case errors.As(err, &se):
				t.Fatalf("the held GET got an error reply: %v", err)
			case errors.As(err, &ne) && ne.Timeout():
				t.Fatalf("the held GET timed out instead of being released by Close: %v", err)
			}
		})
	}
}
