package fcemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
)

func TestNewValidates(t *testing.T) {
	for name, opt := range map[string]Opt{
		"timeout":     WithTimeout(0),
		"grace":       WithGrace(-time.Second),
		"concurrency": WithInstanceConcurrency(0),
		"memory":      WithFunction("f", "main", 0),
		"initializer": WithInitializer(-1),
		"prestop":     WithPreStopTimeout(0),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(opt); err == nil {
				t.Fatal("New accepted an invalid option")
			}
		})
	}
}

// TestInvokeContext checks what the SDK makes of the headers: everything
// the function sees in fccontext and its deadline.
func TestInvokeContext(t *testing.T) {
	tests := []struct {
		name  string
		opts  []Opt
		iopts []InvokeOpt
		want  reply
		tmo   time.Duration
	}{
		{
			name: "defaults",
			want: reply{Region: "cn-hangzhou", AccountID: "1234567890123456", FunctionName: "fcemu-function",
				Handler: "main", Memory: "512", EnvMemory: "512", TimeoutSeconds: 60},
			tmo: 60 * time.Second,
		},
		{
			name: "configured",
			// The grace, which the function does not see, is what lets a
			// loaded machine answer late.
			opts: []Opt{WithCredentials("ak", "sk", "tok"), WithRegion("cn-shanghai"), WithAccountID("42"),
				WithFunction("sink", "main", 1024), WithTimeout(2500 * time.Millisecond), WithGrace(time.Minute),
				WithHeader("x-fc-service-name", "svc")},
			iopts: []InvokeOpt{RetryCount(3), RequestID("my-request-1")},
			want: reply{RequestID: "my-request-1", AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "tok",
				Region: "cn-shanghai", AccountID: "42", RetryCount: 3, FunctionName: "sink", Handler: "main",
				Memory: "1024", EnvMemory: "1024", TimeoutSeconds: 3},
			tmo: 2500 * time.Millisecond,
		},
		{
			name:  "per-invocation overrides",
			opts:  []Opt{WithCredentials("ak", "sk", "tok")},
			iopts: []InvokeOpt{InvokeCredentials(Credentials{"ak2", "sk2", ""}), InvokeTimeout(10 * time.Second), InvokeHeader("x-fc-region", "eu-central-1")},
			want: reply{AccessKeyID: "ak2", AccessKeySecret: "sk2", Region: "eu-central-1", AccountID: "1234567890123456",
				FunctionName: "fcemu-function", Handler: "main", Memory: "512", EnvMemory: "512", TimeoutSeconds: 10},
			tmo: 10 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t, tt.opts...)
			inst := startTestfunc(t, e)
			res, err := e.Invoke(ctxFor(t, 30*time.Second), []byte(`{}`), tt.iopts...)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeReply(t, res)
			if tt.want.RequestID == "" {
				tt.want.RequestID = res.RequestID
			}
			tt.want.DeadlineMS, tt.want.Initialized = got.DeadlineMS, false
			if got != tt.want {
				t.Errorf("function saw\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.DeadlineMS != res.Deadline.UnixMilli() || res.Deadline.Sub(res.Dispatched).Round(time.Millisecond) != tt.tmo {
				t.Errorf("deadline %d (dispatched %v, deadline %v), want dispatch + %v", got.DeadlineMS, res.Dispatched, res.Deadline, tt.tmo)
			}
			if res.Instance != inst.ID() || res.Kind != KindInvoke || res.Header.Get("x-fc-function-type") != "0" {
				t.Errorf("result %+v: want instance %d, kind invoke, function type 0", res, inst.ID())
			}
			if tt.name == "configured" && res.Header.Get("x-fc-service-name") != "svc" {
				t.Errorf("x-fc-service-name = %q", res.Header.Get("x-fc-service-name"))
			}

			// The log: the dispatch with its headers, then the answer.
			var next, answer *Request
			for _, r := range e.Requests() {
				if r.RequestID != res.RequestID {
					continue
				}
				switch r.Op {
				case OpNext:
					next = &r
				case OpResponse:
					answer = &r
				}
			}
			if next == nil || answer == nil {
				t.Fatalf("log lacks the dispatch or the answer of %s: %+v", res.RequestID, e.Requests())
			}
			if next.Header.Get("x-fc-access-key-id") != tt.want.AccessKeyID || next.Instance != inst.ID() {
				t.Errorf("logged dispatch %+v", next)
			}
			if answer.Status != 200 || string(answer.Body) != string(res.Body) {
				t.Errorf("logged answer %+v", answer)
			}
		})
	}
}

