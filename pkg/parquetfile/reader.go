package parquetfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// Reader reads the rows of a Parquet file of Kafka records: one that a
// Writer wrote, or that another writer wrote with the same schema. It is
// not safe for concurrent use.
type Reader struct {
	file   *parquet.File
	layout fileLayout
	groups []parquet.RowGroup
	scan   pageScanner

	g        int          // the next row group to open
	rows     parquet.Rows // the open row group's rows; nil between row groups
	inG      int64        // rows read from the open row group
	batch    []parquet.Row
	batchLen int   // of the open row group's batches
	n, i     int   // rows in batch, the next one to return
	read     int64 // rows returned
	eof      bool  // every row group read
	err      error // sticky

	topic   string // the last row's topic: rows rarely change topic
	hk, hv  []parquet.Value
	headers []byte // the current row's headers text

	offsetLeaf  int // -1: no offset column
	first, last int64
	hasRange    bool
}

// Rows are read from the library batchRows at a time, enough to amortize
// its per-call work, or fewer in row groups of large rows: each row of a
// batch keeps its values' pages alive, and a batch is kept to about
// batchBytes of rows (by the row group's average row) so that large rows
// cost their own pages, not a batch's.
const (
	batchRows  = 128
	batchBytes = 256 << 10
)

// batchLenOf is the length of the batches of row group g.
func (r *Reader) batchLenOf(g int) int {
	rg := &r.file.Metadata().RowGroups[g]
	if rg.NumRows <= 0 || rg.TotalByteSize <= 0 {
		return batchRows
	}
	avg := max(rg.TotalByteSize/rg.NumRows, 1)
	return int(min(max(batchBytes/avg, 1), batchRows))
}

// readBufferSize is the library's read buffer per column (it reads page
// headers through it; page bodies are read whole): larger than its default
// 4 KiB so that a page header and a small page take one ReadAt, which
// matters when ReadAt is a request to a store.
const readBufferSize = 64 << 10

// NewReader opens the Parquet file of size bytes in r: it reads the footer,
// checks that the schema is one that NewWriter writes (the error names the
// column that is not), and reads the first and last values of the offset
// column (see OffsetRange). Rows are read by Next.
//
// A file that is not Parquet, truncated or corrupt gives an error, from
// NewReader or from Next, never a panic.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	if err := checkFooter(r, size); err != nil {
		return nil, err
	}
	var f *parquet.File
	err := guard("opening the file", func() error {
		var err error
		f, err = parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.ReadBufferSize(readBufferSize))
		return err
	})
	if err != nil {
		return nil, err
	}
	layout, err := readLayout(f.Metadata().Schema)
	if err != nil {
		return nil, err
	}
	if n := len(f.Schema().Columns()); n != len(layout.leaves) {
		return nil, fmt.Errorf("parquetfile: the file's schema has %d leaf columns, its fields %d", n, len(layout.leaves))
	}
	rd := &Reader{file: f, layout: layout, groups: f.RowGroups(), offsetLeaf: -1, scan: pageScanner{r: r, size: size}}
	if n := len(f.Metadata().RowGroups); n != len(rd.groups) {
		return nil, fmt.Errorf("parquetfile: %d row groups in the footer, %d opened", n, len(rd.groups))
	}
	var total int64
	for i, g := range rd.groups {
		if n := len(g.ColumnChunks()); n != len(layout.leaves) {
			return nil, fmt.Errorf("parquetfile: row group %d has %d column chunks, the schema %d leaf columns", i, n, len(layout.leaves))
		}
		if g.NumRows() < 0 {
			return nil, fmt.Errorf("parquetfile: row group %d has %d rows", i, g.NumRows())
		}
		total += g.NumRows()
	}
	if total != f.NumRows() {
		return nil, fmt.Errorf("parquetfile: the footer says %d rows, its row groups hold %d", f.NumRows(), total)
	}
	for leaf, role := range layout.leaves {
		if role == leafOffset {
			rd.offsetLeaf = leaf
		}
	}
	if rd.offsetLeaf >= 0 {
		if err := guard("reading the offset range", rd.readOffsetRange); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// checkFooter checks the end of the file before the library reads it: the
// library allocates the footer's length as the file states it (up to
// 4 GiB) before reading it.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("parquetfile: not a Parquet file: %d bytes", size)
	}
	var tail [8]byte
	if n, err := r.ReadAt(tail[:], size-8); n < len(tail) { // io.EOF with every byte is a success
		return fmt.Errorf("parquetfile: reading the end of the file: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("parquetfile: not a complete Parquet file: it ends with %q, not \"PAR1\" (truncated?)", tail[4:])
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("parquetfile: corrupt Parquet file: a footer of %d bytes in a file of %d", n, size)
	}
	return nil
}

