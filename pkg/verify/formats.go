package verify

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
)

// The data pass reads each landed append in the encoding its index entry
// names (format.ParseID): the stored bytes go through the CRC as they are,
// a compressed append (one complete member) is streamed through the
// codec's decompressor and split by the index's sizes in decoded bytes,
// and each record is decoded (format.Encoder.Decode) and checked against
// the index. Memory per object: one chunk being read, the decompressor's
// state, and the longest record.

// encoder returns the encoder an index entry's encoding id names.
func (c *checker) encoder(id string) (format.Encoder, error) {
	if e, ok := c.encs[id]; ok {
		return e, nil
	}
	e, err := format.ParseID(id)
	if err != nil {
		return e, err
	}
	c.encs[id] = e
	return e, nil
}

// formatOfEnc returns the format an encoding id ("raw/text") names.
func formatOfEnc(enc string) objFormat {
	f, _, _ := strings.Cut(enc, "/")
	switch f {
	case "jsonl":
		return fmtJSONL
	case "csv":
		return fmtCSV
	case "parquet":
		return fmtParquet
	}
	return fmtRaw
}

// byLines says what becomes of an object whose index cannot be used.
func byLines(o *dataObject) string {
	if o.ext != "" {
		return "its records cannot be told apart without it"
	}
	return "the object is checked by its lines, which is exact only for JSONL"
}

// checkExt checks that o is named with the extension of the encoding its
// index gives.
func (c *checker) checkExt(o *dataObject, id string) {
	e, err := c.encoder(id)
	if err != nil {
		return // reported with the append
	}
	if want := e.Ext(); want != o.ext {
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("named with the extension %q, but its index says its records are in encoding %s, whose objects the sink names with %q", o.ext, id, want)})
	}
}

// appendChecker checks the data of the landed appends of one object, in
// data order.
type appendChecker struct {
	c     *checker
	es    *epochState
	o     *dataObject
	r     *objResult
	ds    *dataStream
	kafka *kafkaStream // nil: no comparison with Kafka's records
	buf   []byte       // one record
	crc   uint32       // of the current append's stored bytes
}

func (ac *appendChecker) check(a *objindex.Append, recorded bool) error {
	c, o := ac.c, ac.o
	ac.crc = 0
	enc, err := c.encoder(a.Enc)
	problem := ""
	switch {
	case err != nil:
		problem = err.Error()
	case (a.Decoded > 0) != enc.Compressed():
		problem = fmt.Sprintf("the entry's decoded length (%d) does not fit its encoding %s", a.Decoded, a.Enc)
	case enc.Built() != o.parquet():
		problem = fmt.Sprintf("encoding %s is not that of the object's name", a.Enc)
	case o.staged && !enc.Staged():
		problem = fmt.Sprintf("encoding %s is not staged, but the object's records were staged", a.Enc)
	}
	var ioErr error
	switch {
	case problem != "":
		ac.r.tailBad = ac.r.tailBad || !recorded
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Pos: &Position{Byte: a.Pos}, Offset: ptr(a.First()),
			Message: fmt.Sprintf("the append at byte %d (offsets %s) cannot be read: %s", a.Pos, rangesString(runsOf(a), maxListedRanges), problem)})
		ioErr = ac.skip(a.Bytes)
		ac.records(a, enc, recorded, nil)
	case enc.Compressed():
		ioErr = ac.compressed(a, enc, recorded)
	default:
		ioErr = ac.plain(a, enc, recorded)
	}
	if ioErr != nil {
		return ioErr
	}
	if ac.crc != a.CRC32C {
		ac.r.tailBad = ac.r.tailBad || !recorded
		c.add(Defect{Code: CodeCRCMismatch, Object: o.key, Other: o.indexKey, Pos: &Position{Byte: a.Pos}, Offset: ptr(a.First()),
			Ranges: runsOf(a),
			Message: fmt.Sprintf("bytes %d-%d of %s (%s, offsets %s) do not have the CRC-32C its index recorded for them: they were changed after the sink wrote them",
				a.Pos, a.Pos+a.Bytes-1, o.src, plural(a.Records(), "record"), rangesString(runsOf(a), maxListedRanges))})
	}
	return nil
}

// skip reads n stored bytes into the CRC only.
func (ac *appendChecker) skip(n int64) error {
	return ac.ds.take(n, func(p []byte) { ac.crc = crc32.Update(ac.crc, objindex.Castagnoli, p) })
}

// source hands out the next n decoded bytes of an append: a slice valid
// until the next call (nil unless keep), and their last byte.
type source func(n int64, keep bool) ([]byte, byte, error)

