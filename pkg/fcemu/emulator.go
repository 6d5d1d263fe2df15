package fcemu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ErrClosed: the emulator (or the instance a call was meant for) was
// closed before the call ended.
var ErrClosed = errors.New("fcemu: closed")

// Emulator is one function's side of the FC runtime API. See the package
// doc.
type Emulator struct {
	cfg    config
	idBase string
	done   chan struct{} // closed by Close

	mu        sync.Mutex
	closed    bool
	creds     Credentials
	seq       int
	pending   []*call          // invocations waiting for an instance
	calls     map[string]*call // every dispatched call, finished or not
	instances []*Instance
	wake      chan struct{} // closed and replaced whenever work or room appears
	log       []Request
}

// call is one invocation or lifecycle call.
type call struct {
	id      string
	kind    Kind
	payload []byte
	opts    invokeCfg
	timeout time.Duration
	target  *Instance // lifecycle calls: the instance it is for
	done    chan struct{}

	// Guarded by Emulator.mu.
	inst       *Instance // the instance it was dispatched to
	header     http.Header
	dispatched time.Time
	deadline   time.Time
	timer      *time.Timer
	finished   bool
	closed     bool // ended by Emulator.Close
	res        Result
}

// New returns an emulator configured by opts. It listens nowhere until
// NewInstance or StartProcess.
func New(opts ...Opt) (*Emulator, error) {
	cfg := defaultCfg()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Emulator{
		cfg:    cfg,
		idBase: strconv.FormatInt(time.Now().UnixNano()&0xffffffffff, 16),
		done:   make(chan struct{}),
		creds:  cfg.creds,
		calls:  map[string]*call{},
		wake:   make(chan struct{}),
	}, nil
}

// SetCredentials replaces the credentials handed out with calls dispatched
// from now on, as FC rotates a role's temporary keys.
func (e *Emulator) SetCredentials(c Credentials) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creds = c
}

// Invoke queues one invocation with payload (which it does not modify) and
// waits until it ends: answered, timed out or lost. It waits for an
// instance as long as ctx allows; the deadline starts when an instance
// takes the invocation. The error is non-nil only if ctx ended or the
// emulator was closed first: how the function fared is in Result.Status.
// If ctx ends after dispatch, the call still runs to its end, and is
// recorded.
func (e *Emulator) Invoke(ctx context.Context, payload []byte, opts ...InvokeOpt) (Result, error) {
	var ic invokeCfg
	for _, o := range opts {
		if o != nil {
			o(&ic)
		}
	}
	timeout := e.cfg.timeout
	if ic.timeout > 0 {
		timeout = ic.timeout
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return Result{Kind: KindInvoke}, ErrClosed
	}
	c := e.newCallLocked(KindInvoke, payload, timeout, ic)
	if _, dup := e.calls[c.id]; dup || slices.ContainsFunc(e.pending, func(p *call) bool { return p.id == c.id }) {
		e.mu.Unlock()
		return Result{RequestID: c.id, Kind: KindInvoke}, fmt.Errorf("fcemu: request id %q already used", c.id)
	}
	e.pending = append(e.pending, c)
	e.broadcastLocked()
	e.mu.Unlock()
	return e.wait(ctx, c, true)
}

// Requests returns a copy of the request log, oldest first. The entries
// share their Header maps and Body slices with the log: read, do not
// modify.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// Pending returns how many invocations wait for an instance.
func (e *Emulator) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// Close stops every instance (killing the processes StartProcess started)
// and ends every wait with ErrClosed. Calls still running are left
// unanswered.
func (e *Emulator) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.done)
	insts := slices.Clone(e.instances)
	// End every call still waiting or running; Invoke reports ErrClosed.
	unfinished := slices.Clone(e.pending)
	e.pending = nil
	for _, c := range e.calls {
		unfinished = append(unfinished, c)
	}
	for _, i := range insts {
		unfinished = append(unfinished, i.lifecycle...)
		i.lifecycle = nil
	}
	for _, c := range unfinished {
		if c.finished {
			continue
		}
		if c.timer != nil {
			c.timer.Stop()
		}
		c.finished, c.closed = true, true
		c.res = Result{RequestID: c.id, Kind: c.kind, Status: StatusLost, ErrorMessage: "emulator closed"}
		close(c.done)
	}
	e.broadcastLocked()
	e.mu.Unlock()
	var errs []error
	for _, i := range insts {
		errs = append(errs, i.Close())
	}
	return errors.Join(errs...)
}

func (e *Emulator) newCallLocked(kind Kind, payload []byte, timeout time.Duration, ic invokeCfg) *call {
	e.seq++
	id := ic.requestID
	if id == "" {
		id = fmt.Sprintf("fcemu-%s-%06d", e.idBase, e.seq)
	}
	return &call{id: id, kind: kind, payload: payload, opts: ic, timeout: timeout, done: make(chan struct{})}
}

