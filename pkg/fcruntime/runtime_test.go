package fcruntime

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
)

// served is an emulator whose one instance Serve serves in this process.
type served struct {
	emu  *fcemu.Emulator
	inst *fcemu.Instance
	out  *testkit.SyncBuffer
	// limits records the calls of the memory-limit setter.
	mu     sync.Mutex
	limits []int64
}

// serve starts Serve on a new instance of an emulator made with emuOpts
// (after fcCreds and a 30s timeout), with no memory size in the
// environment unless env says so. Serve is stopped, and must return, when
// the test ends.
func serve(t *testing.T, h Handler, env map[string]string, emuOpts []fcemu.Opt, opts ...Opt) *served {
	t.Helper()
	e, err := fcemu.New(append([]fcemu.Opt{fcemu.WithCredentials("ak", "sk", "tok"), fcemu.WithTimeout(30 * time.Second)}, emuOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := e.NewInstance()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{emu: e, inst: inst, out: &testkit.SyncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	base := []Opt{WithOutput(s.out), WithGetenv(func(k string) string { return env[k] }),
		WithSetMemoryLimit(func(l int64) int64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.limits = append(s.limits, l)
			return 1 << 62
		})}
	go func() { done <- Serve(ctx, inst.Addr(), h, append(base, opts...)...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(time.Minute): // a safety net, not a measurement
			t.Error("Serve did not return once its context ended")
		}
		_ = e.Close()
		if t.Failed() {
			t.Logf("runtime output:\n%s", s.out.Tail(4<<10))
		}
	})
	return s
}

func (s *served) invoke(t *testing.T, payload []byte, opts ...fcemu.InvokeOpt) fcemu.Result {
	t.Helper()
	res, err := s.emu.Invoke(context.Background(), payload, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// echo is what echoHandler answers: the payload's size and digest, and
// what the call's context holds.
type echo struct {
	Len        int
	SHA256     string
	RequestID  string
	AccessKey  string
	Secret     string
	Token      string
	Region     string
	Account    string
	Retries    int
	Function   string
	Handler    string
	Memory     string
	Timeout    int
	Service    string
	Baggage    string
	DeadlineMS int64
}

func echoHandler(ctx context.Context, payload []byte) ([]byte, error) {
	fc, ok := fccontext.FromContext(ctx)
	if !ok {
		return nil, errors.New("no FcContext in the call's context")
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return nil, errors.New("no deadline in the call's context")
	}
	sum := sha256.Sum256(payload)
	return json.Marshal(echo{Len: len(payload), SHA256: hex.EncodeToString(sum[:]), RequestID: fc.RequestID,
		AccessKey: fc.Credentials.AccessKeyId, Secret: fc.Credentials.AccessKeySecret, Token: fc.Credentials.SecurityToken,
		Region: fc.Region, Account: fc.AccountId, Retries: fc.RetryCount, Function: fc.Function.Name, Handler: fc.Function.Handler,
		Memory: fc.Function.Memory, Timeout: fc.Function.Timeout, Service: fc.Service.Name,
		Baggage: fc.Tracing.OpenTracingSpanBaggages["k"], DeadlineMS: dl.UnixMilli()})
}

func decodeEcho(t *testing.T, res fcemu.Result) echo {
	t.Helper()
	if res.Status != fcemu.StatusOK {
		t.Fatalf("want a response, got %s", res)
	}
	var e echo
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Fatalf("response %q: %v", res.Body, err)
	}
	return e
}

// pattern returns n bytes that differ from call to call.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

// TestInvokeBodies: bodies of every size FC may send, and some larger,
// arrive whole, call after call through reused buffers, with the call's
// headers in its FcContext.
func TestInvokeBodies(t *testing.T) {
	s := serve(t, echoHandler, nil, []fcemu.Opt{fcemu.WithFunction("fn", "main", 512), fcemu.WithRegion("cn-beijing"),
		fcemu.WithHeader("x-fc-service-name", "svc"),
		fcemu.WithHeader("x-fc-tracing-opentracing-span-baggages", "eyJrIjoidiJ9")}) // {"k":"v"}
	sizes := []int{0, 1, pooledBody - 1, pooledBody, mib + 3, 4*mib - 1, 4 * mib, 32 << 20, 40 << 20, 3 * mib, 32 << 20}
	for i, n := range sizes {
		t.Run(fmt.Sprintf("%d:%dB", i, n), func(t *testing.T) {
			p := pattern(n, i)
			res := s.invoke(t, p, fcemu.RetryCount(i))
			e := decodeEcho(t, res)
			sum := sha256.Sum256(p)
			if e.Len != n || e.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("handler got %d bytes %s, sent %d %x", e.Len, e.SHA256, n, sum)
			}
			want := echo{Len: n, SHA256: e.SHA256, RequestID: res.RequestID, AccessKey: "ak", Secret: "sk", Token: "tok",
				Region: "cn-beijing", Account: "1234567890123456", Retries: i, Function: "fn", Handler: "main", Memory: "512",
				Timeout: 30, Service: "svc", Baggage: "v", DeadlineMS: res.Deadline.UnixMilli()}
			if e != want {
				t.Fatalf("context\n got %+v\nwant %+v", e, want)
			}
		})
	}
}

// TestErrors: a returned error and a panic are answered with the SDK's
// error document, named by type; the instance serves on.
func TestErrors(t *testing.T) {
	h := func(ctx context.Context, payload []byte) ([]byte, error) {
		switch string(payload) {
		case "error":
			return nil, &testError{"it failed"}
		case "panic":
			panic(testError{"it panicked"})
		case "wrapped":
			return nil, fmt.Errorf("outer: %w", &testError{"inner"})
		}
		return []byte(`"ok"`), nil
	}
	s := serve(t, h, nil, nil)
	for _, c := range []struct {
		payload, status, typ, msg string
	}{
		{"error", "error", "testError", "it failed"},
		{"panic", "error", "testError", "it panicked"},
		{"fine", "ok", "", ""},
		{"wrapped", "error", "wrapError", "outer: inner"},
		{"fine", "ok", "", ""},
	} {
		res := s.invoke(t, []byte(c.payload))
		if res.Status.String() != c.status || res.ErrorType != c.typ || res.ErrorMessage != c.msg {
			t.Errorf("%s: got %s, want %s %s: %s", c.payload, res, c.status, c.typ, c.msg)
		}
		if c.payload == "panic" && !strings.Contains(string(res.Body), `"stackTrace"`) {
			t.Errorf("a panic's error document has no stack trace: %s", res.Body)
		}
	}
	if out := s.out.String(); !strings.Contains(out, "FC Invoke End RequestId: ") || !strings.Contains(out, ", Error: Unhandled function error") {
		t.Errorf("output lacks the SDK's start/end lines:\n%s", out)
	}
}

type testError struct{ msg string }

func (e testError) Error() string { return e.msg }

// TestTimeout: the call's context ends at its deadline; a handler that
// answers after FC gave up gets 410, and the instance serves on.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	h := func(ctx context.Context, payload []byte) ([]byte, error) {
		if string(payload) == "hang" {
			<-release // until the emulator has timed the call out
			return []byte(`"late"`), nil
		}
		return echoHandler(ctx, payload)
	}
	s := serve(t, h, nil, []fcemu.Opt{fcemu.WithGrace(0)})
	res := s.invoke(t, []byte("hang"), fcemu.InvokeTimeout(time.Second))
	if res.Status != fcemu.StatusTimeout {
		t.Fatalf("got %s, want a timeout", res)
	}
	close(release)
	testkit.WaitFor(t, 30*time.Second, "the late answer", func() bool {
		for _, r := range s.emu.Requests() {
			if r.RequestID == res.RequestID && r.Late {
				return true
			}
		}
		return false
	})
	e := decodeEcho(t, s.invoke(t, []byte("next")))
	if e.Len != 4 {
		t.Fatalf("the call after the timeout got %+v", e)
	}
}

