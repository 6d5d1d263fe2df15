package format

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// The staging encoding is documented in the package comment.
const (
	stageHasKey   = 1
	stageKindBits = 3 << 1
	stageKnown    = stageHasKey | stageKindBits
)

func appendStaged(dst []byte, r *events.Record) []byte {
	body := stagedBodySize(r)
	dst = binary.AppendUvarint(dst, uint64(body))
	flags := byte(r.ValueKind) << 1
	if r.HasKey {
		flags |= stageHasKey
	}
	dst = append(dst, flags)
	dst = appendBytes(dst, r.Topic)
	dst = binary.AppendVarint(dst, int64(r.Partition))
	dst = binary.AppendVarint(dst, r.Offset)
	dst = binary.AppendVarint(dst, r.Timestamp)
	if r.HasKey {
		dst = appendBytes(dst, r.Key)
	}
	if r.ValueKind != events.ValueNull {
		dst = appendBytes(dst, r.Value)
	}
	return appendBytes(dst, r.Headers)
}

func appendBytes[T string | []byte](dst []byte, b T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func stagedBodySize(r *events.Record) int {
	n := 1 + bytesSize(len(r.Topic)) + varintSize(int64(r.Partition)) + varintSize(r.Offset) +
		varintSize(r.Timestamp) + bytesSize(len(r.Headers))
	if r.HasKey {
		n += bytesSize(len(r.Key))
	}
	if r.ValueKind != events.ValueNull {
		n += bytesSize(len(r.Value))
	}
	return n
}

// sizeStaged is exact.
func sizeStaged(r *events.Record) int {
	n := stagedBodySize(r)
	return uvarintSize(uint64(n)) + n
}

func bytesSize(n int) int { return uvarintSize(uint64(n)) + n }

func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintSize(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintSize(u)
}

var errStaged = errors.New("staging record")

// decodeStaged reads exactly one staging record.
func decodeStaged(b []byte) (Decoded, error) {
	d := Decoded{Fields: AllFields()}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return d, fmt.Errorf("%w: bad length", errStaged)
	}
	if n != uint64(len(b)-k) {
		return d, fmt.Errorf("%w: length %d, but %d bytes follow it", errStaged, n, len(b)-k)
	}
	s := stageReader{b: b[k:]}
	flags := s.byte()
	if flags&^stageKnown != 0 || flags>>1 > byte(events.ValueNull) {
		return d, fmt.Errorf("%w: unknown flags %#x", errStaged, flags)
	}
	d.Topic = string(s.bytes("topic"))
	p := s.varint("partition")
	if int64(int32(p)) != p {
		s.fail("partition", "out of range")
	}
	d.Partition = int32(p)
	d.Offset = s.varint("offset")
	d.Timestamp = s.varint("timestamp")
	if flags&stageHasKey != 0 {
		d.Key, d.HasKey = s.bytes("key"), true
	}
	d.ValueKind = events.ValueKind(flags >> 1)
	if d.ValueKind != events.ValueNull {
		d.Value = s.bytes("value")
	}
	if h := s.bytes("headers"); len(h) > 0 {
		d.Headers = h
	}
	if s.err == nil && len(s.b) > 0 {
		s.fail("record", "trailing bytes")
	}
	if s.err != nil {
		return Decoded{}, s.err
	}
	return d, nil
}

// stageReader reads the parts of a body; the first error sticks.
type stageReader struct {
	b   []byte
	err error
}

func (s *stageReader) fail(what, why string) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %s: %s", errStaged, what, why)
	}
	s.b = nil
}

func (s *stageReader) byte() byte {
	if len(s.b) == 0 {
		s.fail("flags", "missing")
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *stageReader) varint(what string) int64 {
	v, k := binary.Varint(s.b)
	if k <= 0 {
		s.fail(what, "bad varint")
		return 0
	}
	s.b = s.b[k:]
	return v
}

func (s *stageReader) bytes(what string) []byte {
	n, k := binary.Uvarint(s.b)
	if k <= 0 || n > uint64(len(s.b)-k) {
		s.fail(what, "bad length")
		return nil
	}
	v := s.b[k : k+int(n) : k+int(n)]
	s.b = s.b[k+int(n):]
	return v
}
