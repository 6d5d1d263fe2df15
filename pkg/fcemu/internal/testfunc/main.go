// Command testfunc is a function for fcemu's own tests: an FC event
// function served by the real fc-runtime-go-sdk loop (fc.Start), with an
// initializer and a PreStop hook. Its payload is a JSON object saying what
// to do; every field is optional:
//
//	{"sleep_ms": 200}     sleep, ignoring the deadline (a misbehaving function)
//	{"barrier": 3}        wait until 3 invocations are waiting together (proves concurrency)
//	{"until_stop": true}  wait for PreStop, then fail with StoppedError
//	{"stuck": true}       wait for PreStop ignoring the deadline (a hung function), then answer
//	{"fail": "msg"}       fail with a TestError carrying msg
//	{"panic": "msg"}      panic with msg
//	{"exit": 3}           exit the process at once with that status
//
// It answers with what the invocation's context held (request id,
// credentials, region, account, retry count, function, deadline) and
// whether the initializer had run. Without FC_RUNTIME_API it exits with
// status 2.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

type request struct {
	SleepMS   int    `json:"sleep_ms"`
	Barrier   int    `json:"barrier"`
	UntilStop bool   `json:"until_stop"`
	Stuck     bool   `json:"stuck"`
	Fail      string `json:"fail"`
	Panic     string `json:"panic"`
	Exit      *int   `json:"exit"`
}

// Reply is what an invocation answers.
type Reply struct {
	RequestID       string `json:"request_id"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	SecurityToken   string `json:"security_token"`
	Region          string `json:"region"`
	AccountID       string `json:"account_id"`
	RetryCount      int    `json:"retry_count"`
	FunctionName    string `json:"function_name"`
	Handler         string `json:"handler"`
	Memory          string `json:"memory"`
	EnvMemory       string `json:"env_memory"` // FC_FUNCTION_MEMORY_SIZE
	TimeoutSeconds  int    `json:"timeout_seconds"`
	DeadlineMS      int64  `json:"deadline_ms"`
	Initialized     bool   `json:"initialized"`
}

// TestError is the error a "fail" payload returns; FC reports its type name.
type TestError struct{ Msg string }

func (e *TestError) Error() string { return e.Msg }

// StoppedError is the error of an "until_stop" invocation once PreStop ran.
type StoppedError struct{}

func (StoppedError) Error() string { return "stopped by PreStop" }

type function struct {
	initialized atomic.Bool
	stopOnce    sync.Once
	stopped     chan struct{}

	mu      sync.Mutex
	waiting int
	gen     int
	arrived chan struct{} // closed and replaced when a barrier group is complete
}

func (f *function) handle(ctx context.Context, payload []byte) (*Reply, error) {
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if req.Exit != nil {
		os.Exit(*req.Exit)
	}
	if req.Panic != "" {
		panic(req.Panic)
	}
	if req.SleepMS > 0 {
		time.Sleep(time.Duration(req.SleepMS) * time.Millisecond) // deadline or not
	}
	if req.Barrier > 0 {
		if err := f.barrier(ctx, req.Barrier); err != nil {
			return nil, err
		}
	}
	if req.UntilStop {
		select {
		case <-f.stopped:
			return nil, StoppedError{}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if req.Stuck {
		<-f.stopped
	}
	if req.Fail != "" {
		return nil, &TestError{req.Fail}
	}
	fctx, _ := fccontext.FromContext(ctx)
	dl, _ := ctx.Deadline()
	return &Reply{
		RequestID: fctx.RequestID, AccessKeyID: fctx.Credentials.AccessKeyId,
		AccessKeySecret: fctx.Credentials.AccessKeySecret, SecurityToken: fctx.Credentials.SecurityToken,
		Region: fctx.Region, AccountID: fctx.AccountId, RetryCount: fctx.RetryCount,
		FunctionName: fctx.Function.Name, Handler: fctx.Function.Handler, Memory: fctx.Function.Memory,
		EnvMemory: os.Getenv("FC_FUNCTION_MEMORY_SIZE"), TimeoutSeconds: fctx.Function.Timeout, DeadlineMS: dl.UnixMilli(), Initialized: f.initialized.Load(),
	}, nil
}

// barrier waits until n invocations are in it at once (then it is empty
// again for the next group).
func (f *function) barrier(ctx context.Context, n int) error {
	f.mu.Lock()
	gen := f.gen
	f.waiting++
	if f.waiting >= n {
		f.waiting, f.gen = 0, f.gen+1
		close(f.arrived)
		f.arrived = make(chan struct{})
		f.mu.Unlock()
		return nil
	}
	ch := f.arrived
	f.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		if f.gen == gen {
			f.waiting--
		}
		f.mu.Unlock()
		return fmt.Errorf("barrier of %d: %w", n, ctx.Err())
	}
}

func main() {
	if os.Getenv("FC_RUNTIME_API") == "" {
		fmt.Fprintln(os.Stderr, "testfunc: FC_RUNTIME_API is not set")
		os.Exit(2)
	}
	f := &function{stopped: make(chan struct{}), arrived: make(chan struct{})}
	fc.RegisterInitializerFunction(func(context.Context) { f.initialized.Store(true) })
	fc.RegisterPreStopFunction(func(context.Context) { f.stopOnce.Do(func() { close(f.stopped) }) })
	fc.Start(f.handle)
}
