package parquetfile

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// sameBases are the rows TestSameRow changes one field of.
var sameBases = []Row{
	{Topic: "orders", Partition: 3, Offset: 42, Timestamp: 1655952591589, Key: []byte("k1"), HasKey: true,
		Value: []byte("v1"), Headers: []byte(`[{"key":"h","value":"v"},{"key":"n","value":null}]`)},
	// a null key, a tombstone, no timestamp, no headers
	{Topic: "orders", Partition: 3, Offset: 43, NullValue: true},
	// an empty key, an empty value, an empty list of headers
	{Topic: "orders", Partition: 3, Offset: 44, Timestamp: 7, Key: []byte{}, HasKey: true, Value: []byte{}, Headers: []byte(`[]`)},
	// invalid UTF-8 everywhere a string is
	{Topic: "or\xffders", Partition: 3, Offset: 45, Timestamp: 8, Key: []byte("a\xffb"), HasKey: true, Value: []byte("x\xfey"),
		Headers: []byte("[{\"key\":\"\xff\",\"value\":\"v\"}]")},
	// headers not in the canonical spelling
	{Topic: "orders", Partition: 3, Offset: 46, Timestamp: 9, Key: []byte("k"), HasKey: true, Value: []byte("v"),
		Headers: []byte(` [ {"value":"v","key":"k"}, {"key":"only"} ] `)},
}

