package fcemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxAnswer is the largest response or error document accepted, as FC's
// 32 MB limit on synchronous responses.
const maxAnswer = 32 << 20

const apiPrefix = "/2020-11-11/runtime/invocation/"

// errPollAborted is why an instance whose long poll was aborted is lost.
var errPollAborted = errors.New("its pending long poll was aborted (process gone)")

// Instance is one FC instance: a runtime API endpoint served to one process.
type Instance struct {
	emu    *Emulator
	id     int
	ln     net.Listener
	srv    *http.Server
	closed chan struct{} // closed by Close
	gone   chan struct{} // closed when the instance is lost

	// Set by StartProcess before the process starts.
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error

	// Guarded by emu.mu.
	isClosed    bool
	lifecycle   []*call // calls for this instance only, sent before invocations
	inflight    map[string]*call
	invocations int // in-flight invocations (not lifecycle calls)
	polls       int // long polls waiting for work
	ready       bool
	draining    bool
	lost        error
	initCall    *call
}

// NewInstance starts a runtime API endpoint for one more instance. Start
// the function's process with FC_RUNTIME_API=inst.Addr() (StartProcess does
// that), and Close the instance once the process has exited.
func (e *Emulator) NewInstance() (*Instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fcemu: listen: %w", err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return nil, ErrClosed
	}
	i := &Instance{
		emu: e, id: len(e.instances) + 1, ln: ln,
		closed: make(chan struct{}), gone: make(chan struct{}),
		inflight: map[string]*call{}, ready: !e.cfg.initializer,
	}
	// No read or write timeouts: polls last as long as there is no work.
	i.srv = &http.Server{Handler: http.HandlerFunc(i.serveHTTP), ReadHeaderTimeout: 30 * time.Second}
	e.instances = append(e.instances, i)
	if e.cfg.initializer {
		i.initCall = e.newCallLocked(KindInitializer, nil, e.cfg.initTimeout, invokeCfg{})
		i.initCall.target = i
		i.lifecycle = append(i.lifecycle, i.initCall)
	}
	e.mu.Unlock()

	go i.srv.Serve(ln) //nolint:errcheck // ErrServerClosed after Close
	if c := i.initCall; c != nil {
		go func() {
			select {
			case <-c.done:
			case <-e.done:
				return
			}
			if c.res.Status != StatusOK {
				i.Lose(fmt.Errorf("initializer failed: %s", c.res))
				return
			}
			e.mu.Lock()
			i.ready = true
			e.broadcastLocked()
			e.mu.Unlock()
		}()
	}
	return i, nil
}

// ID numbers the emulator's instances from 1.
func (i *Instance) ID() int { return i.id }

// Addr is the value for FC_RUNTIME_API: host:port, no scheme.
func (i *Instance) Addr() string { return i.ln.Addr().String() }

// Gone is closed when the instance is lost.
func (i *Instance) Gone() <-chan struct{} { return i.gone }

// Err says why the instance was lost; nil while it lives.
func (i *Instance) Err() error {
	i.emu.mu.Lock()
	defer i.emu.mu.Unlock()
	return i.lost
}

// InFlight returns how many calls the instance received and has not
// answered.
func (i *Instance) InFlight() int {
	i.emu.mu.Lock()
	defer i.emu.mu.Unlock()
	return len(i.inflight)
}

// Polls returns how many long polls of the instance wait for work now. The
// SDK keeps one open while it lives, so after a call was dispatched, Polls
// turning 1 means the process has polled again: killing it now aborts that
// poll, which loses the instance even if StartProcess did not start it.
func (i *Instance) Polls() int {
	i.emu.mu.Lock()
	defer i.emu.mu.Unlock()
	return i.polls
}

