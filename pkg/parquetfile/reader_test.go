package parquetfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// readAll reads every row of a file with a Reader, copying each (the
// slices are valid until the next call).
func readAll(t testing.TB, data []byte) ([]Row, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var rows []Row
	for {
		var row Row
		err := r.Next(&row)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		rows = append(rows, copyRow(row))
	}
	if int64(len(rows)) != r.NumRows() {
		t.Fatalf("%d rows read, NumRows %d", len(rows), r.NumRows())
	}
	if err := r.Next(&Row{}); err != io.EOF {
		t.Fatalf("Next after the end: %v, want io.EOF", err)
	}
	return rows, r
}

func copyRow(r Row) Row {
	c := r
	if r.Key != nil {
		c.Key = append([]byte{}, r.Key...)
	}
	if r.Value != nil {
		c.Value = append([]byte{}, r.Value...)
	}
	if r.Headers != nil {
		c.Headers = append([]byte{}, r.Headers...)
	}
	return c
}

// wantRow is what the Reader must give for s in a file with columns cols.
func (s sample) wantRow(cols []Column, binary bool) (Row, []gotHeader) {
	var w Row
	var hs []gotHeader
	r := s.row
	for _, c := range cols {
		switch c {
		case Topic:
			w.Topic = r.Topic
		case Partition:
			w.Partition = r.Partition
		case Offset:
			w.Offset = r.Offset
		case Timestamp:
			w.Timestamp = r.Timestamp
		case Key:
			w.HasKey = r.HasKey
			if r.HasKey {
				w.Key = append([]byte{}, r.Key...)
				if s.textKey != nil {
					w.Key = []byte(*s.textKey)
				}
			}
		case Value:
			w.NullValue = r.NullValue
			if !r.NullValue {
				w.Value = append([]byte{}, r.Value...)
				if !binary && s.textValue != nil {
					w.Value = s.textValue
				}
			}
		case Headers:
			hs = s.headers
		}
	}
	return w, hs
}

// checkRow compares a row read back with the row and headers it must be.
// Headers are compared by meaning here (TestHeadersText checks the text).
func checkRow(t *testing.T, i int, got, want Row, wantHeaders []gotHeader, hasHeaders bool) {
	t.Helper()
	if got.Topic != want.Topic || got.Partition != want.Partition || got.Offset != want.Offset ||
		got.Timestamp != want.Timestamp || got.HasKey != want.HasKey || !bytes.Equal(got.Key, want.Key) ||
		got.NullValue != want.NullValue || !bytes.Equal(got.Value, want.Value) {
		t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want)
	}
	// nil only for nulls: an empty key or value is an empty slice.
	if (got.Key == nil) != !got.HasKey && want.HasKey {
		t.Errorf("row %d: key %q with HasKey %v", i, got.Key, got.HasKey)
	}
	if (got.Value == nil) != got.NullValue && (want.Value != nil || want.NullValue) {
		t.Errorf("row %d: value %q with NullValue %v", i, got.Value, got.NullValue)
	}
	if !hasHeaders {
		if got.Headers != nil {
			t.Errorf("row %d: headers %s without a headers column", i, got.Headers)
		}
		return
	}
	hs, err := parseCanonical(got.Headers)
	if err != nil {
		t.Errorf("row %d: headers %s: %v", i, got.Headers, err)
		return
	}
	if fmt.Sprint(showHeaders(hs)) != fmt.Sprint(showHeaders(wantHeaders)) {
		t.Errorf("row %d: headers %s, want %v", i, got.Headers, showHeaders(wantHeaders))
	}
}

