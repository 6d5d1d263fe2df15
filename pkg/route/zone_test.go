package route_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// zones with every kind of rule: none, whole-hour and fractional offsets,
// daylight saving north and south, negative DST (Dublin), half-hour DST
// (Lord Howe), offsets of 45 minutes (Kathmandu, Chatham), zones that
// dropped DST (Shanghai, Sao Paulo) or changed their offset (Samoa skipped
// 2011-12-30), and rules that move every year (Casablanca).
var testZones = []string{
	"UTC", "Asia/Shanghai", "Asia/Kolkata", "America/New_York", "America/Los_Angeles",
	"Europe/London", "Europe/Dublin", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",
	"Asia/Kathmandu", "Pacific/Chatham", "America/Sao_Paulo", "Pacific/Apia", "Africa/Casablanca",
	"America/St_Johns", "Antarctica/Troll", "Etc/GMT+12", "Pacific/Kiritimati",
}

// TestWallClockAgreesWithTime: the folder's time fields are time.Time's, in
// every zone, from 1970 to far beyond the offset table (year 2200).
func TestWallClockAgreesWithTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	limits := []int64{
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), // most records
		time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), // past the table
		1 << 53,
	}
	for _, name := range testZones {
		loc := mustZone(t, name)
		r := mustNew(t, "{yyyy}/{MM}/{dd}/{HH}/{mm}/", loc)
		check := func(ms int64) {
			dir, err := r.AppendFolder(nil, &events.Record{Topic: "t", Timestamp: ms})
			if err != nil {
				t.Fatal(err)
			}
			tm := time.UnixMilli(ms).In(loc)
			if want := tm.Format("2006/01/02/15/04/"); tm.Year() <= 9999 && string(dir) != want {
				t.Fatalf("%s: %d (%v) renders %q, want %q", name, ms, tm, dir, want)
			}
		}
		for _, limit := range limits {
			for range 3000 {
				check(1 + rng.Int64N(limit))
			}
		}
		// Every transition, and the millisecond before it.
		tm := time.UnixMilli(1).In(loc)
		for range 600 {
			_, end := tm.ZoneBounds()
			if end.IsZero() || end.Year() > 2300 {
				break
			}
			if !end.After(tm) {
				end = tm.Add(time.Hour)
			}
			check(end.UnixMilli())
			check(end.UnixMilli() - 1)
			tm = end
		}
	}
}