// broadcastLocked wakes every waiting poll.
func (e *Emulator) broadcastLocked() {
	close(e.wake)
	e.wake = make(chan struct{})
}

// wait waits for c to end, or for ctx or the emulator to. If ctx ends
// first and withdraw is set, a call not yet dispatched is withdrawn.
func (e *Emulator) wait(ctx context.Context, c *call, withdraw bool) (Result, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
	case <-e.done:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.closed {
		return c.res, fmt.Errorf("fcemu: %s %s: %w", c.kind, c.id, ErrClosed)
	}
	if c.finished {
		return c.res, nil
	}
	if c.inst == nil && withdraw {
		e.pending = slices.DeleteFunc(e.pending, func(p *call) bool { return p == c })
		if c.target != nil {
			c.target.lifecycle = slices.DeleteFunc(c.target.lifecycle, func(p *call) bool { return p == c })
		}
	}
	res := Result{RequestID: c.id, Kind: c.kind}
	if c.inst != nil {
		res.Instance = c.inst.id
	}
	return res, fmt.Errorf("fcemu: %s %s: %w", c.kind, c.id, context.Cause(ctx))
}

// dispatchLocked hands c to instance i: it starts the deadline and builds
// the headers.
func (e *Emulator) dispatchLocked(i *Instance, c *call) {
	now := time.Now()
	c.inst = i
	c.dispatched = now
	c.deadline = now.Add(c.timeout)
	c.header = e.headerLocked(c)
	i.inflight[c.id] = c
	if c.kind == KindInvoke {
		i.invocations++
	}
	e.calls[c.id] = c
	timeout, grace := c.timeout, e.cfg.grace
	c.timer = time.AfterFunc(timeout+grace, func() {
		e.finish(c, Result{Status: StatusTimeout,
			ErrorMessage: fmt.Sprintf("no answer %v after the deadline (function timeout %v)", grace, timeout)})
	})
}

func (e *Emulator) headerLocked(c *call) http.Header {
	h := e.cfg.header.Clone()
	creds := e.creds
	if c.opts.creds != nil {
		creds = *c.opts.creds
	}
	set := func(k, v string) { h.Set(k, v) }
	set("x-fc-request-id", c.id)
	set("x-fc-function-type", strconv.Itoa(int(c.kind)))
	set("x-fc-function-deadline", strconv.FormatInt(c.deadline.UnixMilli(), 10))
	set("x-fc-function-timeout", strconv.Itoa(max(1, int(math.Ceil(c.timeout.Seconds())))))
	set("x-fc-access-key-id", creds.AccessKeyID)
	set("x-fc-access-key-secret", creds.AccessKeySecret)
	set("x-fc-security-token", creds.SecurityToken)
	set("x-fc-region", e.cfg.region)
	set("x-fc-account-id", e.cfg.accountID)
	set("x-fc-retry-count", strconv.Itoa(c.opts.retryCount))
	set("x-fc-function-name", e.cfg.functionName)
	set("x-fc-function-handler", e.cfg.handler)
	set("x-fc-function-memory", strconv.Itoa(e.cfg.memoryMB))
	set("x-fc-qualifier", "LATEST")
	set("Content-Type", "application/octet-stream")
	for k, v := range c.opts.header {
		h[k] = slices.Clone(v)
	}
	return h
}

// finish ends c with r (Status and the error fields; the rest is filled in)
// unless it already ended. It reports whether it did.
func (e *Emulator) finish(c *call, r Result) bool { return e.finishLogged(c, r, nil) }

// finishLogged is finish that also logs the answer that ended the call (or
// came too late), in the same critical section: once Invoke returns, the
// log holds the answer.
func (e *Emulator) finishLogged(c *call, r Result, answer *Request) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if answer != nil {
		answer.Late = c.finished
		answer.Status = http.StatusOK
		if c.finished {
			answer.Status = http.StatusGone
		}
		e.log = append(e.log, *answer)
	}
	if c.finished {
		return false
	}
	now := time.Now()
	c.finished = true
	if c.timer != nil {
		c.timer.Stop()
	}
	r.RequestID, r.Kind = c.id, c.kind
	r.Answered = now
	if i := c.inst; i != nil {
		r.Instance = i.id
		r.Header = c.header.Clone()
		r.Dispatched, r.Deadline = c.dispatched, c.deadline
		r.Duration = now.Sub(c.dispatched)
		delete(i.inflight, c.id)
		if c.kind == KindInvoke {
			i.invocations--
		}
	}
	c.res = r
	close(c.done)
	e.broadcastLocked()
	return true
}

func (e *Emulator) record(r Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, r)
}