// TestInvokeOutcomes covers every way an invocation ends, and that the
// process keeps serving after the ones it survives. Only the stuck function
// gets a short timeout: it cannot answer before the emulator gives up, and
// the others have all the time a loaded machine needs.
func TestInvokeOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		timeout   time.Duration
		status    Status
		errorType string
		message   string
		survives  bool
	}{
		{"ok", `{}`, 30 * time.Second, StatusOK, "", "", true},
		{"error", `{"fail":"disk on fire"}`, 30 * time.Second, StatusError, "TestError", "disk on fire", true},
		{"undecodable payload", `{"fail":`, 30 * time.Second, StatusError, "wrapError", "payload: unexpected end of JSON input", true},
		{"panic", `{"panic":"boom"}`, 30 * time.Second, StatusError, "string", "boom", true},
		{"timeout", `{"stuck":true}`, time.Second, StatusTimeout, "", "no answer", true},
		{"exit", `{"exit":3}`, 30 * time.Second, StatusLost, "", "instance lost", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEmu(t, WithGrace(200*time.Millisecond))
			inst := startTestfunc(t, e)
			ctx := ctxFor(t, 60*time.Second)
			res, err := e.Invoke(ctx, []byte(tt.payload), InvokeTimeout(tt.timeout))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || res.ErrorType != tt.errorType || !strings.Contains(res.ErrorMessage, tt.message) {
				t.Fatalf("got %s; want %s (%s: ...%s...)", res, tt.status, tt.errorType, tt.message)
			}
			if !tt.survives {
				if inst.Err() == nil {
					t.Fatal("instance not lost")
				}
				return
			}
			if inst.Err() != nil {
				t.Fatalf("instance lost: %v", inst.Err())
			}
			next, err := e.Invoke(ctx, []byte(`{}`))
			if err != nil || next.Status != StatusOK {
				t.Fatalf("next invocation: %s, %v", next, err)
			}
			if tt.status == StatusTimeout {
				// PreStop unsticks it: it answers at last, too late.
				if ps, err := inst.PreStop(ctx); err != nil || ps.Status != StatusOK {
					t.Fatalf("PreStop: %s, %v", ps, err)
				}
				testkit.WaitFor(t, 10*time.Second, "the late answer", func() bool {
					for _, r := range e.Requests() {
						if r.RequestID == res.RequestID && r.Op == OpResponse {
							return r.Late && r.Status == 410
						}
					}
					return false
				})
			}
		})
	}
}