// plain reads an uncompressed append: its stored bytes are its records.
func (ac *appendChecker) plain(a *objindex.Append, enc format.Encoder, recorded bool) error {
	src := func(n int64, keep bool) ([]byte, byte, error) {
		var last byte
		ac.buf = ac.buf[:0]
		err := ac.ds.take(n, func(p []byte) {
			ac.crc = crc32.Update(ac.crc, objindex.Castagnoli, p)
			last = p[len(p)-1]
			if keep {
				ac.buf = append(ac.buf, p...)
			}
		})
		return ac.buf, last, err
	}
	return ac.records(a, enc, recorded, src)
}

// compressed streams one compressed member through its decompressor.
// Errors of the stored bytes are returned; a member that does not
// decompress into its records is reported here unless its CRC already
// says that its bytes changed.
func (ac *appendChecker) compressed(a *objindex.Append, enc format.Encoder, recorded bool) error {
	mr := &memberReader{ac: ac, n: a.Bytes}
	zr, derr := format.NewDecompressor(enc.Codec, mr)
	if derr == nil {
		src := func(n int64, _ bool) ([]byte, byte, error) {
			ac.buf = slices.Grow(ac.buf[:0], int(n))[:n]
			if _, err := io.ReadFull(zr, ac.buf); err != nil {
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("%w: decompressed to fewer bytes than its index's sizes", io.ErrUnexpectedEOF)
				}
				return nil, 0, err
			}
			return ac.buf, ac.buf[n-1], nil
		}
		derr = ac.records(a, enc, recorded, src)
		if derr == nil {
			var one [1]byte
			switch _, err := io.ReadFull(zr, one[:]); {
			case err == nil:
				derr = fmt.Errorf("it decompresses to more than the %d bytes its index says", a.Decoded)
			case !errors.Is(err, io.EOF):
				derr = err
			}
		}
		_ = zr.Close()
	} else {
		ac.records(a, enc, recorded, nil)
	}
	if mr.err != nil {
		return mr.err
	}
	if err := ac.skip(mr.n); err != nil {
		return err
	}
	if derr != nil && ac.crc == a.CRC32C {
		ac.r.tailBad = ac.r.tailBad || !recorded
		ac.c.add(Defect{Code: CodeIndexInconsistent, Object: ac.o.key, Other: ac.o.indexKey, Pos: &Position{Byte: a.Pos}, Offset: ptr(a.First()),
			Message: fmt.Sprintf("the %s member at bytes %d-%d (offsets %s) has the CRC-32C its index recorded, but does not decompress into the records its index describes: %v",
				enc.Codec, a.Pos, a.Pos+a.Bytes-1, rangesString(runsOf(a), maxListedRanges), derr)})
	}
	return nil
}

// memberReader reads the n stored bytes of one member from the data
// stream, into the CRC; err keeps a failure to read them (not a
// decompression error).
type memberReader struct {
	ac  *appendChecker
	n   int64
	err error
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if m.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), m.n)
	got := 0
	m.err = m.ac.ds.take(k, func(b []byte) {
		m.ac.crc = crc32.Update(m.ac.crc, objindex.Castagnoli, b)
		got += copy(p[got:], b)
	})
	m.n -= int64(got)
	if m.err != nil {
		return got, m.err
	}
	return got, nil
}

// records reads an append's preamble and records from src and checks
// them; with src nil, or after src failed, only the offsets the index
// gives are noted. It returns src's error.
func (ac *appendChecker) records(a *objindex.Append, enc format.Encoder, recorded bool, src source) error {
	c, o := ac.c, ac.o
	var failed error
	if src != nil {
		head := enc.Header()
		switch {
		case a.Head > 0:
			b, _, err := src(a.Head, true)
			if err != nil {
				failed = err
			} else if !bytes.Equal(b, head) {
				ac.r.tailBad = ac.r.tailBad || !recorded
				c.addf(CodeBadRecord, o.key, &Position{Byte: 0}, nil,
					"the object starts with the preamble %q, the header row of its encoding %s is %q", b, a.Enc, head)
			}
		case a.Pos == 0 && len(head) > 0:
			c.addf(CodeBadRecord, o.key, &Position{Byte: 0}, nil,
				"the object does not start with the header row %q of its encoding %s (its index announces no preamble)", head, a.Enc)
		}
	}
	keep := enc.Format != format.Raw || ac.kafka != nil
	for rec := range a.All() {
		pos := &Position{Byte: rec.Pos}
		if a.Decoded > 0 {
			pos = &Position{Byte: a.Pos} // the member's; the record is inside it
		}
		if src != nil && failed == nil {
			b, last, err := src(rec.Size, keep)
			if err != nil {
				failed = err
			} else {
				ac.record(a, enc, rec, b, last, pos, recorded)
			}
		}
		fresh, ordered := c.noteOffset(ac.es, o, rec.Offset, pos)
		ac.r.tailBad = ac.r.tailBad || (!recorded && (!fresh || !ordered))
	}
	return failed
}

