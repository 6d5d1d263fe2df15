package format

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// testRecords are the records of the golden files: every case a format must
// carry through (quotes, commas, CR/LF, spaces, non-ASCII, invalid UTF-8,
// JSON values, null keys, tombstones, empty strings, headers).
func testRecords(enc events.ValueEncoding) []events.Record {
	hdr := []byte(`[{"key":"trace-id","value":"a,\"b\""},{"key":"empty","value":null}]`)
	text := []events.Record{
		{Topic: "orders", Partition: 3, Offset: 42, Timestamp: 1655952591589, Key: []byte("k1"), HasKey: true,
			Value: []byte("hello, \"kafka\"\r\nline 2"), Headers: hdr},
		{Topic: "orders", Partition: 3, Offset: 43, Timestamp: 1655952591590, ValueKind: events.ValueNull}, // tombstone, no key
		{Topic: "orders", Partition: 3, Offset: 44, Timestamp: 1655952591591, Key: []byte{}, HasKey: true, Value: []byte{}, Headers: []byte("[]")},
		{Topic: "orders", Partition: 0, Offset: 45, Timestamp: 0, Key: []byte("键 \"q\""), HasKey: true, Value: []byte("café 杭州 😀\u2028")},
		{Topic: "orders", Partition: 1, Offset: 46, Timestamp: -1, Key: []byte("bad\xc0"), HasKey: true, Value: []byte("a\xffb\xed\xa0\x80c")},
		{Topic: "orders", Partition: 2, Offset: 47, Timestamp: 1655952591592, Value: []byte(`{"a":"x,y","b":[1,2],"c":"\"q\"\n"}`), ValueKind: events.ValueJSON},
		{Topic: "orders", Partition: 2, Offset: 48, Timestamp: 1655952591593, Key: []byte(" padded "), HasKey: true, Value: []byte(" lead\x01\ttrail ")},
		{Topic: "odd,topic", Partition: 2147483647, Offset: 9223372036854775807, Timestamp: 1655952591594, Value: []byte("plain"), Headers: []byte(`[{"key":"k","value":"v"}]`)},
		{Topic: "orders", Partition: 2, Offset: 49, Timestamp: 1655952591595, Key: []byte("nl\nkey"), HasKey: true, Value: []byte("\"")},
	}
	if enc == events.Text {
		return text
	}
	// Binary values (base64 delivered): every byte value, empty, null, and
	// one JSON value (a misconfigured trigger) that is not base64.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return []events.Record{
		{Topic: "bin", Partition: 0, Offset: 1, Timestamp: 1, Key: []byte("k"), HasKey: true, Value: all, Headers: []byte(`[{"key":"h","value":"v"}]`)},
		{Topic: "bin", Partition: 0, Offset: 2, Timestamp: 2, Value: []byte{}},
		{Topic: "bin", Partition: 0, Offset: 3, Timestamp: 3, ValueKind: events.ValueNull},
		{Topic: "bin", Partition: 0, Offset: 4, Timestamp: 4, Value: []byte("\x00\xff\n\r,\""), Key: []byte("a,b"), HasKey: true},
		{Topic: "bin", Partition: 0, Offset: 5, Timestamp: 5, Value: []byte(`{"a":1}`), ValueKind: events.ValueJSON},
	}
}

// repair replaces each invalid UTF-8 byte by U+FFFD, as jsonl and csv write
// text (and encoding/json reads it).
func repair(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// want returns what e.Decode(e.Append(r)) must give.
func want(e Encoder, r *events.Record) Decoded {
	d := Decoded{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp,
		Key: r.Key, HasKey: r.HasKey, Value: r.Value, ValueKind: r.ValueKind, Headers: r.Headers}
	switch e.Format {
	case Raw:
		return Decoded{Fields: fieldsOf(FieldValue), Value: r.Value}
	case Parquet:
		d.Fields = AllFields()
		return d
	}
	d.Fields = e.fields()
	if string(d.Headers) == "[]" {
		d.Headers = nil
	}
	d.Topic = string(repair([]byte(d.Topic)))
	d.Key = repair(d.Key)
	switch {
	case d.ValueKind == events.ValueBytes && !e.base64():
		d.Value = repair(d.Value)
	case d.ValueKind == events.ValueJSON && e.Format == CSV:
		d.Value = repair(d.Value)
		if !e.base64() {
			d.ValueKind = events.ValueBytes // csv cannot tell JSON from text
		}
	}
	if e.Format == CSV {
		d.Headers = repair(d.Headers)
	}
	// Only the selected members come back.
	fs := d.Fields
	if !fs.Has(FieldTopic) {
		d.Topic = ""
	}
	if !fs.Has(FieldPartition) {
		d.Partition = 0
	}
	if !fs.Has(FieldOffset) {
		d.Offset = 0
	}
	if !fs.Has(FieldTimestamp) {
		d.Timestamp = 0
	}
	if !fs.Has(FieldKey) {
		d.Key, d.HasKey = nil, false
	}
	if !fs.Has(FieldValue) {
		d.Value, d.ValueKind = nil, 0
	}
	if !fs.Has(FieldHeaders) {
		d.Headers = nil
	}
	return d
}

func sameDecoded(a, b Decoded) bool {
	return a.Fields == b.Fields && a.Topic == b.Topic && a.Partition == b.Partition && a.Offset == b.Offset &&
		a.Timestamp == b.Timestamp && a.HasKey == b.HasKey && bytes.Equal(a.Key, b.Key) &&
		a.ValueKind == b.ValueKind && bytes.Equal(a.Value, b.Value) && bytes.Equal(a.Headers, b.Headers)
}

func mustFields(t testing.TB, s string) Fields {
	t.Helper()
	fs, err := ParseFields(s)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// selections are the field selections the tests run every format with.
var selections = []string{
	"topic,partition,offset,timestamp,key,value,headers",
	"headers,value,key,timestamp,offset,partition,topic",
	"offset,value",
	"key",
	"value",
	"timestamp,headers",
}

// encoders returns every format × value encoding × selection × codec.
func encoders(t testing.TB) []Encoder {
	var encs []Encoder
	for _, v := range []events.ValueEncoding{events.Text, events.Base64} {
		for _, c := range []Codec{None, Gzip, Zstd, Snappy} {
			encs = append(encs, Encoder{Format: Raw, ValueEncoding: v, Codec: c})
			for _, f := range []Format{JSONL, CSV, Parquet} {
				for _, s := range selections {
					encs = append(encs, Encoder{Format: f, ValueEncoding: v, Fields: mustFields(t, s), Codec: c})
				}
			}
		}
		encs = append(encs, Encoder{Format: JSONL, ValueEncoding: v}) // legacy
	}
	return encs
}

func name(e Encoder) string {
	return strings.NewReplacer("/", "_", ";", "_", "=", "_", ",", "-").Replace(e.ID())
}