// parseCanonical reads a headers text and checks that it has the canonical
// shape: an array of {"key":string,"value":string|null}, both members, in
// that order.
func parseCanonical(text []byte) ([]gotHeader, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(text, &raw); err != nil {
		return nil, err
	}
	hs := []gotHeader{}
	for _, el := range raw {
		if !bytes.HasPrefix(el, []byte(`{"key":"`)) || !bytes.Contains(el, []byte(`","value":`)) {
			return nil, fmt.Errorf("element %s is not canonical", el)
		}
		var h struct {
			Key   *string `json:"key"`
			Value *string `json:"value"`
		}
		d := json.NewDecoder(bytes.NewReader(el))
		d.DisallowUnknownFields()
		if err := d.Decode(&h); err != nil || h.Key == nil {
			return nil, fmt.Errorf("element %s: %v", el, err)
		}
		hs = append(hs, gotHeader{Key: *h.Key, Value: h.Value})
	}
	return hs, nil
}

func showHeaders(hs []gotHeader) []string {
	out := []string{}
	for _, h := range hs {
		v := "null"
		if h.Value != nil {
			v = fmt.Sprintf("%q", *h.Value)
		}
		out = append(out, fmt.Sprintf("%q:%s", h.Key, v))
	}
	return out
}

func hasColumn(cols []Column, c Column) bool {
	for _, x := range cols {
		if x == c {
			return true
		}
	}
	return false
}

// TestReadRoundTrip writes the samples with every codec, column selection
// and value type and reads them back with the Reader.
func TestReadRoundTrip(t *testing.T) {
	rows := make([]Row, len(samples))
	for i, s := range samples {
		rows[i] = s.row
	}
	for _, codec := range codecs {
		for _, cols := range columnSets {
			for _, binary := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/binary=%v", codec, colNames(cols), binary), func(t *testing.T) {
					data := writeFile(t, Options{Columns: cols, BinaryValues: binary, Codec: codec}, rows)
					got, r := readAll(t, data)
					if colNames(r.Columns()) != colNames(cols) {
						t.Fatalf("Columns %s, want %s", colNames(r.Columns()), colNames(cols))
					}
					if r.BinaryValues() != (binary && hasColumn(cols, Value)) {
						t.Fatalf("BinaryValues %v with binary=%v", r.BinaryValues(), binary)
					}
					if len(got) != len(samples) {
						t.Fatalf("%d rows, want %d", len(got), len(samples))
					}
					for i, s := range samples {
						want, hs := s.wantRow(cols, binary)
						checkRow(t, i, got[i], want, hs, hasColumn(cols, Headers))
					}
					first, last, ok := r.OffsetRange()
					if hasColumn(cols, Offset) {
						if !ok || first != samples[0].row.Offset || last != samples[len(samples)-1].row.Offset {
							t.Fatalf("OffsetRange %d %d %v", first, last, ok)
						}
					} else if ok {
						t.Fatalf("OffsetRange ok without an offset column")
					}
				})
			}
		}
	}
}

// TestReadRowGroups reads a file of many row groups and pages, written
// from one reused buffer, and checks every row and the offset range.
func TestReadRowGroups(t *testing.T) {
	const n = 20000
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			var out bytes.Buffer
			w, err := NewWriter(&out, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for i := 0; i < n; i++ {
				var r Row
				r, buf = genRow(i, buf)
				if err := w.Write(&r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rows, r := readAll(t, out.Bytes())
			if len(r.groups) < 20 {
				t.Fatalf("%d row groups, want many", len(r.groups))
			}
			for i := range rows {
				want, _ := genRow(i, nil)
				if want.Headers == nil {
					want.Headers = []byte("[]")
				}
				if want.HasKey && want.Key == nil {
					want.Key = []byte{}
				}
				if string(rows[i].Headers) != string(want.Headers) {
					t.Fatalf("row %d: headers %s, want %s", i, rows[i].Headers, want.Headers)
				}
				rows[i].Headers = nil // compared as text above
				checkRow(t, i, rows[i], want, nil, false)
				if t.Failed() {
					t.FailNow()
				}
			}
			if first, last, ok := r.OffsetRange(); !ok || first != 1000 || last != 1000+n-1 {
				t.Fatalf("OffsetRange %d %d %v, want 1000 %d", first, last, ok, 1000+n-1)
			}
		})
	}
}

