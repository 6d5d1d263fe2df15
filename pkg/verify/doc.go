// Package verify reads back what package sink wrote to a store and reports
// whether every record is there exactly once, partition by partition.
//
//	rep, err := verify.Run(ctx, st, verify.WithPrefix("backup/"))
//	if err != nil { ... }        // the store could not be listed, or ctx ended
//	if !rep.OK() { ... }         // an error-level defect: see rep.Partitions[i].Defects
//
// # What it reads
//
// Run lists the prefix once (or {prefix}{topic}/ per topic given with
// WithTopics), groups the keys by topic and partition as package sink lays
// them out:
//
//	{prefix}{topic}/.oss_meta_file_partition_{p}                   meta object
//	{prefix}{topic}/{folder}partition_{p}_offset_{first}_{8 hex}   data object, any folder depth
//
// and checks each topic-partition on its own (WithConcurrency partitions at
// a time). A top-level folder that holds no meta or data object at all is
// not a topic and is ignored (counted in Report.Ignored); any other key inside
// a topic's folder is reported (stray_object), except sinkctl restore's
// checkpoint objects (.restore_checkpoint_*), which are skipped.
//
// Per partition it reads the meta object first, then refreshes the size of
// the objects that may still be growing (the last one of each folder and the
// meta object's open objects, one HEAD each), then streams every data object
// in ranged reads of WithChunkSize bytes, one read ahead of the parsing.
// Memory per partition in flight is at most three chunks, the longest line,
// a few dozen bytes per object, and (JSONL) one entry per run of
// consecutive offsets stored in one object: never the data. Because the meta object is read before the data and the protocol
// writes data before state, a partition that the sink writes to while Run
// reads it shows at most warnings (pending recovery), not errors; an object
// opened and sealed between the listing and the meta read is the one race
// that can show as an error, and a second run tells.
//
// # Formats
//
// WithFormat(FormatAuto), the default, decides per object: the meta object's
// open object is read in the format its "encoding" field names; any other
// object is JSONL if one of its first 16 lines is a JSON object with topic,
// partition and offset members, raw otherwise. FormatRaw and FormatJSONL force one
// format for every object.
//
// JSONL lines carry their offsets, so offsets are checked exactly: every
// offset once across all objects of the partition, increasing within each
// folder, each object named after its smallest offset, the meta object's
// committed_offset equal to the last recorded offset. Raw lines carry only
// the value: raw checks count lines as records (a value containing '\n'
// counts as several, which shows as a records_mismatch) and compare object
// names with the meta object's committed offset and open object.
//
// # Recorded and unrecorded data
//
// The protocol writes data first and state second, so a failed invocation can
// leave data the meta object does not record yet: bytes past the open
// object's recorded size, or whole objects named after the committed offset.
// The sink's next batch for the partition absorbs them (see package sink,
// Recovery); verify reports them as warnings (unrecorded_tail,
// unrecorded_object) when they are whole lines, and compares only the
// recorded data with the meta object's counters.
//
// # Defects
//
// Every finding is a Defect with a machine-readable Code, its Severity, the
// key of the object concerned, and where relevant the byte and line position
// and the Kafka offset. Findings of one code in one object are counted in one
// Defect (Count) that describes the first, so a wholly duplicated object
// gives one line of output, not a million. Severity error means exactly-once
// is violated or data cannot be read or trusted; warning means state behind
// data that the protocol repairs, or something to look at that is no
// violation. The codes, by severity:
//
//	error    duplicate_offset      JSONL: an offset stored twice (other_object: where it was first)
//	error    out_of_order          JSONL: an offset below one stored before it in the same folder
//	error    name_offset_mismatch  JSONL: the offset in the object's name is not its smallest offset
//	error    bad_record            JSONL: a line that is not a JSON object with topic, partition and offset
//	error    wrong_partition       JSONL: a line that names another topic or partition
//	error    bad_value             JSONL, base64 value encoding: a string value that is not base64
//	error    torn_tail             an object that does not end with a newline (a partial last line)
//	error    name_suffix           the 8 characters of the name are not the derived ones (sink.ObjectKey)
//	error    unreadable            an object that could not be read (read error, or gone since the listing)
//	error    overlap               raw: an object named inside the offset range of the open object
//	error    meta_missing          data objects without a meta object (the sink refuses to continue)
//	error    meta_unreadable       the meta object could not be read
//	error    meta_invalid          the meta object is not a valid state (sink.DecodeMeta)
//	error    committed_mismatch    JSONL: committed_offset is not the last recorded offset
//	error    records_mismatch      records_written is not the number of recorded records
//	error    open_object_missing   the meta object's open object does not exist
//	error    open_object_size      the open object is shorter than its recorded size, or that size is mid-line
//	error    open_object_records   the open object's recorded part holds another number of records
//	error    open_object_offsets   the open object's first or last offset differs from the meta object's
//	warning  unrecorded_tail       whole lines past the open object's recorded size: pending recovery
//	warning  unrecorded_object     an object named after the committed offset: pending recovery
//	warning  empty_object          a data object of zero bytes
//	warning  stray_object          a key in a topic's folder that is no meta or data object
//	warning  no_data               a topic or partition asked for (or the whole prefix) holds nothing
//	error    missing_in_store      records Kafka still holds below the group's committed offset that the store lacks (WithKafka; raw: approximate counts)
//	warning  ahead_of_commit       stored offsets at or past the committed offset (normal: the trigger commits after the function returns)
//
// With WithKafka (NewSaramaKafka), each partition is also compared with the
// live topic: Kafka's range (log start offset .. high watermark) and the
// group's committed offset fill PartitionReport.Kafka; in JSONL the offsets
// Kafka returns in [log start, committed) are each looked up in the store.
package verify
