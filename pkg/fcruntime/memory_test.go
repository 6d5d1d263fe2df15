package fcruntime

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		mb   int
		want int64
	}{
		{0, 0}, {-1, 0}, {128, 96 * mib}, {192, 160 * mib}, {256, 224 * mib}, {512, 448 * mib}, {3072, 2688 * mib},
	} {
		if got := MemoryLimit(c.mb); got != c.want {
			t.Errorf("MemoryLimit(%d) = %d MiB, want %d MiB", c.mb, got/mib, c.want/mib)
		}
	}
}

// admitter drives a memory from one goroutine: start returns once a batch
// was granted or has started waiting (the onWait hook), never by timing.
type admitter struct {
	t      *testing.T
	m      *memory
	queued chan int
}

func newAdmitter(t *testing.T, budget int64) *admitter {
	a := &admitter{t: t, queued: make(chan int, 64)}
	a.m = &memory{budget: budget, onWait: func(n int) { a.queued <- n }}
	return a
}

// pending is a batch that asked for memory.
type pending struct {
	n   int
	g   *grant
	err error
	got chan struct{} // closed when acquire returned
}

// start asks for n bytes with ctx; it returns once the batch runs or waits.
func (a *admitter) start(ctx context.Context, n int) *pending {
	p := &pending{n: n, got: make(chan struct{})}
	go func() {
		p.g, p.err = a.m.acquire(ctx, n)
		close(p.got)
	}()
	select {
	case <-p.got:
	case <-a.queued:
	}
	return p
}

func (p *pending) granted() bool {
	select {
	case <-p.got:
		return p.err == nil
	default:
		return false
	}
}

// check verifies the accounting: used is what the grants and kept
// buffers hold, within the budget whenever more than one batch runs, and
// the kept buffers within their bound.
func (a *admitter) check(running []*pending) {
	a.t.Helper()
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	var sum int64
	for _, p := range running {
		sum += int64(cap(p.g.buf)) + p.g.work
	}
	for _, b := range a.m.free {
		sum += int64(cap(b))
	}
	if sum != a.m.used || a.m.inflight != len(running) {
		a.t.Fatalf("accounting: used %d, grants and kept buffers %d; in flight %d, want %d", a.m.used, sum, a.m.inflight, len(running))
	}
	if a.m.budget > 0 && len(running) > 1 && a.m.used > a.m.budget {
		a.t.Fatalf("%d batches use %d MiB, budget %d MiB", len(running), a.m.used/mib, a.m.budget/mib)
	}
	if a.m.freeBytes > keepBodies {
		a.t.Fatalf("%d MiB of buffers kept, bound %d MiB", a.m.freeBytes/mib, keepBodies/mib)
	}
}

// TestAdmission: batches run while they fit, in order; one that does not
// waits for a release, or gives up when its context ends; a batch larger
// than the budget runs alone.
func TestAdmission(t *testing.T) {
	ctx := context.Background()
	t.Run("waits in order", func(t *testing.T) {
		a := newAdmitter(t, 100*mib)
		first := a.start(ctx, 32*mib) // 32 + 48 MiB
		if !first.granted() {
			t.Fatal("the first batch waits")
		}
		second := a.start(ctx, 32*mib)
		small := a.start(ctx, mib) // fits beside the first, but comes after the second
		if second.granted() || small.granted() {
			t.Fatal("a batch that does not fit, or one behind it, runs")
		}
		a.check([]*pending{first})
		buf := &first.g.buf[:1][0]
		a.m.release(first.g)
		<-second.got
		<-small.got
		if second.err != nil || small.err != nil {
			t.Fatal(second.err, small.err)
		}
		if &second.g.buf[:1][0] != buf {
			t.Error("the second batch of the same size did not reuse the first one's body buffer")
		}
		a.check([]*pending{second, small})
	})
	t.Run("alone when larger than the budget", func(t *testing.T) {
		a := newAdmitter(t, 10*mib)
		big := a.start(ctx, 32*mib)
		if !big.granted() {
			t.Fatal("a batch larger than the budget waits with nothing in flight")
		}
		next := a.start(ctx, pooledBody-1)
		if next.granted() {
			t.Fatal("a batch runs beside one larger than the budget")
		}
		a.m.release(big.g)
		<-next.got
		a.check([]*pending{next})
	})
	t.Run("gives up at the deadline", func(t *testing.T) {
		a := newAdmitter(t, 130*mib)
		first := a.start(ctx, 32*mib) // 80 MiB
		cctx, cancel := context.WithCancel(ctx)
		second := a.start(cctx, 32*mib)
		third := a.start(ctx, 16*mib) // 16 + 24 MiB: fits beside the first once the second gave up
		if second.granted() || third.granted() {
			t.Fatal("a batch that does not fit, or one behind it, runs")
		}
		cancel()
		<-second.got
		var we *MemoryWaitError
		if !errors.As(second.err, &we) || !errors.Is(second.err, context.Canceled) || we.InFlight != 1 {
			t.Fatalf("a batch whose context ended: %v", second.err)
		}
		<-third.got
		if third.err != nil {
			t.Fatal(third.err)
		}
		a.check([]*pending{first, third})
	})
	t.Run("no budget", func(t *testing.T) {
		a := newAdmitter(t, 0)
		var running []*pending
		for range 5 {
			p := a.start(ctx, 32*mib)
			if !p.granted() {
				t.Fatal("a batch waits without a budget")
			}
			running = append(running, p)
		}
		a.check(running)
	})
}

