package events_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden from the decoder's output")

// samples are the repository's sample payloads, with the options they need.
var samples = []struct {
	file  string
	enc   events.ValueEncoding
	count int
}{
	{"cloudevents.json", events.Text, 3},
	{"strings.json", events.Text, 2},
	{"rawdata.json", events.Text, 3},
	{"single-object.json", events.Text, 1},
	{"json-values.json", events.Text, 5},
	{"binary-base64.json", events.Base64, 4},
	{"keys-and-headers.json", events.Text, 4},
	{"multi-partition.json", events.Text, 9},
	{"empty.json", events.Text, 0},
}

// TestSamplesGolden decodes every sample payload and compares the records
// with testdata/golden/<name>; go test -run Golden -update rewrites them.
func TestSamplesGolden(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			recs, err := events.Decode(readSample(t, s.file), events.WithValueEncoding(s.enc))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(recs) != s.count {
				t.Errorf("got %d records, want %d", len(recs), s.count)
			}
			got := marshalGolden(t, recs)
			path := filepath.Join("testdata", "golden", s.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("records differ from %s (go test -run Golden -update rewrites it):\ngot:\n%s", path, got)
			}
		})
	}
}

// TestSamplesRoundTrip re-encodes each sample's records in every shape and
// decodes them again; it also checks the sample against the reference
// decoder.
func TestSamplesRoundTrip(t *testing.T) {
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			payload := readSample(t, s.file)
			recs, err := events.Decode(payload, events.WithValueEncoding(s.enc))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			ref, err := refDecode(payload, s.enc)
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			if d := diffRecords(recs, ref); d != "" {
				t.Errorf("Decode and the reference decoder differ: %s", d)
			}
			for _, shape := range eventstest.Shapes() {
				again, err := events.Decode(eventstest.Encode(shape, recs, s.enc), events.WithValueEncoding(s.enc))
				if err != nil {
					t.Fatalf("%v: decoding the re-encoded records: %v", shape, err)
				}
				if d := diffRecords(again, recs); d != "" {
					t.Errorf("%v: round trip: %s", shape, d)
				}
			}
		})
	}
}

