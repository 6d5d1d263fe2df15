package consume

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/IBM/sarama"
)

// Start positions for a new group: committed for it before it joins.

// StartAtOffset makes a new group (one without committed offsets for any
// partition of the topics) start every partition at offset n (clamped to
// the range the partition holds). Run refuses it with a *StartError for a
// group that has committed offsets.
func StartAtOffset(n int64) Option {
	return func(o *options) { o.startOffset, o.startSet = n, true }
}

// StartAtTime makes a new group start every partition at its first record
// with a timestamp at or after t (at the high watermark when none is).
// Refused for a group with committed offsets, as StartAtOffset.
func StartAtTime(t time.Time) Option {
	return func(o *options) { o.startTime, o.startSet = t, true }
}

// StartError: a start position was asked for a group that already has
// committed offsets; nothing was consumed or committed.
type StartError struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
}

func (e *StartError) Error() string {
	return fmt.Sprintf("consumer group %q has committed offsets (%s/%d at %d): a start offset or time applies only to a group without any; "+
		"use a new --group, or drop the start flags to go on from the committed offsets", e.Group, e.Topic, e.Partition, e.Committed)
}

// applyStart commits the start offsets asked for (StartAtOffset,
// StartAtTime) for a group without committed offsets, as a consumer
// outside the group (generation -1), before the group is joined. With
// UntilCaughtUp it also gives the tracker, for each partition without a
// committed offset, where the group starts (tracker.floor): the records
// below are never consumed, so catching up cannot wait for them
// (StartLatest: the high watermark, nothing to catch up).
func applyStart(o *options, client sarama.Client, tr *tracker) error {
	if !o.startSet && !(o.until && o.start == StartLatest) {
		return nil
	}
	coord, err := client.Coordinator(o.group)
	if err != nil {
		return fmt.Errorf("coordinator of group %q: %w", o.group, err)
	}
	keys := make([]tpKey, 0, len(tr.parts))
	for k := range tr.parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].topic < keys[j].topic || keys[i].topic == keys[j].topic && keys[i].partition < keys[j].partition
	})
	fetch := &sarama.OffsetFetchRequest{Version: 1, ConsumerGroup: o.group}
	for _, k := range keys {
		fetch.AddPartition(k.topic, k.partition)
	}
	fr, err := coord.FetchOffset(fetch)
	if err != nil {
		return fmt.Errorf("committed offsets of group %q: %w", o.group, err)
	}
	uncommitted := map[tpKey]bool{}
	for _, k := range keys {
		b := fr.GetBlock(k.topic, k.partition)
		if b == nil {
			uncommitted[k] = true // a group Kafka does not know: nothing committed
			continue
		}
		if !errors.Is(b.Err, sarama.ErrNoError) {
			return fmt.Errorf("committed offset of group %q for %s/%d: %w", o.group, k.topic, k.partition, b.Err)
		}
		if b.Offset >= 0 && o.startSet {
			return &StartError{Group: o.group, Topic: k.topic, Partition: k.partition, Committed: b.Offset}
		}
		uncommitted[k] = b.Offset < 0
	}
	if !o.startSet {
		// StartLatest: a partition without a commit starts at its high
		// watermark.
		tr.mu.Lock()
		for k := range uncommitted {
			if uncommitted[k] {
				tr.floor[k] = tr.parts[k].HighWatermark
			}
		}
		tr.mu.Unlock()
		tr.check()
		return nil
	}
	commit := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: o.group, ConsumerGroupGeneration: sarama.GroupGenerationUndefined, RetentionTime: -1}
	floors := map[tpKey]int64{}
	for _, k := range keys {
		p := tr.parts[k]
		off := o.startOffset
		if !o.startTime.IsZero() {
			off, err = client.GetOffset(k.topic, k.partition, o.startTime.UnixMilli())
			if err != nil {
				return fmt.Errorf("offset of %s/%d at %s: %w", k.topic, k.partition, o.startTime.Format(time.RFC3339), err)
			}
			if off < 0 {
				off = p.HighWatermark // no record that recent
			}
		}
		off = min(max(off, p.LogStart), p.HighWatermark)
		floors[k] = off
		commit.AddBlock(k.topic, k.partition, off, 0, "")
		o.log.Info().Str("topic", k.topic).Int32("partition", k.partition).Int64("offset", off).Msg("new group: starting at")
	}
	cr, err := coord.CommitOffset(commit)
	if err != nil {
		return fmt.Errorf("commit the start offsets of group %q: %w", o.group, err)
	}
	for t, ps := range cr.Errors {
		for p, kerr := range ps {
			if !errors.Is(kerr, sarama.ErrNoError) {
				return fmt.Errorf("commit the start offset of group %q for %s/%d: %w", o.group, t, p, kerr)
			}
		}
	}
	tr.mu.Lock()
	maps.Copy(tr.floor, floors)
	tr.mu.Unlock()
	tr.check()
	return nil
}
