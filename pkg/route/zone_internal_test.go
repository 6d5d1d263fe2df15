package route

import (
	"math"
	"testing"
	"time"
)

// TestOffsetsTable: the table reaches tableEnd for zones with DST rules
// (time's ZoneBounds stalls at year ends past the database's last
// transition), and is one entry for zones without changes after 1970.
func TestOffsetsTable(t *testing.T) {
	for _, tc := range []struct {
		zone       string
		minEntries int
		fixed      bool // end is MaxInt64: the last offset holds forever
	}{
		{"UTC", 1, true},
		{"Asia/Kolkata", 1, true},
		{"Asia/Shanghai", 13, true}, // DST 1986-1991
		{"America/New_York", 400, false},
		{"Australia/Lord_Howe", 400, false},
		{"Pacific/Chatham", 400, false},
		{"Africa/Casablanca", 100, true}, // fixed after its last listed transition (2087)
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := LoadZone(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			o := newOffsets(loc)
			if len(o.start) < tc.minEntries || (o.end == math.MaxInt64) != tc.fixed || !tc.fixed && o.end < tableEnd {
				t.Fatalf("%d entries, end %v", len(o.start), time.Unix(o.end, 0))
			}
			for i := 1; i < len(o.start); i++ {
				if o.start[i] <= o.start[i-1] {
					t.Fatalf("entry %d starts at %d, before entry %d", i, o.start[i], i-1)
				}
				for _, sec := range []int64{o.start[i] - 1, o.start[i]} {
					if _, want := time.Unix(sec, 0).In(loc).Zone(); o.at(sec) != int64(want) {
						t.Fatalf("offset at %v: %d, want %d", time.Unix(sec, 0).In(loc), o.at(sec), want)
					}
				}
			}
			step := int64(3600)
			if testing.Short() {
				step = 6 * 3600
			}
			for sec := int64(0); sec < tableEnd+10*365*86400; sec += step {
				if _, want := time.Unix(sec, 0).In(loc).Zone(); o.at(sec) != int64(want) {
					t.Fatalf("offset at %v: %d, want %d", time.Unix(sec, 0).In(loc), o.at(sec), want)
				}
			}
		})
	}
}
