package parquetfile

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	apq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

func ptr[T any](v T) *T { return &v }

// sample is a row and what reading it back must give where that is not the
// row itself.
type sample struct {
	row       Row
	headers   []gotHeader // the headers column
	textKey   *string     // the key column when it differs from row.Key (UTF-8 repair)
	textValue []byte      // the value column in a STRING column, when it differs from row.Value
}

var samples = []sample{
	{row: Row{Topic: "orders", Partition: 3, Offset: 42, Timestamp: 1655952591589, Key: []byte("k1"), HasKey: true,
		Value: []byte("hello \"kafka\"\n"), Headers: []byte(`[{"key":"h","value":"v"},{"key":"n","value":null}]`)},
		headers: []gotHeader{{"h", ptr("v")}, {"n", nil}}},
	// no key, a tombstone, no timestamp, no headers
	{row: Row{Topic: "orders", Partition: 3, Offset: 43, NullValue: true}, headers: []gotHeader{}},
	// empty strings are not nulls
	{row: Row{Topic: "orders", Partition: 3, Offset: 44, Timestamp: 1, Key: []byte{}, HasKey: true, Value: []byte{},
		Headers: []byte(`[]`)}, headers: []gotHeader{}},
	{row: Row{Topic: "orders", Partition: 3, Offset: 45, Timestamp: -1, Key: []byte("a,b \"c\"\r\nd"), HasKey: true,
		Value:   []byte(`{"json":[1,2,{"x":"é😀"}],"s":"q\"uote"}`),
		Headers: []byte(`[{"key":"\u00e9\n","value":"a\"b\\c"},{"value":"v","key":"k"},{"key":"only"}]`)},
		headers: []gotHeader{{"é\n", ptr("a\"b\\c")}, {"k", ptr("v")}, {"only", nil}}},
	// header elements of other shapes keep their JSON text as the key
	{row: Row{Topic: "other", Partition: 0, Offset: 9223372036854775807, Timestamp: 253402300799999, Value: []byte("日本語"),
		Headers: []byte(`[{"key":"a","value":1},1,"x",null,{"k":"v"},{"key":"a","value":"b","x":true},{"key":"ok","value":"fine"}]`)},
		headers: []gotHeader{{`{"key":"a","value":1}`, nil}, {"1", nil}, {`"x"`, nil}, {"null", nil}, {`{"k":"v"}`, nil},
			{`{"key":"a","value":"b","x":true}`, nil}, {"ok", ptr("fine")}}},
	// whitespace, and text that is not an array
	{row: Row{Topic: "other", Partition: 2147483647, Offset: 0, Value: []byte("x"),
		Headers: []byte(` [ {"key" : "a", "value" : "b"} , { "key":"c","value":null } ] `)},
		headers: []gotHeader{{"a", ptr("b")}, {"c", nil}}},
	{row: Row{Topic: "other", Partition: 1, Offset: 1, Value: []byte("x"), Headers: []byte(`not json`)},
		headers: []gotHeader{{"not json", nil}}},
	{row: Row{Topic: "other", Partition: 1, Offset: 2, Value: []byte("x"), Headers: []byte(`{"key":"a","value":"b"}`)},
		headers: []gotHeader{{`{"key":"a","value":"b"}`, nil}}},
	{row: Row{Topic: "other", Partition: 1, Offset: 3, Value: []byte("x"), Headers: []byte(`null`)}, headers: []gotHeader{}},
	// invalid UTF-8: repaired in STRING columns, kept in a binary value column
	{row: Row{Topic: "other", Partition: 1, Offset: 4, Key: []byte("a\xffb"), HasKey: true, Value: []byte{0, 0xff, 0xfe, '\n'},
		Headers: []byte("[{\"key\":\"\xff\",\"value\":\"\\ud800x\"}]")},
		headers: []gotHeader{{"\ufffd", ptr("\ufffdx")}},
		textKey: ptr("a\ufffdb"), textValue: []byte("\x00\ufffd\ufffd\n")},
}

