package fcemu

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
)

// TestProtocol drives an instance with raw HTTP, for what the SDK never
// does: answers for unknown calls, from the wrong instance, bodies that are
// not error documents, unknown paths, aborted polls.
func TestProtocol(t *testing.T) {
	e := newEmu(t, WithCredentials("ak", "sk", "tok"))
	a, err := e.NewInstance()
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.NewInstance()
	if err != nil {
		t.Fatal(err)
	}
	base := func(i *Instance) string { return "http://" + i.Addr() + apiPrefix }
	post := func(url, body string) int {
		t.Helper()
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	res := make(chan Result, 1)
	go func() { res <- must(e.Invoke(context.Background(), []byte("payload-1"), RetryCount(2))) }()
	resp, err := http.Get(base(a) + "next")
	if err != nil {
		t.Fatal(err)
	}
	if n := a.Polls(); n != 0 {
		t.Errorf("%d polls counted after the only one got its call", n)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("x-fc-request-id")
	if string(body) != "payload-1" || id == "" || resp.Header.Get("x-fc-retry-count") != "2" ||
		resp.Header.Get("x-fc-security-token") != "tok" || resp.Header.Get("x-fc-function-type") != "0" {
		t.Fatalf("next: %q %v", body, resp.Header)
	}

	for _, tt := range []struct {
		name, url string
		want      int
	}{
		{"unknown call", base(a) + "no-such-id/response", 404},
		{"wrong instance", base(b) + id + "/response", 404},
		{"unknown operation", base(a) + id + "/other", 404},
		{"no id", base(a) + "/error", 404},
	} {
		if got := post(tt.url, "{}"); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := post(base(a)+id+"/error", "not a JSON document"); got != 200 {
		t.Fatalf("error answer: status %d", got)
	}
	r := <-res
	if r.Status != StatusError || r.ErrorMessage != "not a JSON document" || r.ErrorType != "" || r.Instance != a.ID() {
		t.Fatalf("result %s", r)
	}
	if got := post(base(a)+id+"/response", "{}"); got != 410 {
		t.Errorf("second answer: status %d, want 410", got)
	}

	// An aborted poll loses the instance; abort it once it waits there.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base(b)+"next", nil)
	polled := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		polled <- err
	}()
	testkit.WaitFor(t, 10*time.Second, "the poll to wait", func() bool { return b.Polls() == 1 })
	cancel()
	if err := <-polled; !errors.Is(err, context.Canceled) {
		t.Fatalf("poll: %v", err)
	}
	select {
	case <-b.Gone():
		if !errors.Is(b.Err(), errPollAborted) {
			t.Fatalf("lost because %v", b.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an aborted poll did not lose the instance")
	}
	if a.Err() != nil {
		t.Fatalf("the other instance was lost too: %v", a.Err())
	}
	if n := b.Polls(); n != 0 {
		t.Errorf("%d polls counted after the only one was aborted", n)
	}

	var ops []Op
	for _, r := range e.Requests() {
		ops = append(ops, r.Op)
	}
	want := []Op{OpNext, OpResponse, OpResponse, OpUnknown, OpUnknown, OpError, OpResponse, OpNext}
	if len(ops) != len(want) {
		t.Fatalf("log ops %v, want %v", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] {
			t.Fatalf("log ops %v, want %v", ops, want)
		}
	}
}