// guard runs f, turning a panic of the library into an error: parquet-go
// panics on some corrupt files (index out of range in its decoders)
// instead of failing.
func guard(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquetfile: %s: corrupt file (the Parquet library panicked: %v)", what, p)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("parquetfile: %s: %w", what, err)
	}
	return nil
}

// readOffsetRange reads the offset of the first row of the first row group
// and of the last row of the last one, each from the page that holds it (the
// offset index, when the file has one, locates the last page; without it the
// library reads the last row group's offset pages up to it).
func (r *Reader) readOffsetRange() error {
	firstG, lastG := -1, -1
	for i, g := range r.groups {
		if g.NumRows() > 0 {
			if firstG < 0 {
				firstG = i
			}
			lastG = i
		}
	}
	if firstG < 0 {
		return nil
	}
	for _, g := range []int{firstG, lastG} {
		if err := r.checkPages(g, r.offsetLeaf); err != nil {
			return err
		}
	}
	first, err := chunkInt64(r.groups[firstG].ColumnChunks()[r.offsetLeaf], 0)
	if err != nil {
		return fmt.Errorf("row group %d: %w", firstG, err)
	}
	g := r.groups[lastG]
	last, err := chunkInt64(g.ColumnChunks()[r.offsetLeaf], g.NumRows()-1)
	if err != nil {
		return fmt.Errorf("row group %d: %w", lastG, err)
	}
	r.first, r.last, r.hasRange = first, last, true
	return nil
}

// checkPages checks the page headers of leaf column leaf in row group g
// before the library reads them (see pageScanner).
func (r *Reader) checkPages(g, leaf int) error {
	md := &r.file.Metadata().RowGroups[g].Columns[leaf].MetaData
	if err := r.scan.check(md); err != nil {
		return fmt.Errorf("row group %d, leaf column %d (%s): %w", g, leaf, roleName(r.layout.leaves[leaf]), err)
	}
	return nil
}

// chunkInt64 returns the value of row row of a required INT64 column chunk.
func chunkInt64(c parquet.ColumnChunk, row int64) (int64, error) {
	vr := parquet.NewColumnChunkValueReader(c)
	defer vr.Close()
	if row > 0 {
		if err := vr.SeekToRow(row); err != nil {
			return 0, fmt.Errorf("seeking to row %d of the offset column: %w", row, err)
		}
	}
	var v [1]parquet.Value
	n, err := vr.ReadValues(v[:])
	if n == 0 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("reading row %d of the offset column: %w", row, err)
	}
	if v[0].IsNull() || v[0].Kind() != parquet.Int64 {
		return 0, fmt.Errorf("row %d of the offset column: %v is not an INT64", row, v[0])
	}
	return v[0].Int64(), nil
}

// Columns returns the file's columns, in file order.
func (r *Reader) Columns() []Column { return append([]Column(nil), r.layout.cols...) }

// BinaryValues reports whether the value column is BYTE_ARRAY without a
// logical type (Options.BinaryValues), false when it is STRING or absent.
func (r *Reader) BinaryValues() bool { return r.layout.binary }

// NumRows returns the number of rows the footer states (and the row
// groups hold: NewReader checks).
func (r *Reader) NumRows() int64 { return r.file.NumRows() }

// OffsetRange returns the offsets of the first and the last row, in file
// order (for a file of a Writer's rows of one partition, its smallest and
// largest). ok is false when the file has no offset column or no rows.
// NewReader has read them: OffsetRange does no I/O.
func (r *Reader) OffsetRange() (first, last int64, ok bool) {
	return r.first, r.last, r.hasRange
}

