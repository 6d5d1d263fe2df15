package events

// arena holds the bytes Decode produces (unescaped strings, base64-decoded
// values, compacted JSON) so that records can point into them without one
// allocation each. Handed-out slices are never moved: when the arena runs
// out it starts a new buffer and the old one lives on through the records.
type arena struct {
	buf      []byte
	first    []byte // the buffer this Decode call started with
	used     int    // bytes committed in this call, over all buffers
	overflow bool   // a buffer ran out in this call
}

// reserve returns the arena's next n bytes for writing; commit then keeps a
// prefix of them. hint is an upper bound on what the rest of the payload can
// still need, so that the first buffer is usually the only one.
func (a *arena) reserve(n, hint int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.overflow = a.overflow || a.buf != nil
		a.buf = make([]byte, 0, max(n, hint))
		if a.first == nil {
			a.first = a.buf
		}
	}
	return a.buf[len(a.buf) : len(a.buf)+n]
}

// commit keeps the first k bytes written after reserve and returns them,
// capped so that appending to the result cannot overwrite its neighbours.
func (a *arena) commit(k int) []byte {
	start := len(a.buf)
	a.buf = a.buf[:start+k]
	a.used += k
	return a.buf[start : start+k : start+k]
}

// reuse readies the arena of a Decoder for its next call, overwriting what
// this call wrote. A call that needed more than one buffer leaves one buffer
// of the whole size, so that the arena settles on a single buffer.
func (a *arena) reuse() {
	first := a.first
	if a.overflow {
		first = make([]byte, 0, a.used+a.used/8)
	}
	*a = arena{buf: first[:0], first: first[:0]}
}

// interner turns topic bytes into strings, allocating once per distinct
// topic in a batch rather than once per record. Batches usually hold one
// topic, hence the check of the last one before the map.
type interner struct {
	last string
	m    map[string]string
}

const maxInterned = 1024

func (t *interner) intern(b []byte) string {
	if t.last != "" && string(b) == t.last {
		return t.last
	}
	s, ok := t.m[string(b)]
	if !ok {
		s = string(b)
		if t.m == nil || len(t.m) >= maxInterned {
			// A Decoder keeps its interner; start afresh rather than grow
			// without bound on a stream of ever-new topics.
			t.m = make(map[string]string)
		}
		t.m[s] = s
	}
	t.last = s
	return s
}
