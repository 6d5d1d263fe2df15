package verify

import (
	"slices"
	"sort"
)

// span is a run of consecutive offsets [lo, hi] stored in one object.
type span struct {
	lo, hi int64
	obj    int
}

// offsetSet holds the offsets seen in a partition as sorted, disjoint spans,
// so that its size grows with the number of runs of consecutive offsets per
// object, not with the number of records. Adding in increasing order, the
// common case, is O(1).
type offsetSet struct{ spans []span }

// add records off as stored in object obj. If off was already recorded it
// changes nothing and returns the object that holds it and true.
func (s *offsetSet) add(off int64, obj int) (holder int, dup bool) {
	n := len(s.spans)
	if n == 0 || off > s.spans[n-1].hi {
		if n > 0 && s.spans[n-1].hi == off-1 && s.spans[n-1].obj == obj {
			s.spans[n-1].hi = off
			return 0, false
		}
		s.spans = append(s.spans, span{off, off, obj})
		return 0, false
	}
	// i: the first span with hi >= off.
	i := sort.Search(n, func(i int) bool { return s.spans[i].hi >= off })
	if s.spans[i].lo <= off {
		return s.spans[i].obj, true
	}
	// off falls in the gap before spans[i].
	if i > 0 && s.spans[i-1].hi == off-1 && s.spans[i-1].obj == obj {
		s.spans[i-1].hi = off
		if s.spans[i].lo == off+1 && s.spans[i].obj == obj {
			s.spans[i-1].hi = s.spans[i].hi
			s.spans = slices.Delete(s.spans, i, i+1)
		}
		return 0, false
	}
	if s.spans[i].lo == off+1 && s.spans[i].obj == obj {
		s.spans[i].lo = off
		return 0, false
	}
	s.spans = slices.Insert(s.spans, i, span{off, off, obj})
	return 0, false
}

// holes returns the offsets of [lo, hi] that s does not hold.
func (s *offsetSet) holes(lo, hi int64) rangeList {
	var l rangeList
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].hi >= lo })
	next := lo
	for ; i < len(s.spans) && s.spans[i].lo <= hi && next <= hi; i++ {
		if s.spans[i].lo > next {
			l.add(next, s.spans[i].lo-1)
		}
		next = max(next, s.spans[i].hi+1)
	}
	if next <= hi {
		l.add(next, hi)
	}
	return l
}
