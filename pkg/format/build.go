package format

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/parquetfile"
)

// ForExt returns an encoder whose objects are named with the extension ext
// (see Ext): the format and compression ext says, all fields, and value
// encoding v. "" gives raw. It is what a reader can assume of an object
// from its name alone; the record index names each append's exact
// encoding.
func ForExt(ext string, v events.ValueEncoding) Encoder {
	e := Encoder{ValueEncoding: v}
	switch {
	case strings.HasPrefix(ext, ".parquet"):
		e.Format, e.Fields = Parquet, AllFields()
		return e
	case strings.HasPrefix(ext, ".jsonl"):
		e.Format, e.Fields = JSONL, AllFields()
	case strings.HasPrefix(ext, ".csv"):
		e.Format, e.Fields = CSV, AllFields()
	}
	switch {
	case strings.HasSuffix(ext, ".gz"):
		e.Codec = Gzip
	case strings.HasSuffix(ext, ".zst"):
		e.Codec = Zstd
	case strings.HasSuffix(ext, ".sz"):
		e.Codec = Snappy
	}
	return e
}

// columns maps fields to the Parquet writer's columns.
func (fs Fields) columns() []parquetfile.Column {
	cols := make([]parquetfile.Column, fs.Len())
	for i := range cols {
		cols[i] = parquetfile.Column(fs.At(i) - FieldTopic)
	}
	return cols
}

func (e Encoder) parquetOptions() parquetfile.Options {
	codec := "none"
	if e.Codec != None {
		codec = e.Codec.String()
	}
	return parquetfile.Options{Columns: e.fields().columns(), BinaryValues: e.base64(), Codec: codec}
}

// Build writes to w the data object of a staged encoding (Staged: Parquet)
// holding the records next returns, in order, each in the staging encoding
// (as Append wrote it), until next returns io.EOF. The content depends on
// the records and e alone: building twice gives the same bytes. Memory is
// bounded by the Parquet writer's row groups (package parquetfile), not by
// the object.
func (e Encoder) Build(w io.Writer, next func() ([]byte, error)) error {
	if !e.Staged() {
		return fmt.Errorf("format: %s objects are not built from staged records", e.ID())
	}
	pw, err := parquetfile.NewWriter(w, e.parquetOptions())
	if err != nil {
		return err
	}
	var row parquetfile.Row
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := e.builtRow(&row, b); err != nil {
			return err
		}
		if err := pw.Write(&row); err != nil {
			return err
		}
	}
	return pw.Close()
}

// builtRow sets row to the row Build writes for the staged record b (its
// slices alias b). Build and BuiltRecords.Same share it, so that a record
// compares equal to its row exactly when Build would have written that row
// for it.
func (e Encoder) builtRow(row *parquetfile.Row, b []byte) error {
	d, err := e.Decode(b)
	if err != nil {
		return fmt.Errorf("staged record: %w", err)
	}
	*row = parquetfile.Row{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Timestamp: d.Timestamp,
		Key: d.Key, HasKey: d.HasKey, Value: d.Value, NullValue: d.ValueKind == events.ValueNull, Headers: d.Headers}
	return nil
}

// Built is what CheckBuilt reads of a data object built from staged
// records.
type Built struct {
	Records int64
	// FirstOffset and LastOffset are the offsets of its first and last
	// records, when it has an offset column (HasOffsets).
	FirstOffset, LastOffset int64
	HasOffsets              bool
}

// CheckBuilt reads the footer of a built data object (size bytes, read
// through r) and reports how many records it holds and their offsets,
// without reading its data. It fails if the object is not a file Build
// writes.
func (e Encoder) CheckBuilt(r io.ReaderAt, size int64) (Built, error) {
	pr, err := parquetfile.NewReader(r, size)
	if err != nil {
		return Built{}, err
	}
	b := Built{Records: pr.NumRows()}
	b.FirstOffset, b.LastOffset, b.HasOffsets = pr.OffsetRange()
	return b, nil
}

// BuiltRecords reads the records of a built data object in order, to tell
// whether it holds given records: the check of records delivered again
// once their staged bytes are gone. It reads one row group at a time
// (memory does not grow with the object) and skips whole row groups
// unread. It is not safe for concurrent use.
type BuiltRecords struct {
	e       Encoder
	opts    parquetfile.Options
	r       *parquetfile.Reader
	at      int64 // the next row
	wrote   parquetfile.Row
	read    parquetfile.Row
	records int64
}

// ErrNotBuilt says that an object is not one Build writes in the encoding
// given: another schema, fewer rows than asked for, or not Parquet at all.
var ErrNotBuilt = errors.New("not a data object built in this encoding")

// OpenBuilt opens the data object of size bytes in r, built by Build in
// encoding e, for reading its records with Skip and Same. It reads the
// footer only. An object whose schema is not the one e writes (other
// fields, another value type) fails with ErrNotBuilt: its rows would not
// compare.
func (e Encoder) OpenBuilt(r io.ReaderAt, size int64) (*BuiltRecords, error) {
	if !e.Staged() {
		return nil, fmt.Errorf("format: %s objects are not built from staged records", e.ID())
	}
	pr, err := parquetfile.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w (%s): %w", ErrNotBuilt, e.ID(), err)
	}
	o := e.parquetOptions()
	if got, want := pr.Columns(), o.Columns; !slices.Equal(got, want) || e.fields().Has(FieldValue) && pr.BinaryValues() != o.BinaryValues {
		return nil, fmt.Errorf("%w (%s): its columns are %v (binary values %v)", ErrNotBuilt, e.ID(), got, pr.BinaryValues())
	}
	return &BuiltRecords{e: e, opts: o, r: pr, records: pr.NumRows()}, nil
}

// Records returns the number of records the object holds (its footer's).
func (b *BuiltRecords) Records() int64 { return b.records }

// Skip passes over the next n records.
func (b *BuiltRecords) Skip(n int64) error {
	if err := b.r.SkipRows(n); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %d records, fewer than %d", ErrNotBuilt, b.records, b.at+n)
		}
		return err
	}
	b.at += n
	return nil
}

// Same reads the next record and reports whether Build wrote it from the
// staged record staged (a record's encoding in the staging encoding, as
// Append gives it): whether every field the encoding keeps is the
// record's, as the Parquet writer stores it (see parquetfile.SameRow).
func (b *BuiltRecords) Same(staged []byte) (bool, error) {
	if err := b.e.builtRow(&b.wrote, staged); err != nil {
		return false, err
	}
	if err := b.r.Next(&b.read); err != nil {
		if errors.Is(err, io.EOF) {
			return false, fmt.Errorf("%w: %d records, none at %d", ErrNotBuilt, b.records, b.at)
		}
		return false, err
	}
	b.at++
	return parquetfile.SameRow(b.opts, &b.wrote, &b.read), nil
}