// TestOffsetRange: first and last in file order, not smallest and largest;
// none without rows or without an offset column.
func TestOffsetRange(t *testing.T) {
	rowsOf := func(offsets ...int64) []Row {
		var rs []Row
		for _, o := range offsets {
			rs = append(rs, Row{Topic: "t", Offset: o, Value: []byte("v")})
		}
		return rs
	}
	many := make([]int64, 5000)
	for i := range many {
		many[i] = int64(5000 - i)
	}
	tests := []struct {
		name        string
		cols        []Column
		rows        []Row
		rowGroup    int64
		first, last int64
		ok          bool
	}{
		{"empty", AllColumns(), nil, 0, 0, 0, false},
		{"no offset column", []Column{Topic, Value}, rowsOf(1, 2), 0, 0, 0, false},
		{"one row", AllColumns(), rowsOf(7), 0, 7, 7, true},
		{"descending", []Column{Value, Offset}, rowsOf(9, 3, 5, 1), 0, 9, 1, true},
		{"negative", []Column{Offset}, rowsOf(-5, -9223372036854775808), 0, -5, -9223372036854775808, true},
		{"row groups", AllColumns(), rowsOf(many...), 4 << 10, 5000, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := writeFile(t, Options{Columns: tt.cols, RowGroupBytes: tt.rowGroup}, tt.rows)
			r, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			first, last, ok := r.OffsetRange()
			if first != tt.first || last != tt.last || ok != tt.ok {
				t.Fatalf("OffsetRange %d %d %v, want %d %d %v", first, last, ok, tt.first, tt.last, tt.ok)
			}
			if r.NumRows() != int64(len(tt.rows)) {
				t.Fatalf("NumRows %d, want %d", r.NumRows(), len(tt.rows))
			}
		})
	}
}

