package osstest

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Op is the kind of an OSS request, used to attach faults and count requests.
type Op uint8

const (
	// OpOther is any request the server does not implement (answered with
	// 501 NotImplemented) or cannot parse.
	OpOther      Op = iota
	OpPut           // PutObject
	OpAppend        // AppendObject
	OpGet           // GetObject
	OpHead          // HeadObject and GetObjectMeta
	OpDelete        // DeleteObject
	OpList          // ListObjectsV2
	OpRestore       // RestoreObject
	OpGetTagging    // GetObjectTagging
	// OpPutTagging is PutObjectTagging. As a Deny operation it also
	// matches a PutObject or AppendObject that sets tags (x-oss-tagging),
	// which OSS authorizes as oss:PutObjectTagging besides oss:PutObject.
	OpPutTagging
	numOps
)

// Ops returns every operation kind a Fault can be attached to.
func Ops() []Op {
	return []Op{OpPut, OpAppend, OpGet, OpHead, OpDelete, OpList, OpRestore, OpGetTagging, OpPutTagging}
}

func (o Op) String() string {
	switch o {
	case OpPut:
		return "PutObject"
	case OpAppend:
		return "AppendObject"
	case OpGet:
		return "GetObject"
	case OpHead:
		return "HeadObject"
	case OpDelete:
		return "DeleteObject"
	case OpList:
		return "ListObjectsV2"
	case OpRestore:
		return "RestoreObject"
	case OpGetTagging:
		return "GetObjectTagging"
	case OpPutTagging:
		return "PutObjectTagging"
	default:
		return "Other"
	}
}

// Fault describes failures injected into one operation kind. The zero Fault
// injects nothing. Out-of-range numbers are clamped (probabilities to [0,1],
// counts to >= 0).
//
// A request "matches" the fault if its key starts with KeyPrefix. Every
// matching request is delayed by Latency. Of the matching requests, the first
// Skip pass untouched; after that each fails before taking effect with
// probability Before, or takes effect and then fails with probability After
// (Before+After should be at most 1), until Limit failures have been injected
// (Limit 0 means no limit). So:
//
//	Fault{Before: 1}                    // fail every request, nothing applied
//	Fault{After: 1, Skip: 2, Limit: 1}  // apply the 3rd request, then fail its reply
//	Fault{Before: 0.1, After: 0.1}      // a flaky network, reproducible with WithSeed
//	Fault{Latency: time.Second}         // slow replies, nothing fails
//
// "After" on a GET with Reset set sends the headers and half of the body
// before resetting, so the client sees a truncated body. After on a request
// that fails anyway (say a 409) still replaces its reply.
type Fault struct {
	Latency time.Duration
	Before  float64
	After   float64
	Skip    int
	Limit   int

	// KeyPrefix restricts the fault to requests whose object key (for
	// ListObjectsV2, the prefix parameter) starts with it.
	KeyPrefix string

	// Reset fails a request by resetting its TCP connection (no reply at all)
	// instead of replying with an OSS error. It needs a real connection: under
	// a ResponseRecorder it degrades to an error reply.
	Reset bool

	// Hang fails a request by never answering it: the server holds the
	// request, sending nothing and keeping the connection open, until the
	// client gives up (a timeout or a cancelled context) or the server is
	// closed, and then closes the connection. With After, the request takes
	// effect first, so the client times out on a write that landed. Hang
	// takes precedence over Reset.
	Hang bool

	// Status and Code are the HTTP status and OSS error code of an injected
	// error reply. Defaults: 503 and "ServiceUnavailable"; a Status without a
	// Code gets "InternalError" for 500 and "ServiceUnavailable" otherwise.
	Status int
	Code   string
}

func (f Fault) normalized() Fault {
	clamp := func(p float64) float64 {
		switch {
		case p != p || p < 0: // NaN or negative
			return 0
		case p > 1:
			return 1
		}
		return p
	}
	f.Before = clamp(f.Before)
	f.After = clamp(f.After)
	f.Skip = max(f.Skip, 0)
	f.Limit = max(f.Limit, 0)
	f.Latency = max(f.Latency, 0)
	if f.Status < 400 || f.Status > 599 {
		f.Status = 503
	}
	if f.Code == "" {
		f.Code = "ServiceUnavailable"
		if f.Status == 500 {
			f.Code = "InternalError"
		}
	}
	return f
}

