// Package parquetfile writes one complete Parquet file from a stream of Kafka
// records, in bounded memory, with the same bytes for the same input, and
// reads such files back into records.
//
// It is the writer of sealed Parquet objects: the sink stages records, then
// streams them through a Writer into the final object. Its Reader is how the
// sink checks a final object and how verify, restore and sinkctl read one.
// It knows nothing of the sink, the store or other formats; its input and
// output is Row.
//
// # Schema
//
// The columns are those of Options.Columns, in that order (the SINK_FIELDS
// order), under a root named "kafka_record":
//
//	topic      BYTE_ARRAY STRING                       required, dictionary encoded
//	partition  INT32      INT(32, signed)              required, dictionary encoded
//	offset     INT64      INT(64, signed)              required
//	timestamp  INT64      TIMESTAMP(UTC, MILLIS)       optional: null when Row.Timestamp is 0
//	key        BYTE_ARRAY STRING                       optional: null when !Row.HasKey
//	value      BYTE_ARRAY STRING, or no logical type   optional: null when Row.NullValue (a tombstone)
//	           with Options.BinaryValues (the base64 value encoding: arbitrary bytes)
//	headers    LIST (required) of
//	             element (required group):
//	               key   BYTE_ARRAY STRING required
//	               value BYTE_ARRAY STRING optional
//
// Other columns are PLAIN encoded, in version 1 data pages of about 256 KiB
// (the most widely read layout), with page statistics and page indexes.
// Engines read partition as INTEGER, offset as BIGINT, timestamp as
// TIMESTAMP WITH TIME ZONE, headers as STRUCT(key, value)[] (DuckDB).
//
// Nulls and empty values are distinct: an empty key or value is an empty
// string (or byte array), not null.
//
// A Kafka timestamp of 0 (what the trigger's absent or null timestamp
// decodes to) is written as null rather than as 1970-01-01; any other value,
// negative ones included, is written as it is.
//
// STRING columns hold valid UTF-8: each byte of the topic, the key, a text
// value or a header string that is not part of a valid UTF-8 sequence is
// replaced by U+FFFD, as encoding/json does (the trigger delivers text as
// JSON strings, so this does not happen with its records). With
// BinaryValues the value is written byte for byte.
//
// # Headers
//
// Row.Headers is the JSON array text that the trigger delivered. Each
// element {"key":string,"value":string|null} (members in any order; value
// may be absent, meaning null) gives one list element with that key and
// value, unescaped. An element of any other shape (another member, a
// non-string key or value, not an object) gives an element whose key is
// the element's compact JSON text and whose value is null, so no header is
// lost. A text that is not a JSON array gives one element with the text as
// key. Nil or empty text, "[]" and "null" give an empty list (never a null
// list). A header's shape never fails a write.
//
// Headers round-trip in a canonical shape, not byte for byte: the Reader
// (and AppendCanonicalHeaders) gives the list as the compact text
//
//	[{"key":"k","value":"v"},{"key":"n","value":null}]
//
// members in that order, value null when null, strings with the fewest
// escapes (\" \\ \n \r \t, \u00XX for other control characters, non-ASCII
// as it is: pkg/format's JSONL escaping), "[]" for an empty list. So the
// trigger's text comes back the same when it is already canonical; other
// spellings of the same headers (whitespace, "value" before "key" or absent,
// escapes such as \u00e9 or \/) come back canonical, with the same meaning.
// An element of another shape comes back as {"key":<its compact JSON
// text>,"value":null} and a text that is not an array as one such element:
// the bytes survive, their shape does not (a reader cannot tell them from a
// header with such a key). The canonical text is a fixed point: written and
// read again, it is unchanged. Compare a record's headers with a file's
// through AppendCanonicalHeaders.
//
// # Determinism
//
// The same rows with the same Options always give the same bytes: the
// footer has no key/value metadata, no timestamps and no random ids;
// created_by is the constant CreatedBy; every codec runs single-threaded
// with fixed parameters. Bytes may change with the version of
// github.com/parquet-go/parquet-go or github.com/klauspost/compress: the
// golden files in testdata/ (TestDeterministic) catch such a change, which
// matters to a sealed object that is rebuilt after an upgrade.
//
// # Compression
//
// Options.Codec is the codec of every column chunk: none, gzip (level 1 by
// default), zstd (github.com/klauspost/compress's SpeedFastest by default)
// or snappy. Options.Level changes the gzip or zstd level.
//
// # Memory
//
// A row group is written when the rows buffered since the last one reach
// Options.RowGroupBytes (default 8 MiB), counted as the bytes of their
// fields (see Row). Until then the writer holds the row group's encoded and
// compressed pages, one page buffer per leaf column and the codec's state,
// so its heap stays below
//
//	2 x RowGroupBytes + 16 MiB
//
// plus, for a single row larger than a page, about twice that row. It does
// not grow with the file. TestMemoryBound checks it with 64 MiB of rows in
// 8 MiB row groups (live heap after GC, measured at each row group's end
// and every 1 MiB of output): about 12.5 MiB above the baseline
// uncompressed, 7-9 MiB with a codec. The output is written as row groups
// complete, through a 32 KiB buffer.
//
// Write copies what it needs: it keeps neither the Row nor its slices. A
// Writer is for one goroutine; after an error it stays failed and the
// output is incomplete.
//
// # Reading
//
// NewReader opens a file through an io.ReaderAt: it reads the footer, the
// page index, and the first and last pages of the offset column
// (OffsetRange); Next then reads the rows in file order, page by page. It
// accepts the schemas NewWriter writes and the same schemas as another
// writer spells them (Apache Arrow's, TestReadArrowFile): any root name,
// INT32/INT64 with or without the INT annotation, an annotation as a
// logical type or, alone, as its converted type, the header element's key
// and value in either order, any encoding, page version, codec and row group
// layout that parquet-go reads. Any other schema is refused with an error
// naming the column (an unknown field, another type, repetition or unit):
// reading it would make up values. Row fields of the columns a file lacks
// stay zero, so a Row says what the file holds only with Columns. SkipRows
// passes over rows, whole row groups unread (the footer counts their rows);
// SameRow tells whether a row read back is the one a Writer made of a given
// Row (UTF-8 repair and canonical headers accounted for).
//
// The Reader holds one page per leaf column at a time (compressed, then
// decoded; the library leaves decoded byte arrays to the garbage collector,
// so that the slices Next returns stay valid) and the rows of one batch (at
// most 128, fewer in row groups of large rows: about 256 KiB of rows), never
// a row group. For a file of the Writer's 256 KiB pages its live heap stays
// below 8 MiB whatever the size of the file: TestReadMemoryBound reads
// 64 MiB of rows (live heap after GC, every 1 MiB of rows and at each row
// group) in 2-3.2 MiB above the baseline with every codec. A row larger
// than a page costs a few times its page (TestReadMemoryLargeRows: 11 MiB
// for the Writer's 1 MiB rows, 17 MiB for Arrow's 16 MiB pages of four
// 4 MiB rows). The footer and page index it holds grow with the number of
// row groups and pages (a few KiB for a 64 MiB file). ReadAt calls are
// about two per page (a 64 MiB file: 600-1200), so a ReaderAt over a store
// should read ahead or be a local copy.
//
// The Writer's page headers hold page statistics with whole values: a
// STRING or BYTE_ARRAY page's smallest and largest values, twice each. With
// small values that is a few bytes per 256 KiB page; a page of one large
// value is five times its size, and Arrow refuses to read a page header of
// a 1 MiB value.
//
// A file that is not Parquet, truncated or damaged gives an error, from
// NewReader or from Next, not a panic: the footer's length is checked
// before the library allocates it, each column chunk's page headers are
// checked against the chunk before the library reads its pages, and a panic
// of the library (it has index-out-of-range panics on damaged footers) is
// turned into an error. Pages carry CRCs that the library checks; damage
// to a page header may still go unnoticed by it, and the Reader then checks
// that every row group yields the rows and values its footer states. The
// Reader is meant for files this package or another honest writer wrote: a
// crafted footer can still make the library allocate what it states.
package parquetfile
