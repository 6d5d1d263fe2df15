// Package parquetfile writes one complete Parquet file from a stream of Kafka
// records, in bounded memory, with the same bytes for the same input.
//
// It is the writer of sealed Parquet objects: the sink stages records, then
// streams them through a Writer into the final object. It knows nothing of
// the sink, the store or other formats; its input is Row.
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
package parquetfile