// want is what reading s back must give with columns cols.
func (s sample) want(cols []Column, binary bool) got {
	var g got
	r := s.row
	for _, c := range cols {
		switch c {
		case Topic:
			g.Topic = ptr(r.Topic)
		case Partition:
			g.Partition = ptr(r.Partition)
		case Offset:
			g.Offset = ptr(r.Offset)
		case Timestamp:
			if r.Timestamp != 0 {
				g.Timestamp = ptr(r.Timestamp)
			}
		case Key:
			if r.HasKey {
				g.Key = ptr(string(r.Key))
				if s.textKey != nil {
					g.Key = s.textKey
				}
			}
		case Value:
			if !r.NullValue {
				v := append([]byte{}, r.Value...)
				if !binary && s.textValue != nil {
					v = s.textValue
				}
				g.Value = &v
			}
		case Headers:
			g.Headers = s.headers
		}
	}
	return g
}

var columnSets = [][]Column{
	{Topic, Partition, Offset, Timestamp, Key, Value, Headers},
	{Offset, Value},
	{Headers, Value, Key, Offset}, // not the canonical order
	{Headers},
	{Timestamp},
	{Value, Topic},
}

var codecs = []string{"none", "gzip", "zstd", "snappy"}

func writeFile(t testing.TB, o Options, rows []Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadBackWithArrow(t *testing.T) {
	rows := make([]Row, len(samples))
	for i, s := range samples {
		rows[i] = s.row
	}
	for _, codec := range codecs {
		for _, cols := range columnSets {
			for _, binary := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/binary=%v", codec, colNames(cols), binary)
				t.Run(name, func(t *testing.T) {
					data := writeFile(t, Options{Columns: cols, BinaryValues: binary, Codec: codec}, rows)
					gotRows, md := readBack(t, data)
					if len(gotRows) != len(samples) {
						t.Fatalf("%d rows, want %d", len(gotRows), len(samples))
					}
					for i, s := range samples {
						if want := s.want(cols, binary); !reflect.DeepEqual(gotRows[i], want) {
							t.Errorf("row %d:\n got %s\nwant %s", i, show(gotRows[i]), show(want))
						}
					}
					checkSchema(t, md, cols, binary, codec)
					checkPages(t, data)
				})
			}
		}
	}
}

// leaf is what the footer must say about one leaf column.
type leaf struct {
	path     string
	physical apq.Type
	logical  schema.LogicalType
	maxDef   int16
	maxRep   int16
}

func wantLeaves(cols []Column, binary bool) []leaf {
	str := schema.StringLogicalType{}
	var ls []leaf
	for _, c := range cols {
		switch c {
		case Topic:
			ls = append(ls, leaf{"topic", apq.Types.ByteArray, str, 0, 0})
		case Partition:
			ls = append(ls, leaf{"partition", apq.Types.Int32, schema.NewIntLogicalType(32, true), 0, 0})
		case Offset:
			ls = append(ls, leaf{"offset", apq.Types.Int64, schema.NewIntLogicalType(64, true), 0, 0})
		case Timestamp:
			ls = append(ls, leaf{"timestamp", apq.Types.Int64, schema.NewTimestampLogicalType(true, schema.TimeUnitMillis), 1, 0})
		case Key:
			ls = append(ls, leaf{"key", apq.Types.ByteArray, str, 1, 0})
		case Value:
			var lt schema.LogicalType = str
			if binary {
				lt = schema.NoLogicalType{}
			}
			ls = append(ls, leaf{"value", apq.Types.ByteArray, lt, 1, 0})
		case Headers:
			ls = append(ls,
				leaf{"headers.list.element.key", apq.Types.ByteArray, str, 1, 1},
				leaf{"headers.list.element.value", apq.Types.ByteArray, str, 2, 1})
		}
	}
	return ls
}

var arrowCodecs = map[string]compress.Compression{
	"none": compress.Codecs.Uncompressed, "gzip": compress.Codecs.Gzip,
	"zstd": compress.Codecs.Zstd, "snappy": compress.Codecs.Snappy,
}

