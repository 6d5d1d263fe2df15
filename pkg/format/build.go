package format

import (
	"errors"
	"fmt"
	"io"
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
		d, err := e.Decode(b)
		if err != nil {
			return fmt.Errorf("staged record: %w", err)
		}
		row = parquetfile.Row{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Timestamp: d.Timestamp,
			Key: d.Key, HasKey: d.HasKey, Value: d.Value, NullValue: d.ValueKind == events.ValueNull, Headers: d.Headers}
		if err := pw.Write(&row); err != nil {
			return err
		}
	}
	return pw.Close()
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
