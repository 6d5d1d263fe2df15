// Package format encodes decoded Kafka records into the bytes of data objects,
// names those encodings, compresses objects member by member, and reads
// records back.
//
// # Formats
//
//   - Raw (the default, as Alibaba's OSS sink connector writes): each record's
//     value followed by '\n'. A null value gives an empty line; a Json-format
//     value gives its compact JSON text; with base64 value encoding the
//     decoded bytes are written. Fields do not apply.
//   - JSONL: one JSON object per line ("\n") with the selected members in the
//     selection's order. The zero Fields (uncompressed) is the legacy
//     envelope: all seven members in the canonical order topic, partition,
//     offset, timestamp, key, value, headers; selecting exactly those, in
//     that order, gives the same bytes.
//   - CSV (RFC 4180): a header row of the field names (Header, once per
//     object), then one row per record, the selected fields in order, "\n"
//     line ends. A field is quoted when it is an empty string, contains ','
//     '"' CR or LF, or starts or ends with a space; '"' is doubled. A null
//     (absent key, tombstone value) is an empty unquoted field, an empty
//     string is "" — that is how engines tell them apart.
//   - Parquet: Append writes the staging encoding (below), a compact
//     binary record holding everything — topic, partition, offset,
//     timestamp, key and whether there is one, value and its kind, headers
//     — whatever Fields and ValueEncoding say; the Parquet file is built from
//     the stage when the object is sealed (Staged), by another package.
//
// Members and fields, in jsonl and csv alike: topic a string; partition,
// offset and timestamp (milliseconds) decimal integers; key a string or
// null; value the text, the base64 text (base64 value encoding), the
// embedded JSON text (Json data format: in jsonl a JSON value, in csv its
// text) or null; headers the delivered JSON array text ([] when none).
// Strings that are not valid UTF-8 have each invalid byte replaced by U+FFFD
// (as encoding/json does), so jsonl and csv objects are valid UTF-8; raw and
// staging keep bytes as they are.
//
// # Encoding ids
//
// Encoder.ID names everything an object's bytes depend on besides its
// records; ids are stored in meta objects and index entries, so an id's
// meaning never changes. The legacy ids are raw/text, raw/base64 (raw,
// uncompressed) and jsonl/text, jsonl/base64 (the legacy envelope, objects
// named without extension). Others are
//
//	{format}/{text|base64}[;fields=a,b,c][;z={codec}[-{level}]][;final]
//
// with fields present exactly for jsonl, csv and parquet (in the selection's
// order), z when compressed: z=gzip-1, z=zstd-1, z=snappy (parquet: the
// column codec), and final for raw, jsonl and csv objects that are staged
// and written whole when sealed (Encoder.Final, SINK_FINALIZE): their bytes
// are those of the appendable object of the id without final, so names,
// headers and readers are the same, but the id differs, so that switching
// between the two seals an object rather than mix them in it. Parquet is
// always staged and has no final parameter. ParseID reads only what ID writes, and only the levels this
// version writes. Ext gives the object name's extension ("", ".jsonl",
// ".csv", ".parquet", then ".gz", ".zst" or ".sz" when the whole object is
// compressed); ContentType and ContentEncoding the object's headers.
//
// # Determinism
//
// Encoding is a pure function of the record and the Encoder, and
// compression of the bytes and the codec (fixed levels and parameters, no
// clock, no randomness, no concurrency): the exactly-once protocol
// recognises records that a failed attempt already wrote by encoding them
// again (see package sink). Any change to the bytes of an existing encoding
// is a compatibility break and needs a new id; the golden files under
// testdata/ pin them. One caveat: the snappy block encoder is assembly on
// amd64 and arm64, so snappy bytes are fixed per architecture, not across
// them; gzip and zstd are the same everywhere.
//
// # Compression
//
// Objects compressed whole are concatenations of members, one per Append of
// a Compressor: a complete gzip member (RFC 1952; no name, mtime 0), zstd
// frame (with content size and checksum) or snappy framing-format stream
// (stream identifier, then chunks), so an appendable object is readable at
// every instant by gzip -dc, zstd -dc and snappy framing readers, which
// read concatenations. NewDecompressor reads them back. Levels were chosen
// for speed by BenchmarkCompress: gzip level 1 and zstd level 1
// (klauspost/compress's fastest; higher levels gain little ratio on JSON at
// a large cost in CPU).
//
// # Staging encoding
//
// A stage is the concatenation of its records, each self-delimiting, so it
// can be read without the index:
//
//	record = uvarint(len(body)) body
//	body   = flags:byte
//	         uvarint(len(topic)) topic
//	         varint(partition) varint(offset) varint(timestamp)
//	         [if flags&1]      uvarint(len(key)) key
//	         [if kind != null] uvarint(len(value)) value
//	         uvarint(len(headers)) headers
//	flags  = 1 (the record has a key) | kind<<1
//	kind   = 0 bytes, 1 json, 2 null (events.ValueKind)
//
// uvarint and varint are encoding/binary's (varint: zigzag, any sign). value
// holds the value as delivered (base64 already decoded, the JSON text for
// json); headers the headers' JSON text, length 0 when there are none.
// Other flag bits are zero. The encoding does not depend on Fields or
// ValueEncoding: the stage is everything the Parquet file is built from.
//
// # Reading back
//
// Decode reads one record's bytes (the record index gives the sizes) into a
// Decoded: raw gives the value only; jsonl the selected members exactly;
// csv the selected fields, nulls told from empty strings, values as bytes
// (a csv field cannot tell JSON from text); staging everything exactly.
// Decode never panics on malformed input.
package format