// checkSchema checks the footer as Arrow reads it: the leaf columns' order,
// types and levels, the LIST annotation of headers, every chunk's codec,
// created_by and no key/value metadata.
func checkSchema(t *testing.T, md *metadata.FileMetaData, cols []Column, binary bool, codec string) {
	t.Helper()
	want := wantLeaves(cols, binary)
	if md.Schema.NumColumns() != len(want) {
		t.Fatalf("%d leaf columns, want %d", md.Schema.NumColumns(), len(want))
	}
	for i, w := range want {
		c := md.Schema.Column(i)
		if c.Path() != w.path || c.PhysicalType() != w.physical || !c.LogicalType().Equals(w.logical) ||
			c.MaxDefinitionLevel() != w.maxDef || c.MaxRepetitionLevel() != w.maxRep {
			t.Errorf("leaf %d: %s %v %v def %d rep %d, want %+v", i, c.Path(), c.PhysicalType(), c.LogicalType(),
				c.MaxDefinitionLevel(), c.MaxRepetitionLevel(), w)
		}
	}
	root := md.Schema.Root()
	for i, c := range cols {
		n := root.Field(i)
		if n.Name() != c.String() {
			t.Errorf("field %d is %q, want %q", i, n.Name(), c)
		}
		if c == Headers && !n.LogicalType().Equals(schema.ListLogicalType{}) {
			t.Errorf("headers: logical type %v, want LIST", n.LogicalType())
		}
	}
	for g := 0; g < md.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		for i := 0; i < rg.NumColumns(); i++ {
			cc, err := rg.ColumnChunk(i)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != arrowCodecs[codec] {
				t.Errorf("row group %d column %d: codec %v, want %v", g, i, cc.Compression(), arrowCodecs[codec])
			}
		}
	}
	if md.GetCreatedBy() != CreatedBy {
		t.Errorf("created_by %q, want %q", md.GetCreatedBy(), CreatedBy)
	}
	if kv := md.KeyValueMetadata(); kv.Len() != 0 {
		t.Errorf("key/value metadata %v, want none", kv)
	}
}

// checkPages checks that every page is a version 1 data page or a
// dictionary page, its values PLAIN or dictionary indexes: the layout every
// engine reads.
func checkPages(t *testing.T, data []byte) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	for g := 0; g < pf.NumRowGroups(); g++ {
		rg := pf.RowGroup(g)
		for c := 0; c < rg.NumColumns(); c++ {
			pr, err := rg.GetColumnPageReader(c)
			if err != nil {
				t.Fatal(err)
			}
			for pr.Next() {
				switch p := pr.Page().(type) {
				case *file.DataPageV1:
					if e := apq.Encoding(p.Encoding()); e != apq.Encodings.Plain && e != apq.Encodings.RLEDict {
						t.Errorf("row group %d column %d: data page encoding %v", g, c, e)
					}
				case *file.DictionaryPage:
				default:
					t.Errorf("row group %d column %d: page %T", g, c, p)
				}
			}
			if err := pr.Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func colNames(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.String()
	}
	return strings.Join(s, ",")
}

func show(g got) string {
	var b strings.Builder
	p := func(name string, v any) { fmt.Fprintf(&b, "%s=%v ", name, v) }
	if g.Topic != nil {
		p("topic", *g.Topic)
	}
	if g.Partition != nil {
		p("partition", *g.Partition)
	}
	if g.Offset != nil {
		p("offset", *g.Offset)
	}
	if g.Timestamp != nil {
		p("timestamp", *g.Timestamp)
	}
	if g.Key != nil {
		p("key", fmt.Sprintf("%q", *g.Key))
	}
	if g.Value != nil {
		p("value", fmt.Sprintf("%q", *g.Value))
	}
	if g.Headers != nil {
		var hs []string
		for _, h := range g.Headers {
			v := "null"
			if h.Value != nil {
				v = fmt.Sprintf("%q", *h.Value)
			}
			hs = append(hs, fmt.Sprintf("%q:%s", h.Key, v))
		}
		p("headers", "["+strings.Join(hs, " ")+"]")
	}
	return b.String()
}