// faultState is a Fault plus the counters that drive Skip and Limit.
type faultState struct {
	fault   Fault
	set     bool
	matched int
	failed  int
}

// when says at which point a request is failed.
type when uint8

const (
	never  when = iota
	before      // before the request takes effect
	after       // after it took effect
)

func (w when) String() string {
	switch w {
	case before:
		return "before"
	case after:
		return "after"
	}
	return ""
}

// SetFault attaches f to op, replacing any fault already there and
// restarting its Skip and Limit counts. SetFault(op, Fault{}) removes it. It
// is safe to call while requests are in flight; requests already past their
// fault decision are not affected. Unknown ops are ignored.
func (s *Server) SetFault(op Op, f Fault) {
	if op == OpOther || op >= numOps {
		return
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults[op] = faultState{fault: f.normalized(), set: f != Fault{}}
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = [numOps]faultState{}
}

// SetUnresponsive makes the server accept connections and read requests
// but answer none of them, as a hung server or a black-holed network path
// does: every request is held as with Fault.Hang, before it is
// authenticated, before its body is read and before any fault is decided.
// SetUnresponsive(false) affects only requests that arrive afterwards; held
// requests stay held until their client gives up or Close.
func (s *Server) SetUnresponsive(on bool) { s.unresponsive.Store(on) }

// hang holds c without answering until its client goes away or the server
// is closed, then closes the connection, so that not even the empty 200
// reply net/http would send for a handler that returns reaches the client.
func (s *Server) hang(c *call) {
	c.status = 0
	// net/http notices a client hanging up only once the request body has
	// been read, so an unread upload is drained (and dropped) meanwhile.
	drained := make(chan struct{})
	if c.body == nil && c.r.Body != nil && c.r.Body != http.NoBody {
		go func() {
			defer close(drained)
			_, _ = io.Copy(io.Discard, c.r.Body)
		}()
	} else {
		close(drained)
	}
	select {
	case <-c.r.Context().Done():
	case <-s.closed:
	}
	<-drained // the connection is closing, so this ends; Hijack needs the body left alone
	if conn, _, err := http.NewResponseController(c.w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// decide draws the fate of one request: how long to delay it and whether and
// when to fail it.
func (s *Server) decide(op Op, key string) (time.Duration, when, Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	st := &s.faults[op]
	if !st.set || !strings.HasPrefix(key, st.fault.KeyPrefix) {
		return 0, never, Fault{}
	}
	f := st.fault
	st.matched++
	if st.matched <= f.Skip || (f.Limit > 0 && st.failed >= f.Limit) || f.Before+f.After == 0 {
		return f.Latency, never, f
	}
	w := never
	switch x := s.rng.Float64(); {
	case x < f.Before:
		w = before
	case x < f.Before+f.After:
		w = after
	}
	if w != never {
		st.failed++
	}
	return f.Latency, w, f
}

// Stats is a snapshot of the server's request counters.
type Stats struct {
	Requests map[Op]int // requests received, per operation, including rejected and failed ones
	Faults   map[Op]int // requests a fault failed, per operation
	BytesIn  int64      // request body bytes received
	BytesOut int64      // reply body bytes sent
}

// Total is the number of requests of every kind.
func (st Stats) Total() int {
	n := 0
	for _, v := range st.Requests {
		n += v
	}
	return n
}

// Stats returns a snapshot of the counters since NewServer or ResetStats.
func (s *Server) Stats() Stats {
	st := Stats{Requests: map[Op]int{}, Faults: map[Op]int{}}
	for op := Op(0); op < numOps; op++ {
		if n := s.counters[op].requests.Load(); n > 0 {
			st.Requests[op] = int(n)
		}
		if n := s.counters[op].faults.Load(); n > 0 {
			st.Faults[op] = int(n)
		}
	}
	st.BytesIn = s.bytesIn.Load()
	st.BytesOut = s.bytesOut.Load()
	return st
}

// Requests is the number of requests of kind op received so far.
func (s *Server) Requests(op Op) int {
	if op >= numOps {
		return 0
	}
	return int(s.counters[op].requests.Load())
}

// ResetStats zeroes the counters (not the fault Skip/Limit counts).
func (s *Server) ResetStats() {
	for op := range s.counters {
		s.counters[op].requests.Store(0)
		s.counters[op].faults.Store(0)
	}
	s.bytesIn.Store(0)
	s.bytesOut.Store(0)
}
