package verify

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxListedOffsets is how many missing offsets a missing_in_store message
// names.
const maxListedOffsets = 10

// contains reports whether off was added to s.
func (s *offsetSet) contains(off int64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].hi >= off })
	return i < len(s.spans) && s.spans[i].lo <= off
}

// compareKafka compares the checked partition p with what Kafka holds for
// it, fills p.Kafka and adds the Kafka findings to p. It returns an error
// only when Kafka could not be asked.
func (c *checker) compareKafka(p *PartitionReport) error {
	k := c.cfg.kafka
	ko, err := k.Offsets(c.ctx, c.g.topic, c.g.partition)
	if err != nil {
		return fmt.Errorf("kafka offsets of %s/%d: %w", c.g.topic, c.g.partition, err)
	}
	p.Kafka = &ko
	var found []Defect
	add := func(code Code, offset *int64, count int, msg string) {
		found = append(found, Defect{Code: code, Severity: code.Severity(), Topic: c.g.topic, Partition: c.g.partition,
			Offset: offset, Count: max(count, 1), Message: msg})
	}
	if ko.Committed >= 0 {
		switch p.Format {
		case "jsonl":
			if err := c.kafkaMissingJSONL(ko, add); err != nil {
				return err
			}
		case "raw":
			if err := c.kafkaCountRaw(ko, add); err != nil {
				return err
			}
		}
		c.kafkaAhead(p, ko, add)
	}
	if len(found) == 0 {
		return nil
	}
	p.Defects = append(p.Defects, found...)
	slices.SortStableFunc(p.Defects, compareDefects)
	for _, d := range found {
		if d.Severity == SeverityError {
			p.Errors++
		} else {
			p.Warnings++
		}
	}
	return nil
}

// kafkaMissingJSONL lists the records Kafka holds in [log start, committed)
// and reports those the store lacks.
func (c *checker) kafkaMissingJSONL(ko KafkaOffsets, add func(Code, *int64, int, string)) error {
	lo, hi := ko.LogStart, min(ko.Committed, ko.HighWatermark)
	if lo >= hi {
		return nil
	}
	var missing []int64
	n := 0
	note := func(off int64) {
		if !c.seen.contains(off) {
			n++
			if len(missing) < maxListedOffsets {
				missing = append(missing, off)
			}
		}
	}
	if kr, ok := c.cfg.kafka.(KafkaRecords); ok {
		if err := kr.Records(c.ctx, c.g.topic, c.g.partition, lo, hi, note); err != nil {
			return fmt.Errorf("kafka records of %s/%d [%d, %d): %w", c.g.topic, c.g.partition, lo, hi, err)
		}
	} else {
		// Offsets alone: every offset of the range counts as a record.
		for off := lo; off < hi; off++ {
			note(off)
		}
	}
	if n == 0 {
		return nil
	}
	strs := make([]string, len(missing))
	for i, o := range missing {
		strs[i] = strconv.FormatInt(o, 10)
	}
	more := ""
	if n > len(missing) {
		more = ", ..."
	}
	add(CodeMissingInStore, ptr(missing[0]), n, fmt.Sprintf(
		"%s Kafka still holds in [%d, %d) (log start to committed offset) %s not in the store: offsets %s%s",
		plural(int64(n), "record"), lo, hi, isAre(n), strings.Join(strs, ", "), more))
	return nil
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// kafkaCountRaw compares counts for raw data, which carries no offsets:
// records Kafka holds in [max(log start, first object offset), committed)
// against the lines of the objects named for offsets in that range.
func (c *checker) kafkaCountRaw(ko KafkaOffsets, add func(Code, *int64, int, string)) error {
	first := int64(-1)
	for _, o := range c.objs {
		if first < 0 || o.nameOff < first {
			first = o.nameOff
		}
	}
	if first < 0 {
		return nil
	}
	lo, hi := max(ko.LogStart, first), min(ko.Committed, ko.HighWatermark)
	if lo >= hi {
		return nil
	}
	var stored int64
	for i, o := range c.objs {
		if o.nameOff >= lo && o.nameOff < hi {
			stored += c.res[i].lines
		}
	}
	var inKafka int64
	if kr, ok := c.cfg.kafka.(KafkaRecords); ok {
		if err := kr.Records(c.ctx, c.g.topic, c.g.partition, lo, hi, func(int64) { inKafka++ }); err != nil {
			return fmt.Errorf("kafka records of %s/%d [%d, %d): %w", c.g.topic, c.g.partition, lo, hi, err)
		}
	} else {
		inKafka = hi - lo
	}
	if stored < inKafka {
		add(CodeMissingInStore, ptr(lo), int(inKafka-stored), fmt.Sprintf(
			"approximate (raw data carries no offsets): Kafka holds %s in [%d, %d), the objects named for offsets in that range hold %s",
			plural(inKafka, "record"), lo, hi, plural(stored, "line")))
	}
	return nil
}

// kafkaAhead reports stored offsets at or beyond the committed offset: the
// normal state while the trigger has not yet committed a stored batch.
func (c *checker) kafkaAhead(p *PartitionReport, ko KafkaOffsets, add func(Code, *int64, int, string)) {
	var last int64 = -1
	switch {
	case p.ExactOffsets:
		last = p.LastOffset
	default:
		for _, o := range c.objs {
			last = max(last, o.nameOff)
		}
		if c.meta != nil {
			last = max(last, c.meta.Committed)
		}
	}
	if last < ko.Committed {
		return
	}
	n := 0
	if p.ExactOffsets {
		for _, s := range c.seen.spans {
			if s.hi >= ko.Committed {
				n += int(s.hi - max(s.lo, ko.Committed) + 1)
			}
		}
	}
	add(CodeAheadOfCommit, ptr(ko.Committed), n, fmt.Sprintf(
		"the store holds offsets up to %d, at or beyond the group's committed offset %d (normal while the trigger has not yet committed a stored batch; Kafka redelivers them and the sink absorbs them)",
		last, ko.Committed))
}

// probeKafka asks Kafka for the partitions of every topic to check, so that
// an unreachable cluster or a missing topic stops the run before any object
// is read.
func probeKafka(ctx context.Context, cfg *config, groups []*group) error {
	if cfg.kafka == nil {
		return nil
	}
	var topics []string
	for _, g := range groups {
		if !slices.Contains(topics, g.topic) {
			topics = append(topics, g.topic)
		}
	}
	for _, t := range topics {
		ps, err := cfg.kafka.Partitions(ctx, t)
		if err != nil {
			return fmt.Errorf("verify: kafka: partitions of topic %q: %w", t, err)
		}
		for _, g := range groups {
			if g.topic == t && !slices.Contains(ps, g.partition) {
				return fmt.Errorf("verify: kafka: topic %q has no partition %d (it has %d): is it the source cluster?", t, g.partition, len(ps))
			}
		}
	}
	return nil
}
