// Package objindex is the record index of a data object: the format, its
// parser, and the rule that tells which of the appends it announces landed.
//
// Every data object the sink opens (see package sink) has an index object
// beside it, {dir}/.oss_index_{base} for the data object {dir}/{base}. It is
// an appendable object of JSON lines, one per entry, and it is written
// before the data it describes: an entry announces an append (or the
// sealing of the object) and only then is the data appended. The index is
// therefore the object's write-ahead log, and its own position-fenced append
// is the compare-and-swap that serialises every decision about the object.
//
// # Entries
//
// An append entry announces that the bytes [pos, pos+bytes) of the data
// object will hold the encodings of some records, in offset order:
//
//		{"op":"append","enc":"raw/text","pos":0,"bytes":27,"crc32c":3160101211,
//		 "offsets":[[100,2],[105,1]],"sizes":[9,9,9],"nulls":[101],"min_ts":1764032523000,"max_ts":1764032524000}
//
//	  - enc: the encoding of the bytes (format/value encoding, as in the meta object);
//	  - crc32c: CRC-32C (Castagnoli) of the bytes;
//	  - offsets: runs [first, count] of consecutive offsets; gaps between runs
//	    are offsets Kafka did not deliver (compaction, transaction markers);
//	  - sizes: the encoded size in bytes of each record, separator included,
//	    in order (they sum to bytes). Record boundaries never depend on the
//	    content: a raw value holding '\n', or binary bytes, splits exactly;
//	  - nulls: offsets of records whose value was null (a tombstone), which
//	    the raw format cannot tell from an empty value; omitted when none;
//	  - min_ts, max_ts: the smallest and largest Kafka timestamps (ms) among
//	    the records that had one; 0 when none had;
//	  - decoded (compressed encodings only, see package format): each append
//	    is then one complete compressed member (gzip member, zstd frame,
//	    snappy framed stream); bytes and crc32c are the member's as stored,
//	    decoded its length decompressed, and sizes count decoded bytes;
//	  - head (only at pos 0): the length of a preamble before the first
//	    record in the (decoded) bytes, such as a CSV header row; sizes and
//	    head add up to bytes (or to decoded).
//
// A seal entry says that the data object takes no more bytes after at and
// that the partition continues in the data object next, whose first record
// has offset next_offset:
//
//	{"op":"seal","at":27,"next":"orders/partition_3_offset_106_5a7c2e19","next_offset":106}
//
// A seal may also carry next_enc, the encoding the next object was named for
// (names carry an extension per encoding); entries without it name objects
// without an extension.
//
// at may be 0: an object sealed before any data landed in it (the record it
// was named for was never stored) has an index but no data object.
//
// # Which appends landed
//
// An append entry is written before its data, and the data append can fail,
// so an index may announce appends that never landed. Writers resolve the
// whole index before they add an entry (the index's own append fence makes
// sure they saw all of it), so every entry's pos is the data length its
// writer established. Resolve applies that rule: entries at the same pos are
// alternatives, of which at most one landed; the pos of the next entry at a
// higher position (or a seal's at, or, for the last run, the data object's
// length) says how many bytes landed, and so which alternative; alternatives
// of the same size are told apart by their CRC. Entries below the resolved
// position (written by a writer with an outdated view) and entries after a
// seal are void.
//
// Readers of a data object (verify, restore) resolve its index against the
// object's length and read records by the landed entries' sizes; each landed
// append's bytes can be checked against its CRC.
package objindex
