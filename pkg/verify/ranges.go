package verify

import (
	"fmt"
	"strings"
)

// MaxRanges is how many ranges a Defect's Ranges holds at most.
const MaxRanges = 100

// maxListedRanges is how many ranges a message names.
const maxListedRanges = 10

// rangeList collects offset ranges given in increasing order, merging
// adjacent ones. It keeps the first MaxRanges and counts the rest, so its
// memory is bounded whatever it is given.
type rangeList struct {
	list []Range
	n    int   // ranges in all
	last int64 // last offset of the last range
}

// add adds first..last, which must not start before the last range added.
func (l *rangeList) add(first, last int64) {
	if l.n > 0 && first <= l.last+1 {
		if last > l.last {
			l.last = last
			if l.n == len(l.list) {
				l.list[len(l.list)-1].Last = last
			}
		}
		return
	}
	l.n++
	l.last = last
	if len(l.list) < MaxRanges {
		l.list = append(l.list, Range{first, last})
	}
}

func (l *rangeList) empty() bool { return l.n == 0 }

// ranges returns the ranges kept.
func (l *rangeList) ranges() []Range { return l.list }

// String lists the first ranges: "10-19, 25, 30-31".
func (l *rangeList) String() string {
	s := rangesString(l.list, maxListedRanges)
	if l.n > len(l.list) || len(l.list) > maxListedRanges {
		s += fmt.Sprintf(" (%d ranges in all)", l.n)
	}
	return s
}

func rangesString(rs []Range, n int) string {
	var b strings.Builder
	for i, r := range rs {
		if i == n {
			b.WriteString(", ...")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}
