package eventstest_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

func TestBatchDeterministic(t *testing.T) {
	cfg := eventstest.BatchConfig{Records: 50, Partitions: 3, Keys: true, Headers: true, Seed: 9}
	a, b := eventstest.Batch(cfg), eventstest.Batch(cfg)
	if !bytes.Equal(a, b) {
		t.Error("two batches of one config differ")
	}
	cfg.Seed++
	if bytes.Equal(a, eventstest.Batch(cfg)) {
		t.Error("batches of different seeds are equal")
	}
}

func TestRecordsOffsets(t *testing.T) {
	cfg := eventstest.BatchConfig{Records: 400, Partitions: 4, Topics: []string{"a", "b"}, StartOffsets: []int64{100, 200}, ValueSize: 10}
	next := map[string]int64{}
	for i, r := range eventstest.Records(cfg) {
		if r.Index != i || r.Partition < 0 || r.Partition >= 4 || len(r.Value) != 10 || r.HasKey {
			t.Fatalf("record %d: %+v", i, r)
		}
		k := r.Topic + "/" + string(rune('0'+r.Partition))
		want, ok := next[k]
		if !ok {
			want = []int64{100, 200, 0, 0}[r.Partition]
		}
		if r.Offset != want {
			t.Fatalf("record %d: offset %d, want %d", i, r.Offset, want)
		}
		next[k] = want + 1
	}
	if len(next) != 8 {
		t.Errorf("%d topic-partitions used, want 8", len(next))
	}
}

// TestBatchIsJSON checks every shape against encoding/json and the SDK form:
// strings are valid JSON texts, and escaping matches Gson's.
func TestBatchIsJSON(t *testing.T) {
	for _, shape := range eventstest.Shapes() {
		payload := eventstest.Batch(eventstest.BatchConfig{Records: 20, ValueSize: 700, Keys: true, Headers: true, Shape: shape})
		var elems []json.RawMessage
		if err := json.Unmarshal(payload, &elems); err != nil || len(elems) != 20 {
			t.Fatalf("%v: %d elements, %v", shape, len(elems), err)
		}
		if shape == eventstest.Strings {
			var s string
			if err := json.Unmarshal(elems[0], &s); err != nil || !json.Valid([]byte(s)) {
				t.Errorf("strings: element is not a string holding JSON: %v", err)
			}
			if !bytes.Contains(elems[0], []byte(`charset\\u003dutf-8`)) {
				t.Errorf("strings: '=' is not escaped as in the SDK sample: %.300s", elems[0])
			}
		}
	}
}

func TestAppendString(t *testing.T) {
	in := "a\"b\\c\n\t\x01<>&='é杭\u2028/\x7f"
	got := string(eventstest.AppendString(nil, []byte(in)))
	want := `"a\"b\\c\n\t\u0001\u003c\u003e\u0026\u003d\u0027é杭\u2028/` + "\x7f\""
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var back string
	if err := json.Unmarshal([]byte(got), &back); err != nil || back != in {
		t.Errorf("does not unmarshal back: %q, %v", back, err)
	}
}

func TestBenchSize(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 32 MB")
	}
	cfg := eventstest.Bench()
	cfg.Shape = eventstest.Strings
	payload := eventstest.Batch(cfg)
	if n := len(payload); n < 31<<20 || n > 32<<20 {
		t.Errorf("Bench batch of strings is %d bytes, want just under 32 MiB", n)
	}
	recs, err := events.Decode(payload)
	if err != nil || len(recs) != 10000 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}

// TestWorkloads checks what the benchmark shapes promise: about 31 MB each,
// below the trigger's 32 MB, the escape density of escape-heavy, and
// records that decode as generated.
func TestWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 190 MB")
	}
	for _, w := range eventstest.Workloads() {
		payload := eventstest.Batch(w.Config)
		if n := len(payload); n < 30e6 || n > 32e6 {
			t.Errorf("%s: %d bytes, want about 31 MB", w.Name, n)
		}
		perKB := float64(bytes.Count(payload, []byte(`\`))) / float64(len(payload)) * 1024
		if heavy := w.Name == "escape-heavy"; heavy && (perKB < 110 || perKB > 140) || !heavy && perKB > 10 {
			t.Errorf("%s: %.0f escapes per KB", w.Name, perKB)
		}
		recs, err := events.Decode(payload, events.WithValueEncoding(w.Config.ValueEncoding))
		if err != nil || len(recs) != w.Config.Records {
			t.Fatalf("%s: %d records, %v", w.Name, len(recs), err)
		}
		want := eventstest.Records(w.Config)
		for i := range recs {
			if !bytes.Equal(recs[i].Value, want[i].Value) || recs[i].ValueKind != want[i].ValueKind {
				t.Fatalf("%s: record %d differs", w.Name, i)
			}
		}
	}
}
