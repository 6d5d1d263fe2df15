// Package sink writes batches of Kafka records into an object store, exactly
// once per record, with all of its state in the store itself.
//
// # Objects
//
// For each topic-partition there is one meta object, and any number of data
// objects, each with a record index beside it:
//
//	{prefix}{topic}/.oss_meta_file_partition_{p}
//	{prefix}{dir}partition_{p}_offset_{first}_{8 hex}{ext}
//	{prefix}{dir}.oss_index_partition_{p}_offset_{first}_{8 hex}{ext}[.idx]   (.idx when there is an extension)
//	{prefix}{dir}.oss_stage_partition_{p}_offset_{first}_{8 hex}{ext}.staged   (staged encodings, until written)
//
// {dir} is the record's folder (see Routing): {topic}/ unless a Router
// says otherwise.
//
// A data object holds the encodings (see package format) of records of one
// partition, in offset order; {first} is its smallest offset and the 8 hex
// digits are derived from topic, partition, folder, first offset and epoch
// (ObjectKey), so every attempt that opens an object names it the same way,
// and names in a meta object or an index can be checked against what the
// protocol derives.
//
// The record index (package objindex) is the object's write-ahead log: an
// appendable object of entries, each written before what it describes.
// An append entry announces the position, size, CRC, offsets and per-record
// sizes of the next append to the data object; a seal entry says that the
// object takes no more bytes and names the next object. Because the index
// is appended with a position fence too, every decision about a data object
// — append these records here, or seal it and continue there — is taken by
// exactly one writer: whoever writes the entry at the index's current
// length. Readers (verify, restore) split records by the index, so raw
// values holding '\n', binary values and offset gaps are read exactly.
//
// # Meta object schema (version 2)
//
//	{
//	  "version": 2,                      // 1 is read too (objects without an index: "legacy")
//	  "topic": "orders", "partition": 3,
//	  "epoch": 0,                        // see Epochs
//	  "committed_offset": 1234,          // every record with offset <= this is written; -1: none
//	  "records_written": 1235,           // records written to this partition in this epoch
//	  "folders": {                       // the current data object of each folder
//	    "": {
//	      "object": "orders/partition_3_offset_1000_9f86d081",
//	      "encoding": "raw/text",        // the object's encoding (format.Encoder.ID; see Formats)
//	      "first_offset": 1000, "last_offset": 1234,
//	      "size": 4051123,               // data bytes written: the next data append position
//	      "index_size": 1880,            // index bytes written: the next entry's position
//	      "records": 235,
//	      "first_timestamp": 1764032523000, // Kafka timestamp (ms) of its first record
//	      "min_timestamp": 1764032523000,   // the smallest of its records' (age is measured from it)
//	      "opened_at": "2026-11-25T01:02:03Z", // informational
//	      "appended_at": "2026-11-25T01:04:59Z" // last records stored (see Idle sealing)
//	    }
//	  },
//	  "finalize": [{"folder": "", "epoch": 0, "object": "orders/partition_3_offset_0_1b2c3d4e.parquet",
//	                "encoding": "parquet/text;fields=...", "first_offset": 0, "last_offset": 999,
//	                "records": 1000, "size": 67108901, "index_size": 4100}], // see Staging
//	  "epochs": [{"epoch": 0, "committed_offset": 5000, "records_written": 5001, "ended_at": "...", "reason": "..."}],
//	  "updated_at": "2026-11-25T01:05:00Z",
//	  "writer": "request id of the invocation that wrote it"
//	}
//
// The current object is the last one the state knows of. After a seal it
// is the next object, with no records yet ("records": 0, "size": 0,
// "last_offset" = first_offset-1). DecodeMeta refuses a meta object whose
// objects are not the derived names, or whose numbers disagree.
//
// # Protocol
//
// For each topic-partition in a batch (partitions run concurrently and
// independently), Write:
//
//  1. Reads the meta object (see "No meta object" when there is none).
//  2. Splits off the records with offset <= committed_offset (and repeated
//     offsets). Offsets may have gaps, so nothing assumes committed_offset+1
//     comes next. Before dropping them as duplicates it checks up to eight
//     of them, the first and the last among them, against the store (their
//     stored encoding, located by the object's index, and for raw objects
//     the timestamps the index keeps per append): a replay or a redelivery
//     carries the stored records, while a topic deleted and recreated
//     (offsets started again) or an old meta object restored does not, and
//     then Write fails with ErrOffsetsReset, writing nothing. StartEpoch is
//     the way forward. A raw topic recreated with the same values and
//     timestamps at every offset checked cannot be told from a replay.
//  3. For the rest, makes one decision at a time about the folder's current
//     object, each first written as an entry to its index at the recorded
//     index length:
//     - seal it, before a record that does not belong in it: the object is
//     full (SINK_FLUSH_BYTES, SINK_FLUSH_RECORDS), too old (the record's
//     Kafka timestamp is SINK_FLUSH_INTERVAL or more after the oldest
//     record's in the object), of another encoding, or named for an offset
//     that was never stored. The seal entry names the next object (derived
//     from the record's offset), which becomes the current one. (An object
//     with no records, named for the record in another encoding, takes it
//     in its own encoding instead when the record's object in today's
//     encoding has an index already: SINK_FORMAT changed, and back, while
//     the record kept failing, and a seal toward that object would make
//     the two name each other, round and round.);
//     - or append the longest run of records that fits: the append entry,
//     then the position-fenced AppendObject of the data at the recorded
//     size.
//     Age is record time, never the clock, and every check is made before
//     each record, so cuts depend on the records and the settings only.
//  4. Writes the meta object (an atomic whole-object PUT) with the new
//     committed offset and current object. Only then does Write succeed,
//     and only then does the trigger consider the records delivered.
//
// On the happy path that is one GET, one index entry and one append per
// object touched, and one PUT per partition: four requests. Data is durable
// before state claims it, and its entry before the data, so a crash or a
// failure at any point leaves state behind the index, and the index at most
// one announced append ahead of the data, never the reverse.
//
// # Durability
//
// A store that makes writes durable in groups (store.Batcher: the local
// directory, which would otherwise fsync the topic's directory for every
// partition's meta PUT) gets one batch per Write, each partition writing
// through a view of it, and Write syncs the batch after every partition
// finished and before it returns: a failed sync fails every partition
// (their records are redelivered), so nothing is reported written before it
// is durable. Within a partition's view each write first makes the earlier
// ones durable, so a crash of the machine before the sync can only undo
// the partition's last step, as if the attempt had died just before it:
// appends are durable when they return, before the meta PUT that records
// them, and the PUT is at worst lost, leaving state behind the index.
// SealIdle and StartEpoch write through the store itself.
//
// # Recovery
//
// State behind the index shows up as a refused entry: the index is longer
// than recorded. Write then reads what the index holds beyond the recorded
// length (in chunks: memory does not grow with it), and resolves which of
// the announced appends landed (objindex.Resolver: alternatives at one
// position, told apart by the next entry's position, a seal's, or the data
// object's length and the CRC). For each landed append it reads the bytes,
// checks their CRC, compares the records this batch carries with what is
// stored (a mismatch at the same offset is ErrOffsetsReset), and counts the
// rest as adopted: stored by an attempt whose batch this one does not
// repeat — a batch the trigger gave up on after its appends landed (with
// ErrorsTolerance ALL), or records beyond a shorter redelivery. A seal
// entry moves to the object it names, whose index is replayed in turn.
// Then Write goes on from the state it learned, and the meta object it
// writes records all of it. Nothing is ever appended twice: whatever an
// attempt did, its entries say so, and an append that did not land is
// only an alternative that the next entry at the same position supersedes.
//
// Without a current object (a new partition or epoch, after a legacy
// object), no entry can announce the next object, so its name is derived
// from the first record and, across an offset gap, a listing narrowed to
// the gap's digits looks for an object an earlier attempt opened there.
//
// Legacy objects (meta schema version 1) have no index and are never
// appended to: the first batch that reaches one checks its length, absorbs
// what an earlier attempt appended beyond the recorded size by comparing
// bytes with the deterministic encoding of the records (JSONL lines are
// also recognised by their offset), records the seal in the meta object,
// and continues in a new, indexed object.
// Repeated records in a legacy raw object are found by line number (raw
// lines carry no offset), which is exact only without offset gaps; the
// common case, a redelivery of the records that end the current object,
// is checked against its tail instead. A replay across offset gaps in
// legacy raw objects therefore fails the duplicate check (ErrOffsetsReset)
// rather than drop records it cannot confirm.
//
// # Routing
//
// A Router (WithRouter, SINK_FOLDER) gives each record a directory; the
// partition's records in one directory form that folder's chain of
// objects, and the meta object records one open object per folder. A
// record's folder depends on the record and the settings only, so a retry
// routes every record where the failed attempt did. Per batch and
// partition, Write first routes every pending record (a record that cannot
// be routed fails the partition here under InvalidFail, before anything is
// written; it goes to invalidRuleData/{topic}/ under InvalidFolder), drops
// what the filter (WithFilter) and InvalidDrop leave out — counted, and
// committed with the rest — then writes each folder's records as above, one
// folder after the other, with one encoding buffer for all of them.
//
// The committed offset stays partition-wide: after a batch, every record up
// to its last is stored (in some folder), filtered or dropped. Two rules
// make folders that a batch does not touch safe:
//
//   - Before a batch writes to a folder the state has no open object for, the
//     meta object announces the object it will open there (one more PUT per
//     batch that opens folders). Whatever an attempt stores is then in an
//     object the state names, and the folder's next record replays its
//     index — also after later batches without records for the folder have
//     committed past it (a batch the trigger gave up on, a shorter
//     redelivery), which is why a folder's records are compared with its
//     own last offset, not the committed one, and why a folder may hold
//     records beyond the committed offset (the batch's records for it up to
//     there are duplicates).
//   - At most WithMaxOpenFolders folders (MaxOpenFolders, 100) stay open.
//     Past the bound, after the batch is written, the folders whose last
//     record has the smallest offset are closed: dropped from the meta
//     object, without a seal entry. A closed object is never appended to
//     again (every later record of the folder has a larger offset than its
//     name, and nothing names it), so its next record opens a new object,
//     also for late data: nothing is rewritten. A folder closes only when
//     its state is complete: nothing adopted beyond the committed offset,
//     nothing announced unresolved, and an index no longer than recorded
//     (one lookup per folder closed that the batch did not touch); an index
//     that grew (an attempt the trigger gave up on stored or announced
//     something there) is replayed first, what landed adopted, and the
//     folder closed. The meta object thus stays near 100 entries of a few
//     hundred bytes.
//
// The duplicate check (Protocol, step 2) looks for each record in the
// folder the settings give it. Routed, an object covers the offsets of
// every folder in between (and, with a filter, the offsets of the records
// it dropped), so a record falling in a gap of its folder's objects is no
// evidence of a replay: when none of the records checked is found stored,
// Write fails with ErrOffsetsReset (a topic recreated since puts its
// records into other folders than the old ones at their offsets).
// A routed or filtered replay therefore also stops when it reaches only
// into batches the trigger gave up on, or after SINK_FOLDER, SINK_TIMEZONE,
// SINK_INVALID or SINK_FILTER changed.
//
// Without a meta object a routed partition starts afresh (there is no
// narrow listing of every folder): a lost meta object cannot be rebuilt,
// and the records the trigger redelivers after such a loss are written
// again. Restore the meta object instead (OSS versioning), or start a new
// epoch.
//
// # Formats
//
// Every object has one encoding (format.Encoder.ID: format, value
// encoding, fields, compression), recorded in the meta object's folder
// entry and in every index entry, and named by its extension
// (format.Encoder.Ext; SplitExt): ObjectKey derives the stem, the
// encoding adds ".jsonl", ".csv", ".parquet", then ".gz", ".zst" or ".sz"
// for compressed objects (raw uncompressed and legacy JSONL objects have
// none, as before). A record that meets an open object of another encoding
// seals it (also one with no records yet, whose name says another
// extension: sealed at 0, its next object is the same offset's in today's
// encoding), so a change of SINK_FORMAT, SINK_FIELDS or SINK_COMPRESSION
// never mixes encodings in one object. The data object's first append
// sets its Content-Type and Content-Encoding.
//
// Compressed encodings compress each append into one complete member
// (gzip member, zstd frame, snappy framed stream): the object is a valid
// concatenation of members after every append, which `gzip -dc`, `zstd
// -dc` and engines read whole. The index entry of such an append carries
// the member's stored length and CRC (bytes, crc32c) and its decoded
// length (decoded), and its per-record sizes count decoded bytes.
// Recovery and the duplicate check compare decompressed content: they read
// the member (checking its CRC), decompress it as a stream, and compare
// each record's encoding with the decoded bytes at its size. Compression
// therefore need not be deterministic (it is, for a given library version,
// and the level is part of the encoding id, e.g. "z=gzip-1"), and the
// object's cut points depend on its stored (compressed) size, which the
// index records. A CSV object's first append starts with the header row,
// which the entry's head counts.
//
// # Staging
//
// Some encodings are not appended to their data object
// (format.Encoder.Staged): Parquet, whose footer comes last, and raw,
// jsonl and csv with SINK_FINALIZE (WithFinalize, encoding ids ending in
// ";final"), whose objects are written whole, as normal objects, so that
// they can have a storage class appendable objects cannot (ColdArchive,
// DeepColdArchive), a customer KMS key, tags, and normal objects'
// download speed. Their records go, by the same protocol and the same
// index, to a staging object beside the data object,
// {dir}.oss_stage_{base}.staged (StageKey): Parquet in a staging encoding
// that keeps every field, the others in exactly the bytes their
// appendable object would hold (CSV's header row first, one complete
// compressed member per append). The data object {dir}{base} is written
// when the object takes no more records:
//
//   - sealed: as soon as it is full (SINK_FLUSH_BYTES counting staged
//     bytes, SINK_FLUSH_RECORDS), without waiting for a later record (the
//     seal names the next offset's object), or before a record that is too
//     old for it or of another encoding; or by StartEpoch;
//   - closed past WithMaxOpenFolders: the seal entry is written when it is
//     finalized (its state is complete and nothing names it any more).
//
// The meta object lists each such object under "finalize" (object,
// encoding, offsets, records, staged bytes, index length) in the same PUT
// that records its seal, before anything is written; a seal found on replay
// (an earlier attempt's) is listed the same way. After that PUT, Write
// finalizes each listed object. If the data object exists, it must hold
// the listed records; otherwise Write writes it with forbid-overwrite (an
// "already exists" answer means an earlier try landed: checked the same
// way). Parquet is built from the staged records, read by the index up to
// the seal (in chunks, each append's CRC checked), deterministically for
// given records and encoding, in a temporary file; the others are the
// staged bytes [0, seal position), streamed from the staging object by
// ranged reads (memory does not grow with the object), each append's CRC
// checked on the way. Only then is the staging object deleted, and the
// meta object written again without the entry. A kill at any instant
// leaves the entry (or, after the last PUT, nothing to do); the next batch
// of the partition repeats whatever is missing, and a data object is
// written at most once under its derived name. A failure to finalize does
// not fail the batch (its records are staged and committed); the entry
// stays for the next batch, and the log says why (Summary.Unfinalized). A
// sealed object's data object becomes visible only when written; until
// then its records are in the staging object, which verify and restore
// read.
//
// The data object's PUT carries everything it is to have: its content
// headers, WithStorageClass's class, WithSSE's encryption (with the
// customer key), tags (topic, partition, first-offset, last-offset,
// records, format, compression, and WithTags's) and user metadata
// (first-offset, last-offset, records, topic, partition, and the full
// encoding id, which tag values cannot hold). Meta objects and indexes are
// created Standard explicitly (a bucket whose default class is IA or
// Archive must not archive the state the sink reads on every batch), and
// staging objects too, with WithSSE's algorithm but no customer key
// (appendable objects cannot use one). Without finalize, the class (IA or
// Archive only: New refuses the others) and the encryption (no customer
// key) go on the append that creates the data object, as OSS applies
// them; appendable objects get no tags or metadata.
//
// An existing data object is checked without reading it when it may be
// archived (Archive and colder cannot be read before a restore): by its
// size and CRC-64 (HEAD's x-oss-hash-crc64ecma) against the staged bytes
// (or, for Parquet, against the file this call built), or by the user
// metadata the sink writes with it when the store reports no CRC; a
// readable Parquet object by its footer (row count and offset range,
// format.Encoder.CheckBuilt), a readable object of a store that keeps
// neither CRC nor metadata (localstore) by reading it. Anything else at
// that name is ErrConflict and the staged records stay. A staging object
// already gone means an earlier try confirmed the data object: its size
// and metadata (or CRC) suffice then.
//
// Switching SINK_FINALIZE on a live partition changes the encoding id, so
// the open object is sealed and the next records start a new one, as for
// any encoding change; the names stay the same (SINK_FINALIZE does not
// change extensions), so an object that was named but holds no records
// yet keeps the staging it was named with for its first append (an
// earlier attempt may have stored records there, which replay must find
// where they went) and is sealed by the next records. No object mixes
// staged and appended records.
//
// Once the data object exists and the staging object is gone, the index
// still describes the staged bytes (resolved against the seal's position),
// and each record's row in the data object: the records of the landed
// appends before it. The duplicate check, and a replay into such an object
// (a stale meta object), then compare a repeated record whose staged size
// and timestamp agree with the index with its row in the data object
// (format.Encoder.OpenBuilt, parquetfile.SameRow): every field the
// encoding keeps, as the Parquet writer stores it (STRING columns repaired
// to valid UTF-8, headers in their canonical text), so a recreated topic's
// record is told from a redelivery by its content, as in raw, jsonl and
// csv objects; what the encoding does not keep (SINK_FIELDS without the
// value, say) cannot be compared. Only then is the data object read: its
// footer, and the row groups holding those rows, forward once per object,
// by ranged GETs of blocks of a quarter read chunk (WithReadChunk), at most
// four kept; whole row groups in between are skipped unread.
//
// A data object written whole from its stage in a copied encoding
// (SINK_FINALIZE with raw, jsonl or csv) holds the staged bytes at the
// same positions: the duplicate check reads them there once the stage is
// gone. Archived data objects (SINK_STORAGE_CLASS Archive and colder, or
// moved there by a lifecycle rule) cannot be read without a restore: a
// read that answers ErrNotRestored makes recovery and the duplicate check
// fall back to the index (staged sizes and the append's timestamps), and
// an append's CRC is then taken as matching when the object's length says
// it landed; finalizing checks an existing archived object by its size,
// CRC-64 and metadata, never by reading it.
//
// Limits of staging: (1) a staged object is sealed by its own records
// (full, or a later record SINK_FLUSH_INTERVAL newer), a format change, its
// folder closing past the bound, StartEpoch, or idle sealing (SealIdle,
// SINK_FLUSH_IDLE); without idle sealing, a routed folder that gets no
// later record (an hourly folder once the hour is over) keeps its records
// staged, readable by verify and restore but not by engines, until then.
// (2) StartEpoch seals a staged object after what its index holds, also
// beyond the meta object (a batch the trigger gave up on): see Epochs; a
// non-staged object's index grown so stays as it is, its records stored
// once but not counted in the ended epoch's history. (3) An append of a dead or stalled invocation
// that lands at position 0 after a racing one wrote the data object and
// removed the staging object creates the staging object again: the
// records are in the data object, and the next batch that reaches it stops
// with ErrConflict (the limit of requests taking effect late, above). (4)
// The duplicate check of a written Parquet object compares what the file
// holds (see above): two records that differ only in invalid UTF-8 bytes
// of a STRING column (each becomes U+FFFD), in the spelling of the same
// headers, in the kind of a value of the same bytes (JSON or text), or in
// fields SINK_FIELDS leaves out are the same there.
// The duplicate check of an archived object compares sizes and
// timestamps only: a recreated topic whose records repeat them exactly is
// taken for a replay there. (5) Invocations racing with different
// SINK_FINALIZE settings on an object named but still empty may store
// records both in its staging object and in the data object: the next
// batch stops with ErrConflict, or records are duplicated; the
// one-batch-in-flight assumption excludes it.
//
// # Idle sealing
//
// Write never seals by the clock (a retry reading another clock would cut
// elsewhere), so an object whose partition or folder gets no
// more records stays open, and staged, until something else seals it.
// SealIdle (the timer trigger's invocation, SINK_FLUSH_IDLE) does: for
// each open object with records whose last append is SINK_FLUSH_IDLE
// before "now" (Folder.AppendedAt, written by Write whenever records are
// stored in the object; the meta object's updated_at for objects recorded
// before that field), it
//
//  1. reads the meta object;
//  2. writes a seal entry to the object's index at the index length the
//     meta object records, naming the next object for the record after
//     the last in today's encoding: byte for byte the entry of a seal of a
//     full object;
//  3. if any seal landed, reads the meta object again and writes it with,
//     for each sealed folder still recorded as step 1 read it, the next
//     object as the current one and the sealed object listed to finalize
//     (staged encodings);
//  4. finalizes the listed objects as Write does, then reads the meta
//     object once more and writes it without the entries confirmed.
//
// It never writes a record, and the committed offset and the record count
// stay what the meta object says. "Now" is the timer's trigger time, so a
// retry of an invocation decides alike; a wrong time cannot break
// anything, only seal sooner or later.
//
// Why racing data invocations are safe. The seal entry is a decision about
// the object like every other, and the index's position fence (the only
// compare-and-swap OSS has) lets exactly one writer take each position:
//
//   - The data invocation's entry landed first (an append, or its own
//     seal): the timer's seal is refused, and the object is not sealed
//     (IdlePartition.Raced; not an error). The same holds when an attempt
//     the trigger gave up on left entries beyond the recorded length: a
//     data batch settles them first, and the timer never seals over them.
//   - The seal landed first: the data invocation's entry at that position
//     is refused; it replays the index (Recovery), finds the seal and
//     goes on in the object it names, so records are never appended to a
//     sealed object, and their order is the chain's. A data invocation
//     that read the meta object before the seal does the same.
//   - A refusal whose bytes are exactly this seal entry (the answer to an
//     earlier try was lost, a second timer sealed at the same moment, or a
//     data invocation sealed the full object there) is the same decision:
//     the timer goes on to record and finalize it, so retries and timers
//     racing each other converge.
//
// The meta object has no fence: a PUT replaces it whole. The timer writes
// it only as just re-read, changing only what it sealed, so it cannot move
// a data invocation's folders back, but for a data invocation whose meta
// PUT lands between the timer's re-read and its PUT (one request's time).
// Then the state is behind the index, as after any meta PUT that lands
// late: the folder's next record finds the index longer, replays it and
// adopts what landed; nothing is lost or stored twice. Until a record for
// that folder arrives (or the folder is closed past the bound, which
// replays it first), the folder's count and size in the meta object are
// behind, and the timer leaves it alone (its seal would be refused). The
// same holds for a meta PUT of the timer that fails after taking effect
// and is retried. A finalizing data invocation and the timer may build the
// same data object at once: it is written if absent and checked, as for
// any retry (see Staging).
//
// Costs: per run and topic, one LIST per 1,000 partitions; per partition,
// one GET; per idle object, one append (and, once per run with seals, a GET
// and a PUT of the meta object); staged objects add what finalizing costs.
//
// # No meta object
//
// No meta object and no data objects: a new partition. Data objects that
// all start at or after the batch's first offset, one exactly there: a
// failed first attempt, which the fences absorb. Data objects before the
// batch (the trigger gave up on the first batch after its appends landed,
// or the meta object was deleted): the state is rebuilt from their indexes
// when they all have one and there are at most 64; otherwise Write fails
// with ErrMetaMissing rather than start over and write again every record
// the trigger redelivers. Look-alike objects (the pattern without the
// derived suffix) are never taken for the sink's own.
//
// # Epochs
//
// A partition whose topic was deleted and recreated has offsets that start
// again at 0. Write refuses it (ErrOffsetsReset); StartEpoch (`sinkctl
// new-epoch`) ends the epoch in the meta object and starts the next, whose
// objects get other names: new records land beside the old ones and
// nothing stored is touched.
//
// The open staged objects of the ended epoch take no more records:
// StartEpoch seals each (in folder name order) and lists it for the next
// batch to finalize. The seal goes at the index length the meta object
// records. If the index is longer — a batch the trigger gave up on
// (ErrorsTolerance ALL) stored or announced appends there, and no batch of
// the recreated topic can succeed to bring the state up to it — StartEpoch
// first replays the index as a batch would (Recovery): the records that
// landed are adopted into the ended epoch (its committed offset and count
// in the history), seals are followed to the objects they name (those
// sealed are listed too), and the last object reached, if it holds records
// and is staged, is sealed after every entry of its index (an announced
// append that never landed included). Its one meta PUT, at the end,
// records all of it, so a run stopped at any point and run again does the
// same: the seal entries it wrote are its own, found again by the replay
// (or, at the recorded length, by their bytes). Raw, JSONL and CSV objects
// are not sealed, so an index grown there is not replayed: those records
// are stored once and read by verify and restore, but the ended epoch's
// history does not count them (verify reports the difference).
//
// # The assumption
//
// One batch per partition is in flight at a time: the trigger delivers a
// partition's batches in order and redelivers a failed batch, starting at or
// before its first unacknowledged record, before moving on (or, with
// ErrorsTolerance ALL, skipping it). Nothing else writes the partition's
// objects.
//
// A redelivery may reach back into records of a batch the trigger gave up
// on (which it should not: it has committed past them). Records an earlier
// attempt passed over while storing later ones are then skipped again
// (Skipped in the summary; they are in the trigger's dead-letter queue),
// never stored out of order or twice; at or below the committed offset,
// records that fall in gaps of the stored offsets are not evidence of a
// recreated topic. One case stops the partition: records before every
// stored record of the epoch (the first batch was given up on) cannot be
// told from records the sink never saw, such as a replay from before where
// the backup began, and fail with ErrOffsetsReset rather than be dropped;
// routed, that is per folder: records before every stored record of their
// folder.
//
// The timer trigger's invocation (SealIdle) is the one writer that may run
// beside a partition's batch by design; see Idle sealing.
//
// If two invocations race on one partition anyway, the index fence
// decides every step: the loser's entry is refused, it replays the winner's
// entries and finds its records stored (same batch) or goes on after them.
// A meta PUT that lands late leaves state behind the index, which the next
// batch replays. Two limits remain, because a request can take effect after
// the invocation that sent it gave up on it: if two announced appends at
// one position have exactly the same bytes but different offsets, the later
// is taken (only a batch that starts after the first unacknowledged record,
// which the trigger never sends, can announce that); and an append landing
// after a later writer sealed the object fails the next batch with
// ErrConflict rather than be guessed at. Either way nothing is lost
// silently: records are duplicated or a partition stops with an error.
// Routed, a meta PUT landing late can also drop a folder that a later
// batch announced (records stored there are then written again), or name
// again an object that a later batch closed, which then takes the
// folder's next records after those of its newer object: out of offset
// order across the folder's objects, though each record is stored once.
//
// Write also stops starting requests shortly before the context's deadline
// (WithDeadlineMargin), and requests in flight are cut at that point, so that
// an invocation reports failure while the platform still listens, instead
// of being killed mid-request; the protocol treats a cut request like any
// other failure.
package sink
