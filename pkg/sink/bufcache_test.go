package sink

import "testing"

// TestBufCache: buffers are reused best fit, bounded by max, and a
// buffer allocated because none fitted replaces as many bytes of the kept
// (smaller) ones, so that growing batches do not ratchet memory.
func TestBufCache(t *testing.T) {
	const mib = 1 << 20
	c := &bufCache{max: 64 * mib}
	var bufs [][]byte
	for range 8 {
		bufs = append(bufs, c.get(mib-10)) // 1 MiB each
	}
	for _, b := range bufs {
		c.put(b)
	}
	if c.bytes != 8*mib || len(c.free) != 8 {
		t.Fatalf("kept %d bytes in %d buffers, want 8 of 1 MiB", c.bytes, len(c.free))
	}
	if b := c.get(100); cap(b) != mib {
		t.Fatalf("best fit: cap %d", cap(b))
	} else {
		c.put(b)
	}
	big := c.get(3*mib + 1) // 4 MiB: none fits; four 1 MiB ones go
	if cap(big) != 4*mib || c.bytes != 4*mib || len(c.free) != 4 {
		t.Fatalf("after a miss: new cap %d, kept %d bytes in %d buffers; want 4 MiB, 4 MiB in 4", cap(big), c.bytes, len(c.free))
	}
	huge := c.get(40 * mib) // 64 MiB: every kept one goes
	if c.bytes != 0 || len(c.free) != 0 {
		t.Fatalf("kept %d bytes beside a new 64 MiB buffer", c.bytes)
	}
	c.put(big)
	c.put(huge) // beyond max: not kept
	if c.bytes != 4*mib {
		t.Fatalf("kept %d bytes, max %d", c.bytes, c.max)
	}
}
