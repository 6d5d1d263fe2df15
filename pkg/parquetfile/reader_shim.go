package parquetfile

// TEMPORARY: replaced by the reader of branch pqread. (Branch readers adds
// Next and Columns, with the API pqread provides, so that verify and restore
// can be written against it; merging pqread replaces this file whole.)

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

type Reader struct {
	f      *parquet.File
	cols   []Column
	leaves []leafOf // by leaf column index
	g      int
	rows   parquet.Rows
	buf    []parquet.Row
}

// leafOf says which field a leaf column holds.
type leafOf struct {
	col         Column
	headerValue bool // headers: the element's value (else its key)
}

func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, err
	}
	pr := &Reader{f: f, buf: make([]parquet.Row, 1)}
	for _, fld := range f.Schema().Fields() {
		c, err := ParseColumn(fld.Name())
		if err != nil {
			return nil, err
		}
		pr.cols = append(pr.cols, c)
	}
	for _, path := range f.Schema().Columns() {
		c, err := ParseColumn(path[0])
		if err != nil {
			return nil, err
		}
		pr.leaves = append(pr.leaves, leafOf{col: c, headerValue: c == Headers && path[len(path)-1] == "value"})
	}
	return pr, nil
}

func (r *Reader) NumRows() int64 { return r.f.NumRows() }

func (r *Reader) Columns() []Column { return append([]Column(nil), r.cols...) }

func (r *Reader) Next(row *Row) error {
	for {
		if r.rows == nil {
			if r.g >= len(r.f.RowGroups()) {
				return io.EOF
			}
			r.rows = r.f.RowGroups()[r.g].Rows()
			r.g++
		}
		n, err := r.rows.ReadRows(r.buf)
		if n == 1 {
			return r.fill(row, r.buf[0])
		}
		_ = r.rows.Close()
		r.rows = nil
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
}

func (r *Reader) fill(row *Row, pr parquet.Row) error {
	*row = Row{}
	type header struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	var hs []header
	vi := 0
	hasHeaders := false
	for _, v := range pr {
		ci := v.Column()
		if ci < 0 || ci >= len(r.leaves) {
			return fmt.Errorf("parquetfile: column %d", ci)
		}
		l := r.leaves[ci]
		null := v.IsNull()
		switch l.col {
		case Topic:
			row.Topic = string(v.ByteArray())
		case Partition:
			row.Partition = v.Int32()
		case Offset:
			row.Offset = v.Int64()
		case Timestamp:
			if !null {
				row.Timestamp = v.Int64()
			}
		case Key:
			if !null {
				row.Key, row.HasKey = append([]byte{}, v.ByteArray()...), true
			}
		case Value:
			if null {
				row.NullValue = true
			} else {
				row.Value = append([]byte{}, v.ByteArray()...)
			}
		case Headers:
			// Values come column by column: every element's key, then
			// every element's value.
			hasHeaders = true
			switch {
			case !l.headerValue && !null:
				hs = append(hs, header{Key: string(v.ByteArray())})
			case l.headerValue && vi < len(hs):
				if !null {
					s := string(v.ByteArray())
					hs[vi].Value = &s
				}
				vi++
			}
		}
	}
	if hasHeaders {
		if hs == nil {
			hs = []header{}
		}
		b, err := json.Marshal(hs)
		if err != nil {
			return err
		}
		row.Headers = b
	}
	return nil
}

func (r *Reader) OffsetRange() (first, last int64, ok bool) {
	leaf, found := r.f.Schema().Lookup("offset")
	if !found {
		return 0, 0, false
	}
	n := 0
	for _, rg := range r.f.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			p, err := pages.ReadPage()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					_ = pages.Close()
					return 0, 0, false
				}
				break
			}
			vals := make([]parquet.Value, p.NumValues())
			k, _ := p.Values().ReadValues(vals)
			for _, v := range vals[:k] {
				if n == 0 {
					first = v.Int64()
				}
				last = v.Int64()
				n++
			}
		}
		_ = pages.Close()
	}
	return first, last, n > 0
}
