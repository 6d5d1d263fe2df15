package fcruntime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// Handler serves one invocation. payload is the request body: the
// handler may modify it but must not keep it (or anything pointing into
// it) after returning, since the buffer is reused for a later invocation.
// The returned bytes are posted as the response; a non-nil error is posted
// as the error document instead (see the package doc).
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// Opt configures Serve.
type Opt func(*config)

type config struct {
	initializer func(context.Context)
	preStop     func(context.Context)
	getenv      func(string) string
	setLimit    func(int64) int64
	out         io.Writer
	waitErr     func(error) error
	conns       int
	onWait      func(int)
}

// WithInitializer registers the initializer hook (x-fc-function-type 1),
// as fc.RegisterInitializerFunction. Without it an initializer call is
// answered with an error, as the SDK does.
func WithInitializer(f func(context.Context)) Opt { return func(c *config) { c.initializer = f } }

// WithPreStop registers the PreStop hook (x-fc-function-type 2), as
// fc.RegisterPreStopFunction. Without it a PreStop call is answered with
// an error, as the SDK does.
func WithPreStop(f func(context.Context)) Opt { return func(c *config) { c.preStop = f } }

// WithGetenv sets where FC_FUNCTION_MEMORY_SIZE and GOMEMLIMIT are read.
// Default os.Getenv.
func WithGetenv(f func(string) string) Opt { return func(c *config) { c.getenv = f } }

// WithSetMemoryLimit sets the function that applies the memory limit,
// with runtime/debug.SetMemoryLimit's contract (a negative argument only
// reads it). Default debug.SetMemoryLimit; tests pass their own so as not
// to limit the test process.
func WithSetMemoryLimit(f func(int64) int64) Opt { return func(c *config) { c.setLimit = f } }

// WithOutput sets where the runtime logs: the "FC Invoke Start/End
// RequestId: ..." lines the SDK prints, the memory settings chosen, and
// failures to reach the runtime API. Default os.Stdout, as the SDK.
func WithOutput(w io.Writer) Opt { return func(c *config) { c.out = w } }

// WithWaitError sets how the error of a batch that found no memory before
// its deadline (a *MemoryWaitError) is posted: f wraps it, into the
// caller's own transient error type, say. Default: posted as is
// (errorType "MemoryWaitError").
func WithWaitError(f func(error) error) Opt { return func(c *config) { c.waitErr = f } }

// WithConnections sets how many connections to the runtime API are kept
// open: one poll plus the calls in flight (FC's instance concurrency).
// Default 16.
func WithConnections(n int) Opt { return func(c *config) { c.conns = n } }

// EnvMemorySize is the variable in which FC gives the function's memory
// size in MB.
const EnvMemorySize = "FC_FUNCTION_MEMORY_SIZE"

// Poll failures in a row are retried with a growing pause, for as long as
// giveUpAfter; then Serve returns (the process should exit, and FC starts
// another instance).
const (
	minPause    = 10 * time.Millisecond
	maxPause    = time.Second
	giveUpAfter = 30 * time.Second
)

// Serve serves the runtime API at addr (FC_RUNTIME_API: host:port) with h
// until ctx ends (it then returns nil once the calls in flight are
// answered) or the API has been unreachable for 30 seconds (an error).
func Serve(ctx context.Context, addr string, h Handler, opts ...Opt) error {
	cfg := config{getenv: os.Getenv, setLimit: debug.SetMemoryLimit, out: os.Stdout, conns: 16}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	rt := &runtimeLoop{cfg: cfg, h: h, c: newClient(addr, max(cfg.conns, 2)), mem: &memory{onWait: cfg.onWait}}
	return rt.serve(ctx)
}

type runtimeLoop struct {
	cfg     config
	h       Handler
	c       *client
	mem     *memory
	memOnce sync.Once
	outMu   sync.Mutex
}

func (rt *runtimeLoop) serve(ctx context.Context) error {
	// Nothing before the first poll: it is the instance's cold start.
	if mb, err := strconv.Atoi(rt.cfg.getenv(EnvMemorySize)); err == nil && mb > 0 {
		rt.setMemory(mb, EnvMemorySize)
	}
	base := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	var failingSince time.Time
	pause := minPause
	for {
		resp, err := rt.c.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			now := time.Now()
			if failingSince.IsZero() {
				failingSince = now
			} else if now.Sub(failingSince) > giveUpAfter {
				return fmt.Errorf("%w (failing for %v)", err, now.Sub(failingSince).Round(time.Second))
			}
			rt.logf("fcruntime: %v; retrying in %v", err, pause)
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil
			}
			pause = min(2*pause, maxPause)
			continue
		}
		failingSince, pause = time.Time{}, minPause
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.serveCall(base, resp)
		}()
	}
}

