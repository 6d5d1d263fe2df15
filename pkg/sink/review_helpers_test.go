package sink_test

// Helpers of the adversarial review tests (review_*_test.go). They are
// self-contained (own names, own topic) so that they do not depend on
// helpers other files may change.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const rvTopic = "rv"

var rvBase = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// rvRec builds a record whose raw encoding names partition and offset.
func rvRec(p int32, off int64) events.Record {
	return events.Record{Topic: rvTopic, Partition: p, Offset: off, Timestamp: 1_700_000_000_000 + off,
		Key: []byte("k" + strconv.FormatInt(off, 10)), HasKey: true,
		Value: fmt.Appendf(nil, "p%d-o%d-%s", p, off, strings.Repeat("x", int(off%5)))}
}

// rvRawOffset parses the offset out of a value made by rvRec.
func rvRawOffset(line []byte) (int64, error) {
	_, rest, ok := strings.Cut(string(line), "-o")
	if !ok {
		return 0, fmt.Errorf("not a test value: %q", line)
	}
	s, _, _ := strings.Cut(rest, "-")
	return strconv.ParseInt(s, 10, 64)
}

// rvStream: n records of partition p, offsets from 0 with gaps.
func rvStream(p int32, n int, gapEvery int) []events.Record {
	var out []events.Record
	off := int64(p) * 3 // partitions start at different offsets
	for i := 0; i < n; i++ {
		out = append(out, rvRec(p, off))
		off++
		if gapEvery > 0 && i%gapEvery == gapEvery-1 {
			off += int64(1 + i%3)
		}
	}
	return out
}

func rvOffsets(rs []events.Record) []int64 {
	var o []int64
	for _, r := range rs {
		o = append(o, r.Offset)
	}
	return o
}

type rvKind int

const (
	rvFailBefore rvKind = iota
	rvFailAfter
	rvKillBefore
	rvKillAfter
)

func (k rvKind) String() string {
	return [...]string{"fail-before", "fail-after", "kill-before", "kill-after"}[k]
}

var (
	rvErrInjected = errors.New("review: injected fault")
	rvErrKilled   = errors.New("review: process killed")
)

// rvFault strikes the n-th (0-based) request of method ("" = any request,
// counted over all methods).
type rvFault struct {
	method string
	n      int
	kind   rvKind
}

func (f rvFault) String() string {
	m := f.method
	if m == "" {
		m = "any"
	}
	return fmt.Sprintf("%s#%d:%v", m, f.n, f.kind)
}

// rvChaos injects any number of faults into one invocation. After a kill
// every request fails. hook, if set, runs before every request (after the
// fault decision is made but before the request is issued).
type rvChaos struct {
	store.Store
	faults []rvFault

	mu     sync.Mutex
	total  int
	counts map[string]int
	dead   bool
	trace  []string
	hook   func(method, key string)
}

func (c *rvChaos) do(method, key string, op func() error) error {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	gi, mi := c.total, c.counts[method]
	c.total++
	c.counts[method]++
	dead := c.dead
	var hit *rvFault
	for i := range c.faults {
		f := &c.faults[i]
		if (f.method == "" && f.n == gi) || (f.method == method && f.n == mi) {
			hit = f
			break
		}
	}
	if !dead && hit != nil && (hit.kind == rvKillBefore || hit.kind == rvKillAfter) {
		c.dead = true
	}
	tr := method + " " + key
	if hit != nil && !dead {
		tr += " [" + hit.kind.String() + "]"
	}
	if dead {
		tr += " [dead]"
	}
	c.trace = append(c.trace, tr)
	hook := c.hook
	c.mu.Unlock()
	if hook != nil {
		hook(method, key)
	}
	if dead {
		return rvErrKilled
	}
	if hit != nil {
		switch hit.kind {
		case rvFailBefore:
			return rvErrInjected
		case rvKillBefore:
			return rvErrKilled
		}
	}
	err := op()
	if hit != nil {
		switch hit.kind {
		case rvFailAfter:
			return rvErrInjected
		case rvKillAfter:
			return rvErrKilled
		}
	}
	return err
}

func (c *rvChaos) Get(ctx context.Context, key string) (b []byte, err error) {
	err = c.do("Get", key, func() error { b, err = c.Store.Get(ctx, key); return err })
	return b, err
}

func (c *rvChaos) GetRange(ctx context.Context, key string, off, n int64) (b []byte, err error) {
	err = c.do("GetRange", key, func() error { b, err = c.Store.GetRange(ctx, key, off, n); return err })
	return b, err
}

func (c *rvChaos) Stat(ctx context.Context, key string) (i store.Info, err error) {
	err = c.do("Stat", key, func() error { i, err = c.Store.Stat(ctx, key); return err })
	return i, err
}

func (c *rvChaos) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return c.do("Put", key, func() error { return c.Store.Put(ctx, key, data, opts...) })
}

func (c *rvChaos) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return c.do("PutReader", key, func() error { return c.Store.PutReader(ctx, key, r, size, opts...) })
}

func (c *rvChaos) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (n int64, err error) {
	err = c.do("Append", key, func() error { n, err = c.Store.Append(ctx, key, pos, data, opts...); return err })
	return n, err
}

func (c *rvChaos) List(ctx context.Context, prefix string) (l []store.Info, err error) {
	err = c.do("List", prefix, func() error { l, err = c.Store.List(ctx, prefix); return err })
	return l, err
}

func (c *rvChaos) Delete(ctx context.Context, key string) error {
	return c.do("Delete", key, func() error { return c.Store.Delete(ctx, key) })
}

// rvClock is a settable clock for sink.WithClock.
type rvClock struct{ ns atomic.Int64 }

func (c *rvClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *rvClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
