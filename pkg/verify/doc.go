// Package verify reads back what package sink wrote to a store and reports
// whether every record is there exactly once, partition by partition.
//
//	rep, err := verify.Run(ctx, st, verify.WithPrefix("backup/"))
//	if err != nil { ... }        // the store could not be listed, or ctx ended
//	if !rep.OK() { ... }         // an error-level defect: see rep.Partitions[i].Defects
//	if len(rep.Unmatched) > 0 {} // a topic or partition asked for matches nothing
//
// # What it reads
//
// Run lists the prefix once (or, per topic given with WithTopics,
// {prefix}{topic}/ and {prefix}invalidRuleData/{topic}/), then each search
// directory (WithDirs, WithDirFunc) that those listings do not cover, each
// once per run, not once per partition. It groups the keys by topic and
// partition as package sink lays them out:
//
//	{prefix}{topic}/.oss_meta_file_partition_{p}                      meta object
//	{prefix}{dir}partition_{p}_offset_{first}_{8 hex}{ext}            data object, in any folder
//	{prefix}{dir}.oss_index_partition_{p}_offset_{...}{ext}[.idx]     its record index (package objindex; .idx after an extension)
//	{prefix}{dir}.oss_stage_partition_{p}_offset_{...}{ext}.staged    its staging object (staged encodings, until written; sink.StageKey)
//
// Staged encodings (format.Encoder.Staged) are Parquet, built from the
// staged records when sealed, and raw, jsonl and csv written final
// (SINK_FINALIZE, encoding ids ending in ";final"), whose data object is
// a copy of the staged bytes before the seal, at the same positions: such
// an object is read from its staging object until written, then from its
// data object, by its index, as an appendable object is.
//
// {ext} is the extension of the object's encoding (format.Encoder.Ext: ""
// for raw and legacy objects, .jsonl, .csv, .parquet, then .gz, .zst or
// .sz when compressed); names are checked on their stem (sink.SplitExt),
// and the extension against the encoding the index names.
//
// where dir is a folder's directory (sink.FolderDir): the topic's own
// ({topic}/), one inside it ({topic}/dt=2026-11-24/), or, with a routing
// template that does not start with the topic, anywhere under the prefix
// (tenant-a/orders/), and invalidRuleData/{topic}/ for records the template
// could not place. A data or index object belongs to the topic-partition
// whose sink.ObjectKey its full key is (topic, the folder name of its
// directory for that topic, partition, first offset, an epoch up to the
// meta object's): directories can be shared by topics, so a key there that
// no topic checked derives is another's, counted in Report.OtherObjects
// and otherwise ignored. Inside a topic's own directory a key that no topic
// derives is a look-alike (name_suffix), and any other key is reported
// (stray_object), except sinkctl restore's checkpoint objects
// (.restore_checkpoint_*), which are skipped. A top-level folder that holds
// no meta object and no data object the sink names for it is not a topic
// and is ignored (counted in Report.Ignored). The meta objects are read
// right after the listings (WithConcurrency at a time), since their epochs
// are needed to tell whose objects a shared directory holds.
//
// Each topic-partition is checked on its own (WithConcurrency partitions at
// a time). Per partition it reads the current sizes of the objects that may
// still be growing (the meta object's open objects and the last object of
// each folder: the data object, then its index, since the sink writes an
// index entry before the data it announces), then every object. Memory per
// partition in flight is at most three chunks (WithChunkSize), one index
// entry, the longest record or line (legacy objects), one decompressor's
// state (a compressed member is streamed through it, never held whole:
// for zstd up to the frame's window, at most one append's decoded
// length), for a Parquet object the reader's pages (one per column) and a
// batch of rows, with WithKafka one window of Kafka's records (at most 500
// records or 8 MiB and one record), a few dozen bytes per object, and one
// entry per run of consecutive offsets stored in one object: never the
// data. Because the
// meta object is read before the data and the protocol writes data before
// state, a partition that the sink writes to while Run reads it shows at
// most warnings (pending recovery), not errors; an object opened and sealed
// between the listing and the meta read is the one race that can show as
// an error, and a second run tells.
//
// # Routed partitions (several folders)
//
// A partition's records can be spread over folders (package sink, routing
// templates): in each folder its objects hold increasing offsets, and each
// offset is stored in at most one folder. Every folder is checked as a
// partition without routing is (order within the folder, names, indexes,
// seals); an offset stored in two folders (or twice anywhere) is a
// duplicate_offset naming both objects; missing offsets are judged on the
// union of the folders (a record stored in any folder covers its offset);
// every folder the meta object names (sink.Meta.Folders) is compared with
// its open object. Objects that the meta object does not name and that
// have no seal are normal: a folder closed past sink.MaxOpenFolders, or
// left by a batch the trigger gave up on; they are neither errors nor
// warnings. A folder the meta object names in a directory the run did not
// list is a folder_not_listed warning (search the template's directory).
// Records in invalidRuleData/{topic}/ are checked as any other and counted
// apart (PartitionReport.InvalidRecords), never a defect. Records the sink
// dropped (a filter, SINK_INVALID=drop) are stored nowhere: WithExpected
// says which Kafka records the sink stores, so that the comparison with
// Kafka counts the others as filtered, not missing.
//
// # Epochs
//
// A topic-partition has epochs (sink.Meta.Epoch; a recreated topic starts a
// new one, whose offsets start again). Each object's epoch is told from its
// name (sink.ObjectEpoch, epochs 0 to the meta object's current one); each
// epoch is checked on its own, against the meta object's counts for it (the
// current state, or its entry in the history). A name derived for no epoch
// is a look-alike the sink did not write (name_suffix), checked with the
// current epoch's objects. Only the current epoch is compared with Kafka.
//
// # Objects with a record index
//
// An object with an index (every object the sink opens from now on, in
// every format) is checked exactly, whatever its values hold: the index,
// streamed with objindex.Scanner, is resolved against the data object's
// length (objindex.Resolver) in a first pass; a second pass reads the data in
// ranged chunks as the landed appends resolve and checks each one's CRC-32C
// over its stored bytes, then reads it in the encoding its entry names
// (format.ParseID): a compressed append, one complete member, is streamed
// through its decompressor and split by the index's sizes, which count
// decoded bytes; a CSV object must start with its header row (the entry's
// head); each record must end where the sizes say, and decode
// (format.Encoder.Decode; the legacy JSONL envelope as legacy lines are
// checked) with the offset, topic, partition and tombstone the index
// gives, as far as its fields hold them. Offsets come from the index, in
// every format: every offset once across the epoch's
// objects, increasing within each folder, each object named after its first
// landed offset, each seal naming the next object of its folder. For the
// meta object's open object, the first index_size bytes of its index must
// resolve to exactly its recorded size, records and last offset; appends
// that landed past them are pending recovery (unrecorded_tail).
//
// Objects built when sealed (Parquet) are staged: records are appended,
// with an index as any other, to a staging object, checked as above while
// it exists. When sealed, the data object is built from the staged records
// and written, then the staging object removed, and the index still
// describes the staged bytes: a data object whose staging object is gone
// is resolved against its index's seal, and its rows, read one at a time,
// must be the index's records, offset for offset (without an offset
// column, as many), in the columns of the encoding's fields; while both
// exist, the data object's footer must count the staged records from the
// first offset to the last. Staged records waiting for their data object
// (sealed, listed in the meta object's finalize list, sink.Meta.Finalize)
// and a staging object not yet removed are finalize_pending warnings: the
// sink's next batch completes them and nothing is lost meanwhile; an
// object the list names that exists in no form is data_missing.
//
// An index without its data object is normal when it resolves to no landed
// append (an object sealed at 0, or announcements that never landed);
// otherwise the records it says landed are gone (data_missing, with their
// offsets). A seal naming an object of which neither data nor index exists
// locates a deleted object: object_missing, from the seal's next offset to
// the next object that exists (offsets in between may be Kafka gaps; with
// WithKafka, missing_in_store names the records exactly). An index that
// cannot be used (index_invalid, index_inconsistent) is an error, and its
// data object is then checked as a legacy object (unless it is named with
// an extension: such objects are no lines).
//
// # Legacy objects (no index)
//
// Objects written before indexes existed are read by their lines. (An
// upgraded sink never appends to one: it seals the legacy open object in
// the meta object, which then names an indexed object, and no index entry
// links the two.) WithFormat(FormatAuto), the default, decides per object: the meta
// object's open object is read in the format its "encoding" field names;
// any other object is JSONL if one of its first 16 lines is a JSON object
// with topic, partition and offset members, raw otherwise. FormatRaw and
// FormatJSONL force one format for every legacy object.
//
// JSONL lines carry their offsets, so they are checked as exactly as
// indexed objects. A raw line carries only a value, and a value may hold
// '\n' (or, with the base64 value encoding, a 0x0A byte): raw lines are
// counted as records, which is exact only if no value does. Counts that
// such values could explain (more lines than records) are a warning,
// raw_unverifiable, never an error; fewer lines than records are an error.
//
// # Recorded and unrecorded data
//
// The protocol writes data first and state second, so a failed invocation can
// leave data the meta object does not record yet: appends or lines past the
// open object's recorded size, or whole objects named after the committed
// offset. The sink's next batch for the partition absorbs them (see package
// sink, Recovery); verify reports them as warnings (unrecorded_tail,
// unrecorded_object), and compares only the recorded data with the meta
// object's counters.
//
// # Defects
//
// Every finding is a Defect with a machine-readable Code, its Severity, the
// key of the object concerned (Other: a second object, such as its index),
// where relevant the byte and line position and the Kafka offset, and for
// missing records their offsets as Ranges. Findings of one code in one
// object are counted in one Defect (Count) that describes the first, so a
// wholly duplicated object gives one line of output, not a million.
// Severity error means exactly-once is violated or data cannot be read or
// trusted; warning means state behind data that the protocol repairs, or
// something to look at that is no violation. The codes, by severity:
//
//	error    duplicate_offset      an offset stored twice (other_object: where it was first)
//	error    out_of_order          an offset below one stored before it in the same folder
//	error    name_offset_mismatch  the offset in the object's name is not its first offset
//	error    bad_record            a record that does not decode in its encoding (JSONL: a line without topic, partition and offset), a CSV object without its header row
//	error    wrong_partition       JSONL: a line that names another topic or partition
//	error    bad_value             JSONL, base64 value encoding: a string value that is not base64
//	error    offset_mismatch       a record's offset (in encodings that store it) is not the one its index gives
//	error    torn_tail             a legacy object that does not end with a newline (a partial last line)
//	error    name_suffix           the name is derived for no epoch of the partition (sink.ObjectKey): a look-alike
//	error    unreadable            an object that could not be read (read error, or gone since the listing)
//	error    overlap               legacy raw: an object named inside the offset range of the open object
//	error    meta_missing          data objects without a meta object (the sink refuses to continue)
//	error    meta_unreadable       the meta object could not be read
//	error    meta_invalid          the meta object is not a valid state (sink.DecodeMeta)
//	error    committed_mismatch    committed_offset is not the last recorded offset (exact objects)
//	error    records_mismatch      records_written is not the number of recorded records (ranges: where they may be)
//	error    open_object_missing   the meta object's open object does not exist (ranges: the offsets it held)
//	error    open_object_size      the open object (or its index) is shorter than recorded, or its recorded state does not resolve
//	error    open_object_records   the open object's recorded part holds another number of records
//	error    open_object_offsets   the open object's first or last offset differs from the meta object's
//	error    open_object_encoding  the open object's index names another encoding than the meta object
//	error    index_invalid         an index object that cannot be parsed
//	error    index_inconsistent    an index that does not resolve against its data object, or whose sizes do not fit it
//	error    index_missing         no index for an object that must have one (the meta object, a seal or its extension says so)
//	error    crc_mismatch          a landed append whose bytes do not have the CRC-32C its index recorded
//	error    data_missing          a data object gone while its index says records landed (ranges: their offsets)
//	error    object_missing        a seal names an object of which neither data nor index exists (ranges: its offsets)
//	error    seal_mismatch         a seal that names another object than the next of its folder
//	error    final_mismatch        a data object built from staged records (Parquet) that is not what its index describes (rows, offsets, columns) or not readable
//	error    missing_in_store      records Kafka still holds below the group's committed offset that the store lacks (WithKafka; ranges)
//	error    content_mismatch      a stored record whose key, value or headers (as its encoding stores them) are not Kafka's at its offset (WithKafka)
//	warning  unrecorded_tail       data past the open object's recorded size: pending recovery
//	warning  unrecorded_object     an object named after the committed offset: pending recovery
//	warning  empty_object          a data object of zero bytes
//	warning  stray_object          a key in a topic's folder that is no meta, data or index object
//	warning  no_data               a topic or partition asked for (or the whole prefix) holds nothing
//	warning  ahead_of_commit       stored offsets at or past the committed offset (normal: the trigger commits after the function returns)
//	warning  raw_unverifiable      legacy raw lines that values holding '\n' could explain: not checkable exactly
//	warning  unknown_epoch         objects of an epoch the meta object's history does not list
//	warning  folder_not_listed     the meta object names a folder in a directory the run did not list (WithDirs)
//	warning  finalize_pending      staged records (Parquet) whose data object is not written yet, or a staging object not yet removed
//	warning  archived              a data object in an archive class (Archive, ColdArchive, DeepColdArchive) not restored: checked without reading (name, size, index, tags), CRCs and records not; also an index or meta object a lifecycle rule archived (what depends on it is not checked)
//	error    tag_mismatch          a tag or user metadata entry of a data object (first/last offset, records, topic, partition) that is not what its index says
//
// Archived objects cannot be read before a restore: they are checked as
// WithoutReading checks every object (names, sizes against the indexes,
// tags and user metadata against the indexes) and reported archived;
// PartitionReport.Archived and Unread count them.
//
// With WithKafka (NewSaramaKafka), each partition is also compared with the
// live topic: Kafka's range (log start offset .. high watermark) and the
// group's committed offset fill PartitionReport.Kafka; the records Kafka
// returns in [log start, committed) are looked up in the store by offset
// (JSONL and indexed objects) or counted against the lines of legacy raw
// objects. A partition that Kafka has, of a topic asked for or found in the
// store (whichever partitions WithPartitions selects), whose records below
// the committed offset Kafka still holds, and of which the store holds
// nothing, gets a report with a missing_in_store error. With a Kafka that
// reads records (KafkaRecordReader; NewSaramaKafka does), the records of
// the current epoch's indexed objects are also compared with Kafka's at
// their offsets, as the objects are read: key, value and headers, as far
// as the object's encoding stores them (raw: the value; SINK_FIELDS: the
// fields selected), in the form it gives them back (a JSON value as its
// compact text, text as valid UTF-8); a difference is content_mismatch.
// Kafka's records are read a window at a time beside each folder's
// objects: one pass over each folder's offset span.
package verify
