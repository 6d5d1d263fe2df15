package parquetfile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// genRow is row i of a deterministic stream: two topics, keys that are
// sometimes absent, tombstones, headers of the trigger's shape.
func genRow(i int, buf []byte) (Row, []byte) {
	r := Row{Topic: "orders", Partition: int32(i % 3), Offset: int64(1000 + i), Timestamp: 1700000000000 + int64(i)*7}
	if i%500 >= 250 {
		r.Topic = "payments"
	}
	buf = fmt.Appendf(buf[:0], `{"id":%d,"user":"user-%d","note":"line\n\"%d\""}`, i, i%97, i)
	v := len(buf)
	buf = fmt.Appendf(buf, "user-%d", i%97)
	k := len(buf)
	buf = fmt.Appendf(buf, `[{"key":"trace","value":"%08x"},{"key":"n","value":null}]`, i)
	r.Value = buf[:v]
	if i%11 == 5 {
		r.NullValue, r.Value = true, nil
	}
	if i%7 != 3 {
		r.Key, r.HasKey = buf[v:k], true
	}
	if i%4 == 0 {
		r.Headers = buf[k:]
	}
	return r, buf
}

func genWant(i int) got {
	r, _ := genRow(i, nil)
	s := sample{row: r, headers: []gotHeader{}}
	if r.Headers != nil {
		s.headers = []gotHeader{{"trace", ptr(fmt.Sprintf("%08x", i))}, {"n", nil}}
	}
	return s.want(AllColumns(), false)
}

// TestRowGroups writes enough rows for many row groups, reusing one
// buffer for every row (so a value the writer kept would be overwritten),
// and reads every value back.
func TestRowGroups(t *testing.T) {
	const n = 20000
	const target = 64 << 10
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			var out bytes.Buffer
			w, err := NewWriter(&out, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: target})
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			var sizes []int64 // Row.size of each row group
			var size int64
			for i := 0; i < n; i++ {
				var r Row
				r, buf = genRow(i, buf)
				if err := w.Write(&r); err != nil {
					t.Fatal(err)
				}
				if size += r.size(); size >= target {
					sizes, size = append(sizes, size), 0
				}
				for j := range buf {
					buf[j] = 'X'
				}
			}
			if size > 0 {
				sizes = append(sizes, size)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rows, md := readBack(t, out.Bytes())
			if len(rows) != n {
				t.Fatalf("%d rows, want %d", len(rows), n)
			}
			for i := range rows {
				if want := genWant(i); !reflect.DeepEqual(rows[i], want) {
					t.Fatalf("row %d:\n got %s\nwant %s", i, show(rows[i]), show(want))
				}
			}
			if md.NumRowGroups() != len(sizes) {
				t.Fatalf("%d row groups, want %d (one per %d bytes of rows)", md.NumRowGroups(), len(sizes), target)
			}
			checkSchema(t, md, AllColumns(), false, codec)
		})
	}
}

func TestEmptyFile(t *testing.T) {
	data := writeFile(t, Options{Columns: []Column{Offset, Headers}}, nil)
	rows, md := readBack(t, data)
	if len(rows) != 0 || md.NumRowGroups() != 0 {
		t.Fatalf("%d rows in %d row groups, want none", len(rows), md.NumRowGroups())
	}
	checkSchema(t, md, []Column{Offset, Headers}, false, "none")
}

// TestDeterministic writes the same rows with new writers and compares the
// bytes, between writers and with the golden files: a file written again
// after a crash must be the same object.
func TestDeterministic(t *testing.T) {
	rows := make([]Row, 0, len(samples)+300)
	for _, s := range samples {
		rows = append(rows, s.row)
	}
	for i := 0; i < 300; i++ {
		r, _ := genRow(i, nil)
		rows = append(rows, r)
	}
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			o := Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 8 << 10}
			a := writeFile(t, o, rows)
			b := writeFile(t, o, rows)
			if !bytes.Equal(a, b) {
				t.Fatalf("two writes of the same rows differ")
			}
			golden := filepath.Join("testdata", "golden-"+codec+".parquet")
			if *update {
				if err := os.WriteFile(golden, a, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, want) {
				t.Fatalf("the file differs from %s: the output of the same rows changed (a library upgrade?); "+
					"a sealed object rebuilt after an upgrade would differ from the one written before it. "+
					"If that is accepted, rerun with -update and say so in the commit", golden)
			}
		})
	}
}

// TestCreatedBy keeps CreatedBy naming the library version that go.mod
// requires, which the constant cannot follow by itself.
func TestCreatedBy(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	const path = "github.com/parquet-go/parquet-go "
	for _, line := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), path); ok {
			v, _, _ = strings.Cut(v, " ")
			if !strings.Contains(CreatedBy, "parquet-go "+v+")") {
				t.Fatalf("CreatedBy %q does not name parquet-go %s, the version go.mod requires", CreatedBy, v)
			}
			return
		}
	}
	t.Fatal("go.mod does not require parquet-go")
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no columns", Options{}, "no columns"},
		{"repeated", Options{Columns: []Column{Key, Value, Key}}, "column key repeated"},
		{"unknown column", Options{Columns: []Column{numColumns}}, "unknown column 7"},
		{"unknown codec", Options{Columns: []Column{Key}, Codec: "lz4"}, `unknown codec "lz4"`},
		{"gzip level", Options{Columns: []Column{Key}, Codec: "gzip", Level: 10}, "gzip level 10"},
		{"zstd level", Options{Columns: []Column{Key}, Codec: "zstd", Level: 5}, "zstd level 5"},
		{"snappy level", Options{Columns: []Column{Key}, Codec: "snappy", Level: 1}, "no level"},
		{"negative row group", Options{Columns: []Column{Key}, RowGroupBytes: -1}, "negative RowGroupBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWriter(&bytes.Buffer{}, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	w, err := NewWriter(&bytes.Buffer{}, Options{Columns: []Column{Offset}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Row{}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
}

// TestWriteError: an output that fails makes Write or Close fail, and
// the writer stays failed.
func TestWriteError(t *testing.T) {
	w, err := NewWriter(failWriter{}, Options{Columns: AllColumns(), RowGroupBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	var buf []byte
	for i := 0; i < 1000 && first == nil; i++ {
		var r Row
		r, buf = genRow(i, buf)
		first = w.Write(&r)
	}
	if first == nil {
		first = w.Close()
	}
	if first == nil || !strings.Contains(first.Error(), "disk full") {
		t.Fatalf("error %v, want the output's", first)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failure succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestParseColumns(t *testing.T) {
	cols, err := ParseColumns("offset,value,headers")
	if err != nil || !reflect.DeepEqual(cols, []Column{Offset, Value, Headers}) {
		t.Fatalf("ParseColumns: %v %v", cols, err)
	}
	for _, s := range []string{"", "offset,", "offset,offset", "value,Key"} {
		if _, err := ParseColumns(s); err == nil {
			t.Errorf("ParseColumns(%q) succeeded", s)
		}
	}
	if got := colNames(AllColumns()); got != "topic,partition,offset,timestamp,key,value,headers" {
		t.Fatalf("AllColumns: %s", got)
	}
}
