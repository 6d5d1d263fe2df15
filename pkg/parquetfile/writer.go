package parquetfile

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/encoding"
)

// DefaultRowGroupBytes is the row group target when Options.RowGroupBytes is 0.
const DefaultRowGroupBytes = 8 << 20

// CreatedBy is the created_by of every file: a constant, so that the bytes
// do not depend on the build (the library's default names the binary's VCS
// revision). It names the library that wrote the file, for readers'
// workarounds; TestCreatedBy keeps it in step with go.mod.
const CreatedBy = "kafka-oss-sink parquetfile (parquet-go v0.32.0)"

// pageBytes is the target size of a data page before encoding: the
// library's default.
const pageBytes = 256 << 10

// Options says what a file holds and how it is encoded.
type Options struct {
	// Columns are the columns of the schema, in this order: non-empty, no
	// repeats.
	Columns []Column
	// BinaryValues makes the value column BYTE_ARRAY without a logical type
	// (the base64 value encoding: values are arbitrary bytes) instead of
	// STRING.
	BinaryValues bool
	// Codec is the compression codec of every column: "none" (or ""),
	// "gzip", "zstd" or "snappy".
	Codec string
	// Level is the codec's level, 0 for the default: gzip 1..9 (default
	// 1), zstd 1..4 as github.com/klauspost/compress/zstd counts (1 fastest,
	// 2 about zstd's level 3, ...; default 1). Snappy and none have none.
	Level int
	// RowGroupBytes is the target size of a row group, counted on the
	// rows' bytes before encoding: len(Topic)+len(Key)+len(Value)+
	// len(Headers)+20 per row. 0 means DefaultRowGroupBytes. It bounds the
	// writer's memory (see the package doc).
	RowGroupBytes int64
}

// Default levels: the fastest of each codec. A sealed object is written
// once and read many times, but its cost falls on the invocation that seals
// it, and at level 1 both already shrink JSON records several times.
const (
	DefaultGzipLevel = 1
	DefaultZstdLevel = 1
)

// Row is one Kafka record. Write reads it and keeps nothing of it.
type Row struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64 // milliseconds since the epoch; 0 means none (null)
	Key       []byte
	HasKey    bool // false: the key column is null
	Value     []byte
	NullValue bool   // a tombstone: the value column is null
	Headers   []byte // the JSON array text as delivered; nil means none
}

// size is what a row counts towards Options.RowGroupBytes: its bytes as
// the columns hold them before encoding.
func (r *Row) size() int64 {
	return int64(len(r.Topic)+len(r.Key)+len(r.Value)+len(r.Headers)) + 4 + 8 + 8
}

// Writer writes one Parquet file. It is not safe for concurrent use.
type Writer struct {
	cols     []Column
	binary   bool
	target   int64
	pw       *parquet.Writer
	codec    compress.Codec
	buffered int64 // Row.size of the rows of the open row group
	err      error // sticky: the library leaves a failed writer unusable

	rows       []parquet.Row // one row, reused
	topic      string        // the last row's topic
	topicBytes []byte        // its bytes, valid UTF-8 (rows rarely change topic)
	hs         []header
	scratch    []byte // the header strings of the current row

	// beforeFlush, when set (by tests), runs when a row group is complete,
	// before it is written.
	beforeFlush func()
}

var errClosed = errors.New("parquetfile: writer closed")

// NewWriter returns a Writer that writes a file with o's schema and codec
// to w.
func NewWriter(w io.Writer, o Options) (*Writer, error) {
	if err := checkColumns(o.Columns); err != nil {
		return nil, err
	}
	codec, err := newCodec(o.Codec, o.Level)
	if err != nil {
		return nil, err
	}
	target := o.RowGroupBytes
	if target == 0 {
		target = DefaultRowGroupBytes
	}
	if target < 0 {
		return nil, fmt.Errorf("parquetfile: negative RowGroupBytes %d", target)
	}
	config := &parquet.WriterConfig{
		CreatedBy:      CreatedBy,
		Compression:    codec,
		PageBufferSize: pageBytes,
		// Version 1 data pages and PLAIN byte arrays: every engine reads
		// them. The library's defaults, version 2 pages and
		// DELTA_LENGTH_BYTE_ARRAY, are not read by some (Spark before
		// 3.3, Hive).
		DataPageVersion: 1,
		Encodings:       map[parquet.Kind]encoding.Encoding{parquet.ByteArray: &parquet.Plain},
	}
	// No min/max of the byte-array columns in page headers, column
	// indexes or the footer: they would copy whole values (a page holding
	// one 1 MiB value made a file 5 times its data, which Arrow could not
	// read), and nobody prunes on a key or a value's bounds.
	var skip []parquet.WriterOption
	for _, path := range [][]string{{"key"}, {"value"}, {"headers", "list", "element", "key"}, {"headers", "list", "element", "value"}} {
		skip = append(skip, parquet.SkipPageBounds(path...), parquet.SkipPageStatistics(path...))
	}
	cfg, err := parquet.NewWriterConfig(append([]parquet.WriterOption{newSchema(o.Columns, o.BinaryValues), config}, skip...)...)
	if err != nil {
		return nil, fmt.Errorf("parquetfile: writer config: %w", err)
	}
	return &Writer{
		cols:   append([]Column(nil), o.Columns...),
		binary: o.BinaryValues,
		target: target,
		pw:     parquet.NewWriter(w, cfg),
		codec:  codec,
		rows:   make([]parquet.Row, 1),
	}, nil
}

