package sink

import (
	"math/bits"
	"sync"
)

// bufCache keeps encoding buffers from one Write to the next. An FC instance
// writes batch after batch; allocating tens of megabytes afresh each time
// costs zeroing and page faults, and a sync.Pool would not do: the payloads
// themselves trigger a GC or two between batches, which empties it.
// It retains at most max bytes, and no more than the last batches used: a
// buffer allocated because none fitted replaces kept ones (see get).
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
	// Round up, so that the next batch's partitions, a little larger or
	// smaller, fit the buffers this one leaves.
	size := 1 << bits.Len(uint(max(n, 1)-1))
	// None fits: the kept ones are smaller. Let go of as many bytes of them
	// as the new buffer takes, so that batches of growing partitions do not
	// keep the small buffers of the last one beside their own (kept and
	// new would ratchet the memory up to twice what a batch uses).
	for dropped := 0; dropped < size && len(c.free) > 0; {
		last := len(c.free) - 1
		dropped += cap(c.free[last])
		c.bytes -= cap(c.free[last])
		c.free[last] = nil
		c.free = c.free[:last]
	}
	c.mu.Unlock()
	return make([]byte, 0, size)
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
