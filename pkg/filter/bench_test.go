package filter_test

import (
	"os"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// The benchmarks decide one record per op, in ns per record:
//
//	go test -run XXX -bench . -benchmem ./pkg/filter/
//
// Keyword and regular-expression filters run over eventstest.Bench's text
// values (2780 bytes) for a word they hold and for one they do not (the
// whole value is searched); regexp-miss-no-literal shows the cost of an
// expression without literal text to look for first; field filters
// over testdata/order.json (1 KB) as a Text value holding JSON (validated
// whole) and as a Json value (read up to the field).
func BenchmarkKeep(b *testing.B) {
	cfg := eventstest.Bench()
	cfg.Records = 200
	text := eventstest.Records(cfg)
	doc, err := os.ReadFile("testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	asText := []events.Record{{Topic: "orders", Value: doc[:len(doc)-1]}}
	asJSON := []events.Record{{Topic: "orders", Value: doc[:len(doc)-1], ValueKind: events.ValueJSON}}
	for _, bc := range []struct {
		name, spec string
		recs       []events.Record
	}{
		{"keyword", `keep value contains "warehouse"`, text},
		{"keyword-miss", `drop value contains "healthcheck"`, text},
		{"regexp", "keep value ~ `ware(house)?`", text},
		{"regexp-miss", "drop value ~ `healthcheck|probe-[0-9]+`", text},
		{"regexp-miss-no-literal", "drop value ~ `(?i)healthcheck`", text},
		{"key-regexp", "keep key ~ `^user-0`", text},
		{"field/text", `drop value:status = "debug"`, asText},
		{"field/json", `drop value:status = "debug"`, asJSON},
		{"field-exists/json", `keep value:user.id exists`, asJSON},
		{"field-late/json", `keep value:tenant = "acme"`, asJSON},
		{"two-rules/json", `keep value:user.tier = "gold"; drop value:status = "cancelled"`, asJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := mustParse(b, bc.spec)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				f.Keep(&bc.recs[i])
				if i++; i == len(bc.recs) {
					i = 0
				}
			}
		})
	}
}
