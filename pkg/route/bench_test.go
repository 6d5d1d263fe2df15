package route_test

import (
	"os"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// The benchmarks render the folder of each record of a batch, in ns per
// record:
//
//	go test -run XXX -bench . -benchmem ./pkg/route/
//
// Time templates render eventstest.Bench's records (2022 timestamps a few
// ms apart); field templates read user.id from testdata/order.json (1 KB),
// carried as text (Text data format: the whole value is validated) or as a
// Json value (read up to the field).
func BenchmarkAppendFolder(b *testing.B) {
	cfg := eventstest.Bench()
	cfg.Records, cfg.ValueSize = 1000, 64
	plain := eventstest.Records(cfg)
	doc, err := os.ReadFile("../field/testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	withValue := func(kind events.ValueKind) []events.Record {
		recs := make([]events.Record, len(plain))
		for i := range recs {
			recs[i] = plain[i]
			recs[i].Value, recs[i].ValueKind = doc[:len(doc)-1], kind // without the newline
		}
		return recs
	}
	for _, bc := range []struct {
		name, tmpl, zone string
		recs             []events.Record
	}{
		{"static", "{topic}/", "UTC", plain},
		{"hive/UTC", hive, "UTC", plain},
		{"hive/Asia-Shanghai", hive, "Asia/Shanghai", plain},
		{"hive/America-New_York", hive, "America/New_York", plain},
		{"key", "{topic}/{key}/", "UTC", plain},
		{"field/text", "{value:user.id}/", "UTC", withValue(events.ValueBytes)},
		{"field/json", "{value:user.id}/", "UTC", withValue(events.ValueJSON)},
		{"field-late/json", "{value:tenant}/", "UTC", withValue(events.ValueJSON)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := mustNew(b, bc.tmpl, mustZone(b, bc.zone))
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var err error
				if buf, err = r.AppendFolder(buf[:0], &bc.recs[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(bc.recs) {
					i = 0
				}
			}
		})
	}
}
