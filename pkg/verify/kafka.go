package verify

import "context"

// KafkaOffsets is what the source cluster holds for one topic-partition.
type KafkaOffsets struct {
	// LogStart is the partition's low watermark: the smallest offset Kafka
	// still has (retention and deletion move it up).
	LogStart int64 `json:"log_start_offset"`
	// HighWatermark is the offset the next record will get.
	HighWatermark int64 `json:"high_watermark"`
	// Committed is the offset the sink's consumer group committed (the next
	// record it expects), -1 when it committed none.
	Committed int64 `json:"committed_offset"`
}

// Kafka is the seam for comparing a store with its source cluster. Nothing
// in this package implements or calls it yet; the comparison will come as
// an option of Run that takes a Kafka, fills PartitionReport.Kafka, and adds
// findings such as: records the group committed that the store does not
// hold (committed-1 above the stored last offset: an error), partitions
// Kafka has that the store lacks, and data behind the log start offset that
// can no longer be re-read from Kafka. An implementation talks to the
// cluster (admin API: ListOffsets, OffsetFetch); it must be safe for
// concurrent use, as partitions are checked concurrently.
type Kafka interface {
	// Partitions returns the partition numbers of topic.
	Partitions(ctx context.Context, topic string) ([]int32, error)
	// Offsets returns the offsets of one topic-partition.
	Offsets(ctx context.Context, topic string, partition int32) (KafkaOffsets, error)
}
