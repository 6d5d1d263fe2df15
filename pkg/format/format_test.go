package format

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

func TestEncoder(t *testing.T) {
	rec := events.Record{Topic: "orders", Partition: 3, Offset: 42, Timestamp: 1655952591589,
		Key: []byte("k1"), HasKey: true, Value: []byte("hello \"kafka\"\n"), Headers: []byte(`[{"key":"h","value":"v"}]`)}
	tests := []struct {
		name string
		enc  Encoder
		rec  events.Record
		want string
	}{
		{"raw text", Encoder{}, rec, "hello \"kafka\"\n\n"},
		{"raw null", Encoder{}, events.Record{ValueKind: events.ValueNull}, "\n"},
		{"raw json", Encoder{}, events.Record{Value: []byte(`{"a":1}`), ValueKind: events.ValueJSON}, "{\"a\":1}\n"},
		{"jsonl text", Encoder{Format: JSONL}, rec,
			`{"topic":"orders","partition":3,"offset":42,"timestamp":1655952591589,"key":"k1","value":"hello \"kafka\"\n","headers":[{"key":"h","value":"v"}]}` + "\n"},
		{"jsonl no key null value", Encoder{Format: JSONL}, events.Record{Topic: "t", ValueKind: events.ValueNull},
			`{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":null,"headers":[]}` + "\n"},
		{"jsonl json value", Encoder{Format: JSONL}, events.Record{Topic: "t", Value: []byte(`[1,2]`), ValueKind: events.ValueJSON},
			`{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":[1,2],"headers":[]}` + "\n"},
		{"jsonl base64", Encoder{Format: JSONL, ValueEncoding: events.Base64}, events.Record{Topic: "t", Value: []byte{0, 255, 10}},
			`{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":"AP8K","headers":[]}` + "\n"},
		{"jsonl escapes", Encoder{Format: JSONL}, events.Record{Topic: "t", Value: []byte("a\x01\tb\xffc\u2028é😀")},
			`{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":"a\u0001\tb\ufffdc` + "\u2028é😀" + `","headers":[]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.enc.Append(nil, &tt.rec))
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
			if tt.enc.Format == Raw && tt.enc.Size(&tt.rec) != len(got) {
				t.Fatalf("Size = %d, want %d", tt.enc.Size(&tt.rec), len(got))
			}
			if tt.enc.Format == JSONL && !json.Valid([]byte(got)) {
				t.Fatalf("invalid JSON: %s", got)
			}
		})
	}
}

// TestAppendStringMatchesEncodingJSON checks that strings survive a JSON round
// trip exactly (valid UTF-8) or as encoding/json would repair them (invalid).
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain", "quote\"back\\slash", "\x00\x1f\x7f", "é\u00e9€𝄞", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "ab\xe2\x82", strings.Repeat("x\n", 100)}
	for _, in := range inputs {
		out := appendString(nil, []byte(in))
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", in, out, err)
		}
		// Invalid bytes become U+FFFD one by one, as encoding/json does
		// (strings.ToValidUTF8 would fold a run of them into one).
		var b strings.Builder
		for i := 0; i < len(in); {
			r, n := utf8.DecodeRuneInString(in[i:])
			b.WriteRune(r)
			i += n
		}
		want := b.String()
		if back != want {
			t.Fatalf("%q: round trip gave %q, want %q", in, back, want)
		}
		if s := appendString(nil, view(in)); string(s) != string(out) {
			t.Fatalf("string and []byte forms differ for %q", in)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte("\xff\xfe\"\\\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := appendString(nil, in)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("invalid JSON %q: %v", out, err)
		}
		if utf8.Valid(in) && back != string(in) {
			t.Fatalf("round trip %q -> %q", in, back)
		}
	})
}

func BenchmarkJSONL(b *testing.B) {
	rec := events.Record{Topic: "orders", Partition: 1, Offset: 123456, Timestamp: 1655952591589, Key: []byte("key-1"), HasKey: true,
		Value: []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 70) + "\"quoted\"")}
	enc := Encoder{Format: JSONL}
	buf := make([]byte, 0, 8192)
	b.SetBytes(int64(len(rec.Value)))
	b.ReportAllocs()
	for b.Loop() {
		buf = enc.Append(buf[:0], &rec)
	}
}
