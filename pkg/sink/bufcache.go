package sink

import (
	"math/bits"
	"sync"
)

// bufCache keeps encoding buffers from one Write to the next. An FC instance
// writes batch after batch; allocating tens of megabytes afresh each time
// costs zeroing and page faults, and a sync.Pool would not do: the payloads
// themselves trigger a GC or two between batches, which empties it.
// It retains at most max bytes.
type bufCache struct {
	mu    sync.Mutex
	free  [][]byte
	bytes int
	max   int
}

// get returns an empty buffer with room for at least n bytes.
func (c *bufCache) get(n int) []byte {
	c.mu.Lock()
	best := -1
	for i, b := range c.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(c.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := c.free[best]
		c.free = append(c.free[:best], c.free[best+1:]...)
		c.bytes -= cap(b)
		c.mu.Unlock()
		return b[:0]
	}
	c.mu.Unlock()
	// Round up, so that the next batch's partitions, a little larger or
	// smaller, fit the buffers this one leaves.
	return make([]byte, 0, 1<<bits.Len(uint(max(n, 1)-1)))
}

// put returns b for reuse, unless that would retain more than max bytes.
func (c *bufCache) put(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+cap(b) > c.max {
		return
	}
	c.free = append(c.free, b[:0])
	c.bytes += cap(b)
}
