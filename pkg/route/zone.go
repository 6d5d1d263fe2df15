package route

import (
	"fmt"
	"math"
	"time"
)

// LoadZone returns the zone SINK_TIMEZONE names: an IANA name such as
// Asia/Shanghai, from the zone database compiled into the binary when the
// machine has none. "" and "UTC" are UTC. "Local" is refused: the machine's
// zone may differ between instances, and a record's folder must depend only
// on the record and the settings.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("SINK_TIMEZONE: %q is not allowed: the machine's zone can differ between instances; name the zone, such as Asia/Shanghai or UTC", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("SINK_TIMEZONE: unknown time zone %q (want an IANA name such as Asia/Shanghai or UTC): %w", name, err)
	}
	return loc, nil
}

// offsets is a zone's UTC offset as an immutable table of its changes from
// 1970 to tableEnd, so that a record's offset costs a binary search. (For
// times outside the one zone period it caches, time.Location interprets the
// zone's TZ rule string on every call: America/New_York in 2022 costs twice
// what it costs now.)
type offsets struct {
	start []int64 // start[i] is the Unix second offset off[i] begins; start[0] is math.MinInt64
	off   []int32 // seconds east of UTC
	end   int64   // the table holds before end; past it, ask the Location
	loc   *time.Location
}

// tableEnd bounds the table: about 460 entries for a zone with daylight
// saving time every year.
var tableEnd = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func newOffsets(loc *time.Location) offsets {
	o := offsets{end: math.MaxInt64, loc: loc}
	t := time.Unix(0, 0).In(loc)
	_, off := t.Zone()
	o.start, o.off = append(o.start, math.MinInt64), append(o.off, int32(off))
	for range maxOffsets {
		_, end := t.ZoneBounds()
		if !end.IsZero() && !end.After(t) {
			// Past the last transition of the database, time computes
			// periods from the zone's rule a local year at a time, and
			// reports the end of a year as the end of the period that
			// starts there too. Ask a day later, in the next local year.
			start, later := t.Add(24 * time.Hour).ZoneBounds()
			if end = later; start.After(t) {
				end = start
			}
			if !end.IsZero() && !end.After(t) {
				o.end = t.Unix()
				return o
			}
		}
		if end.IsZero() {
			return o // the zone keeps this offset forever
		}
		if end.Unix() >= tableEnd {
			o.end = end.Unix()
			return o
		}
		t = end
		_, off = t.Zone()
		o.start, o.off = append(o.start, end.Unix()), append(o.off, int32(off))
	}
	o.end = t.Unix() // a zone stranger than any in the database: ask time past here
	return o
}

// maxOffsets bounds the table (and New's loop): two changes a year from
// 1970 to tableEnd, and then some.
const maxOffsets = 1000

// at returns the offset in effect at Unix second sec (>= 0).
func (o *offsets) at(sec int64) int64 {
	if sec >= o.end {
		_, off := time.Unix(sec, 0).In(o.loc).Zone()
		return int64(off)
	}
	lo, hi := 0, len(o.start) // start[lo] <= sec < start[hi]
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if o.start[mid] <= sec {
			lo = mid
		} else {
			hi = mid
		}
	}
	return int64(o.off[lo])
}