var errCorrupt = errors.New("corrupt file")

// Next fills row with the next row, as Writer.Write takes it, and returns
// io.EOF after the last one. Columns absent from the file leave their
// fields zero. The slices of row are valid until the next call. After an
// error other than io.EOF the Reader stays failed.
//
//   - key: HasKey false and Key nil for a null key; an empty key is an
//     empty, non-nil slice;
//   - value: NullValue true and Value nil for a null value (a tombstone);
//   - timestamp: 0 for a null timestamp (as the Writer writes 0);
//   - headers: the canonical JSON text of the list (see the package doc),
//     "[]" for an empty list.
func (r *Reader) Next(row *Row) error {
	if r.err != nil {
		return r.err
	}
	for r.i >= r.n {
		if r.eof {
			r.err = io.EOF
			return io.EOF
		}
		if err := guard("reading rows", r.fill); err != nil {
			r.err = err
			return err
		}
	}
	p := r.batch[r.i]
	r.i++
	if err := r.decode(row, p); err != nil {
		r.err = fmt.Errorf("parquetfile: row %d: %w", r.read, err)
		return r.err
	}
	r.read++
	return nil
}

// SkipRows passes over the next n rows without decoding them. Row groups
// that lie wholly within them are not read at all: the footer's row counts
// (checked by NewReader) say where each begins, so a caller that wants a
// few rows far into a file read from a store pays only for the row groups
// that hold them. Rows within a row group are read and dropped, as the
// library offers no cheaper way that works for every page layout. It
// returns io.EOF, and the Reader stays at the end, when fewer than n rows
// are left.
func (r *Reader) SkipRows(n int64) error {
	if n < 0 {
		return fmt.Errorf("parquetfile: SkipRows(%d): negative", n)
	}
	for n > 0 {
		if r.err != nil {
			return r.err
		}
		if k := min(n, int64(r.n-r.i)); k > 0 {
			r.i += int(k)
			r.read += k
			n -= k
			continue
		}
		if r.rows == nil && r.g < len(r.groups) && r.groups[r.g].NumRows() <= n {
			k := r.groups[r.g].NumRows()
			r.g++
			r.read += k
			n -= k
			continue
		}
		if r.eof {
			r.err = io.EOF
			return io.EOF
		}
		if err := guard("reading rows", r.fill); err != nil {
			r.err = err
			return err
		}
	}
	return nil
}

// fill reads the next batch of rows into r.batch, opening the next row
// group when the open one is done, and sets r.eof after the last one.
func (r *Reader) fill() error {
	if r.rows == nil {
		if r.g == len(r.groups) {
			if r.read != r.file.NumRows() {
				return fmt.Errorf("%w: %d rows read, the footer says %d", errCorrupt, r.read, r.file.NumRows())
			}
			r.eof = true
			return nil
		}
		for leaf := range r.layout.leaves {
			if err := r.checkPages(r.g, leaf); err != nil {
				return err
			}
		}
		r.rows, r.inG = r.groups[r.g].Rows(), 0
		r.batchLen = r.batchLenOf(r.g)
		r.g++
		if r.batch == nil {
			r.batch = make([]parquet.Row, batchRows)
		}
	}
	want := r.groups[r.g-1].NumRows() - r.inG
	b := r.batch[:min(int64(r.batchLen), want)]
	n, err := 0, error(nil)
	if len(b) > 0 {
		n, err = r.rows.ReadRows(b)
	} else {
		err = io.EOF
	}
	r.n, r.i = n, 0
	r.inG += int64(n)
	switch {
	case err == io.EOF || r.inG == r.groups[r.g-1].NumRows():
		if r.inG != r.groups[r.g-1].NumRows() {
			return fmt.Errorf("%w: row group %d: %d rows read, the footer says %d", errCorrupt, r.g-1, r.inG, r.groups[r.g-1].NumRows())
		}
		cerr := r.rows.Close()
		r.rows = nil
		if cerr != nil {
			return fmt.Errorf("row group %d: %w", r.g-1, cerr)
		}
	case err != nil:
		return fmt.Errorf("row group %d: %w", r.g-1, err)
	case n == 0:
		return fmt.Errorf("row group %d: %w", r.g-1, io.ErrNoProgress)
	}
	return nil
}