func checkColumns(cols []Column) error {
	if len(cols) == 0 {
		return errors.New("parquetfile: no columns")
	}
	var seen [numColumns]bool
	for _, c := range cols {
		if c >= numColumns {
			return fmt.Errorf("parquetfile: unknown column %d", uint8(c))
		}
		if seen[c] {
			return fmt.Errorf("parquetfile: column %s repeated", c)
		}
		seen[c] = true
	}
	return nil
}

func newCodec(name string, level int) (compress.Codec, error) {
	switch name {
	case "", "none":
		if level != 0 {
			return nil, fmt.Errorf("parquetfile: codec %q has no level", name)
		}
		return &parquet.Uncompressed, nil
	case "snappy":
		if level != 0 {
			return nil, errors.New("parquetfile: codec snappy has no level")
		}
		return snappyCodec{}, nil
	case "gzip":
		if level == 0 {
			level = DefaultGzipLevel
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("parquetfile: gzip level %d not in 1..9", level)
		}
		return &gzip.Codec{Level: level}, nil
	case "zstd":
		if level == 0 {
			level = DefaultZstdLevel
		}
		if level < int(zstd.SpeedFastest) || level > int(zstd.SpeedBestCompression) {
			return nil, fmt.Errorf("parquetfile: zstd level %d not in 1..4", level)
		}
		return &zstdCodec{level: zstd.EncoderLevel(level)}, nil
	}
	return nil, fmt.Errorf("parquetfile: unknown codec %q", name)
}

// Write adds r to the file. When the open row group reaches
// Options.RowGroupBytes it is written out. After an error the Writer is
// unusable and the output incomplete.
func (w *Writer) Write(r *Row) error {
	if w.err != nil {
		return w.err
	}
	w.rows[0] = w.appendRow(w.rows[0][:0], r)
	_, err := w.pw.WriteRows(w.rows)
	clear(w.rows[0]) // the values point into r
	if err != nil {
		w.err = fmt.Errorf("parquetfile: writing offset %d: %w", r.Offset, err)
		return w.err
	}
	w.buffered += r.size()
	if w.buffered >= w.target {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if w.beforeFlush != nil {
		w.beforeFlush()
	}
	w.buffered = 0
	if err := w.pw.Flush(); err != nil {
		w.err = fmt.Errorf("parquetfile: writing a row group: %w", err)
		return w.err
	}
	return nil
}

// Close writes the last row group and the footer. It does not close the
// underlying io.Writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.buffered > 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	err := w.pw.Close()
	if z, ok := w.codec.(*zstdCodec); ok {
		z.close()
	}
	if err != nil {
		w.err = fmt.Errorf("parquetfile: writing the footer: %w", err)
		return w.err
	}
	w.err = errClosed
	return nil
}

// appendRow appends the values of r, column by column. The values point
// into r and w's buffers.
func (w *Writer) appendRow(row parquet.Row, r *Row) parquet.Row {
	if r.Topic != w.topic || w.topicBytes == nil {
		// Topics from the trigger are valid UTF-8; the check is for any other source.
		w.topic = r.Topic
		w.topicBytes = appendValidUTF8(w.topicBytes[:0:0], []byte(r.Topic))
	}
	// Invalid UTF-8 in a STRING column is repaired on a copy: rare, as
	// the trigger delivers text as JSON strings.
	key, value := r.Key, r.Value
	if r.HasKey && !utf8.Valid(key) {
		key = appendValidUTF8(nil, key)
	}
	if !r.NullValue && !w.binary && !utf8.Valid(value) {
		value = appendValidUTF8(nil, value)
	}
	col := 0
	for _, c := range w.cols {
		switch c {
		case Topic:
			row = append(row, parquet.ByteArrayValue(w.topicBytes).Level(0, 0, col))
		case Partition:
			row = append(row, parquet.Int32Value(r.Partition).Level(0, 0, col))
		case Offset:
			row = append(row, parquet.Int64Value(r.Offset).Level(0, 0, col))
		case Timestamp:
			if r.Timestamp == 0 {
				row = append(row, parquet.NullValue().Level(0, 0, col))
			} else {
				row = append(row, parquet.Int64Value(r.Timestamp).Level(0, 1, col))
			}
		case Key:
			if !r.HasKey {
				row = append(row, parquet.NullValue().Level(0, 0, col))
			} else {
				row = append(row, parquet.ByteArrayValue(key).Level(0, 1, col))
			}
		case Value:
			if r.NullValue {
				row = append(row, parquet.NullValue().Level(0, 0, col))
			} else {
				row = append(row, parquet.ByteArrayValue(value).Level(0, 1, col))
			}
		case Headers:
			row = w.appendHeaders(row, r.Headers, col)
		}
		col += c.leaves()
	}
	return row
}

// appendHeaders appends the values of the two leaf columns of the headers
// list, headers.list.element.key (column col) and
// headers.list.element.value (col+1): the list is required (definition
// level 0 is the empty list), its elements required, their value optional.
func (w *Writer) appendHeaders(row parquet.Row, text []byte, col int) parquet.Row {
	w.hs, w.scratch = parseHeaders(w.hs[:0], w.scratch[:0], text)
	if len(w.hs) == 0 {
		return append(row,
			parquet.NullValue().Level(0, 0, col),
			parquet.NullValue().Level(0, 0, col+1))
	}
	for i, h := range w.hs {
		rep := 1
		if i == 0 {
			rep = 0
		}
		row = append(row, parquet.ByteArrayValue(h.key.of(w.scratch)).Level(rep, 1, col))
	}
	for i, h := range w.hs {
		rep := 1
		if i == 0 {
			rep = 0
		}
		if h.hasValue {
			row = append(row, parquet.ByteArrayValue(h.value.of(w.scratch)).Level(rep, 2, col+1))
		} else {
			row = append(row, parquet.NullValue().Level(rep, 1, col+1))
		}
	}
	return row
}
