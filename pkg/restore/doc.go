// Package restore produces the records a sink stored back to a Kafka topic.
//
// Run reads the data objects of one source topic under a prefix
// ({prefix}{topic}/{folder}partition_{p}_offset_{first}_{8 hex}, see package
// sink), per partition in the order of the first offset in their names, and
// produces their records to a target topic (by default the source topic).
//
// # Contract
//
//   - Partitions: a record goes to the partition of the same number in the
//     target topic (manual partitioner). Every restored partition must exist
//     there; Run checks before producing anything.
//   - Order: the records of a partition are produced in offset order, one
//     chunk at a time, by an idempotent producer (acks=all, one request in
//     flight), so retries neither reorder nor duplicate within a run.
//   - JSONL objects restore key, value, headers and timestamp. The value is
//     decoded as written: a JSON string is the text (or base64 of the bytes
//     with ValueEncoding base64, which is also taken from the meta object when
//     it says "jsonl/base64"), an embedded JSON value becomes its compact
//     text, null a null value.
//   - Raw objects hold values only (one per line): they restore with no key,
//     no headers and the producer's timestamp; the Summary says so
//     (RawObjects, ValuesOnly). Raw lines carry no offsets: a raw record's
//     offset is taken as the object's first offset plus its line number, which
//     is exact unless the source partition had gaps (compaction,
//     transactions); offset ranges apply to these offsets, and a time range
//     cannot select raw records (Run refuses it when a selected object is raw).
//   - Resumable: after each chunk the producer confirmed, the checkpoint object
//     {prefix}{topic}/.restore_checkpoint_{target}_partition_{p} is written
//     with {"last_offset_produced": N}. A later run to the same target skips
//     records at or below it. A checkpoint is written only after the chunk was
//     acknowledged and a chunk is never abandoned half-way by a cancelled
//     context (cancellation is checked between chunks), so an interrupted run
//     resumed later produces nothing twice. If the producer itself fails
//     inside a chunk, part of that chunk may have been written and will be
//     produced again by the next run (at least once in that case only).
//   - Dry run: lists what would be produced (counts, offset ranges, records
//     skipped by checkpoint) without connecting to Kafka.
//
// Record contents and credentials are never logged.
package restore