// TestConcurrency: invocations run at once up to the instance concurrency,
// and not beyond.
func TestConcurrency(t *testing.T) {
	t.Run("served at once", func(t *testing.T) {
		e := newEmu(t, WithInstanceConcurrency(3))
		startTestfunc(t, e)
		ctx := ctxFor(t, 30*time.Second)
		results := make([]Result, 3)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				var err error
				if results[i], err = e.Invoke(ctx, []byte(`{"barrier":3}`), InvokeTimeout(20*time.Second)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, r := range results {
			if r.Status != StatusOK {
				t.Errorf("%s: the barrier of 3 was not reached, so they did not run at once", r)
			}
		}
	})
	t.Run("limited", func(t *testing.T) {
		// Each barrier gives up at its deadline and answers an error; the
		// long grace leaves the answer all the time it needs, so that only
		// a broken limit (the barrier passes) changes the outcome.
		e := newEmu(t, WithInstanceConcurrency(1), WithGrace(30*time.Second))
		startTestfunc(t, e)
		ctx := ctxFor(t, 30*time.Second)
		results := make([]Result, 2)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				var err error
				if results[i], err = e.Invoke(ctx, []byte(`{"barrier":2}`), InvokeTimeout(500*time.Millisecond)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		first, second := results[0], results[1]
		if second.Dispatched.Before(first.Dispatched) {
			first, second = second, first
		}
		if first.Status != StatusError || second.Status != StatusError || second.Dispatched.Before(first.Answered) {
			t.Errorf("with concurrency 1 the second must wait for the first to end:\n%s (%v-%v)\n%s (%v-%v)",
				first, first.Dispatched, first.Answered, second, second.Dispatched, second.Answered)
		}
	})
}

// TestLostInstance: a process that dies mid-invocation fails it at once,
// whether the emulator started it (it sees the exit) or not (it sees the
// aborted long poll).
func TestLostInstance(t *testing.T) {
	t.Run("started by StartProcess", func(t *testing.T) {
		e := newEmu(t)
		inst := startTestfunc(t, e)
		done := make(chan Result, 1)
		go func() {
			r, _ := e.Invoke(context.Background(), []byte(`{"sleep_ms":60000}`))
			done <- r
		}()
		testkit.WaitFor(t, 10*time.Second, "dispatch", func() bool { return inst.InFlight() == 1 })
		if err := inst.Kill(); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.Status != StatusLost {
				t.Fatalf("got %s, want lost", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the invocation of a killed process did not end")
		}
		// Work queued meanwhile waits for the next instance.
		res := make(chan Result, 1)
		go func() {
			r, _ := e.Invoke(context.Background(), []byte(`{}`))
			res <- r
		}()
		testkit.WaitFor(t, 10*time.Second, "queued invocation", func() bool { return e.Pending() == 1 })
		inst2 := startTestfunc(t, e)
		if r := <-res; r.Status != StatusOK || r.Instance != inst2.ID() {
			t.Fatalf("got %s on instance %d, want ok on %d", r, r.Instance, inst2.ID())
		}
	})
	t.Run("started elsewhere", func(t *testing.T) {
		e := newEmu(t)
		inst, err := e.NewInstance()
		if err != nil {
			t.Fatal(err)
		}
		cmd := testfuncCmd(t)
		cmd.Env = append(os.Environ(), "FC_RUNTIME_API="+inst.Addr())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan Result, 1)
		go func() {
			r, _ := e.Invoke(context.Background(), []byte(`{"sleep_ms":60000}`))
			done <- r
		}()
		testkit.WaitFor(t, 10*time.Second, "dispatch", func() bool { return inst.InFlight() == 1 })
		// The SDK polls again right after a dispatch: the kill must abort
		// that poll, so it must have arrived.
		testkit.WaitFor(t, 10*time.Second, "the next poll", func() bool { return inst.Polls() == 1 })
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		select {
		case r := <-done:
			if r.Status != StatusLost || !errors.Is(inst.Err(), errPollAborted) {
				t.Fatalf("got %s (instance: %v), want lost through the aborted poll", r, inst.Err())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the invocation of a killed process did not end")
		}
	})
}

func TestInitializer(t *testing.T) {
	t.Run("gates invocations", func(t *testing.T) {
		e := newEmu(t, WithInitializer(30*time.Second))
		ctx := ctxFor(t, 30*time.Second)
		res := make(chan Result, 1)
		go func() {
			r, _ := e.Invoke(ctx, []byte(`{}`)) // queued before the instance exists
			res <- r
		}()
		inst := startTestfunc(t, e)
		init, err := inst.Initialized(ctx)
		if err != nil || init.Status != StatusOK || init.Kind != KindInitializer || init.Header.Get("x-fc-function-type") != "1" || len(init.Body) != 0 {
			t.Fatalf("initializer: %s, %v", init, err)
		}
		if rep := decodeReply(t, <-res); !rep.Initialized {
			t.Error("the invocation ran before the initializer")
		}
		var kinds []Kind
		for _, r := range e.Requests() {
			if r.Op == OpNext {
				kinds = append(kinds, r.Kind)
			}
		}
		if len(kinds) != 2 || kinds[0] != KindInitializer || kinds[1] != KindInvoke {
			t.Errorf("dispatch order %v, want [initializer invoke]", kinds)
		}
	})
	t.Run("giving up waiting keeps it", func(t *testing.T) {
		e := newEmu(t, WithInitializer(30*time.Second))
		inst, err := e.NewInstance()
		if err != nil {
			t.Fatal(err)
		}
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := inst.Initialized(gone); !errors.Is(err, context.Canceled) {
			t.Fatalf("Initialized on a cancelled context: %v", err)
		}
		cmd := testfuncCmd(t)
		cmd.Env = append(os.Environ(), "FC_RUNTIME_API="+inst.Addr())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		ctx := ctxFor(t, 30*time.Second)
		if rep := decodeReply(t, must(e.Invoke(ctx, []byte(`{}`)))); !rep.Initialized {
			t.Error("the invocation ran before the initializer")
		}
	})
	t.Run("on demand", func(t *testing.T) {
		e := newEmu(t)
		inst := startTestfunc(t, e)
		ctx := ctxFor(t, 30*time.Second)
		if rep := decodeReply(t, must(e.Invoke(ctx, []byte(`{}`)))); rep.Initialized {
			t.Error("initialized before any initializer call")
		}
		if r := must(inst.Initialize(ctx)); r.Status != StatusOK {
			t.Fatalf("initializer: %s", r)
		}
		if rep := decodeReply(t, must(e.Invoke(ctx, []byte(`{}`)))); !rep.Initialized {
			t.Error("not initialized after the initializer call")
		}
	})
}

func must(r Result, err error) Result {
	if err != nil {
		panic(err)
	}
	return r
}

// TestPreStop: PreStop reaches the function while an invocation runs, and
// the instance gets no more invocations.
func TestPreStop(t *testing.T) {
	e := newEmu(t, WithInstanceConcurrency(4))
	inst := startTestfunc(t, e)
	ctx := ctxFor(t, 30*time.Second)
	running := make(chan Result, 1)
	go func() { running <- must(e.Invoke(ctx, []byte(`{"until_stop":true}`))) }()
	testkit.WaitFor(t, 10*time.Second, "dispatch", func() bool { return inst.InFlight() == 1 })

	ps, err := inst.PreStop(ctx)
	if err != nil || ps.Status != StatusOK || ps.Kind != KindPreStop || ps.Header.Get("x-fc-function-type") != "2" {
		t.Fatalf("PreStop: %s, %v", ps, err)
	}
	if r := <-running; r.Status != StatusError || r.ErrorType != "StoppedError" {
		t.Fatalf("running invocation: %s, want StoppedError", r)
	}

	// Drained: a new invocation waits for another instance.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if r, err := e.Invoke(short, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("invocation after PreStop: %s, %v; want it left waiting", r, err)
	}
	if n := e.Pending(); n != 0 {
		t.Fatalf("%d invocations still queued after their context ended", n)
	}
	inst2 := startTestfunc(t, e)
	if r := must(e.Invoke(ctx, []byte(`{}`))); r.Status != StatusOK || r.Instance != inst2.ID() {
		t.Fatalf("got %s on instance %d, want ok on %d", r, r.Instance, inst2.ID())
	}
}

// TestCredentialRotation: each call carries the credentials current when
// it is dispatched.
func TestCredentialRotation(t *testing.T) {
	e := newEmu(t, WithCredentials("ak-0", "sk-0", "tok-0"))
	startTestfunc(t, e)
	ctx := ctxFor(t, 30*time.Second)
	for i := range 4 {
		if i > 0 {
			n := strconv.Itoa(i)
			e.SetCredentials(Credentials{"ak-" + n, "sk-" + n, "tok-" + n})
		}
		rep := decodeReply(t, must(e.Invoke(ctx, []byte(`{}`))))
		n := strconv.Itoa(i)
		if rep.AccessKeyID != "ak-"+n || rep.AccessKeySecret != "sk-"+n || rep.SecurityToken != "tok-"+n {
			t.Errorf("invocation %d saw %s/%s/%s", i, rep.AccessKeyID, rep.AccessKeySecret, rep.SecurityToken)
		}
	}
}

// TestSupervisor: a killed process is replaced, and work goes on. The
// supervisor accounts for a replacement (Current, Starts) before its process
// can take work: right after the start, and so after any invocation the
// process answered. (It used to do so only after StartProcess returned, so
// a fast process could answer first: Current was still the dead instance,
// and killing it killed nothing.)
func TestSupervisor(t *testing.T) {
	e := newEmu(t)
	type snapshot struct{ started, current, starts int }
	restarts := make(chan snapshot, 8)
	sup, err := e.supervise(func() *exec.Cmd { return testfuncCmd(t) }, func(s *Supervisor, inst *Instance) {
		restarts <- snapshot{inst.ID(), s.Current().ID(), s.Starts()}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	seen := map[int]bool{}
	for n := 1; n <= 4; n++ {
		r := must(e.Invoke(ctx, []byte(`{}`)))
		if r.Status != StatusOK {
			t.Fatalf("%s", r)
		}
		seen[r.Instance] = true
		if cur, starts := sup.Current(), sup.Starts(); cur.ID() != r.Instance || starts != n {
			t.Fatalf("invocation %d answered by instance %d; the supervisor says current %d, %d starts", n, r.Instance, cur.ID(), starts)
		}
		if n == 4 {
			break
		}
		if err := sup.Current().Kill(); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-restarts:
			if s.current != s.started || s.starts != n+1 {
				t.Fatalf("right after starting instance %d the supervisor says current %d, %d starts; want %d, %d",
					s.started, s.current, s.starts, s.started, n+1)
			}
		case <-ctx.Done():
			t.Fatal("no replacement started")
		}
	}
	if len(seen) != 4 || sup.Err() != nil {
		t.Errorf("instances %v, err %v", seen, sup.Err())
	}
	if err := sup.Stop(); err != nil {
		t.Error(err)
	}
}

func TestClose(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	inst := startTestfunc(t, e)
	done := make(chan error, 1)
	go func() {
		_, err := e.Invoke(context.Background(), []byte(`{"sleep_ms":60000}`))
		done <- err
	}()
	testkit.WaitFor(t, 10*time.Second, "dispatch", func() bool { return inst.InFlight() == 1 })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Invoke across Close: %v, want ErrClosed", err)
	}
	select {
	case <-inst.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the process running")
	}
	if _, err := e.Invoke(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Invoke after Close: %v", err)
	}
}
