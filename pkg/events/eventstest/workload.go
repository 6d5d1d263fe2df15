package eventstest

import (
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Workload is a named full-size batch shape that benchmarks compare: the
// in-process decode benchmarks of package events and the whole-process
// benchmark command (internal/procbench) measure the same payloads.
type Workload struct {
	// Name says what the values are, and the partitions when not 8:
	// "escape-heavy", "plain", "small", "json-values", "base64",
	// "mixed-p64"...
	Name   string
	Config BatchConfig
}

// Workloads returns the value shapes, each a CloudEvents batch of about
// 31 MB (the trigger's limit is 32 MB) on 8 partitions with keys:
//
//   - escape-heavy: 10,000 JSON documents of 2.3 KB sent as strings, about
//     125 escapes per KB;
//   - plain: 10,000 plain ASCII texts of 2.7 KB, nothing to escape;
//   - small: 47,000 mixed texts of 200 B (per-record costs dominate);
//   - json-values: 10,000 JSON documents of 2.7 KB sent as JSON values (the
//     trigger's Json data format);
//   - base64: 10,000 random values of 2 KB sent as base64 (Binary format);
//   - mixed: eventstest.Bench's mixed text (a few escapes), sized to 31 MB.
func Workloads() []Workload {
	base := func(records, size int, v Values) BatchConfig {
		return BatchConfig{Records: records, Partitions: 8, ValueSize: size, Values: v, Keys: true, Seed: 1}
	}
	b64 := base(10000, 2000, MixedText)
	b64.ValueEncoding = events.Base64
	return []Workload{
		{"escape-heavy", base(10000, 2270, JSONText)},
		{"plain", base(10000, 2650, PlainText)},
		{"small", base(47000, 200, MixedText)},
		{"json-values", base(10000, 2650, JSONValues)},
		{"base64", b64},
		{"mixed", base(10000, 2650, MixedText)},
	}
}

// PartitionWorkloads returns the mixed workload spread over each of the
// given partition counts, named "mixed-pN".
func PartitionWorkloads(partitions ...int) []Workload {
	var ws []Workload
	for _, p := range partitions {
		w := Workloads()[5]
		w.Name = fmt.Sprintf("mixed-p%d", p)
		w.Config.Partitions = p
		ws = append(ws, w)
	}
	return ws
}
