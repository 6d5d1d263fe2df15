package fcruntime

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

const (
	mib = 1 << 20

	// minReserve and reserveDiv make MemoryLimit's reserve: what an
	// instance's memory holds besides what the Go runtime manages (and so
	// limits): the binary's text and data as far as they are touched
	// (RssFile 12 MiB of this 21 MB binary), the kernel's page cache
	// charged to the instance (logs, any local file), and the runtime's
	// overshoot of its own limit (the heap reaches the limit before the GC
	// that brings it back ends: peaks of RSS run ~8 MiB above it).
	minReserve = 32 * mib
	reserveDiv = 8

	// baseHeap is the memory the process holds whatever it serves: the
	// runtime's own structures, goroutine stacks, the HTTP clients, the
	// compressors a sink keeps (under 10 MiB for zstd). The admission
	// budget is the memory limit less this.
	baseHeap = 16 * mib

	// workNum/workDen is the memory a batch needs besides its body, per
	// byte of body: the sink's encoding buffers (about the body's size,
	// rounded up to powers of two per partition), the decoded records, the
	// store's request buffers. BenchmarkFCMemory's peaks are about 2.5×
	// the batch at a memory limit that keeps garbage short-lived.
	workNum, workDen = 3, 2

	// MaxBody is the largest body FC sends a synchronous invocation
	// (32 MB); a body of unknown length is admitted as this big.
	MaxBody = 32 << 20

	// keepBodies bounds the body buffers kept between invocations: one of
	// the largest body FC sends, or several smaller ones.
	keepBodies = MaxBody + 2*mib

	// pooledBody is the smallest body read into a kept buffer; smaller
	// ones (timer events, lifecycle calls) are plain allocations.
	pooledBody = 64 << 10
)

// MemoryLimit returns the Go memory limit (runtime/debug.SetMemoryLimit)
// for an instance of memMB MB (FC's memorySize, taken as MiB): the memory
// less a reserve of max(32 MiB, memMB/8) for what the Go runtime does not
// count. 128 MB gives 96 MiB, 256 MB 224 MiB, 512 MB 448 MiB, 3072 MB
// 2688 MiB. It is 0 for memMB <= 0 (size unknown: no limit).
func MemoryLimit(memMB int) int64 {
	if memMB <= 0 {
		return 0
	}
	total := int64(memMB) * mib
	return total - max(minReserve, total/reserveDiv)
}

// batchCost is the memory admission counts for a batch of n body bytes,
// besides its body buffer.
func batchCost(n int) int64 { return int64(n) * workNum / workDen }

// bodyCap is the capacity of a new body buffer for n bytes: rounded up to
// a MiB (256 KiB below 4 MiB), so that the next batch, a little larger,
// fits the buffer this one leaves.
func bodyCap(n int) int {
	step := mib
	if n < 4*mib {
		step = 256 << 10
	}
	return (n + step - 1) / step * step
}

// MemoryWaitError is the error of a batch that found no room in the
// memory budget before its deadline (or its context ended otherwise): the
// instance was busy with others; a retry, later or on another instance,
// can succeed. Err is the context's cause.
type MemoryWaitError struct {
	InUse, Budget int64 // bytes counted and allowed when it gave up
	InFlight      int   // batches running then
	Err           error
}

func (e *MemoryWaitError) Error() string {
	return fmt.Sprintf("fcruntime: no memory for the batch before its deadline: %d MiB of the %d MiB budget in use by %d batches in flight: %v",
		e.InUse/mib, e.Budget/mib, e.InFlight, e.Err)
}

func (e *MemoryWaitError) Unwrap() error { return e.Err }

// memory admits batches so that the ones in flight, with the body buffers
// kept for the next ones, stay within a budget (see the package doc). It
// also owns those buffers. The zero budget admits everything at once.
type memory struct {
	mu        sync.Mutex
	budget    int64 // bytes; 0: no budget
	used      int64 // batches in flight (bodies and work) + kept buffers
	inflight  int
	free      [][]byte // kept body buffers, for reuse
	freeBytes int64
	queue     []*waiter // FIFO: a large batch is not overtaken forever

	// onWait, if set (tests), is called with the number of batches waiting
	// each time one starts waiting, under the lock.
	onWait func(waiting int)
}

type waiter struct {
	n     int
	ready chan struct{} // closed once granted
	g     *grant
}