// TestSamplesAlias checks that decoding does not modify the payload and that
// the records' slices cannot be appended over their neighbours.
func TestSamplesAlias(t *testing.T) {
	for _, s := range samples {
		payload := readSample(t, s.file)
		orig := bytes.Clone(payload)
		recs, err := events.Decode(payload, events.WithValueEncoding(s.enc))
		if err != nil {
			t.Fatalf("%s: %v", s.file, err)
		}
		if !bytes.Equal(payload, orig) {
			t.Errorf("%s: Decode modified the payload", s.file)
		}
		for _, r := range recs {
			for _, b := range [][]byte{r.Key, r.Value, r.Headers} {
				if cap(b) != len(b) {
					t.Errorf("%s: record %d: slice %q has spare capacity %d", s.file, r.Index, b, cap(b)-len(b))
				}
			}
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	const data = `{"topic":"t","partition":1,"offset":2,"value":"v"}`
	ce := `{"specversion":"1.0","id":"x","data":` + data + `}`
	str := string(eventstest.AppendString(nil, []byte(ce)))
	want := events.Record{Topic: "t", Partition: 1, Offset: 2, Value: []byte("v")}
	tests := []struct {
		name    string
		payload string
		n       int
	}{
		{"rawdata object", data, 1},
		{"cloudevent object", ce, 1},
		{"mixed array", "[" + data + "," + ce + "," + str + "]", 3},
		{"whitespace", " \t\r\n[ " + data + " ,\n" + str + " ]\n\n", 2},
		{"empty array with space", " [ \n ] ", 0},
		{"string holding rawdata", "[" + string(eventstest.AppendString(nil, []byte(data))) + "]", 1},
		{"string with spaces around the object", `[" ` + strings.ReplaceAll(ce, `"`, `\"`) + ` "]`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := events.Decode([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.n {
				t.Fatalf("got %d records, want %d", len(recs), tt.n)
			}
			for i := range recs {
				w := want
				w.Index = i
				if d := diffRecord(&recs[i], &w); d != "" {
					t.Errorf("record %d: %s", i, d)
				}
			}
		})
	}
}

// TestDecodeFields covers the field rules one member at a time, on RawData.
func TestDecodeFields(t *testing.T) {
	tests := []struct {
		name    string
		members string // added to topic, partition and offset
		enc     events.ValueEncoding
		check   func(t *testing.T, r events.Record)
	}{
		{"timestamp number", `"timestamp":1655952591589`, 0, wantTimestamp(1655952591589)},
		{"timestamp string", `"timestamp":"1655952591589"`, 0, wantTimestamp(1655952591589)},
		{"timestamp negative", `"timestamp":-1`, 0, wantTimestamp(-1)},
		{"timestamp null", `"timestamp":null`, 0, wantTimestamp(0)},
		{"timestamp plus sign string", `"timestamp":"+5"`, 0, wantTimestamp(5)},
		{"timestamp escaped string", `"timestamp":"\u0031\u0032"`, 0, wantTimestamp(12)},
		{"value absent", ``, 0, wantValue(events.ValueNull, "")},
		{"value null", `"value":null`, 0, wantValue(events.ValueNull, "")},
		{"value empty", `"value":""`, 0, wantValue(events.ValueBytes, "")},
		{"value escapes", `"value":"a\"b\\c\/d\b\f\n\r\te\u00e9\u6760\ud83d\ude00"`, 0, wantValue(events.ValueBytes, "a\"b\\c/d\b\f\n\r\teé杠😀")},
		{"value lone high surrogate", `"value":"x\ud800y"`, 0, wantValue(events.ValueBytes, "x\uFFFDy")},
		{"value lone low surrogate", `"value":"x\udc00y"`, 0, wantValue(events.ValueBytes, "x\uFFFDy")},
		{"value high then non-low", `"value":"\ud800\u0041"`, 0, wantValue(events.ValueBytes, "\uFFFDA")},
		{"value high high low", `"value":"\ud800\ud83d\ude00"`, 0, wantValue(events.ValueBytes, "\uFFFD😀")},
		{"value high at end", `"value":"\ud83d"`, 0, wantValue(events.ValueBytes, "\uFFFD")},
		{"value invalid utf8", "\"value\":\"a\xffb\xc3\"", 0, wantValue(events.ValueBytes, "a\uFFFDb\uFFFD")},
		{"value encoded surrogate", "\"value\":\"\xed\xa0\x80\"", 0, wantValue(events.ValueBytes, "\uFFFD\uFFFD\uFFFD")},
		{"value literal U+FFFD", "\"value\":\"\uFFFD\"", 0, wantValue(events.ValueBytes, "\uFFFD")},
		{"value DEL and unicode", "\"value\":\"\x7f杭州😀\"", 0, wantValue(events.ValueBytes, "\x7f杭州😀")},
		{"value control escapes", `"value":"\u0000\u001f\u007f"`, 0, wantValue(events.ValueBytes, "\x00\x1f\x7f")},
		{"value object", `"value": { "a" : [1, 2 ,"x y"] , "b":{} }`, 0, wantValue(events.ValueJSON, `{"a":[1,2,"x y"],"b":{}}`)},
		{"value compact object kept", `"value":{"a":"\n \" "}`, 0, wantValue(events.ValueJSON, `{"a":"\n \" "}`)},
		{"value array", "\"value\":[\n\ttrue,\n\tfalse\n]", 0, wantValue(events.ValueJSON, `[true,false]`)},
		{"value number", `"value":-1.5e+3`, 0, wantValue(events.ValueJSON, `-1.5e+3`)},
		{"value true", `"value":true`, 0, wantValue(events.ValueJSON, `true`)},
		{"value base64", `"value":"aGVsbG8="`, events.Base64, wantValue(events.ValueBytes, "hello")},
		{"value base64 escaped slash", `"value":"\/\/\/\/"`, events.Base64, wantValue(events.ValueBytes, "\xff\xff\xff")},
		{"value base64 empty", `"value":""`, events.Base64, wantValue(events.ValueBytes, "")},
		{"value base64 json", `"value":{"a":1}`, events.Base64, wantValue(events.ValueJSON, `{"a":1}`)},
		{"key absent", ``, 0, wantKey(false, "")},
		{"key null", `"key":null`, 0, wantKey(false, "")},
		{"key empty", `"key":""`, 0, wantKey(true, "")},
		{"key escaped", `"key":"k\u003d1"`, 0, wantKey(true, "k=1")},
		{"headers absent", ``, 0, wantHeaders(nil)},
		{"headers null", `"headers":null`, 0, wantHeaders(nil)},
		{"headers list null", `"headers":{"headers":null}`, 0, wantHeaders(nil)},
		{"headers without list", `"headers":{"isReadOnly":false}`, 0, wantHeaders(nil)},
		{"headers empty", `"headers":{"headers":[],"isReadOnly":false}`, 0, wantHeaders([]byte(`[]`))},
		{"headers spaced", `"headers":{ "isReadOnly" : "odd", "headers" : [ {"key" : "h1", "value":"v 1"} ] }`, 0, wantHeaders([]byte(`[{"key":"h1","value":"v 1"}]`))},
		{"last member wins", `"key":"a","key":"b","offset":-1,"offset":7,"value":"x","value":null`, 0, func(t *testing.T, r events.Record) {
			wantKey(true, "b")(t, r)
			wantValue(events.ValueNull, "")(t, r)
			if r.Offset != 7 {
				t.Errorf("Offset = %d, want 7", r.Offset)
			}
		}},
		{"unknown members", `"x":{"y":[1,{"z":null}],"w":"\u1234"},"isReadOnly":true,"data2":[]`, 0, wantKey(false, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"topic":"t","partition":0,"offset":1`
			if tt.members != "" {
				payload += "," + tt.members
			}
			payload += "}"
			recs, err := events.Decode([]byte(payload), events.WithValueEncoding(tt.enc))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, recs[0])
			ref, err := refDecode([]byte(payload), tt.enc)
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			if d := diffRecords(recs, ref); d != "" {
				t.Errorf("reference decoder differs: %s", d)
			}
		})
	}
}

func wantTimestamp(ts int64) func(*testing.T, events.Record) {
	return func(t *testing.T, r events.Record) {
		t.Helper()
		if r.Timestamp != ts {
			t.Errorf("Timestamp = %d, want %d", r.Timestamp, ts)
		}
	}
}

func wantValue(kind events.ValueKind, v string) func(*testing.T, events.Record) {
	return func(t *testing.T, r events.Record) {
		t.Helper()
		if r.ValueKind != kind || string(r.Value) != v {
			t.Errorf("Value = %v %q, want %v %q", r.ValueKind, r.Value, kind, v)
		}
		if kind == events.ValueNull && r.Value != nil {
			t.Errorf("null Value = %q, want nil", r.Value)
		}
	}
}

func wantKey(has bool, k string) func(*testing.T, events.Record) {
	return func(t *testing.T, r events.Record) {
		t.Helper()
		if r.HasKey != has || string(r.Key) != k {
			t.Errorf("Key = %v %q, want %v %q", r.HasKey, r.Key, has, k)
		}
	}
}

func wantHeaders(h []byte) func(*testing.T, events.Record) {
	return func(t *testing.T, r events.Record) {
		t.Helper()
		if (r.Headers == nil) != (h == nil) || !bytes.Equal(r.Headers, h) {
			t.Errorf("Headers = %q, want %q", r.Headers, h)
		}
	}
}

// TestDecodeCloudEventTopLevelIgnored checks that members at the top of a
// CloudEvent that share data's names do not matter, even when invalid.
func TestDecodeCloudEventTopLevelIgnored(t *testing.T) {
	payload := `[{"offset":-5,"key":7,"value":"!!","data":{"topic":"t","partition":0,"offset":1}}]`
	recs, err := events.Decode([]byte(payload), events.WithValueEncoding(events.Base64))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Offset != 1 || recs[0].HasKey {
		t.Errorf("got %+v", recs[0])
	}
}

// TestDecodeTopicsInterned checks that records share one string per topic.
func TestDecodeTopicsInterned(t *testing.T) {
	recs, err := events.Decode(readSample(t, "multi-partition.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*byte{}
	for _, r := range recs {
		p := unsafe.StringData(r.Topic)
		if q, ok := seen[r.Topic]; ok && q != p {
			t.Errorf("record %d: topic %q is a separate copy", r.Index, r.Topic)
		}
		seen[r.Topic] = p
	}
	if len(seen) != 2 {
		t.Errorf("got topics %v, want 2", seen)
	}
}

func TestDecodeGenerated(t *testing.T) {
	for _, shape := range eventstest.Shapes() {
		for _, enc := range []events.ValueEncoding{events.Text, events.Base64} {
			cfg := eventstest.BatchConfig{
				Records: 300, Partitions: 5, Topics: []string{"a", "b"}, ValueSize: 700,
				StartOffsets: []int64{10, 20, 1 << 40}, Keys: true, Headers: true,
				Shape: shape, ValueEncoding: enc, Seed: 7,
			}
			t.Run(shape.String()+"/"+enc.String(), func(t *testing.T) {
				want := eventstest.Records(cfg)
				got, err := events.Decode(eventstest.Batch(cfg), events.WithValueEncoding(enc))
				if err != nil {
					t.Fatal(err)
				}
				if d := diffRecords(got, want); d != "" {
					t.Fatal(d)
				}
			})
		}
	}
}

func TestDecodeAllocs(t *testing.T) {
	cfg := eventstest.BatchConfig{Records: 1000, Partitions: 8, ValueSize: 300, Keys: true, Topics: []string{"a", "b", "c"}}
	for _, shape := range eventstest.Shapes() {
		cfg.Shape = shape
		payload := eventstest.Batch(cfg)
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := events.Decode(payload); err != nil {
				t.Fatal(err)
			}
		})
		// The records slice, the arena, the topic map and its three
		// strings, the options: nothing per record.
		if allocs > 12 {
			t.Errorf("%v: %v allocations per Decode of 1000 records", shape, allocs)
		}
	}
}

func TestBadOption(t *testing.T) {
	if _, err := events.Decode([]byte("[]"), events.WithValueEncoding(9)); err == nil {
		t.Error("Decode accepted value encoding 9")
	}
	if _, err := events.NewDecoder(events.WithValueEncoding(9)); err == nil {
		t.Error("NewDecoder accepted value encoding 9")
	}
}

// TestDecoderReuse decodes batches of varying size and shape with one
// Decoder: each result must be right, however the previous one used the
// memory.
func TestDecoderReuse(t *testing.T) {
	dec, err := events.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{50, 500, 3, 0, 800, 20} {
		cfg := eventstest.BatchConfig{Records: n, Partitions: 3, ValueSize: 200 + 50*i, Keys: i%2 == 0, Headers: true,
			Shape: eventstest.Shapes()[i%3], Seed: uint64(i)}
		want := eventstest.Records(cfg)
		got, err := dec.Decode(eventstest.Batch(cfg))
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if d := diffRecords(got, want); d != "" {
			t.Fatalf("batch %d: %s", i, d)
		}
		if _, err := dec.Decode([]byte(`[{"topic":"t","partition":0,"offset":-1}]`)); err == nil {
			t.Fatal("no error for a negative offset")
		}
	}
	payload := eventstest.Batch(eventstest.BatchConfig{Records: 1000, ValueSize: 100, Shape: eventstest.Strings})
	if allocs := testing.AllocsPerRun(5, func() {
		if _, err := dec.Decode(payload); err != nil {
			t.Fatal(err)
		}
	}); allocs > 0 {
		t.Errorf("%v allocations per Decode of a warm Decoder, want 0", allocs)
	}
}

func TestParseValueEncoding(t *testing.T) {
	for s, want := range map[string]events.ValueEncoding{"text": events.Text, "Base64": events.Base64, " binary ": events.Base64} {
		got, err := events.ParseValueEncoding(s)
		if err != nil || got != want {
			t.Errorf("ParseValueEncoding(%q) = %v, %v; want %v", s, got, err, want)
		}
		if again, _ := events.ParseValueEncoding(got.String()); again != got {
			t.Errorf("%v does not round-trip through String", got)
		}
	}
	if _, err := events.ParseValueEncoding("hex"); err == nil {
		t.Error("ParseValueEncoding accepted hex")
	}
}
