package ossstore

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// op is an OSS API operation, the unit of counting and logging.
type op uint8

const (
	opGet op = iota
	opHead
	opPut
	opAppend
	opList
	opDelete
	opRestore
	opGetTagging
	numOps
)

func (o op) String() string {
	switch o {
	case opGet:
		return "GetObject"
	case opHead:
		return "HeadObject"
	case opPut:
		return "PutObject"
	case opAppend:
		return "AppendObject"
	case opList:
		return "ListObjectsV2"
	case opDelete:
		return "DeleteObject"
	case opRestore:
		return "RestoreObject"
	case opGetTagging:
		return "GetObjectTagging"
	}
	return "unknown"
}

// Stats counts HTTP requests to OSS.
type Stats struct {
	Requests      int64            // requests sent, retries included
	Retries       int64            // requests that repeated a failed one
	Failures      int64            // requests that failed (retried or not)
	BytesSent     int64            // object bytes uploaded
	BytesReceived int64            // object bytes downloaded
	ByOperation   map[string]int64 // requests per OSS operation, e.g. "AppendObject"
}

type counters struct {
	requests, retries, failures, sent, received atomic.Int64
	byOp                                        [numOps]atomic.Int64
}

func (c *counters) add(o op, a *attempt, err error) {
	c.requests.Add(1)
	c.byOp[o].Add(1)
	if a.n > 1 {
		c.retries.Add(1)
	}
	if err != nil {
		c.failures.Add(1)
	}
	c.sent.Add(a.sent)
	c.received.Add(a.received)
}

func (c *counters) snapshot() Stats {
	st := Stats{
		Requests:      c.requests.Load(),
		Retries:       c.retries.Load(),
		Failures:      c.failures.Load(),
		BytesSent:     c.sent.Load(),
		BytesReceived: c.received.Load(),
		ByOperation:   map[string]int64{},
	}
	for o := op(0); o < numOps; o++ {
		if n := c.byOp[o].Load(); n > 0 {
			st.ByOperation[o.String()] = n
		}
	}
	return st
}

// RequestEvent describes one HTTP request to OSS, for WithRequestHook.
type RequestEvent struct {
	Operation string // OSS operation, e.g. "AppendObject"
	Key       string // object key; the prefix for ListObjectsV2
	Attempt   int    // 1 for the first try, 2 for the first retry, ...
	BytesSent int64  // object bytes uploaded
	BytesRecv int64  // object bytes downloaded
	Status    int    // HTTP status, 0 if no reply arrived
	Code      string // OSS error code, if any
	Duration  time.Duration
	Err       error // nil on success
}

// attempt is the bookkeeping of one HTTP request.
type attempt struct {
	n        int
	status   atomic.Int64 // set by the transport
	sent     int64
	received int64
}

func (a *attempt) setStatus(code int) { a.status.Store(int64(code)) }

// observe counts, logs and reports one finished attempt.
func (s *Store) observe(o op, key string, a *attempt, d time.Duration, err error) {
	s.stats.add(o, a, err)
	s.pool.stats.add(o, a, err)
	p := s.pool
	var code string
	var se oss.ServiceError
	if errors.As(err, &se) {
		code = se.Code
	}
	status := int(a.status.Load())
	if ev := p.o.logger.Debug(); ev.Enabled() {
		ev.Str("op", o.String()).Str("key", key).Int("attempt", a.n).
			Int64("sent", a.sent).Int64("received", a.received).
			Int("status", status).Str("code", code).Dur("duration_ms", d).Err(err).
			Msg("oss request")
	}
	if p.o.hook != nil {
		p.o.hook(RequestEvent{
			Operation: o.String(), Key: key, Attempt: a.n, BytesSent: a.sent, BytesRecv: a.received,
			Status: status, Code: code, Duration: d, Err: err,
		})
	}
}
