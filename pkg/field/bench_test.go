package field_test

import (
	"encoding/json"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

// The benchmarks read a field of testdata/order.json (1 KB) near its start
// (user.id) and at its end (tenant), with Lookup (strict) and LookupValid;
// BenchmarkEncodingJSONMap does what Lookup avoids, decoding the value into
// a map:
//
//	go test -run XXX -bench . -benchmem ./pkg/field/
var benchPaths = []string{"user.id", "tenant"}

func BenchmarkLookup(b *testing.B) {
	doc := orderDoc(b)
	for _, fn := range []struct {
		name   string
		lookup func([]byte, field.Path) (field.Value, error)
	}{{"strict", field.Lookup}, {"valid", field.LookupValid}} {
		for _, path := range benchPaths {
			p := mustPath(b, path)
			b.Run(fn.name+"/"+path, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := fn.lookup(doc, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEncodingJSONMap(b *testing.B) {
	doc := orderDoc(b)
	for _, path := range benchPaths {
		segs := splitPath(path)
		b.Run(path, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(doc, &m); err != nil {
					b.Fatal(err)
				}
				var v any = m
				for _, s := range segs {
					v = v.(map[string]any)[s]
				}
				if _, ok := v.(string); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkHeader(b *testing.B) {
	rec := events.Record{Headers: []byte(`[{"key":"trace-id","value":"7f3a9c1e22b04d5a"},{"key":"tenant","value":"acme"}]`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := field.Header(&rec, "tenant"); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkEncodingJSONValid is the cheapest check encoding/json offers.
func BenchmarkEncodingJSONValid(b *testing.B) {
	doc := orderDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkValid(b *testing.B) {
	doc := orderDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if !field.Valid(doc) {
			b.Fatal("invalid")
		}
	}
}
