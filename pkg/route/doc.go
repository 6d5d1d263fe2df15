// Package route renders SINK_FOLDER, the template of the folder between
// OSS_PREFIX and a data object's file name, for each record.
//
// # Templates
//
// A template is parsed once (New) into literal text and tokens:
//
//	{topic}      the record's topic
//	{partition}  its partition, in decimal
//	{yyyy} {MM} {dd} {HH} {mm}
//	             year, month, day, hour (00-23) and minute of the record's
//	             Kafka timestamp in the zone given to New (SINK_TIMEZONE),
//	             zero-padded to 4 and 2 digits
//	{key}        the record key
//	{header:NAME}
//	             the value of the first header named NAME (exact,
//	             case-sensitive; NAME cannot contain '}')
//	{value:PATH} a field of the record's JSON value, PATH a dot path as in
//	             pkg/field (user.id, items.0.sku; member names containing
//	             '.' cannot be named)
//
// "{{" and "}}" stand for literal braces. The template names a directory
// relative to OSS_PREFIX; a missing trailing '/' is added, so "{topic}" means
// "{topic}/". Example: "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/" renders
// "orders/dt=2026-11-24/hh=08/".
//
// New refuses, with a *TemplateError naming SINK_FOLDER and the 1-based byte
// position: an empty template, unknown tokens (anything else in braces,
// including an empty NAME or a bad PATH), an unclosed '{' or a lone '}', a
// leading '/', empty segments ("a//b"), segments that are "." or ".." or
// start with '.' (names starting with '.' are the sink's own:
// .oss_meta_file_…, .oss_index_…, and the local store's), control characters, '\', text that is not UTF-8, and literal text longer
// than 512 bytes between two tokens.
//
// # Escaping
//
// Values that come from data — {key}, {header:NAME}, {value:PATH} — are
// made safe for one key segment by percent-encoding (%XX, uppercase hex) the
// bytes '%', '/', '\', 0x00-0x1F and 0x7F and every byte that is not part of
// valid UTF-8; a value that is exactly "." or ".." has its dots encoded
// ("%2E", "%2E%2E"), and any other value's leading '.' is ("%2E.oss_…" can
// never name the partition's meta object or an index). Nothing else changes (spaces, '+', '=', non-ASCII
// letters stay as they are). The encoding is reversible (decode each %XX),
// and no '/', no "." or ".." segment, no segment starting with '.', no
// control character and no empty segment can come from data. {topic} is a Kafka topic name (ASCII letters,
// digits, '.', '_', '-', never "." or ".."), used as is; {partition} and the
// time tokens are digits.
//
// JSON fields: a string gives its unescaped content, a number, true or
// false its literal text as written (1.50 stays 1.50).
//
// # Records that cannot be routed
//
// AppendFolder returns a *Error (Token, Reason) instead of a folder when a
// token has no usable value. The reasons:
//
//	no timestamp                 a time token and Timestamp <= 0
//	key is null                  {key} and a null or absent key
//	header missing / header is null
//	value is null                {value:..} and a tombstone
//	value is not JSON            {value:..} and a value that is not JSON up to the field
//	                             (an object or array is read only up to the field)
//	field missing / field is null / field is an object / field is an array
//	empty value                  the token's value is ""
//	value longer than 128 bytes  after escaping
//	topic is not a Kafka topic name
//
// Such a record is bad data: retrying cannot route it. The error never holds
// the record's contents (logs must not carry them); the caller names the
// record by topic, partition and offset.
//
// The folder depends only on the record and the template and zone, never on
// the clock or the machine: the same record always goes to the same folder.
// Hence LoadZone refuses "Local".
//
// A Router has no mutable state and is safe for concurrent use.
// AppendFolder allocates nothing beyond growing dst.
package route