// decode fills row from the values p of one row, which come column by
// column, in leaf order.
func (r *Reader) decode(row *Row, p parquet.Row) error {
	*row = Row{}
	r.hk, r.hv = r.hk[:0], r.hv[:0]
	var seen [8]bool // by leafRole
	for _, v := range p {
		c := v.Column()
		if c < 0 || c >= len(r.layout.leaves) {
			return fmt.Errorf("%w: a value of leaf column %d", errCorrupt, c)
		}
		role := r.layout.leaves[c]
		if seen[role] && role != leafHeaderKey && role != leafHeaderValue {
			return fmt.Errorf("%w: two values of column %s", errCorrupt, roleName(role))
		}
		seen[role] = true
		if v.IsNull() && (role == leafTopic || role == leafPartition || role == leafOffset) {
			return fmt.Errorf("%w: a null in required column %s", errCorrupt, roleName(role))
		}
		switch role {
		case leafTopic:
			if b := v.ByteArray(); string(b) != r.topic {
				r.topic = string(b)
			}
			row.Topic = r.topic
		case leafPartition:
			row.Partition = v.Int32()
		case leafOffset:
			row.Offset = v.Int64()
		case leafTimestamp:
			if !v.IsNull() {
				row.Timestamp = v.Int64()
			}
		case leafKey:
			if !v.IsNull() {
				row.Key, row.HasKey = nonNil(v.ByteArray()), true
			}
		case leafValue:
			if v.IsNull() {
				row.NullValue = true
			} else {
				row.Value = nonNil(v.ByteArray())
			}
		case leafHeaderKey:
			r.hk = append(r.hk, v)
		case leafHeaderValue:
			r.hv = append(r.hv, v)
		}
	}
	for leaf, role := range r.layout.leaves {
		if !seen[role] {
			return fmt.Errorf("%w: no value of leaf column %d (%s)", errCorrupt, leaf, roleName(role))
		}
	}
	if seen[leafHeaderKey] {
		h, err := r.appendHeaders(r.headers[:0])
		if err != nil {
			return err
		}
		r.headers = h
		row.Headers = h
	}
	return nil
}

var empty = []byte{}

func nonNil(b []byte) []byte {
	if b == nil {
		return empty[:0:0]
	}
	return b
}

// appendHeaders appends the canonical text of the headers list held in
// r.hk (headers.list.element.key: definition level 0 for an empty list, 1
// for an element) and r.hv (headers.list.element.value: 0 empty list, 1
// null value, 2 a value).
func (r *Reader) appendHeaders(dst []byte) ([]byte, error) {
	if len(r.hk) != len(r.hv) {
		return dst, fmt.Errorf("%w: %d header keys and %d header values", errCorrupt, len(r.hk), len(r.hv))
	}
	if len(r.hk) == 1 && r.hk[0].DefinitionLevel() == 0 {
		if r.hv[0].DefinitionLevel() != 0 {
			return dst, fmt.Errorf("%w: a header value in an empty list", errCorrupt)
		}
		return append(dst, "[]"...), nil
	}
	dst = append(dst, '[')
	for i, k := range r.hk {
		v := r.hv[i]
		if k.DefinitionLevel() != 1 || k.IsNull() || v.DefinitionLevel() < 1 {
			return dst, fmt.Errorf("%w: header %d: definition levels %d and %d", errCorrupt, i, k.DefinitionLevel(), v.DefinitionLevel())
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHeader(dst, k.ByteArray(), v.ByteArray(), !v.IsNull())
	}
	return append(dst, ']'), nil
}

func roleName(r leafRole) string {
	switch r {
	case leafHeaderKey:
		return "headers.list.element.key"
	case leafHeaderValue:
		return "headers.list.element.value"
	}
	return Column(r).String()
}