// TestLifecycle: the initializer and PreStop hooks get the call's
// FcContext and are answered with an empty response; without hooks, with
// an error.
func TestLifecycle(t *testing.T) {
	t.Run("hooks", func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		hook := func(name string) func(context.Context) {
			return func(ctx context.Context) {
				fc, _ := fccontext.FromContext(ctx)
				_, hasDeadline := ctx.Deadline()
				mu.Lock()
				defer mu.Unlock()
				got = append(got, fmt.Sprintf("%s %s %v", name, fc.Credentials.AccessKeyId, hasDeadline))
			}
		}
		s := serve(t, echoHandler, nil, []fcemu.Opt{fcemu.WithInitializer(10 * time.Second)},
			WithInitializer(hook("init")), WithPreStop(hook("prestop")))
		if res, err := s.inst.Initialized(context.Background()); err != nil || res.Status != fcemu.StatusOK || len(res.Body) != 0 {
			t.Fatalf("initializer: %s, %v", res, err)
		}
		decodeEcho(t, s.invoke(t, []byte("x")))
		if res, err := s.inst.PreStop(context.Background()); err != nil || res.Status != fcemu.StatusOK {
			t.Fatalf("PreStop: %s, %v", res, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"init ak true", "prestop ak true"}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("hooks ran as %q, want %q", got, want)
		}
	})
	t.Run("no hooks", func(t *testing.T) {
		s := serve(t, echoHandler, nil, nil)
		for name, call := range map[string]func(context.Context) (fcemu.Result, error){"initializer": s.inst.Initialize, "PreStop": s.inst.PreStop} {
			res, err := call(context.Background())
			if err != nil || res.Status != fcemu.StatusError || !strings.Contains(res.ErrorMessage, "hook registered") {
				t.Errorf("%s without a hook: %s, %v", name, res, err)
			}
		}
	})
}

