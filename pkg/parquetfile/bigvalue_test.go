package parquetfile

import (
	"bytes"
	"strings"
	"testing"
)

func TestLargeValuesNotCopied(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Options{Columns: AllColumns()})
	if err != nil {
		t.Fatal(err)
	}
	v := []byte(strings.Repeat("x", 1<<20))
	for i := 0; i < 8; i++ {
		if err := w.Write(&Row{Topic: "t", Offset: int64(i), Key: v[:1000], HasKey: true, Value: v, Headers: []byte(`[{"key":"a","value":"` + strings.Repeat("h", 5000) + `"}]`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 9<<20 {
		t.Fatalf("8 MiB of values make a %d-byte file", buf.Len())
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var row Row
	n := 0
	for r.Next(&row) == nil {
		if len(row.Value) != 1<<20 {
			t.Fatal(len(row.Value))
		}
		n++
	}
	if n != 8 {
		t.Fatal(n)
	}
}
