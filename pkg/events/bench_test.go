package events_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	sdkevents "github.com/aliyun/fc-runtime-go-sdk/events"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/naive"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// The benchmarks decode a full-size batch (eventstest.Bench: 10,000 records
// of about 3.2 KB on 8 partitions, about 32 MB) in each shape. Compare
// BenchmarkDecodeToPartitions with BenchmarkBaselineEncodingJSON, which do
// the same work (decode, then append each value and a newline to a buffer
// per partition), in MB/s of payload:
//
//	go test -run XXX -bench . -benchmem ./pkg/events/

func benchBatch(b *testing.B, shape eventstest.Shape, enc events.ValueEncoding) []byte {
	b.Helper()
	cfg := eventstest.Bench()
	cfg.Shape, cfg.ValueEncoding = shape, enc
	payload := eventstest.Batch(cfg)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	return payload
}

func BenchmarkDecode(b *testing.B) {
	for _, shape := range eventstest.Shapes() {
		for _, enc := range []events.ValueEncoding{events.Text, events.Base64} {
			b.Run(shape.String()+"/"+enc.String(), func(b *testing.B) {
				payload := benchBatch(b, shape, enc)
				for b.Loop() {
					recs, err := events.Decode(payload, events.WithValueEncoding(enc))
					if err != nil || len(recs) != 10000 {
						b.Fatalf("%d records, %v", len(recs), err)
					}
				}
			})
		}
	}
}

// BenchmarkDecoder is BenchmarkDecode with a Decoder that reuses its memory
// from one batch to the next, as a long-lived function instance would.
func BenchmarkDecoder(b *testing.B) {
	for _, shape := range eventstest.Shapes() {
		b.Run(shape.String(), func(b *testing.B) {
			payload := benchBatch(b, shape, events.Text)
			dec, err := events.NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := dec.Decode(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeToPartitions is Decode plus what the baseline does with the
// values: one bytes.Buffer per partition, each value and a newline appended.
// Knowing the records first, it sizes each buffer once, as a sink should:
// growing them by doubling costs more than decoding.
func BenchmarkDecodeToPartitions(b *testing.B) {
	for _, shape := range eventstest.Shapes() {
		b.Run(shape.String(), func(b *testing.B) {
			payload := benchBatch(b, shape, events.Text)
			for b.Loop() {
				recs, err := events.Decode(payload)
				if err != nil {
					b.Fatal(err)
				}
				sizes := map[int32]int{}
				for i := range recs {
					sizes[recs[i].Partition] += len(recs[i].Value) + 1
				}
				bufs := make(map[int32]*bytes.Buffer, len(sizes))
				for p, n := range sizes {
					bufs[p] = bytes.NewBuffer(make([]byte, 0, n))
				}
				for i := range recs {
					buf := bufs[recs[i].Partition]
					buf.Write(recs[i].Value)
					buf.WriteByte('\n')
				}
			}
		})
	}
}

// BenchmarkBaselineEncodingJSON decodes the same batches with encoding/json
// into the SDK's structs (the obvious handler) and buffers the values per
// partition.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	for _, shape := range eventstest.Shapes() {
		b.Run(shape.String(), func(b *testing.B) {
			payload := benchBatch(b, shape, events.Text)
			for b.Loop() {
				var data []*sdkevents.KafkaData
				switch shape {
				case eventstest.CloudEvents:
					var evs []sdkevents.KafkaEventBridgeEvent
					if err := json.Unmarshal(payload, &evs); err != nil {
						b.Fatal(err)
					}
					for i := range evs {
						data = append(data, evs[i].Data)
					}
				case eventstest.Strings:
					var strs []string
					if err := json.Unmarshal(payload, &strs); err != nil {
						b.Fatal(err)
					}
					for _, s := range strs {
						var ev sdkevents.KafkaEventBridgeEvent
						if err := json.Unmarshal([]byte(s), &ev); err != nil {
							b.Fatal(err)
						}
						data = append(data, ev.Data)
					}
				case eventstest.RawData:
					var ds []sdkevents.KafkaData
					if err := json.Unmarshal(payload, &ds); err != nil {
						b.Fatal(err)
					}
					for i := range ds {
						data = append(data, &ds[i])
					}
				}
				bufs := map[int]*bytes.Buffer{}
				for _, d := range data {
					buf := bufs[*d.Partition]
					if buf == nil {
						buf = new(bytes.Buffer)
						bufs[*d.Partition] = buf
					}
					buf.WriteString(*d.Value)
					buf.WriteByte('\n')
				}
				if len(data) != 10000 {
					b.Fatalf("%d records", len(data))
				}
			}
		})
	}
}

// BenchmarkWorkload decodes the value shapes of eventstest.Workloads (about
// 31 MB each: escape-heavy JSON in strings, plain text, small records, JSON
// values, base64 values, mixed text), four ways: "decode" (Decode, strings
// unescaped into the arena), "inplace" (Decode with InPlace, as the
// handler calls it, on a fresh copy of the payload made untimed), "decoder"
// (a warm Decoder) and "baseline" (encoding/json into the SDK's structs and
// a buffer per partition: internal/testkit/naive). Besides MB/s of wall
// time it reports cpu-MB/s, payload bytes per CPU second of the process
// (garbage collection included), which a loaded machine disturbs far less:
//
//	go test -run XXX -bench Workload -benchmem ./pkg/events/
func BenchmarkWorkload(b *testing.B) {
	for _, w := range eventstest.Workloads() {
		enc, format := events.Text, naive.Text
		switch {
		case w.Config.ValueEncoding == events.Base64:
			enc, format = events.Base64, naive.Binary
		case w.Config.Values == eventstest.JSONValues:
			format = naive.JSON
		}
		payload := eventstest.Batch(w.Config)
		want := w.Config.Records
		check := func(b *testing.B, recs []events.Record, err error) {
			if err != nil || len(recs) != want {
				b.Fatalf("%d records, %v", len(recs), err)
			}
		}
		// run times fn per iteration in CPU time too.
		run := func(b *testing.B, prepare func(), fn func()) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			var cpu time.Duration
			for b.Loop() {
				if prepare != nil {
					b.StopTimer()
					prepare()
					b.StartTimer()
				}
				start := testkit.ProcessCPU()
				fn()
				cpu += testkit.ProcessCPU() - start
			}
			if cpu > 0 {
				b.ReportMetric(float64(len(payload))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
			}
		}
		b.Run(w.Name+"/decode", func(b *testing.B) {
			run(b, nil, func() {
				recs, err := events.Decode(payload, events.WithValueEncoding(enc))
				check(b, recs, err)
			})
		})
		b.Run(w.Name+"/inplace", func(b *testing.B) {
			scratch := make([]byte, len(payload))
			run(b, func() { copy(scratch, payload) }, func() {
				recs, err := events.Decode(scratch, events.WithValueEncoding(enc), events.InPlace())
				check(b, recs, err)
			})
		})
		b.Run(w.Name+"/decoder", func(b *testing.B) {
			dec, err := events.NewDecoder(events.WithValueEncoding(enc))
			if err != nil {
				b.Fatal(err)
			}
			run(b, nil, func() {
				recs, err := dec.Decode(payload)
				check(b, recs, err)
			})
		})
		b.Run(w.Name+"/baseline", func(b *testing.B) {
			run(b, nil, func() {
				if _, err := naive.Decode(payload, format); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