// grant is one admitted batch: its body buffer (len n) and what it counts.
type grant struct {
	buf    []byte
	pooled bool  // buf came from, and goes back to, the kept buffers
	work   int64 // batchCost
}

// setBudget sets the budget (0: none) and admits what now fits.
func (m *memory) setBudget(b int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.budget = max(b, 0)
	m.admitLocked()
}

// acquire waits until a batch of n body bytes fits (or nothing else is in
// flight: a batch larger than the budget runs alone), or until ctx ends.
func (m *memory) acquire(ctx context.Context, n int) (*grant, error) {
	w := &waiter{n: n, ready: make(chan struct{})}
	m.mu.Lock()
	m.queue = append(m.queue, w)
	m.admitLocked()
	if w.g != nil {
		m.mu.Unlock()
		return w.g, nil
	}
	if m.onWait != nil {
		m.onWait(len(m.queue))
	}
	m.mu.Unlock()
	select {
	case <-w.ready:
		return w.g, nil
	case <-ctx.Done():
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.g != nil { // granted meanwhile
		return w.g, nil
	}
	err := &MemoryWaitError{InUse: m.used, Budget: m.budget, InFlight: m.inflight, Err: context.Cause(ctx)}
	m.queue = slices.DeleteFunc(m.queue, func(q *waiter) bool { return q == w })
	m.admitLocked() // the next one may fit where this one did not
	return nil, err
}

// release ends a batch: its work is freed, its body buffer kept if there
// is room.
func (m *memory) release(g *grant) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight--
	m.used -= g.work
	if g.pooled {
		if m.freeBytes+int64(cap(g.buf)) <= keepBodies {
			m.free = append(m.free, g.buf[:0])
			m.freeBytes += int64(cap(g.buf))
		} else {
			m.used -= int64(cap(g.buf))
		}
	} else {
		m.used -= int64(cap(g.buf))
	}
	g.buf = nil
	m.admitLocked()
}

// admitLocked grants waiting batches in order while they fit.
func (m *memory) admitLocked() {
	for len(m.queue) > 0 {
		w := m.queue[0]
		g := m.tryLocked(w.n)
		if g == nil {
			return
		}
		m.queue = m.queue[1:]
		w.g = g
		close(w.ready)
	}
}

// tryLocked admits a batch of n bytes if it fits, dropping kept buffers
// it does not use when that makes room.
func (m *memory) tryLocked(n int) *grant {
	work := batchCost(n)
	if n < pooledBody {
		need := int64(n) + work
		if m.budget > 0 && m.used+need > m.budget && m.inflight > 0 {
			return nil
		}
		m.used += need
		m.inflight++
		return &grant{buf: make([]byte, n), work: work}
	}
	best := -1
	for i, b := range m.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(m.free[best])) {
			best = i
		}
	}
	bufCap := int64(bodyCap(n))
	if best >= 0 {
		bufCap = 0 // already counted in used
	}
	// Buffers that do not fit this batch make room for it: without this, a
	// batch of another size would allocate beside buffers kept for nothing.
	for i := len(m.free) - 1; i >= 0 && m.budget > 0 && m.used+bufCap+work > m.budget; i-- {
		if i == best {
			continue
		}
		m.dropLocked(i)
		if best > i {
			best--
		}
	}
	if best < 0 {
		// A new buffer: drop the kept ones that are too small for it, as
		// many bytes as it takes, so that kept plus new do not outgrow
		// what batches of this size need.
		for dropped := int64(0); dropped < bufCap && len(m.free) > 0; {
			dropped += int64(cap(m.free[len(m.free)-1]))
			m.dropLocked(len(m.free) - 1)
		}
	}
	if m.budget > 0 && m.used+bufCap+work > m.budget && m.inflight > 0 {
		return nil
	}
	var buf []byte
	if best >= 0 {
		buf = m.free[best][:n]
		m.free = slices.Delete(m.free, best, best+1)
		m.freeBytes -= int64(cap(buf))
	} else {
		buf = make([]byte, n, bufCap)
		m.used += bufCap
	}
	m.used += work
	m.inflight++
	return &grant{buf: buf, pooled: true, work: work}
}

func (m *memory) dropLocked(i int) {
	c := int64(cap(m.free[i]))
	m.free = slices.Delete(m.free, i, i+1)
	m.freeBytes -= c
	m.used -= c
}
