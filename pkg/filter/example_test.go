package filter_test

import (
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/filter"
)

func Example() {
	f, err := filter.Parse(`
		keep value:level ~ "^(warn|error)$"
		keep value contains "PANIC"
		drop header:source = "healthcheck"
	`)
	if err != nil {
		panic(err)
	}
	for _, rec := range []events.Record{
		{ValueKind: events.ValueJSON, Value: []byte(`{"level":"error","msg":"disk full"}`)},
		{ValueKind: events.ValueJSON, Value: []byte(`{"level":"debug","msg":"tick"}`)},
		{Value: []byte("PANIC: out of memory")},
		{Value: []byte("PANIC: probe"), Headers: []byte(`[{"key":"source","value":"healthcheck"}]`)},
	} {
		keep, rule := f.Decide(&rec)
		fmt.Println(keep, rule)
	}

	_, err = filter.Parse(`keep value:level == "error"`)
	fmt.Println(err)
	// Output:
	// true 1
	// false 0
	// true 2
	// false 3
	// SINK_FILTER: rule 1, column 18: unknown operator "=="; want contains, ~, =, !=, exists or missing
}