// TestCredentials: each call's context holds the keys it was sent with.
func TestCredentials(t *testing.T) {
	s := serve(t, echoHandler, nil, nil)
	if e := decodeEcho(t, s.invoke(t, nil)); e.AccessKey != "ak" || e.Token != "tok" {
		t.Fatalf("first call: %+v", e)
	}
	s.emu.SetCredentials(fcemu.Credentials{AccessKeyID: "ak2", AccessKeySecret: "sk2", SecurityToken: "tok2"})
	if e := decodeEcho(t, s.invoke(t, nil)); e.AccessKey != "ak2" || e.Secret != "sk2" || e.Token != "tok2" {
		t.Fatalf("after rotation: %+v", e)
	}
	e := decodeEcho(t, s.invoke(t, nil, fcemu.InvokeCredentials(fcemu.Credentials{AccessKeyID: "one", AccessKeySecret: "off", SecurityToken: "x"})))
	if e.AccessKey != "one" || e.Secret != "off" || e.Token != "x" {
		t.Fatalf("per call: %+v", e)
	}
}

// TestConcurrency: with instance concurrency 4, four calls run at once
// (each handler waits until all four have started).
func TestConcurrency(t *testing.T) {
	const k = 4
	var started sync.WaitGroup
	started.Add(k)
	h := func(ctx context.Context, payload []byte) ([]byte, error) {
		started.Done()
		started.Wait()
		return echoHandler(ctx, payload)
	}
	s := serve(t, h, nil, []fcemu.Opt{fcemu.WithInstanceConcurrency(k)})
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			p := pattern(pooledBody+i, i)
			if e := decodeEcho(t, s.invoke(t, p)); e.Len != len(p) {
				t.Errorf("call %d: %+v", i, e)
			}
		})
	}
	wg.Wait()
}

// TestMalformedHeaders: a call whose headers cannot be parsed is answered
// with an error at once, not left to time out.
func TestMalformedHeaders(t *testing.T) {
	s := serve(t, echoHandler, nil, nil)
	for _, h := range []string{"x-fc-function-deadline", "x-fc-retry-count", "x-fc-function-timeout", "x-fc-tracing-opentracing-span-baggages"} {
		res := s.invoke(t, []byte("x"), fcemu.InvokeHeader(h, "not-a-number!"))
		if res.Status != fcemu.StatusError || !strings.Contains(res.ErrorMessage, h) {
			t.Errorf("%s malformed: %s", h, res)
		}
	}
	decodeEcho(t, s.invoke(t, []byte("x")))
}

// TestMemorySize: the memory limit comes from FC_FUNCTION_MEMORY_SIZE,
// else from the first call's x-fc-function-memory; a GOMEMLIMIT given is
// kept.
func TestMemorySize(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want []int64 // calls of the limit setter
	}{
		{"env", map[string]string{EnvMemorySize: "256"}, []int64{MemoryLimit(256)}},
		{"header", nil, []int64{MemoryLimit(128)}},
		{"GOMEMLIMIT kept", map[string]string{EnvMemorySize: "256", "GOMEMLIMIT": "1GiB"}, []int64{-1}},
		{"env malformed", map[string]string{EnvMemorySize: "lots"}, []int64{MemoryLimit(128)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, echoHandler, c.env, []fcemu.Opt{fcemu.WithFunction("fn", "main", 128)})
			decodeEcho(t, s.invoke(t, []byte("x")))
			decodeEcho(t, s.invoke(t, []byte("y")))
			s.mu.Lock()
			defer s.mu.Unlock()
			if fmt.Sprint(s.limits) != fmt.Sprint(c.want) {
				t.Fatalf("memory limit set with %v, want %v", s.limits, c.want)
			}
		})
	}
}