// record checks one record's bytes b (nil for raw when not kept; last
// is their last byte).
func (ac *appendChecker) record(a *objindex.Append, enc format.Encoder, rec objindex.Record, b []byte, last byte, pos *Position, recorded bool) {
	c, o, r := ac.c, ac.o, ac.r
	where := fmt.Sprintf("bytes %d-%d", rec.Pos, rec.Pos+rec.Size-1)
	if a.Decoded > 0 {
		where = fmt.Sprintf("decoded bytes %d-%d of the member at byte %d", rec.Pos, rec.Pos+rec.Size-1, a.Pos)
	}
	bad := ""
	switch {
	case enc.Built():
	case last != '\n':
		bad = "does not end in a newline"
	case enc.Format == format.JSONL && bytes.IndexByte(b[:len(b)-1], '\n') >= 0:
		bad = "holds more than one line"
	}
	if bad != "" {
		r.tailBad = r.tailBad || !recorded
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Pos: pos, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("the record at offset %d (%s, by the index's sizes) %s: the index's record sizes do not fit the data", rec.Offset, where, bad)})
		return
	}
	switch {
	case enc.Format == format.Raw:
		if ac.kafka != nil {
			ac.kafka.compare(c, o, rec.Offset, pos, storedOf(enc, format.Decoded{Value: b[:len(b)-1]}, rec.Null))
		}
		return
	case enc.Format == format.JSONL && enc.Fields.Len() == 0:
		// The legacy envelope: checked as legacy JSONL lines are.
		b64 := enc.ValueEncoding == events.Base64
		switch c.cfg.valueEncoding {
		case ValueText:
			b64 = false
		case ValueBase64:
			b64 = true
		}
		if !ac.line(b[:len(b)-1], rec, pos, b64, recorded) || ac.kafka == nil {
			return
		}
	}
	d, err := enc.Decode(b)
	if err != nil {
		r.tailBad = r.tailBad || !recorded
		c.add(Defect{Code: CodeBadRecord, Object: o.key, Other: o.indexKey, Pos: pos, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("the record at offset %d (%s) is no record of its encoding %s: %v", rec.Offset, where, a.Enc, err)})
		return
	}
	fs := d.Fields
	switch {
	case fs.Has(format.FieldOffset) && d.Offset != rec.Offset:
		r.tailBad = r.tailBad || !recorded
		c.addf(CodeOffsetMismatch, o.key, pos, ptr(rec.Offset),
			"the record (%s) holds offset %d, its index says this record has offset %d", where, d.Offset, rec.Offset)
	case fs.Has(format.FieldTopic) && d.Topic != c.g.topic, fs.Has(format.FieldPartition) && d.Partition != c.g.partition:
		r.tailBad = r.tailBad || !recorded
		c.addf(CodeWrongPartition, o.key, pos, ptr(rec.Offset), "the record at offset %d names %s/%d, not %s/%d",
			rec.Offset, d.Topic, d.Partition, c.g.topic, c.g.partition)
	case fs.Has(format.FieldValue) && (d.ValueKind == events.ValueNull) != rec.Null:
		r.tailBad = r.tailBad || !recorded
		what := "a null value (a tombstone), its index a value"
		if rec.Null {
			what = "a value, its index a null value (a tombstone)"
		}
		c.add(Defect{Code: CodeIndexInconsistent, Object: o.key, Other: o.indexKey, Pos: pos, Offset: ptr(rec.Offset),
			Message: fmt.Sprintf("the record at offset %d (%s) holds %s", rec.Offset, where, what)})
	default:
		if ac.kafka != nil {
			ac.kafka.compare(c, o, rec.Offset, pos, storedOf(enc, d, rec.Null))
		}
	}
}

// line checks one legacy-envelope JSONL record against its index entry;
// false if it is no record of the partition.
func (ac *appendChecker) line(b []byte, rec objindex.Record, pos *Position, b64, recorded bool) bool {
	c, o, r := ac.c, ac.o, ac.r
	jr, ok := c.checkLine(o, b, pos, b64)
	if !ok {
		r.tailBad = r.tailBad || !recorded
		return false
	}
	if jr.offset != rec.Offset {
		r.tailBad = r.tailBad || !recorded
		c.addf(CodeOffsetMismatch, o.key, pos, ptr(rec.Offset),
			"the line holds offset %d, its index says this record has offset %d", jr.offset, rec.Offset)
		return false
	}
	return true
}

// extOf returns the name extension of objects of the encoding id; "" for
// "" (a seal written before formats, naming an object without one) and
// for an id this version does not know.
func (c *checker) extOf(id string) string {
	if id == "" {
		return ""
	}
	e, err := c.encoder(id)
	if err != nil {
		return ""
	}
	return e.Ext()
}
