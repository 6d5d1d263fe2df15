package verify

import (
	"context"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

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

// Kafka is the seam for comparing a store with its source cluster. WithKafka
// passes one to Run, which fills PartitionReport.Kafka and adds the findings
// missing_in_store and ahead_of_commit (see compareKafka). NewSaramaKafka is
// the implementation on a live cluster. An implementation must be safe for
// concurrent use, as partitions are checked concurrently.
type Kafka interface {
	// Partitions returns the partition numbers of topic.
	Partitions(ctx context.Context, topic string) ([]int32, error)
	// Offsets returns the offsets of one topic-partition.
	Offsets(ctx context.Context, topic string, partition int32) (KafkaOffsets, error)
}

// KafkaRecords is implemented by a Kafka that can also list the offsets of
// the records it holds in a range. Without it the comparison uses offsets
// alone and cannot name the records the store lacks.
type KafkaRecords interface {
	// Records calls fn, in increasing order, with the offset of every
	// record the partition holds in [from, to). Offsets can have gaps
	// (compaction, transaction markers); only records returned count.
	Records(ctx context.Context, topic string, partition int32, from, to int64, fn func(offset int64)) error
}

// KafkaRecordReader is implemented by a Kafka that can also hand out the
// records themselves, for WithExpected to tell which ones the sink was
// configured to store.
type KafkaRecordReader interface {
	// ReadRecords calls fn, in increasing offset order, with every record
	// the partition holds in [from, to), as WithExpected describes it. The
	// record and its slices are valid only during the call.
	ReadRecords(ctx context.Context, topic string, partition int32, from, to int64, fn func(*events.Record)) error
}

// WithKafka compares every partition with its source cluster: the range
// Kafka still holds and the sink group's committed offset. Default: none.
func WithKafka(k Kafka) Option { return func(c *config) { c.kafka = k } }
