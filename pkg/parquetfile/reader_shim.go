package parquetfile

// TEMPORARY: replaced by the reader of branch pqread.

import (
	"errors"
	"io"

	"github.com/parquet-go/parquet-go"
)

type Reader struct{ f *parquet.File }

func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, err
	}
	return &Reader{f: f}, nil
}

func (r *Reader) NumRows() int64 { return r.f.NumRows() }

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