// Lose reports that the instance's process is gone: its unanswered calls
// end with StatusLost and it gets no more work. Idempotent.
func (i *Instance) Lose(reason error) {
	e := i.emu
	e.mu.Lock()
	if i.lost != nil {
		e.mu.Unlock()
		return
	}
	if reason == nil {
		reason = errors.New("lost")
	}
	i.lost = reason
	close(i.gone)
	calls := append([]*call(nil), i.lifecycle...)
	i.lifecycle = nil
	for _, c := range i.inflight {
		calls = append(calls, c)
	}
	e.broadcastLocked()
	e.mu.Unlock()
	for _, c := range calls {
		e.finish(c, Result{Status: StatusLost, ErrorMessage: "instance lost: " + reason.Error()})
	}
}

// Initialize sends the instance an initializer call (x-fc-function-type 1)
// and waits for it to end. The SDK answers it with an empty response once
// the registered initializer returns.
func (i *Instance) Initialize(ctx context.Context) (Result, error) {
	return i.lifecycleCall(ctx, KindInitializer, i.emu.cfg.initTimeout)
}

// Initialized waits for the initializer call that WithInitializer sends
// every new instance, and returns how it ended.
func (i *Instance) Initialized(ctx context.Context) (Result, error) {
	if i.initCall == nil {
		return Result{}, errors.New("fcemu: no initializer configured (WithInitializer)")
	}
	return i.emu.wait(ctx, i.initCall, false) // the instance still needs it
}

// PreStop stops dispatching invocations to the instance, sends it a PreStop
// call (x-fc-function-type 2) and waits for it to end. Invocations already
// running go on; FC would stop the instance afterwards (Kill or Close it).
func (i *Instance) PreStop(ctx context.Context) (Result, error) {
	i.emu.mu.Lock()
	i.draining = true
	i.emu.mu.Unlock()
	return i.lifecycleCall(ctx, KindPreStop, i.emu.cfg.preStopTimeout)
}

func (i *Instance) lifecycleCall(ctx context.Context, kind Kind, timeout time.Duration) (Result, error) {
	e := i.emu
	e.mu.Lock()
	if e.closed || i.isClosed {
		e.mu.Unlock()
		return Result{Kind: kind}, ErrClosed
	}
	c := e.newCallLocked(kind, nil, timeout, invokeCfg{})
	c.target = i
	if i.lost != nil {
		e.mu.Unlock()
		e.finish(c, Result{Status: StatusLost, ErrorMessage: "instance lost: " + i.lost.Error()})
		return c.res, nil
	}
	i.lifecycle = append(i.lifecycle, c)
	e.broadcastLocked()
	e.mu.Unlock()
	return e.wait(ctx, c, true)
}

// Close stops serving the instance, killing its process first if
// StartProcess started it. Its unanswered calls end with StatusLost.
func (i *Instance) Close() error {
	e := i.emu
	e.mu.Lock()
	if i.isClosed {
		e.mu.Unlock()
		return nil
	}
	i.isClosed = true
	close(i.closed)
	e.broadcastLocked()
	e.mu.Unlock()
	var err error
	if i.cmd != nil {
		err = i.Kill()
	}
	i.Lose(ErrClosed)
	if cerr := i.srv.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("fcemu: instance %d: %w", i.id, cerr)
	}
	return err
}

// pickLocked takes the next call for i: its own lifecycle calls first,
// then an invocation if it is ready and has room.
func (i *Instance) pickLocked() *call {
	e := i.emu
	if i.lost != nil || i.isClosed || e.closed {
		return nil
	}
	if len(i.lifecycle) > 0 {
		c := i.lifecycle[0]
		i.lifecycle = i.lifecycle[1:]
		return c
	}
	if !i.ready || i.draining || i.invocations >= e.cfg.concurrency || len(e.pending) == 0 {
		return nil
	}
	c := e.pending[0]
	e.pending = e.pending[1:]
	return c
}