// TestBodyBuffers: kept buffers are reused, bounded, and dropped when a
// batch of another size needs the room.
func TestBodyBuffers(t *testing.T) {
	ctx := context.Background()
	a := newAdmitter(t, 100*mib)
	var four []*pending
	for range 4 {
		p := a.start(ctx, 8*mib-5) // 8 MiB buffers, 8 + 12 MiB each
		if !p.granted() {
			t.Fatal("four 8 MiB batches do not fit 100 MiB")
		}
		four = append(four, p)
	}
	for _, p := range four {
		a.m.release(p.g)
	}
	a.check(nil)
	if a.m.freeBytes != 32*mib {
		t.Fatalf("kept %d MiB, want the four 8 MiB buffers", a.m.freeBytes/mib)
	}
	big := a.start(ctx, 30*mib)
	if !big.granted() {
		t.Fatal("a 30 MiB batch waits with nothing in flight")
	}
	a.check([]*pending{big})
	if a.m.freeBytes != 0 {
		t.Fatalf("%d MiB of 8 MiB buffers kept beside a new 30 MiB one", a.m.freeBytes/mib)
	}
	a.m.release(big.g)
	a.check(nil)
	small := a.start(ctx, 4*mib)
	if !small.granted() || cap(small.g.buf) != 30*mib {
		t.Fatalf("a smaller batch did not reuse the kept buffer (cap %d)", cap(small.g.buf))
	}
	a.m.release(small.g)
	a.check(nil)
}

// TestAdmissionRandom: batches of random sizes start and end in random
// order; the accounting holds after every step, and every batch runs.
func TestAdmissionRandom(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(10) {
		rng := rand.New(rand.NewPCG(seed, 1))
		a := newAdmitter(t, int64(40+rng.IntN(100))*mib)
		var running, waiting []*pending
		for step := 0; step < 200 || len(running)+len(waiting) > 0; step++ {
			if step < 200 && (len(running) == 0 || rng.IntN(2) == 0) {
				sizes := []int{100, pooledBody, mib, 4*mib + 1, 8 * mib, 16 * mib, 32 << 20}
				p := a.start(ctx, sizes[rng.IntN(len(sizes))]+rng.IntN(1000))
				waiting = append(waiting, p)
			} else if len(running) > 0 {
				i := rng.IntN(len(running))
				a.m.release(running[i].g)
				running = append(running[:i], running[i+1:]...)
			}
			// The queue is FIFO: the batches no longer in it were granted,
			// and their acquire returns.
			a.m.mu.Lock()
			granted := len(waiting) - len(a.m.queue)
			a.m.mu.Unlock()
			for _, p := range waiting[:granted] {
				<-p.got
				if p.err != nil {
					t.Fatal(p.err)
				}
			}
			running = append(running, waiting[:granted]...)
			waiting = waiting[granted:]
			if len(running) == 0 && len(waiting) > 0 {
				t.Fatalf("seed %d step %d: %d batches wait with nothing running", seed, step, len(waiting))
			}
			a.check(running)
		}
	}
}