// TestAdmissionServe: at 128 MB, a second 32 MiB batch waits, its body
// unread, until the first is done; a third whose deadline comes first is
// answered with the error WithWaitError makes.
func TestAdmissionServe(t *testing.T) {
	waiting := make(chan int, 8)
	release := make(chan struct{})
	h := func(ctx context.Context, payload []byte) ([]byte, error) {
		if len(payload) > 0 && payload[0] == 'A' {
			<-release
		}
		return echoHandler(ctx, payload)
	}
	s := serve(t, h, map[string]string{EnvMemorySize: "128"}, []fcemu.Opt{fcemu.WithInstanceConcurrency(4), fcemu.WithGrace(time.Minute)},
		func(c *config) { c.onWait = func(n int) { waiting <- n } },
		WithWaitError(func(err error) error { return fmt.Errorf("wrapped: %w", err) }))
	a, b := bytes.Repeat([]byte("A"), 32<<20), bytes.Repeat([]byte("B"), 32<<20)
	resA, resB := make(chan fcemu.Result, 1), make(chan fcemu.Result, 1)
	go func() { resA <- s.invoke(t, a) }()
	go func() { resB <- s.invoke(t, b) }()
	if n := <-waiting; n != 1 {
		t.Fatalf("%d batches waiting, want 1", n)
	}
	// A third one, whose deadline passes while it waits.
	res := s.invoke(t, bytes.Repeat([]byte("C"), 32<<20), fcemu.InvokeTimeout(time.Second))
	if res.Status != fcemu.StatusError || res.ErrorType != "wrapError" || !strings.Contains(res.ErrorMessage, "no memory for the batch") {
		t.Fatalf("the batch that waited past its deadline: %s", res)
	}
	close(release)
	for _, ch := range []chan fcemu.Result{resA, resB} {
		if e := decodeEcho(t, <-ch); e.Len != 32<<20 {
			t.Fatalf("got %+v", e)
		}
	}
}

// TestBrokenAPI: a body cut short is answered with an error; polls that
// fail are retried; a body of unknown length (chunked) is read whole.
func TestBrokenAPI(t *testing.T) {
	var mu sync.Mutex
	var answers []string
	polls := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2020-11-11/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		polls++
		n := polls
		mu.Unlock()
		switch n {
		case 1:
			http.Error(w, "busy", http.StatusInternalServerError)
		case 2: // a body cut short: the connection closes after 10 of 100 bytes
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nx-fc-request-id: cut\r\nx-fc-function-deadline: %d\r\nContent-Length: 100\r\n\r\n0123456789",
				time.Now().Add(time.Minute).UnixMilli())
			buf.Flush()
			conn.Close()
		case 3: // a call with no request id: not a call
			w.WriteHeader(http.StatusOK)
		case 4:
			w.Header().Set("x-fc-request-id", "whole")
			w.Header().Set("x-fc-function-deadline", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Write([]byte("whole body"))
		case 5: // no Content-Length: chunked
			w.Header().Set("x-fc-request-id", "chunked")
			w.Header().Set("x-fc-function-deadline", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Write(bytes.Repeat([]byte("c"), 100))
			http.NewResponseController(w).Flush()
			w.Write(bytes.Repeat([]byte("d"), 2*pooledBody))
		default:
			<-r.Context().Done()
		}
	})
	mux.HandleFunc("POST /2020-11-11/runtime/invocation/{id}/{op}", func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		mu.Lock()
		answers = append(answers, r.PathValue("id")+" "+r.PathValue("op")+" "+body.String())
		mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &testkit.SyncBuffer{}
	go func() {
		done <- Serve(ctx, ln.Addr().String(), echoHandler, WithOutput(out), WithGetenv(func(string) string { return "" }))
	}()
	testkit.WaitFor(t, 30*time.Second, "three answers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(answers) == 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string]string{}
	for _, a := range answers {
		id, rest, _ := strings.Cut(a, " ")
		got[id] = rest
	}
	if !strings.HasPrefix(got["cut"], "error ") || !strings.Contains(got["cut"], "unexpected EOF") {
		t.Errorf("the cut body was answered %q", got["cut"])
	}
	var e echo
	if op, body, _ := strings.Cut(got["whole"], " "); op != "response" || json.Unmarshal([]byte(body), &e) != nil || e.Len != 10 {
		t.Errorf("the whole call was answered %q", got["whole"])
	}
	if op, body, _ := strings.Cut(got["chunked"], " "); op != "response" || json.Unmarshal([]byte(body), &e) != nil || e.Len != 100+2*pooledBody {
		t.Errorf("the chunked call was answered %q", got["chunked"])
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	retried := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "retrying in") {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("%d polls retried, want 2 (the 500 and the call without an id):\n%s", retried, out.String())
	}
}