func cloneRow(r Row) Row {
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

// TestSameRow: a row read back is the same as the row written (after the
// writer's normalisation: UTF-8 repair, canonical headers), and differs
// from it with any one selected field changed, nulls and empty strings
// told apart; fields the file does not hold are not compared.
func TestSameRow(t *testing.T) {
	cases := []struct {
		name   string
		base   int
		col    Column
		change func(r *Row)
		// same and sameBinary: the expected result with the column
		// selected, with a STRING and with a BYTE_ARRAY value column.
		same, sameBinary bool
	}{
		{"topic", 0, Topic, func(r *Row) { r.Topic = "orderz" }, false, false},
		{"partition", 0, Partition, func(r *Row) { r.Partition++ }, false, false},
		{"offset", 0, Offset, func(r *Row) { r.Offset++ }, false, false},
		{"timestamp", 0, Timestamp, func(r *Row) { r.Timestamp++ }, false, false},
		{"timestamp null", 0, Timestamp, func(r *Row) { r.Timestamp = 0 }, false, false},
		{"timestamp of a null one", 1, Timestamp, func(r *Row) { r.Timestamp = 1 }, false, false},
		{"key", 0, Key, func(r *Row) { r.Key[1] = '2' }, false, false},
		{"key longer", 0, Key, func(r *Row) { r.Key = append(r.Key, 'x') }, false, false},
		{"key null for a key", 0, Key, func(r *Row) { r.Key, r.HasKey = nil, false }, false, false},
		{"key empty for a null key", 1, Key, func(r *Row) { r.Key, r.HasKey = []byte{}, true }, false, false},
		{"key null for an empty key", 2, Key, func(r *Row) { r.Key, r.HasKey = nil, false }, false, false},
		{"value", 0, Value, func(r *Row) { r.Value[1] = '2' }, false, false},
		{"value a tombstone", 0, Value, func(r *Row) { r.Value, r.NullValue = nil, true }, false, false},
		{"value empty for a tombstone", 1, Value, func(r *Row) { r.Value, r.NullValue = []byte{}, false }, false, false},
		{"value a tombstone for an empty value", 2, Value, func(r *Row) { r.Value, r.NullValue = nil, true }, false, false},
		{"headers value", 0, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"h","value":"w"},{"key":"n","value":null}]`) }, false, false},
		{"headers null value for a value", 0, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"h","value":null},{"key":"n","value":null}]`) }, false, false},
		{"headers empty value for a null", 0, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"h","value":"v"},{"key":"n","value":""}]`) }, false, false},
		{"headers one fewer", 0, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"h","value":"v"}]`) }, false, false},
		{"headers for none", 1, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"h","value":"v"}]`) }, false, false},
		// The same meaning, spelt otherwise: the file cannot tell them
		// apart, nor need it.
		{"headers [] for none", 1, Headers, func(r *Row) { r.Headers = []byte(`[]`) }, true, true},
		{"headers none for []", 2, Headers, func(r *Row) { r.Headers = nil }, true, true},
		{"headers canonical", 4, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"k","value":"v"},{"key":"only","value":null}]`) }, true, true},
		{"headers other order", 4, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"only","value":null},{"key":"k","value":"v"}]`) }, false, false},
		// UTF-8 repair: another invalid byte, or U+FFFD itself, is the
		// same in a STRING column, not in a BYTE_ARRAY one.
		{"topic other invalid byte", 3, Topic, func(r *Row) { r.Topic = "or\xfeders" }, true, true},
		{"topic repaired", 3, Topic, func(r *Row) { r.Topic = "or\ufffdders" }, true, true},
		{"topic other text", 3, Topic, func(r *Row) { r.Topic = "orXders" }, false, false},
		{"key other invalid byte", 3, Key, func(r *Row) { r.Key[1] = 0xfe }, true, true},
		{"key repaired", 3, Key, func(r *Row) { r.Key = []byte("a\ufffdb") }, true, true},
		{"key other text", 3, Key, func(r *Row) { r.Key[1] = 'X' }, false, false},
		{"value other invalid byte", 3, Value, func(r *Row) { r.Value[1] = 0xff }, true, false},
		{"value repaired", 3, Value, func(r *Row) { r.Value = []byte("x\ufffdy") }, true, false},
		{"value other text", 3, Value, func(r *Row) { r.Value[1] = 'X' }, false, false},
		{"headers other invalid byte", 3, Headers, func(r *Row) { r.Headers = []byte("[{\"key\":\"\xfe\",\"value\":\"v\"}]") }, true, true},
		{"headers other key", 3, Headers, func(r *Row) { r.Headers = []byte(`[{"key":"x","value":"v"}]`) }, false, false},
	}
	sets := append([][]Column{}, columnSets...)
	sets = append(sets, []Column{Key}, []Column{Partition, Offset})
	for _, cols := range sets {
		for _, binary := range []bool{false, true} {
			o := Options{Columns: cols, BinaryValues: binary, Codec: "snappy"}
			t.Run(fmt.Sprintf("%s/binary=%v", colNames(cols), binary), func(t *testing.T) {
				bases := make([]Row, len(sameBases))
				for i, r := range sameBases {
					bases[i] = cloneRow(r)
				}
				read, _ := readAll(t, writeFile(t, o, bases))
				for i := range bases {
					if !SameRow(o, &bases[i], &read[i]) {
						t.Errorf("row %d: not the same as itself read back (%+v, read %+v)", i, bases[i], read[i])
					}
				}
				for _, c := range cases {
					r := cloneRow(sameBases[c.base])
					c.change(&r)
					want := true
					if hasColumn(cols, c.col) {
						want = c.same
						if binary {
							want = c.sameBinary
						}
					}
					if got := SameRow(o, &r, &read[c.base]); got != want {
						t.Errorf("%s: SameRow %v, want %v (wrote %+v, read %+v)", c.name, got, want, r, read[c.base])
					}
				}
			})
		}
	}
}

// TestSameRowSamples: every sample of the writer's tests is the same as
// its own row read back, in every column set, and (with the offsets) not
// the same as any other's.
func TestSameRowSamples(t *testing.T) {
	rows := make([]Row, len(samples))
	for i, s := range samples {
		rows[i] = s.row
	}
	for _, cols := range columnSets {
		for _, binary := range []bool{false, true} {
			o := Options{Columns: cols, BinaryValues: binary}
			read, _ := readAll(t, writeFile(t, o, rows))
			for i := range rows {
				for k := range read {
					got := SameRow(o, &rows[i], &read[k])
					switch {
					case i == k && !got:
						t.Errorf("%s/binary=%v: sample %d: not the same as its row read back", colNames(cols), binary, i)
					case i != k && got && hasColumn(cols, Offset):
						t.Errorf("%s/binary=%v: sample %d: the same as row %d", colNames(cols), binary, i, k)
					}
				}
			}
		}
	}
}

// TestSkipRows: skipping lands on the right row across row groups, from
// any position (mid-batch, mid-group, on a group's boundary), reads no
// row group it skips whole, and stops at the end with io.EOF.
func TestSkipRows(t *testing.T) {
	const n = 3000
	var out bytes.Buffer
	w, err := NewWriter(&out, Options{Columns: AllColumns(), Codec: "zstd", RowGroupBytes: 16 << 10})
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
	data := out.Bytes()
	open := func() (*Reader, *countingReaderAt) {
		t.Helper()
		cr := &countingReaderAt{r: bytes.NewReader(data)}
		r, err := NewReader(cr, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.groups) < 10 {
			t.Fatalf("%d row groups, want many", len(r.groups))
		}
		return r, cr
	}
	r, _ := open()
	var bounds []int64 // the first row of each row group
	at := int64(0)
	for _, g := range r.groups {
		bounds = append(bounds, at)
		at += g.NumRows()
	}
	b1, b3 := bounds[1], bounds[3]
	// Each plan alternates skips and reads (a negative number: that many
	// rows read with Next).
	plans := [][]int64{
		{0, -1},
		{1, -1},
		{b1, -1},
		{b1 - 1, -2},
		{b1 + 1, -1},
		{-3, b3 - 3, -1},
		{-1, 5, -1, b1, -1, 200, -1},
		{-(b1 + 7), b3, -1},
		{n - 1, -1},
		{b3, -1, 0, 0, -1},
	}
	for _, plan := range plans {
		t.Run(fmt.Sprint(plan), func(t *testing.T) {
			r, _ := open()
			pos := int64(0)
			for _, step := range plan {
				if step >= 0 {
					if err := r.SkipRows(step); err != nil {
						t.Fatalf("SkipRows(%d) at %d: %v", step, pos, err)
					}
					pos += step
					continue
				}
				for k := int64(0); k < -step; k++ {
					var row Row
					if err := r.Next(&row); err != nil {
						t.Fatalf("Next at %d: %v", pos, err)
					}
					if want := int64(1000) + pos; row.Offset != want {
						t.Fatalf("row at %d has offset %d, want %d", pos, row.Offset, want)
					}
					want, _ := genRow(int(pos), nil)
					if !SameRow(Options{Columns: AllColumns()}, &want, &row) {
						t.Fatalf("row at %d: %+v, want %+v", pos, row, want)
					}
					pos++
				}
			}
		})
	}

	t.Run("whole row groups are not read", func(t *testing.T) {
		r, cr := open()
		opened := cr.bytes
		if err := r.SkipRows(n - 1); err != nil {
			t.Fatal(err)
		}
		var row Row
		if err := r.Next(&row); err != nil || row.Offset != 1000+n-1 {
			t.Fatalf("last row: %v, offset %d", err, row.Offset)
		}
		last := &r.file.Metadata().RowGroups[len(r.groups)-1]
		t.Logf("file %d bytes, %d row groups, the last %d bytes; skipping to its last row read %d", len(data), len(r.groups), last.TotalCompressedSize, cr.bytes-opened)
		if read := cr.bytes - opened; read > int64(len(data))/8 {
			t.Fatalf("skipping to the last row read %d bytes; its row group has %d (file %d)", read, last.TotalCompressedSize, len(data))
		}
		if err := r.Next(&row); err != io.EOF {
			t.Fatalf("after the last row: %v, want io.EOF", err)
		}
	})
	t.Run("past the end", func(t *testing.T) {
		r, _ := open()
		if err := r.SkipRows(n + 1); err != io.EOF {
			t.Fatalf("SkipRows past the end: %v, want io.EOF", err)
		}
		if err := r.Next(&Row{}); err != io.EOF {
			t.Fatalf("Next after: %v, want io.EOF", err)
		}
		r, _ = open()
		if err := r.SkipRows(n); err != nil {
			t.Fatalf("SkipRows to the end: %v", err)
		}
		if err := r.Next(&Row{}); err != io.EOF {
			t.Fatalf("Next at the end: %v, want io.EOF", err)
		}
		if err := r.SkipRows(-1); err == nil {
			t.Fatal("SkipRows(-1): no error")
		}
	})
}
