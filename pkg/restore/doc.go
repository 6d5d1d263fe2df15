// Package restore produces the records a sink stored back to a Kafka topic,
// exactly once, resumably.
//
// Run reads the data objects of one source topic under a prefix
// ({prefix}{dir}partition_{p}_offset_{first}_{8 hex}{ext}, see package
// sink; {ext} says the format and compression) and
// produces their records to a target topic, which must be named
// (TargetTopic) and may be the source topic only with AllowSourceTopic: the
// backup does not say which cluster it came from.
//
// # Where objects are found
//
// A partition's objects are in folders (sink.FolderName): the topic's own
// directory {topic}/ and folders inside it, and, with a routing template
// (SINK_FOLDER) that does not start with the topic, directories anywhere
// under the prefix; records whose folder the template could not compute
// are in invalidRuleData/{topic}/. Run lists {topic}/, invalidRuleData/{topic}/
// and the search directories (Dirs, DirFunc: the template's static leading
// directory), each once per run. In a directory other than the topic's own,
// topics can share, an object is the topic's only when its key is the one
// sink.ObjectKey derives for it (topic, folder, partition, first offset,
// epoch); the others are another topic's, counted (Summary.OtherObjects)
// and left alone. Objects that no meta object names and that no seal
// names (closed folders) are read like any other.
//
// A partition's records are merged from all its folders back into offset
// order: each folder's objects hold increasing offsets, and a heap of
// folder cursors yields the smallest next offset. An object is loaded when
// the merge reaches the offset it is named for and dropped when its records
// are used up: memory is at most one loaded object per folder (its bytes
// and its decoded records, which for a compressed object are several times
// its size; the chunk being produced aside), and only for the folders whose current object
// spans the offset reached, so time folders cost one or two objects, many
// folders interleaved (a folder per key) one each. An offset stored in two
// folders fails the partition (ErrRefused, naming both objects) when the
// merge reaches it, before either copy is produced: records before it are
// produced once and checkpointed. Records in invalidRuleData/{topic}/ are restored with the
// others unless ExcludeInvalid; a checkpoint range written by a run that
// left them out says so (valid_only), so that a later run that includes
// them produces exactly those.
//
// # What is read
//
//   - Epochs: a partition whose topic was recreated has objects of several
//     epochs (sink.ObjectEpoch against the meta object's epoch), whose
//     offsets overlap. They are never mixed: Run restores one epoch per
//     partition, the only one there is or the one Epoch names, and refuses
//     (ErrEpochs, before producing anything) a partition with several.
//     Names that match no epoch were not written by the sink and are
//     ignored, with a warning; index objects (.oss_index_*) are read only
//     as the index of their data object.
//   - Objects with a record index (package objindex), in every format:
//     records are split by the sizes of the appends that landed, numbered
//     by their offset runs (gaps are real; the offset never comes from the
//     record, which may not store it), tombstones taken from the nulls;
//     every landed append's CRC-32C is checked over its stored bytes before
//     any record of the object is used, and a mismatch fails the partition
//     naming the object and the range. Each append is read in the encoding
//     its entry names (format.ParseID): a compressed append, one complete
//     member, is decompressed and split by the sizes in decoded bytes; a
//     CSV object's header row is checked; records are decoded by
//     format.Encoder.Decode.
//   - Parquet objects (staged, package sink): while the staging object
//     exists ({dir}.oss_stage_{name}.staged, before the object is sealed and until
//     the data object is written), the staged records are read from it as
//     above; once it is gone, from the data object, whose rows must be the
//     records of its index (read against the index's seal), offset for
//     offset. A record restores the same from either: only the fields of
//     the encoding.
//   - raw, jsonl and csv objects written final (SINK_FINALIZE, encoding
//     ids ending in ";final"; staged too): read from the staging object
//     while it exists, then from the data object, which holds the staged
//     bytes before the seal at the same positions: both as above.
//   - Objects without an index (legacy, written before indexes): JSONL lines
//     carry their offsets. Raw lines are numbered from the name's first
//     offset, which is exact only if the line count is the number of
//     offsets the names imply (the next object's first offset minus this
//     one's) or the meta object records (its current object's records over
//     first..last offset, or an ended epoch's committed offset). Otherwise
//     (values held newlines, or offsets had gaps) the partition is refused
//     (ErrRefused) naming the object and why, before anything of it is
//     produced. The count cannot reveal a newline that exactly makes up for
//     a gap in the same object; only indexes make raw objects fully exact.
//     An empty legacy raw line restores as an empty value (the format
//     cannot tell a tombstone).
//   - JSONL, CSV and Parquet records restore key, value, headers and
//     timestamp (0 included; a negative timestamp leaves it to the
//     producer), as far as the encoding's fields (SINK_FIELDS) store them.
//     Before producing anything Run reads the encoding of every selected
//     object that selects fields (the first entry of its index) and says
//     once, in a warning and in the Summary (Lacking, LackingObjects),
//     which of key, headers and timestamp some records lack: they are
//     produced without them (the producer's timestamp). Objects without
//     values (SINK_FIELDS without value) hold nothing to restore: Run
//     refuses (ErrRefused) naming them and their SINK_FIELDS, as it does a
//     time range over records stored without timestamps. Values are
//     decoded as the index's encoding says, or for objects without an
//     index as ValueEncoding or the meta object says. A CSV value cannot
//     tell JSON from text: both restore as the text.
//   - Raw records are values only: no key, no headers, the producer's
//     timestamp (the index keeps only a minimum and maximum per append).
//     The Summary says so (RawObjects, ValuesOnly); a time range cannot
//     select raw records, and Run refuses it when a selected object is raw.
//     Raw objects may be compressed (one member per append, as above).
//
// # Producing
//
// A record goes to the target partition of the same number (every restored
// partition must exist there; Run checks before producing). Records of a
// partition are produced in offset order, a chunk at a time, by an
// idempotent producer (acks=all, one request in flight).
//
// # Checkpoints and exact resumption
//
// A checkpoint (see Checkpoint) describes the restore of one source
// partition's epoch into one target partition of one cluster, identified
// by the cluster id of the metadata response: key CheckpointKey, next to
// the data by default ({prefix}{topic}/.restore_checkpoint_...), or in
// another store or prefix (Checkpoints) for read-only or WORM backups. It
// records which source records were produced (ranges of offsets, with the
// time range of the run that produced them), the target's end offset after
// them, the last record produced (the anchor) and, while a chunk is in
// flight, that chunk (pending).
//
// Before producing a chunk, Run writes the checkpoint announcing it (which
// also records the chunk before, confirmed). A later run first reads the
// target partition: its end offset says how many records of the announced
// chunk landed (a prefix of it, as the producer keeps order), and the
// records found there are compared (key, value, headers) with the source
// records announced, so a run killed at any instant, mid-chunk included,
// resumes with neither duplicates nor gaps. The anchor is compared too: a
// target partition that is not the one the checkpoint describes (recreated,
// or on another cluster with the same id) is refused (ErrRefused) rather
// than trusted, except when it is empty, which cannot hold anything the
// checkpoint counts: then the checkpoint starts over. Target records that
// do not match the announced chunk (another producer writes to the
// partition) are refused, never guessed at; records another producer wrote
// between runs are left alone and counted (Foreign). Every partition's
// checkpoint is written once before anything is produced, so a store that
// refuses writes fails the partition with nothing produced.
//
// The limit: the idempotent producer cannot fence a killed process, so a
// produce request the killed process had already handed to the network
// and that reaches the broker only after the next run read the end offset
// would land twice; the next run reports such records (Foreign) when its
// own land after them.
//
// Partial restores compose: a restore of some offsets, then of everything,
// produces each record once (the second skips what the first produced, so
// the target holds the first run's records first). ResetCheckpoint starts
// over and produces every selected record again, also those already in the
// target. A checkpoint of the earlier format ({"last_offset_produced": N},
// keyed by target topic name) is never followed: while one exists and the
// target partition is not empty, the partition is refused until
// ResetCheckpoint.
//
// Dry run: counts what would be produced, producing and writing nothing;
// with brokers it reads the checkpoints and target partitions, without it
// cannot (checkpoints are per target cluster) and Summary.Checkpoints says
// so.
//
// Record contents and credentials are never logged.
package restore
