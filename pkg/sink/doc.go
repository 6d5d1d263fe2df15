// Package sink writes batches of Kafka records into an object store, exactly
// once per record, with all of its state in the store itself.
//
// # Objects
//
// For each topic-partition there is one meta object and any number of data
// objects:
//
//	{prefix}{topic}/.oss_meta_file_partition_{p}
//	{prefix}{topic}/{folder}partition_{p}_offset_{first}_{8 hex}
//
// A data object holds the encodings (see package format) of consecutive
// records of one partition, in offset order; {first} is its smallest offset
// and the 8 hex digits are derived from topic, partition, folder and first
// offset, so every attempt that opens an object names it the same way.
// {folder} is "" today; the schema keeps one open object per folder so that
// time- and key-based folders can be added without a new schema.
//
// # Meta object schema (version 1)
//
//	{
//	  "version": 1,                      // schema version; other versions are refused
//	  "topic": "orders", "partition": 3,
//	  "committed_offset": 1234,          // every record with offset <= this is written; -1: none
//	  "records_written": 1235,           // records written to this partition so far
//	  "folders": {                       // the open data object of each folder
//	    "": {
//	      "object": "orders/partition_3_offset_1000_9f86d081",
//	      "encoding": "raw/text",        // format/value encoding of the object's bytes
//	      "first_offset": 1000, "last_offset": 1234,
//	      "size": 4051123,               // bytes written: the next append position
//	      "records": 235,
//	      "first_timestamp": 1764032523000, // Kafka timestamp (ms) of its first record
//	      "opened_at": "2026-11-25T01:02:03Z" // informational
//	    }
//	  },
//	  "updated_at": "2026-11-25T01:05:00Z",
//	  "writer": "request id of the invocation that wrote it"
//	}
//
// A sealed object leaves the folders map; the data objects themselves are
// the history.
//
// # Protocol
//
// For each topic-partition in a batch (partitions run concurrently and
// independently), Write:
//
//  1. Reads the meta object. If there is none, it lists the partition's data
//     objects: none means a new partition; objects that all start at or after
//     the batch's first offset, one exactly there, are what a failed first
//     attempt left (recovered below); anything else means the meta object was
//     lost, and Write fails with ErrMetaMissing rather than start over and
//     write again every record the trigger redelivers.
//  2. Drops records with offset <= committed_offset, and repeated offsets.
//     Offsets may have gaps, so nothing assumes committed_offset+1 comes next.
//  3. Appends the remaining records to the folder's open object at the
//     recorded size (a position-fenced AppendObject), one append per run of
//     records that fits. A record goes to a new object (append at 0) when the
//     open one is full (SINK_FLUSH_BYTES, SINK_FLUSH_RECORDS) or too old: the
//     record's Kafka timestamp is SINK_FLUSH_INTERVAL or more after the
//     object's first record's. Age is record time, never the clock, and
//     every check is made before each record, so where objects are cut
//     depends on the records and the settings only: not on batch
//     boundaries, not on the machine's clock.
//  4. Writes the meta object (an atomic whole-object PUT) with the new
//     committed offset and open objects. Only then does Write succeed, and
//     only then does the trigger consider the records delivered.
//
// On the happy path that is one GET, one append per object touched, and one
// PUT per partition. Data is durable before state claims it (step 3 before
// step 4), so a crash or failure at any point leaves state that is behind
// the data, never ahead.
//
// # Recovery
//
// State behind the data shows up as an append whose position is not the
// object's length (the store's *PositionError, which carries the length), or,
// before sealing an object this call has not appended to, as a length
// mismatch seen by Stat. The bytes between the recorded size and the real
// length are read (a ranged GET) and compared with the deterministic encoding
// of the next pending records, in the encoding the object was written in: if
// they are exactly those records, ending on a record boundary, the records
// are counted as recovered and not written again. If this (redelivered,
// possibly shorter) batch ends inside those bytes, its records are recorded
// and the rest is left for the next batch, which carries the later records
// and absorbs them the same way. In JSONL, a stored line for an offset
// between the last known record and the next pending one (a record that log
// compaction removed between attempts) is recognised by its offset and
// skipped. Bytes that match nothing fail the partition with ErrConflict;
// nothing is written: it never guesses.
//
// A crash between opening a new object and writing the meta object leaves the
// new object unrecorded; the retry computes the same name from the same first
// offset, its append at 0 fails with the length, and the same comparison
// applies. Three more checks keep a retry's cuts where a failed attempt made
// them, whatever changed in between (settings redeployed, or an instance of
// the previous deployment serving the retry):
//
//   - Sealing an object that the meta object records as open is itself
//     recorded (one meta PUT) before any record goes to the next object.
//   - After recovering records into the open object, Write looks (a HEAD)
//     for the object the earlier attempt would have opened next, and if it
//     exists seals as that attempt did; when the batch ends right there, it
//     lists the partition for any later object instead.
//   - Before opening a new object across an offset gap, Write lists the
//     gap: an object starting inside it holds records the state does not
//     know of, and Write continues in it (absorbing, as above) instead of
//     writing them again.
//
// Every step is idempotent: a retry of a request that failed after taking
// effect meets the same checks.
//
// # The assumption
//
// One batch per partition is in flight at a time: the trigger delivers a
// partition's batches in order and redelivers a failed batch, starting at or
// before its first unacknowledged record, before moving on. Nothing else
// writes the partition's objects.
//
// If two invocations race on one partition anyway, the position fence on the
// data object decides: the loser's append fails, and it either finds its own
// records already written by the winner (identical batches: both succeed,
// nothing is duplicated) or fails with ErrConflict. Both racers cut objects
// at the same records (step 3). A loser that ends inside the winner's bytes
// re-reads the meta object and does not overwrite a newer state; a stale
// meta PUT that lands late anyway leaves state behind the data, which the
// next batch resolves as under Recovery or, when bytes cannot be matched,
// stops the partition with ErrConflict. OSS has no compare-and-swap for the
// meta object, so two limits remain for racing invocations: in the raw
// format, a record whose bytes equal those of a record already stored after
// the stale state can be taken for it (raw lines carry no offset; JSONL
// lines do, and are never confused); and a racer whose batch starts after the
// first unacknowledged record (which the trigger never sends) can write a
// record twice.
//
// Write also stops starting requests shortly before the context's deadline
// (WithDeadlineMargin), and requests in flight are cut at that point, so that
// an invocation reports failure while the platform still listens, instead
// of being killed mid-request; the protocol treats a cut request like any
// other failure.
package sink
