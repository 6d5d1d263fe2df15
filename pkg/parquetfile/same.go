package parquetfile

import (
	"bytes"
	"unicode/utf8"
)

// SameRow reports whether read, a row a Reader returned from a file of
// o's columns, is the row a Writer with options o writes for wrote: the
// columns o selects are compared, the others ignored (the file does not
// hold them), each as the Writer stores it rather than byte for byte with
// wrote:
//
//   - the topic, a key and a STRING value are compared after the Writer's
//     UTF-8 repair (each invalid byte becomes U+FFFD), so a record with
//     invalid UTF-8 matches its repaired row; a BYTE_ARRAY value
//     (BinaryValues) is compared as it is;
//   - a null key (HasKey false) differs from an empty one, a tombstone
//     (NullValue) from an empty value;
//   - a timestamp of 0 is stored as null, which a Reader gives back as 0;
//   - headers are compared by their canonical text (AppendCanonicalHeaders),
//     which is what a Reader returns: no headers and "[]" are the same.
//
// It is how a caller tells whether a file holds a record it is given again
// (a redelivery) or another record at that place (a recreated topic).
func SameRow(o Options, wrote, read *Row) bool {
	for _, c := range o.Columns {
		switch c {
		case Topic:
			if !sameText([]byte(wrote.Topic), []byte(read.Topic)) {
				return false
			}
		case Partition:
			if wrote.Partition != read.Partition {
				return false
			}
		case Offset:
			if wrote.Offset != read.Offset {
				return false
			}
		case Timestamp:
			if wrote.Timestamp != read.Timestamp {
				return false
			}
		case Key:
			if wrote.HasKey != read.HasKey || wrote.HasKey && !sameText(wrote.Key, read.Key) {
				return false
			}
		case Value:
			if wrote.NullValue != read.NullValue {
				return false
			}
			if wrote.NullValue {
				continue
			}
			if o.BinaryValues {
				if !bytes.Equal(wrote.Value, read.Value) {
					return false
				}
			} else if !sameText(wrote.Value, read.Value) {
				return false
			}
		case Headers:
			if !bytes.Equal(AppendCanonicalHeaders(nil, wrote.Headers), read.Headers) {
				return false
			}
		}
	}
	return true
}

// sameText reports whether read is wrote as a STRING column holds it:
// repaired to valid UTF-8 (see appendValidUTF8), on a copy only when
// wrote needs it.
func sameText(wrote, read []byte) bool {
	if utf8.Valid(wrote) {
		return bytes.Equal(wrote, read)
	}
	return bytes.Equal(appendValidUTF8(nil, wrote), read)
}