// setMemory applies the memory rule (see the package doc) once: from the
// environment at start, or from the first call's x-fc-function-memory.
func (rt *runtimeLoop) setMemory(memMB int, source string) {
	rt.memOnce.Do(func() {
		limit := MemoryLimit(memMB)
		how := "set"
		if v := rt.cfg.getenv("GOMEMLIMIT"); v != "" {
			how = "GOMEMLIMIT=" + v + " kept"
			if cur := rt.cfg.setLimit(-1); cur < limit {
				limit = cur
			}
		} else {
			rt.cfg.setLimit(limit)
		}
		budget := max(limit-baseHeap, 0)
		rt.mem.setBudget(budget)
		rt.logf("fcruntime: memory %d MB (%s): Go memory limit %d MiB (%s), batches admitted within %d MiB", memMB, source, limit/mib, how, budget/mib)
	})
}

// kind of call, as x-fc-function-type says.
const (
	kindInvoke      = 0
	kindInitializer = 1
	kindPreStop     = 2
	kindPreFreeze   = 3
)

// serveCall serves one call whose headers resp holds; it reads and closes
// the body.
func (rt *runtimeLoop) serveCall(base context.Context, resp *http.Response) {
	h := resp.Header
	id := h.Get(hRequestID)
	kind, err := strconv.Atoi(h.Get(hFunctionType))
	if err != nil {
		kind = kindInvoke // as the SDK: a missing or odd type is an invocation
	}
	if mb, err := strconv.Atoi(h.Get(hFunctionMemory)); err == nil && mb > 0 {
		rt.setMemory(mb, hFunctionMemory)
	}
	fctx, dl, err := fcContext(h)
	if err != nil {
		drain(resp.Body)
		rt.fail(id, errorDoc(err))
		return
	}
	ctx, cancel := context.WithDeadline(base, dl)
	defer cancel()
	ctx = fccontext.NewContext(ctx, fctx)

	switch kind {
	case kindInitializer, kindPreStop, kindPreFreeze:
		drain(resp.Body)
		rt.lifecycle(ctx, id, kind)
		return
	}
	n := int(resp.ContentLength)
	if n < 0 {
		n = MaxBody // unknown length: admitted as the largest
	}
	g, err := rt.mem.acquire(ctx, n)
	if err != nil {
		_ = resp.Body.Close() // unread: the connection is dropped
		if rt.cfg.waitErr != nil {
			err = rt.cfg.waitErr(err)
		}
		rt.fail(id, errorDoc(err))
		return
	}
	payload, err := readBody(resp, g.buf)
	_ = resp.Body.Close()
	if err != nil {
		rt.mem.release(g)
		rt.fail(id, errorDoc(fmt.Errorf("fcruntime: reading the body of %s: %w", id, err)))
		return
	}
	rt.printf("FC Invoke Start RequestId: %s\n", id)
	out, doc := rt.call(ctx, payload)
	rt.mem.release(g) // the handler is done with the body
	if doc != nil {
		rt.printf("FC Invoke End RequestId: %s%s\n", id, unhandled(doc))
		rt.fail(id, doc)
		return
	}
	rt.printf("FC Invoke End RequestId: %s\n", id)
	if err := rt.c.answer(id, "response", out); err != nil {
		rt.logf("%v", err)
	}
}

