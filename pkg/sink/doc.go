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
//	      "opened_at": "2026-11-25T01:02:03Z"
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
//     objects: none means a new partition; some means the meta object was lost,
//     and Write fails with ErrMetaMissing rather than start over and write
//     again every record the trigger redelivers.
//  2. Drops records with offset <= committed_offset, and repeated offsets.
//     Offsets may have gaps, so nothing assumes committed_offset+1 comes next.
//  3. Appends the remaining records to the folder's open object at the
//     recorded size (a position-fenced AppendObject), one append per run of
//     records that fits, opening a new object (append at 0) when the open one
//     is full (SINK_FLUSH_BYTES, SINK_FLUSH_RECORDS, checked before each
//     record, so the cut depends on the records, not on batch boundaries) or
//     older than SINK_FLUSH_INTERVAL.
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
// of the next pending records: if they are exactly those records, ending on a
// record boundary, the records are counted as recovered and not written again.
// If this (redelivered, possibly shorter) batch ends inside those bytes, its
// records are recorded and the rest is left for the next batch, which carries
// the later records and absorbs them the same way. If the bytes match nothing,
// Write fails with ErrConflict and writes nothing: it never guesses.
//
// A crash between opening a new object and writing the meta object leaves the
// new object unrecorded; the retry computes the same name from the same first
// offset, its append at 0 fails with the length, and the same comparison
// applies. A retry whose decision to seal could differ from the earlier
// attempt's (the object's age close to SINK_FLUSH_INTERVAL, so clocks on two
// machines may disagree; or a retry that found unrecorded records) looks for
// the object the earlier attempt would have opened next and, if it exists,
// seals as that attempt did.
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
// If that is broken, by two invocations racing on one partition, the
// position fence on the data object decides: the loser's append fails, and it
// either finds its own records already written by the winner (identical
// batches: both succeed, nothing is duplicated) or fails with ErrConflict.
// A loser that ends inside the winner's bytes re-reads the meta object and
// does not overwrite a newer state. A stale meta PUT that still lands late
// leaves state behind the data, which the next batch resolves as above, or,
// when the bytes cannot be matched to its records, stops the partition with
// ErrConflict rather than write anything twice. Records are never lost or
// duplicated; a partition may stop.
//
// Write also stops starting requests shortly before the context's deadline
// (WithDeadlineMargin), so that an invocation reports failure while its
// state is consistent instead of being cut off mid-request.
package sink