// serveHTTP serves the runtime API of this instance.
func (i *Instance) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	switch {
	case ok && rest == "next" && r.Method == http.MethodGet:
		i.serveNext(w, r)
		return
	case ok && r.Method == http.MethodPost:
		if id, ok := strings.CutSuffix(rest, "/response"); ok && id != "" && !strings.Contains(id, "/") {
			i.serveAnswer(w, r, id, OpResponse)
			return
		}
		if id, ok := strings.CutSuffix(rest, "/error"); ok && id != "" && !strings.Contains(id, "/") {
			i.serveAnswer(w, r, id, OpError)
			return
		}
	}
	i.emu.record(Request{Time: time.Now(), Instance: i.id, Op: OpUnknown, Method: r.Method, Path: r.URL.Path,
		Header: r.Header.Clone(), Status: http.StatusNotFound})
	http.Error(w, "fcemu: no such runtime API operation", http.StatusNotFound)
}

// serveNext is the long poll: it answers with the next call for this
// instance, waiting as long as there is none.
func (i *Instance) serveNext(w http.ResponseWriter, r *http.Request) {
	e := i.emu
	ctx := r.Context()
	e.mu.Lock()
	// Counted in the critical sections that take work or give up, so that
	// Polls never counts a poll that already has its call.
	i.polls++
	for {
		if e.closed || i.isClosed {
			i.polls--
			e.mu.Unlock()
			panic(http.ErrAbortHandler) // no reply: the SDK must not take an empty one for work
		}
		if ctx.Err() != nil {
			i.polls--
			e.mu.Unlock()
			e.record(Request{Time: time.Now(), Instance: i.id, Op: OpNext, Method: r.Method, Path: r.URL.Path})
			i.Lose(errPollAborted)
			return
		}
		if c := i.pickLocked(); c != nil {
			i.polls--
			e.dispatchLocked(i, c)
			h, payload := c.header, c.payload
			c.payload = nil // not needed any more; do not keep batches alive
			e.log = append(e.log, Request{Time: c.dispatched, Instance: i.id, Op: OpNext, Method: r.Method,
				Path: r.URL.Path, RequestID: c.id, Kind: c.kind, Header: h, Status: http.StatusOK})
			e.mu.Unlock()
			for k, v := range h {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(payload) // if the process is gone, its exit or the deadline ends the call
			return
		}
		wake := e.wake
		e.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
		case <-i.closed:
		case <-e.done:
		}
		e.mu.Lock()
	}
}

// serveAnswer ends a call with the function's response or error document.
func (i *Instance) serveAnswer(w http.ResponseWriter, r *http.Request, id string, op Op) {
	e := i.emu
	req := Request{Time: time.Now(), Instance: i.id, Op: op, Method: r.Method, Path: r.URL.Path, RequestID: id, Header: r.Header.Clone()}
	reply := func(status int, msg string) {
		req.Status = status
		e.record(req)
		if status == http.StatusOK {
			w.WriteHeader(status)
			return
		}
		http.Error(w, msg, status)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnswer))
	req.Body = body
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(http.StatusRequestEntityTooLarge, "fcemu: answer larger than 32 MiB")
			return
		}
		reply(http.StatusBadRequest, "fcemu: reading the answer: "+err.Error())
		return
	}
	e.mu.Lock()
	c := e.calls[id]
	e.mu.Unlock()
	if c != nil {
		req.Kind = c.kind
	}
	if c == nil || c.inst != i {
		reply(http.StatusNotFound, fmt.Sprintf("fcemu: no call %q was sent to this instance", id))
		return
	}
	res := Result{Status: StatusOK, Body: body}
	if op == OpError {
		res.Status = StatusError
		var doc struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		if json.Unmarshal(body, &doc) == nil {
			res.ErrorType, res.ErrorMessage = doc.Type, doc.Message
		} else {
			res.ErrorMessage = string(body)
		}
	}
	if !e.finishLogged(c, res, &req) {
		http.Error(w, fmt.Sprintf("fcemu: call %q already ended", id), http.StatusGone)
		return
	}
	w.WriteHeader(http.StatusOK)
}
