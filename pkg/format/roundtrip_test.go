package format

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// TestRoundTrip: Decode(Append(r)) gives r back, as far as the encoding
// carries it (see want), for every format, selection, value encoding and
// codec; and Size bounds what Append adds (exactly for raw and staging).
func TestRoundTrip(t *testing.T) {
	for _, e := range encoders(t) {
		t.Run(e.ID(), func(t *testing.T) {
			recs := append(testRecords(e.ValueEncoding), randomRecords(200, e.ValueEncoding, 7)...)
			for i := range recs {
				r := &recs[i]
				b := e.Append([]byte("prefix"), r)[len("prefix"):]
				checkSize(t, e, r, len(b))
				got, err := e.Decode(b)
				if err != nil {
					t.Fatalf("record %d %+v: Decode(%q): %v", i, r, b, err)
				}
				if w := want(e, r); !sameDecoded(got, w) {
					t.Fatalf("record %d: Decode(%q)\n got %+v\nwant %+v", i, b, got, w)
				}
				// Without the line end too (a reader that split lines).
				if e.Format != Parquet && e.Format != Raw {
					if _, err := e.Decode(b[:len(b)-1]); err != nil {
						t.Fatalf("record %d: Decode without line end: %v", i, err)
					}
				}
			}
		})
	}
}

func checkSize(t *testing.T, e Encoder, r *events.Record, n int) {
	t.Helper()
	size := e.Size(r)
	exact := e.Format == Raw || e.Format == Parquet
	if size < n || exact && size != n {
		t.Fatalf("%s: Size = %d, Append added %d (record %+v)", e.ID(), size, n, r)
	}
}

// TestSizeBound checks the bound on random records full of what escaping
// and quoting grow, and that it stays close on plain text (it sizes
// buffers for whole batches).
func TestSizeBound(t *testing.T) {
	encs := encoders(t)
	for _, v := range []events.ValueEncoding{events.Text, events.Base64} {
		for _, r := range randomRecords(3000, v, 11) {
			for _, e := range encs {
				if e.ValueEncoding == v {
					checkSize(t, e, &r, len(e.Append(nil, &r)))
				}
			}
		}
	}
	plain := events.Record{Topic: "orders", Key: []byte("user-12345"), HasKey: true,
		Value: []byte(strings.Repeat("order created for customer in hangzhou, paid. ", 60))}
	for _, e := range []Encoder{{Format: JSONL, Fields: AllFields()}, {Format: CSV, Fields: AllFields()}} {
		n := len(e.Append(nil, &plain))
		if size := e.Size(&plain); size > n+100 {
			t.Errorf("%s: Size = %d for %d bytes: too loose", e.ID(), size, n)
		}
	}
}

// randomRecords returns records whose strings are drawn from the bytes
// that need escaping, quoting or repair.
func randomRecords(n int, v events.ValueEncoding, seed uint64) []events.Record {
	rng := rand.New(rand.NewPCG(seed, 99))
	pieces := []string{"a", "b", " ", ",", "\"", "\\", "\r", "\n", "\r\n", "\t", "\x00", "\x1f", "\x7f", "é", "杭", "😀",
		"\u2028", "\xff", "\xc0", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "plain text ", "{", "}", "[]"}
	str := func() []byte {
		var b []byte
		for k := rng.IntN(40); k > 0; k-- {
			b = append(b, pieces[rng.IntN(len(pieces))]...)
		}
		return b
	}
	recs := make([]events.Record, n)
	for i := range recs {
		r := &recs[i]
		r.Topic = string(str())
		r.Partition = rng.Int32()
		r.Offset = rng.Int64()
		r.Timestamp = rng.Int64() - rng.Int64()
		if rng.IntN(4) > 0 {
			r.Key, r.HasKey = str(), true
		}
		switch rng.IntN(5) {
		case 0:
			r.ValueKind = events.ValueNull
		case 1:
			r.Value, r.ValueKind = []byte(`{"a":"`+strings.ReplaceAll(string(repair(str())), `"`, `'`)+`"}`), events.ValueJSON
			if !utf8.Valid(r.Value) || strings.ContainsAny(string(r.Value), "\\\x00\x01\x1f\r\n\t") {
				r.Value = []byte(`[1,"x,y",{"q":"\""}]`)
			}
		default:
			r.Value = str()
			if v == events.Base64 && rng.IntN(2) == 0 {
				r.Value = []byte{byte(rng.Uint32()), 0, 0xff}
			}
		}
		if rng.IntN(2) == 0 {
			r.Headers = []byte(`[{"key":"k","value":"` + strings.Repeat(`\"`, rng.IntN(5)) + `"}]`)
		}
	}
	return recs
}

