package naive_test

import (
	"bytes"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/naive"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// TestDecode checks the baseline against the records a batch carries: each
// partition's buffer holds its values in order, a newline after each, for
// each data format.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format naive.Format
		cfg    eventstest.BatchConfig
	}{
		{"text", naive.Text, eventstest.BatchConfig{Records: 200, Partitions: 3, ValueSize: 300, Keys: true, Seed: 2}},
		{"json text", naive.Text, eventstest.BatchConfig{Records: 50, Partitions: 2, ValueSize: 400, Values: eventstest.JSONText, Seed: 3}},
		{"binary", naive.Binary, eventstest.BatchConfig{Records: 50, Partitions: 2, ValueSize: 100, ValueEncoding: events.Base64, Seed: 4}},
		{"json", naive.JSON, eventstest.BatchConfig{Records: 50, Partitions: 4, ValueSize: 400, Values: eventstest.JSONValues, Seed: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, err := naive.Decode(eventstest.Batch(tc.cfg), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			want := map[int]*bytes.Buffer{}
			for _, r := range eventstest.Records(tc.cfg) {
				b := want[int(r.Partition)]
				if b == nil {
					b = new(bytes.Buffer)
					want[int(r.Partition)] = b
				}
				b.Write(r.Value)
				b.WriteByte('\n')
			}
			if len(parts) != len(want) {
				t.Fatalf("%d partitions, want %d", len(parts), len(want))
			}
			for _, p := range parts {
				if p.Topic != "orders" || !bytes.Equal(p.Buf.Bytes(), want[p.Partition].Bytes()) {
					t.Errorf("partition %s/%d: %d bytes, want %d", p.Topic, p.Partition, p.Buf.Len(), want[p.Partition].Len())
				}
			}
		})
	}
	if _, err := naive.Decode([]byte(`[{"data":{"topic":"t","partition":0,"value":{"a":1}}}]`), naive.Text); err == nil {
		t.Error("a JSON value decoded as text: the SDK's *string cannot hold it")
	}
}