// TestOffsetRangeReadsLittle: the offset range comes from two pages, not
// from reading the file.
func TestOffsetRangeReadsLittle(t *testing.T) {
	in := shapes[0].gen(16 * mib)
	data := writeFile(t, Options{Columns: AllColumns(), RowGroupBytes: 4 * mib}, in.rows)
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	r, err := NewReader(cr, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	first, last, ok := r.OffsetRange()
	if !ok || first != in.rows[0].Offset || last != in.rows[len(in.rows)-1].Offset {
		t.Fatalf("OffsetRange %d %d %v", first, last, ok)
	}
	t.Logf("NewReader of a %.1f MiB file: %d ReadAt calls, %d KiB read", float64(len(data))/mib, cr.calls, cr.bytes>>10)
	if cr.bytes > int64(len(data))/8 {
		t.Fatalf("NewReader read %d bytes of %d", cr.bytes, len(data))
	}
}

type countingReaderAt struct {
	r     io.ReaderAt
	calls int
	bytes int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	n, err := c.r.ReadAt(p, off)
	c.bytes += int64(n)
	return n, err
}

// TestHeadersText: what the headers text reads back as, for every shape the
// writer takes. The text read back is canonical: writing it again and
// reading it gives the same text.
func TestHeadersText(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `[]`},
		{`[]`, `[]`},
		{`null`, `[]`},
		{`[{"key":"a","value":"b"}]`, `[{"key":"a","value":"b"}]`},
		{`[{"key":"","value":""}]`, `[{"key":"","value":""}]`},
		{`[{"key":"a","value":null},{"key":"b"}]`, `[{"key":"a","value":null},{"key":"b","value":null}]`},
		{`[{"value":"v","key":"k"}]`, `[{"key":"k","value":"v"}]`},
		{` [ {"key" : "a", "value" : "b"} ] `, `[{"key":"a","value":"b"}]`},
		// escapes: the fewest, non-ASCII as it is
		{`[{"key":"\u00e9\/\"\\\n\r\t\b\f\u0001","value":"日本語😀"}]`,
			`[{"key":"é/\"\\\n\r\t\u0008\u000c\u0001","value":"日本語😀"}]`},
		{`[{"key":"\ud83d\ude00"}]`, `[{"key":"😀","value":null}]`},
		// other shapes: the element's compact JSON becomes the key
		{`[{"key":"a","value":1}]`, `[{"key":"{\"key\":\"a\",\"value\":1}","value":null}]`},
		{`[1,"x",null]`, `[{"key":"1","value":null},{"key":"\"x\"","value":null},{"key":"null","value":null}]`},
		{`[{"key":"a","value":"b","x":true}]`, `[{"key":"{\"key\":\"a\",\"value\":\"b\",\"x\":true}","value":null}]`},
		{`not json`, `[{"key":"not json","value":null}]`},
		{`{"key":"a","value":"b"}`, `[{"key":"{\"key\":\"a\",\"value\":\"b\"}","value":null}]`},
		// invalid UTF-8 was repaired by the writer
		{"[{\"key\":\"\xff\",\"value\":\"a\xc3\"}]", `[{"key":"` + "\ufffd" + `","value":"a` + "\ufffd" + `"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			text := func(h []byte) string {
				rows := []Row{{Offset: 1, Headers: h}}
				if h == nil {
					rows[0].Headers = nil
				}
				got, _ := readAll(t, writeFile(t, Options{Columns: []Column{Offset, Headers}}, rows))
				return string(got[0].Headers)
			}
			got := text([]byte(tt.in))
			if got != tt.want {
				t.Fatalf("headers %s read back as\n%s\nwant\n%s", tt.in, got, tt.want)
			}
			if c := AppendCanonicalHeaders(nil, []byte(tt.in)); string(c) != got {
				t.Fatalf("AppendCanonicalHeaders(%s) = %s, the Reader gives %s", tt.in, c, got)
			}
			if again := text([]byte(got)); again != got {
				t.Fatalf("the canonical text %s read back as %s", got, again)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("%s is not valid JSON", got)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	// Every byte value, and invalid UTF-8: the output is valid JSON that
	// decodes to the input (invalid bytes as U+FFFD).
	var all []byte
	for c := 0; c < 256; c++ {
		all = append(all, byte(c))
	}
	for _, s := range []string{"", "plain", string(all), "a\u2028b", "\xed\xa0\x80"} {
		enc := appendJSONString(nil, []byte(s))
		var dec string
		if err := json.Unmarshal(enc, &dec); err != nil {
			t.Fatalf("%q encodes as %s, not JSON: %v", s, enc, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); dec != want && string(appendValidUTF8(nil, []byte(s))) != dec {
			t.Fatalf("%q encodes as %s, which decodes to %q", s, enc, dec)
		}
	}
}

// TestReadEmptyFile: a file without rows reads as no rows.
func TestReadEmptyFile(t *testing.T) {
	rows, r := readAll(t, writeFile(t, Options{Columns: AllColumns()}, nil))
	if len(rows) != 0 || r.NumRows() != 0 {
		t.Fatalf("%d rows", len(rows))
	}
}

// TestReadNotParquet: files that are not Parquet, or not whole, are
// refused with an error that says so.
func TestReadNotParquet(t *testing.T) {
	good := writeFile(t, Options{Columns: AllColumns()}, []Row{samples[0].row})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a Parquet file: 0 bytes"},
		{"jsonl", []byte(`{"offset":1,"value":"x"}` + "\n"), "not a complete Parquet file"},
		{"truncated", good[:len(good)-1], "not a complete Parquet file"},
		{"huge footer", append(append([]byte{}, good[:len(good)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'), "a footer of 2147483647 bytes"},
		{"no header magic", append([]byte("XXXX"), good[4:]...), "magic header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestReadTruncatedAndDamaged: every prefix of a file, and the file with
// each of many bytes changed, gives an error or rows, never a panic or a
// hang (the fuzz test explores further).
func TestReadTruncatedAndDamaged(t *testing.T) {
	rows := make([]Row, 0, len(samples)+200)
	for _, s := range samples {
		rows = append(rows, s.row)
	}
	for i := 0; i < 200; i++ {
		r, _ := genRow(i, nil)
		rows = append(rows, r)
	}
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			data := writeFile(t, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 4 << 10}, rows)
			for n := 0; n < len(data); n++ {
				if _, err := NewReader(bytes.NewReader(data[:n]), int64(n)); err == nil {
					t.Fatalf("a file truncated to %d of %d bytes opened", n, len(data))
				}
			}
			damaged := make([]byte, len(data))
			step := max(1, len(data)/3000)
			for i := 0; i < len(data); i += step {
				copy(damaged, data)
				damaged[i] ^= 0x5a
				_ = drain(damaged)
			}
		})
	}
}

// drain reads every row of data, reporting the first error.
func drain(data []byte) error {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	var row Row
	for i := int64(0); ; i++ {
		if err := r.Next(&row); err != nil {
			if errors.Is(err, io.EOF) && err == io.EOF {
				return nil
			}
			return err
		}
		if i > r.NumRows() {
			return fmt.Errorf("more rows than the footer says")
		}
	}
}

// FuzzCanonicalHeaders: the canonical text of any headers text is valid
// JSON, and canonical.
func FuzzCanonicalHeaders(f *testing.F) {
	for _, s := range samples {
		f.Add(s.row.Headers)
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		c := AppendCanonicalHeaders(nil, h)
		if !json.Valid(c) {
			t.Fatalf("%q: %s is not JSON", h, c)
		}
		if _, err := parseCanonical(c); err != nil {
			t.Fatalf("%q: %s: %v", h, c, err)
		}
		if again := AppendCanonicalHeaders(nil, c); !bytes.Equal(again, c) {
			t.Fatalf("%q: canonical %s, then %s", h, c, again)
		}
	})
}

// FuzzReader: NewReader and Next on any bytes return errors, never panic.
func FuzzReader(f *testing.F) {
	rows := make([]Row, len(samples))
	for i, s := range samples {
		rows[i] = s.row
	}
	for _, codec := range codecs {
		f.Add(writeFile(f, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 256}, rows))
	}
	f.Add(writeFile(f, Options{Columns: []Column{Headers, Value, Offset}, BinaryValues: true}, rows))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = drain(data)
	})
}

// TestReadDamagedPageHeader: a page header that states a page larger than
// its column chunk is refused before the library allocates the page (it
// would allocate the stated size, up to 2 GiB, found by FuzzReader).
func TestReadDamagedPageHeader(t *testing.T) {
	data := writeFile(t, Options{Columns: AllColumns()}, []Row{samples[0].row, samples[1].row})
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	off := f.Metadata().RowGroups[0].Columns[2].MetaData.DataPageOffset // offset, not dictionary encoded
	var proto thrift.CompactProtocol
	var h format.PageHeader
	rd := proto.NewReaderFromBytes(data[off:])
	if err := thrift.NewDecoder(rd).Decode(&h); err != nil {
		t.Fatal(err)
	}
	h.CompressedPageSize = 0x7fff0000
	b, err := thrift.Marshal(&proto, &h)
	if err != nil {
		t.Fatal(err)
	}
	// The longer header overwrites the start of the page, so that every
	// later offset in the footer stays right.
	damaged := append(append(append([]byte{}, data[:off]...), b...), data[off+int64(len(b)):]...)
	if len(damaged) != len(data) {
		t.Fatalf("header of %d bytes, was %d", len(b), rd.BytesRead())
	}
	var row Row
	r, err := NewReader(bytes.NewReader(damaged), int64(len(damaged)))
	if err == nil {
		err = r.Next(&row)
	}
	if err == nil || !strings.Contains(err.Error(), "a page of 2147418112 bytes") {
		t.Fatalf("error %v, want one about the page size", err)
	}
}
