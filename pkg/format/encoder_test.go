package format

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "topic,partition,offset,timestamp,key,value,headers", ""},
		{"  ", "topic,partition,offset,timestamp,key,value,headers", ""},
		{"offset,value", "offset,value", ""},
		{" value , offset ", "value,offset", ""},
		{"headers,timestamp,key,value,partition,topic,offset", "headers,timestamp,key,value,partition,topic,offset", ""},
		{"offset,,value", "", `item 2 is empty`},
		{"offset,", "", `item 2 is empty`},
		{"offset,Value", "", `unknown field "Value"`},
		{"offset,bogus", "", `unknown field "bogus"`},
		{"value,offset,value", "", `field "value" is repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			fs, err := ParseFields(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFields(%q) = %v, %v; want error containing %q", tt.in, fs, err, tt.err)
				}
				return
			}
			if err != nil || fs.String() != tt.want {
				t.Fatalf("ParseFields(%q) = %q, %v; want %q", tt.in, fs, err, tt.want)
			}
			again, _ := ParseFields(fs.String())
			if again != fs {
				t.Fatalf("ParseFields(String()) = %v, want %v (not ==)", again, fs)
			}
			for i := 0; i < fs.Len(); i++ {
				if !fs.Has(fs.At(i)) {
					t.Fatalf("Has(At(%d)) false", i)
				}
			}
		})
	}
	if AllFields() != mustFields(t, "topic,partition,offset,timestamp,key,value,headers") || AllFields() == mustFields(t, "offset") {
		t.Fatal("Fields are not compared by selection")
	}
	if (Fields{}).Len() != 0 || (Fields{}).String() != "" || (Fields{}).Has(FieldTopic) {
		t.Fatal("zero Fields selects something")
	}
}

func TestID(t *testing.T) {
	b64 := events.Base64
	tests := []struct {
		enc                  Encoder
		id, ext, ctype, cenc string
	}{
		{Encoder{}, "raw/text", "", "", ""},
		{Encoder{ValueEncoding: b64}, "raw/base64", "", "", ""},
		{Encoder{Format: JSONL}, "jsonl/text", "", "", ""},
		{Encoder{Format: JSONL, ValueEncoding: b64}, "jsonl/base64", "", "", ""},
		{Encoder{Codec: Gzip}, "raw/text;z=gzip-1", ".gz", "", "gzip"},
		{Encoder{Codec: Snappy, ValueEncoding: b64}, "raw/base64;z=snappy", ".sz", "", "x-snappy-framed"},
		{Encoder{Format: JSONL, Fields: AllFields()}, "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers", ".jsonl", "application/x-ndjson", ""},
		{Encoder{Format: JSONL, Fields: mustFields(t, "value,offset"), Codec: Zstd}, "jsonl/text;fields=value,offset;z=zstd-1", ".jsonl.zst", "application/x-ndjson", "zstd"},
		{Encoder{Format: CSV, ValueEncoding: b64, Fields: mustFields(t, "offset,key,value"), Codec: Zstd}, "csv/base64;fields=offset,key,value;z=zstd-1", ".csv.zst", "text/csv; charset=utf-8", "zstd"},
		{Encoder{Format: CSV, Fields: mustFields(t, "key"), Codec: Gzip}, "csv/text;fields=key;z=gzip-1", ".csv.gz", "text/csv; charset=utf-8", "gzip"},
		{Encoder{Format: Parquet, Fields: mustFields(t, "offset,value"), Codec: Snappy}, "parquet/text;fields=offset,value;z=snappy", ".parquet", "application/vnd.apache.parquet", ""},
		{Encoder{Format: Parquet, Fields: AllFields(), ValueEncoding: b64}, "parquet/base64;fields=topic,partition,offset,timestamp,key,value,headers", ".parquet", "application/vnd.apache.parquet", ""},
		// Non-canonical forms encode as their canonical ones.
		{Encoder{Fields: mustFields(t, "offset")}, "raw/text", "", "", ""},
		{Encoder{Format: JSONL, Codec: Gzip}, "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1", ".jsonl.gz", "application/x-ndjson", "gzip"},
		{Encoder{Format: CSV}, "csv/text;fields=topic,partition,offset,timestamp,key,value,headers", ".csv", "text/csv; charset=utf-8", ""},
		// Staged and written whole when sealed (SINK_FINALIZE): the same
		// names and headers, another id.
		{Encoder{Final: true}, "raw/text;final", "", "", ""},
		{Encoder{Codec: Zstd, Final: true}, "raw/text;z=zstd-1;final", ".zst", "", "zstd"},
		{Encoder{Format: JSONL, Final: true}, "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;final", ".jsonl", "application/x-ndjson", ""},
		{Encoder{Format: CSV, Fields: mustFields(t, "offset,value"), Codec: Gzip, Final: true}, "csv/text;fields=offset,value;z=gzip-1;final", ".csv.gz", "text/csv; charset=utf-8", "gzip"},
		// Parquet is always staged: Final adds nothing to its id.
		{Encoder{Format: Parquet, Fields: mustFields(t, "offset"), Final: true}, "parquet/text;fields=offset", ".parquet", "application/vnd.apache.parquet", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e := tt.enc
			if got := e.ID(); got != tt.id {
				t.Fatalf("ID = %q, want %q", got, tt.id)
			}
			if got := e.Ext(); got != tt.ext {
				t.Errorf("Ext = %q, want %q", got, tt.ext)
			}
			if got := e.ContentType(); got != tt.ctype {
				t.Errorf("ContentType = %q, want %q", got, tt.ctype)
			}
			if got := e.ContentEncoding(); got != tt.cenc {
				t.Errorf("ContentEncoding = %q, want %q", got, tt.cenc)
			}
			if e.Compressed() != (tt.cenc != "") || e.Staged() != (e.Format == Parquet || e.Final) || e.Built() != (e.Format == Parquet) {
				t.Errorf("Compressed = %v, Staged = %v", e.Compressed(), e.Staged())
			}
			p, err := ParseID(tt.id)
			if err != nil || p.ID() != tt.id {
				t.Fatalf("ParseID(%q) = %+v, %v", tt.id, p, err)
			}
		})
	}
}

// TestParseIDRoundTrip: every combination comes back ==, in canonical form.
func TestParseIDRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range encoders(t) {
		id := e.ID()
		if seen[id] {
			t.Fatalf("two encoders with id %q", id)
		}
		seen[id] = true
		p, err := ParseID(id)
		if err != nil {
			t.Fatalf("ParseID(%q): %v", id, err)
		}
		if p != e {
			t.Fatalf("ParseID(%q) = %+v, want %+v", id, p, e)
		}
	}
}

func TestParseIDErrors(t *testing.T) {
	tests := []struct{ id, err string }{
		{"", "want {format}/{text|base64}"},
		{"raw", "want {format}/{text|base64}"},
		{"/text", `unknown format ""`},
		{"avro/text", `unknown format "avro"`},
		{"raw/binary", `unknown value encoding "binary"`},
		{"raw/TEXT", `unknown value encoding "TEXT"`},
		{"RAW/text", `unknown format "RAW"`},
		{"raw/text;fields=offset", "raw has no fields"},
		{"csv/text", "csv needs ;fields="},
		{"parquet/base64;z=snappy", "parquet needs ;fields="},
		{"jsonl/text;z=gzip-1", "jsonl needs ;fields="},
		{"csv/text;fields=", "empty field list"},
		{"csv/text;fields=offset,offset", `field "offset" is repeated`},
		{"csv/text;fields=offset,bogus", `unknown field "bogus"`},
		{"csv/text;fields=offset, value", "not in canonical form"},
		{"csv/text;z=gzip-1;fields=offset", "fields must come once, before z"},
		{"csv/text;fields=offset;fields=value", "fields must come once, before z"},
		{"raw/text;z=gzip-1;z=gzip-1", "z is repeated"},
		{"raw/text;z=gzip", "want gzip-1"},
		{"raw/text;z=gzip-6", "gzip level 6 is not supported (this version writes gzip-1)"},
		{"raw/text;z=gzip-01", "not in canonical form"},
		{"raw/text;z=zstd-3", "zstd level 3 is not supported"},
		{"raw/text;z=snappy-1", "snappy has no level"},
		{"raw/text;z=none", `unknown codec "none"`},
		{"raw/text;z=", `unknown codec ""`},
		{"raw/text;z=lz4-1", `unknown codec "lz4"`},
		{"raw/text;level=1", `unknown parameter "level"`},
		{"raw/text;fields", `parameter "fields": want name=value`},
		{"raw/text;", "not in canonical form"},
		{"raw/text;;z=snappy", `parameter "": want name=value`},
		{"raw/text ", `unknown value encoding "text "`},
		{"raw/text;final;z=gzip-1", "final must come last"},
		{"raw/text;final;final", "final must come last"},
		{"raw/text;final=1", `unknown parameter "final"`},
		{"jsonl/text;final", "jsonl needs ;fields="},
		{"parquet/text;fields=offset;final", "parquet is always final"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e, err := ParseID(tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "encoding id") {
				t.Fatalf("ParseID(%q) = %+v, %v; want error containing %q", tt.id, e, err, tt.err)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	for _, f := range []Format{Raw, JSONL, CSV, Parquet} {
		if g, err := Parse(f.String()); err != nil || g != f {
			t.Errorf("Parse(%q) = %v, %v", f, g, err)
		}
	}
	for _, c := range []Codec{None, Gzip, Zstd, Snappy} {
		if g, err := ParseCodec(c.String()); err != nil || g != c {
			t.Errorf("ParseCodec(%q) = %v, %v", c, g, err)
		}
	}
	if f, err := Parse(""); err != nil || f != Raw {
		t.Error(`Parse("") is not raw`)
	}
	if c, err := ParseCodec(""); err != nil || c != None {
		t.Error(`ParseCodec("") is not none`)
	}
	if _, err := Parse("avro"); err == nil {
		t.Error("Parse(avro) succeeded")
	}
	if _, err := ParseCodec("lz4"); err == nil {
		t.Error("ParseCodec(lz4) succeeded")
	}
}

func TestHeader(t *testing.T) {
	tests := []struct {
		enc  Encoder
		want string
	}{
		{Encoder{Format: CSV, Fields: mustFields(t, "offset,key,value")}, "offset,key,value\n"},
		{Encoder{Format: CSV}, "topic,partition,offset,timestamp,key,value,headers\n"},
		{Encoder{Format: JSONL, Fields: AllFields()}, ""},
		{Encoder{}, ""},
		{Encoder{Format: Parquet, Fields: AllFields()}, ""},
	}
	for _, tt := range tests {
		if got := tt.enc.Header(); string(got) != tt.want || (tt.want == "") != (got == nil) {
			t.Errorf("%s: Header = %q, want %q", tt.enc.ID(), got, tt.want)
		}
	}
}

// TestLegacyJSONLIdentical: all fields in the canonical order is the legacy
// envelope, byte for byte.
func TestLegacyJSONLIdentical(t *testing.T) {
	for _, v := range []events.ValueEncoding{events.Text, events.Base64} {
		for _, r := range testRecords(v) {
			legacy := Encoder{Format: JSONL, ValueEncoding: v}.Append(nil, &r)
			all := Encoder{Format: JSONL, ValueEncoding: v, Fields: AllFields()}.Append(nil, &r)
			gz := Encoder{Format: JSONL, ValueEncoding: v, Fields: AllFields(), Codec: Gzip}.Append(nil, &r)
			if !bytes.Equal(legacy, all) || !bytes.Equal(legacy, gz) {
				t.Fatalf("legacy %q\nall    %q\ngzip   %q", legacy, all, gz)
			}
		}
	}
}