// TestCSVNulls: the null/empty distinction that encoding/csv loses.
func TestCSVNulls(t *testing.T) {
	e := Encoder{Format: CSV, Fields: mustFields(t, "key,value")}
	tests := []struct {
		row      string
		hasKey   bool
		key      string
		kind     events.ValueKind
		value    string
		mustFail bool
	}{
		{row: ",\n", kind: events.ValueNull},
		{row: `"",""` + "\n", hasKey: true, kind: events.ValueBytes},
		{row: `a,"b"` + "\r\n", hasKey: true, key: "a", value: "b"},
		{row: `"x""y",` + "\n", hasKey: true, key: `x"y`, kind: events.ValueNull},
		{row: `"a` + "\r\n" + `b",c`, hasKey: true, key: "a\r\nb", value: "c"},
		{row: "a\n", mustFail: true},           // one field
		{row: "a,b,c\n", mustFail: true},       // three
		{row: "a,b\nc,d\n", mustFail: true},    // two rows
		{row: `a"b,c` + "\n", mustFail: true},  // quote in unquoted field
		{row: `"ab,c` + "\n", mustFail: true},  // unterminated
		{row: `"a"b,c` + "\n", mustFail: true}, // text after the closing quote
		{row: "a\rb,c\n", mustFail: true},      // bare CR
	}
	for _, tt := range tests {
		t.Run(tt.row, func(t *testing.T) {
			d, err := e.Decode([]byte(tt.row))
			if tt.mustFail {
				if err == nil {
					t.Fatalf("Decode(%q) = %+v, want an error", tt.row, d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.HasKey != tt.hasKey || string(d.Key) != tt.key || d.ValueKind != tt.kind || string(d.Value) != tt.value {
				t.Fatalf("Decode(%q) = %+v", tt.row, d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	jsonl := Encoder{Format: JSONL, Fields: mustFields(t, "offset,key")}
	b64 := Encoder{Format: JSONL, ValueEncoding: events.Base64, Fields: mustFields(t, "value")}
	csvAll := Encoder{Format: CSV, Fields: AllFields()}
	stage := Encoder{Format: Parquet, Fields: AllFields()}
	good := stage.Append(nil, &events.Record{Topic: "t", Offset: 1, Value: []byte("v")})
	tests := []struct {
		name string
		e    Encoder
		b    string
		err  string
	}{
		{"jsonl not object", jsonl, `[1]`, "not a JSON object"},
		{"jsonl missing", jsonl, `{"offset":1}`, `member "key" is missing`},
		{"jsonl extra", jsonl, `{"offset":1,"key":null,"value":null}`, `unexpected member "value"`},
		{"jsonl case", jsonl, `{"Offset":1,"key":null}`, `unexpected member "Offset"`},
		{"jsonl repeated", jsonl, `{"offset":1,"offset":2,"key":null}`, `member "offset" is repeated`},
		{"jsonl two values", jsonl, `{"offset":1,"key":null}{}`, "more than one JSON value"},
		{"jsonl bad offset", jsonl, `{"offset":"1","key":null}`, `member "offset"`},
		{"jsonl bad key", jsonl, `{"offset":1,"key":2}`, `member "key"`},
		{"jsonl truncated", jsonl, `{"offset":1,"key":nu`, `member "key"`},
		{"jsonl bad base64", b64, `{"value":"!!"}`, "base64"},
		{"csv ints", csvAll, "t,x,1,1,,,[]\n", "field 2 (partition)"},
		{"csv partition range", csvAll, "t,2147483648,1,1,,,[]\n", "field 2 (partition)"},
		{"csv headers", csvAll, "t,1,1,1,,,\n", "field 7 (headers): not a JSON array"},
		{"stage empty", stage, "", "bad length"},
		{"stage short", stage, string(good[:len(good)-1]), "length"},
		{"stage long", stage, string(good) + "x", "length"},
		{"stage flags", stage, "\x09\x80\x01t\x00\x02\x00\x01v\x00", "unknown flags"},
		{"stage kind", stage, "\x09\x06\x01t\x00\x02\x00\x01v\x00", "unknown flags"},
		{"stage value length", stage, "\x09\x00\x01t\x00\x02\x00\x09v\x00", "value: bad length"},
		{"stage partition", stage, "\x0d\x00\x01t\x80\x80\x80\x80\x10\x02\x00\x01v\x00", "partition: out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.e.Decode([]byte(tt.b))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Decode(%q) = %+v, %v; want error containing %q", tt.b, d, err, tt.err)
			}
		})
	}
}

// FuzzDecode: Decode never panics, whatever the bytes, in any format; and
// what the staging decoder accepts encodes back to the same bytes unless
// its varints were not minimal.
func FuzzDecode(f *testing.F) {
	encs := []Encoder{
		{},
		{Format: JSONL},
		{Format: JSONL, ValueEncoding: events.Base64, Fields: mustFields(f, "value,key,headers")},
		{Format: CSV, Fields: AllFields()},
		{Format: CSV, ValueEncoding: events.Base64, Fields: mustFields(f, "key,value")},
		{Format: Parquet, Fields: AllFields()},
	}
	for _, v := range []events.ValueEncoding{events.Text, events.Base64} {
		for _, r := range testRecords(v) {
			for i, e := range encs {
				f.Add(uint8(i), e.Append(nil, &r))
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		e := encs[int(which)%len(encs)]
		d, err := e.Decode(b)
		if err != nil {
			return
		}
		if e.Format == JSONL && d.ValueKind == events.ValueJSON && len(d.Value) == 0 {
			t.Fatalf("empty JSON value from %q", b)
		}
	})
}

// FuzzSize: Size bounds Append for any strings.
func FuzzSize(f *testing.F) {
	f.Add("orders", []byte("k"), []byte("v"), []byte(`[]`), uint8(0))
	f.Add("a,b", []byte("\xff\"\n"), []byte("\x00\x01\\\"é"), []byte(nil), uint8(1))
	encs := []Encoder{{}, {Format: JSONL}, {Format: CSV, Fields: AllFields()}, {Format: Parquet, Fields: AllFields()},
		{Format: JSONL, ValueEncoding: events.Base64, Fields: AllFields()}, {Format: CSV, ValueEncoding: events.Base64, Fields: AllFields()}}
	f.Fuzz(func(t *testing.T, topic string, key, value, headers []byte, flags uint8) {
		r := events.Record{Topic: topic, Key: key, HasKey: flags&1 != 0, Value: value,
			ValueKind: events.ValueKind(flags >> 1 % 3), Headers: headers, Offset: -1, Partition: -1, Timestamp: -1 << 63}
		for _, e := range encs {
			checkSize(t, e, &r, len(e.Append(nil, &r)))
		}
	})
}

// FuzzCSVString: a field as appendCSVString writes it reads back, through
// encoding/csv and through parseCSVRow, as the (repaired) input; and only
// an empty unquoted field reads as a null.
func FuzzCSVString(f *testing.F) {
	for _, s := range []string{"", " ", "a,b", `"`, "a\r\nb", "\r", "x\xff", " lead", "trail "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		row := append(appendCSVString(nil, s), ",x\n"...)
		want := string(repair(s))
		rec, err := csv.NewReader(bytes.NewReader(row)).Read()
		if err != nil {
			t.Fatalf("encoding/csv: %q: %v", row, err)
		}
		if len(rec) != 2 || rec[0] != strings.ReplaceAll(want, "\r\n", "\n") || rec[1] != "x" {
			t.Fatalf("encoding/csv read %q as %q", row, rec)
		}
		fields, err := parseCSVRow(row, nil)
		if err != nil || len(fields) != 2 || string(fields[0].b) != want || fields[0].b == nil && !fields[0].quoted {
			t.Fatalf("parseCSVRow(%q) = %+v, %v", row, fields, err)
		}
	})
}