// readBody reads resp's body into buf (len: Content-Length), or, of
// unknown length, into buf's room and beyond.
func readBody(resp *http.Response, buf []byte) ([]byte, error) {
	if resp.ContentLength >= 0 {
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// lifecycle runs the initializer, PreStop or PreFreeze hook and answers
// with an empty response, or with an error if none is registered or it
// panicked.
func (rt *runtimeLoop) lifecycle(ctx context.Context, id string, kind int) {
	var hook func(context.Context)
	name := ""
	switch kind {
	case kindInitializer:
		hook, name = rt.cfg.initializer, "Initialize"
	case kindPreStop:
		hook, name = rt.cfg.preStop, "PreStop"
	default:
		name = "PreFreeze"
	}
	rt.printf("FC %s Start RequestId: %s\n", name, id)
	var doc *errorDocument
	if hook == nil {
		doc = errorDoc(fmt.Errorf("fcruntime: no %s hook registered", name))
	} else {
		_, doc = rt.call(ctx, nil, hook)
	}
	if doc != nil {
		rt.printf("FC %s End RequestId: %s%s\n", name, id, unhandled(doc))
		rt.fail(id, doc)
		return
	}
	rt.printf("FC %s End RequestId: %s\n", name, id)
	if err := rt.c.answer(id, "response", []byte{}); err != nil {
		rt.logf("%v", err)
	}
}

// call runs the handler on payload, or hook if given, turning an error or
// a panic into an error document.
func (rt *runtimeLoop) call(ctx context.Context, payload []byte, hook ...func(context.Context)) (out []byte, doc *errorDocument) {
	defer func() {
		if v := recover(); v != nil {
			out, doc = nil, panicDoc(v)
			rt.logf("fcruntime: panic: %v\n%s", v, debug.Stack())
		}
	}()
	if len(hook) > 0 {
		hook[0](ctx)
		return nil, nil
	}
	out, err := rt.h(ctx, payload)
	if err != nil {
		return nil, errorDoc(err)
	}
	return out, nil
}

func (rt *runtimeLoop) fail(id string, doc *errorDocument) {
	b, err := json.Marshal(doc)
	if err != nil { // a message that is not UTF-8 still marshals; keep a fallback
		b = []byte(`{"errorMessage":"error document not encodable","errorType":"Runtime.SerializationError"}`)
	}
	if err := rt.c.answer(id, "error", b); err != nil {
		rt.logf("%v", err)
	}
}

func (rt *runtimeLoop) printf(format string, args ...any) {
	rt.outMu.Lock()
	defer rt.outMu.Unlock()
	fmt.Fprintf(rt.cfg.out, format, args...)
}

func (rt *runtimeLoop) logf(format string, args ...any) {
	rt.printf(time.Now().UTC().Format("2006-01-02T15:04:05.000Z ")+format+"\n", args...)
}

// errorDocument is the body of .../error, as fc-runtime-go-sdk posts it.
type errorDocument struct {
	Message    string       `json:"errorMessage"`
	Type       string       `json:"errorType"`
	StackTrace []stackFrame `json:"stackTrace,omitempty"`
	panicked   bool
}

type stackFrame struct {
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Label string `json:"label"`
}

// errorDoc names err by its type, as the SDK: the outermost error's type
// name, without package or pointer (*handler.WriteError is "WriteError").
func errorDoc(err error) *errorDocument {
	return &errorDocument{Message: err.Error(), Type: typeName(err)}
}

func panicDoc(v any) *errorDocument {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(4, pcs) // past Callers, panicDoc, the deferred func, gopanic
	frames := runtime.CallersFrames(pcs[:n])
	var st []stackFrame
	for {
		f, more := frames.Next()
		st = append(st, stackFrame{Path: f.File, Line: f.Line, Label: f.Function[strings.LastIndex(f.Function, "/")+1:]})
		if !more {
			break
		}
	}
	return &errorDocument{Message: fmt.Sprint(v), Type: typeName(v), StackTrace: st, panicked: true}
}

func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return ""
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func unhandled(doc *errorDocument) string {
	if doc.panicked {
		return ", Error: Unhandled function error"
	}
	return ""
}

// fcContext builds what fccontext.FromContext returns from the call's
// headers, as the SDK does, and its deadline.
func fcContext(h http.Header) (*fccontext.FcContext, time.Time, error) {
	dl, err := deadline(h)
	if err != nil {
		return nil, time.Time{}, err
	}
	timeout, retries := 0, 0
	if v := h.Get(hFunctionTimeout); v != "" {
		if timeout, err = strconv.Atoi(v); err != nil {
			return nil, time.Time{}, fmt.Errorf("fcruntime: header %s %q is not whole seconds", hFunctionTimeout, v)
		}
	}
	if v := h.Get(hRetryCount); v != "" {
		if retries, err = strconv.Atoi(v); err != nil {
			return nil, time.Time{}, fmt.Errorf("fcruntime: header %s %q is not a count", hRetryCount, v)
		}
	}
	baggages := map[string]string{}
	if v := h.Get(hSpanBaggages); v != "" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err == nil {
			err = json.Unmarshal(b, &baggages)
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("fcruntime: header %s is not base64 of a JSON object: %w", hSpanBaggages, err)
		}
	}
	id := h.Get(hRequestID)
	return &fccontext.FcContext{
		RequestID: id,
		Credentials: fccontext.Credentials{
			AccessKeyId:     h.Get(hAccessKeyID),
			AccessKeySecret: h.Get(hAccessKeySecret),
			SecurityToken:   h.Get(hSecurityToken),
		},
		Function: fccontext.Function{
			Name:    h.Get(hFunctionName),
			Handler: h.Get(hFunctionHandler),
			Memory:  h.Get(hFunctionMemory),
			Timeout: timeout,
		},
		Service: fccontext.Service{
			Name:       h.Get(hServiceName),
			LogProject: h.Get(hLogProject),
			LogStore:   h.Get(hLogStore),
			Qualifier:  h.Get(hQualifier),
			VersionId:  h.Get(hVersionID),
		},
		Tracing: fccontext.Tracing{
			OpenTracingSpanContext:  h.Get(hSpanContext),
			OpenTracingSpanBaggages: baggages,
			JaegerEndpoint:          h.Get(hJaegerEndpoint),
		},
		Region:     h.Get(hRegion),
		AccountId:  h.Get(hAccountID),
		RetryCount: retries,
	}, dl, nil
}
