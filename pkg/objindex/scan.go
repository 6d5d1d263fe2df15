package objindex

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxEntry bounds the length of one entry line a Scanner accepts: an append
// of a million records of up to 10^11 bytes each fits.
const MaxEntry = 16 << 20

// Scanner reads entries from an index object's bytes one at a time, so that
// memory does not grow with the index.
type Scanner struct {
	r   *bufio.Reader
	off int64
	buf []byte
	err error
	e   Entry
}

// NewScanner returns a Scanner over r, whose first byte is at position off
// of the index object.
func NewScanner(r io.Reader, off int64) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 64<<10), off: off}
}

// NewScannerSize is NewScanner for r holding about n bytes: the read
// buffer is no larger than it needs to be.
func NewScannerSize(r io.Reader, off, n int64) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, int(min(max(n, 16), 64<<10))), off: off}
}

// ParseAll parses a whole index held in memory.
func ParseAll(b []byte) ([]Entry, error) {
	var out []Entry
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return nil, fmt.Errorf("%w: index ends inside an entry at position %d", ErrInvalid, off)
		}
		e, err := ParseEntry(b[off : off+i+1])
		if err != nil {
			return nil, fmt.Errorf("index position %d: %w", off, err)
		}
		e.Off, e.Len = int64(off), int64(i+1)
		out = append(out, e)
		off += i + 1
	}
	return out, nil
}

// Scan advances to the next entry; false at the end or on an error (Err).
// A last line without '\n' is an error: appends land whole, so an index
// never ends inside a line.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > MaxEntry {
			s.err = fmt.Errorf("%w: entry at index position %d is longer than %d bytes", ErrInvalid, s.off, MaxEntry)
			return false
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(s.buf) > 0 {
				s.err = fmt.Errorf("%w: index ends inside an entry at position %d", ErrInvalid, s.off)
			}
			return false
		}
		s.err = err
		return false
	}
	e, err := ParseEntry(s.buf)
	if err != nil {
		s.err = fmt.Errorf("index position %d: %w", s.off, err)
		return false
	}
	e.Off, e.Len = s.off, int64(len(s.buf))
	s.off += e.Len
	s.e = e
	return true
}

// Entry returns the entry Scan read.
func (s *Scanner) Entry() Entry { return s.e }

// Offset returns the index position after the last entry read.
func (s *Scanner) Offset() int64 { return s.off }

// Err returns the error that stopped Scan, nil at a clean end.
func (s *Scanner) Err() error { return s.err }
