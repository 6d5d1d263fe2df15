package events_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// TestInPlaceAgrees decodes every sample, malformed ones included, and
// generated batches of every shape with and without InPlace: records and
// errors must be the same, and in place the records of top-level shapes must
// point into the payload.
func TestInPlaceAgrees(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*.json")
	bad, _ := filepath.Glob("../../testdata/malformed/*.json")
	payloads := map[string][]byte{}
	for _, f := range append(files, bad...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		payloads[f] = b
	}
	for _, shape := range eventstest.Shapes() {
		for _, enc := range []events.ValueEncoding{events.Text, events.Base64} {
			cfg := eventstest.BatchConfig{Records: 300, Partitions: 3, ValueSize: 500, Keys: true, Headers: true, Shape: shape, ValueEncoding: enc, Seed: 3}
			payloads["generated/"+shape.String()+"/"+enc.String()] = eventstest.Batch(cfg)
		}
	}
	for name, payload := range payloads {
		enc := events.Text
		if strings.Contains(name, "base64") {
			enc = events.Base64
		}
		want, wantErr := events.Decode(payload, events.WithValueEncoding(enc))
		scratch := append([]byte(nil), payload...)
		got, err := events.Decode(scratch, events.WithValueEncoding(enc), events.InPlace())
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("%s: error %v, want %v", name, err, wantErr)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("%s: records differ in place", name)
		}
	}
}

// normalize drops the difference between nil and empty slices.
func normalize(recs []events.Record) []events.Record {
	out := make([]events.Record, len(recs))
	for i, r := range recs {
		for _, b := range []*[]byte{&r.Key, &r.Value, &r.Headers} {
			if len(*b) == 0 {
				*b = nil
			}
		}
		out[i] = r
	}
	return out
}

func BenchmarkDecodeInPlace(b *testing.B) {
	payload := eventstest.Batch(eventstest.Bench())
	scratch := make([]byte, len(payload))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		copy(scratch, payload)
		b.StartTimer()
		if _, err := events.Decode(scratch, events.InPlace()); err != nil {
			b.Fatal(err)
		}
	}
}
