package parquetfile

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// pageScanner checks the page headers of a column chunk before the library
// reads its pages. The library allocates a page's compressed size, as its
// header states it, before reading the page, and decodes page headers from
// a stream, allocating each byte string's stated length: a damaged header
// would make it allocate up to 2 GiB (found by FuzzReader). The scanner
// decodes each header from a window of bytes (lengths beyond the window
// fail instead of allocating) and refuses sizes and counts that do not fit
// in the chunk as the footer states it.
type pageScanner struct {
	r        io.ReaderAt
	size     int64 // of the file
	protocol thrift.CompactProtocol
	buf      []byte
}

// firstHeaderWindow is what is read for a page header at first: headers
// are tens of bytes (more with page statistics, which some writers put
// there); a header that does not fit is read again in a window 16 times
// larger, up to the end of the chunk.
const firstHeaderWindow = 4 << 10

// check scans the pages of the column chunk md, as the library reads them:
// from the dictionary page offset when there is one, else the data page
// offset, for TotalCompressedSize bytes.
func (s *pageScanner) check(md *format.ColumnMetaData) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset != 0 {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 0 || md.TotalCompressedSize < 0 || end < start || end > s.size {
		return fmt.Errorf("%w: a column chunk of %d bytes at %d, in a file of %d", errCorrupt, md.TotalCompressedSize, start, s.size)
	}
	if md.NumValues < 0 || md.TotalUncompressedSize < 0 {
		return fmt.Errorf("%w: a column chunk of %d values, %d bytes uncompressed", errCorrupt, md.NumValues, md.TotalUncompressedSize)
	}
	var values int64
	for pos := start; pos < end; {
		h, n, err := s.header(pos, end)
		if err != nil {
			return fmt.Errorf("the page header at %d: %w", pos, err)
		}
		if h.CompressedPageSize < 0 || pos+n+int64(h.CompressedPageSize) > end {
			return fmt.Errorf("%w: a page of %d bytes at %d, in a column chunk ending at %d", errCorrupt, h.CompressedPageSize, pos, end)
		}
		if h.UncompressedPageSize < 0 || int64(h.UncompressedPageSize) > md.TotalUncompressedSize {
			return fmt.Errorf("%w: a page of %d bytes uncompressed in a column chunk of %d", errCorrupt, h.UncompressedPageSize, md.TotalUncompressedSize)
		}
		var count int32
		switch {
		case h.Type == format.DataPage && h.DataPageHeader.Valid:
			count = h.DataPageHeader.V.NumValues
			values += int64(count)
		case h.Type == format.DataPageV2 && h.DataPageHeaderV2.Valid:
			count = h.DataPageHeaderV2.V.NumValues
			values += int64(count)
		case h.Type == format.DictionaryPage && h.DictionaryPageHeader.Valid:
			count = h.DictionaryPageHeader.V.NumValues
		}
		if count < 0 || int64(count) > md.NumValues {
			return fmt.Errorf("%w: a page of %d values in a column chunk of %d", errCorrupt, count, md.NumValues)
		}
		pos += n + int64(h.CompressedPageSize)
	}
	if values != md.NumValues {
		return fmt.Errorf("%w: pages of %d values in a column chunk of %d", errCorrupt, values, md.NumValues)
	}
	return nil
}

// header decodes the page header at pos and returns it with its length.
func (s *pageScanner) header(pos, end int64) (*format.PageHeader, int64, error) {
	for window := int64(firstHeaderWindow); ; window *= 16 {
		w := min(window, end-pos)
		if int64(cap(s.buf)) < w {
			s.buf = make([]byte, w)
		}
		b := s.buf[:w]
		if _, err := s.r.ReadAt(b, pos); err != nil && !(err == io.EOF && pos+w == s.size) {
			return nil, 0, err
		}
		h := new(format.PageHeader)
		rd := s.protocol.NewReaderFromBytes(b)
		err := thrift.NewDecoder(rd).Decode(h)
		if err == nil {
			if cap(s.buf) > firstHeaderWindow {
				s.buf = nil // a rare large header: do not keep its window
			}
			return h, int64(rd.BytesRead()), nil
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) || w == end-pos {
			return nil, 0, fmt.Errorf("%w: %v", errCorrupt, err)
		}
	}
}
