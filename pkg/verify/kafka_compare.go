package verify

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// contains reports whether off was added to s.
func (s *offsetSet) contains(off int64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].hi >= off })
	return i < len(s.spans) && s.spans[i].lo <= off
}

// compareKafka compares the checked partition p with what Kafka holds for
// it, fills p.Kafka and adds the Kafka findings to p. Only the current
// epoch is compared: older epochs are of a topic Kafka no longer has. It
// returns an error only when Kafka could not be asked.
func (c *checker) compareKafka(p *PartitionReport) error {
	if c.kc.err != nil {
		return c.kc.err
	}
	// The offsets were read before the objects (startKafka): what the
	// group committed then was stored before.
	ko := *c.kc.ko
	p.Kafka = &ko
	var found []Defect
	add := func(d Defect) {
		d.Severity, d.Topic, d.Partition = d.Code.Severity(), c.g.topic, c.g.partition
		d.Count = max(d.Count, 1)
		found = append(found, d)
	}
	if ko.Committed >= 0 && c.cur != nil {
		if err := c.kafkaMissing(p, ko, add); err != nil {
			return err
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

// missingRecords collects the records Kafka holds that the store lacks, as
// ranges of records consecutive in Kafka (offsets in between that hold no
// record do not split a range).
type missingRecords struct {
	l           rangeList
	n           int64
	prevMissing bool
}

func (m *missingRecords) present() { m.prevMissing = false }

func (m *missingRecords) missing(off int64) {
	m.n++
	if m.prevMissing {
		m.l.add(m.l.last, off)
	} else {
		m.l.add(off, off)
	}
	m.prevMissing = true
}

// eachKafkaRecord calls fn with the offset of every record Kafka holds in
// [lo, hi), or of every offset when the Kafka cannot list records, and
// whether the sink was configured to store it (WithExpected).
func (c *config) eachKafkaRecord(ctx context.Context, topic string, partition int32, lo, hi int64, fn func(off int64, expected bool)) error {
	if c.expected != nil {
		// validate made sure the Kafka can read records.
		kr := c.kafka.(KafkaRecordReader)
		err := kr.ReadRecords(ctx, topic, partition, lo, hi, func(r *events.Record) { fn(r.Offset, c.expected(r)) })
		if err != nil {
			return fmt.Errorf("kafka records of %s/%d [%d, %d): %w", topic, partition, lo, hi, err)
		}
		return nil
	}
	if kr, ok := c.kafka.(KafkaRecords); ok {
		if err := kr.Records(ctx, topic, partition, lo, hi, func(off int64) { fn(off, true) }); err != nil {
			return fmt.Errorf("kafka records of %s/%d [%d, %d): %w", topic, partition, lo, hi, err)
		}
		return nil
	}
	for off := lo; off < hi; off++ {
		fn(off, true)
	}
	return nil
}

// legacyRange is the offsets a raw object without an index is taken to
// cover (from its name to the next object's), for which only counts can be
// compared.
type legacyRange struct {
	lo, hi  int64
	lines   int64
	counted bool // its lines are known (it was read)
	inKafka int64
}

// kafkaMissing lists the records Kafka holds in [log start, committed) and
// reports those the store lacks: exactly, by offset, where the objects are
// JSONL or indexed; by counts in the ranges of raw objects without an index.
func (c *checker) kafkaMissing(p *PartitionReport, ko KafkaOffsets, add func(Defect)) error {
	es := c.cur
	lo, hi := ko.LogStart, min(ko.Committed, ko.HighWatermark)
	if lo >= hi {
		return nil
	}
	var legacy []*legacyRange
	for i, o := range es.objs {
		r := &c.res[o.idx]
		if o.size < 0 || r.exact {
			continue
		}
		end := hi - 1
		if i+1 < len(es.objs) && es.objs[i+1].folder == o.folder {
			end = es.objs[i+1].nameOff - 1
		}
		if end >= o.nameOff {
			legacy = append(legacy, &legacyRange{lo: o.nameOff, hi: end, lines: r.records, counted: r.read})
		}
	}
	slices.SortFunc(legacy, func(a, b *legacyRange) int { return cmp.Compare(a.lo, b.lo) })
	inLegacy := func(off int64) *legacyRange {
		i := sort.Search(len(legacy), func(i int) bool { return legacy[i].hi >= off })
		if i < len(legacy) && legacy[i].lo <= off {
			return legacy[i]
		}
		return nil
	}
	var m missingRecords
	err := c.cfg.eachKafkaRecord(c.ctx, c.g.topic, c.g.partition, lo, hi, func(off int64, expected bool) {
		if es.seen.contains(off) {
			m.present()
			return
		}
		if lr := inLegacy(off); lr != nil {
			lr.inKafka++
			m.present()
			return
		}
		if !expected {
			p.Filtered++
			m.present()
			return
		}
		m.missing(off)
	})
	if err != nil {
		return err
	}
	if m.n > 0 {
		also := ""
		if p.Filtered > 0 {
			also = fmt.Sprintf(" (%s that the sink was configured not to store are not counted)", plural(p.Filtered, "record"))
		}
		add(Defect{Code: CodeMissingInStore, Offset: ptr(m.l.list[0].First), Count: int(m.n), Ranges: m.l.ranges(),
			Message: fmt.Sprintf("%s Kafka still holds in [%d, %d) (log start to committed offset) %s not in the store: offsets %s%s",
				plural(m.n, "record"), lo, hi, isAre(m.n), m.l.String(), also)})
	}
	var short, inKafka, lines int64
	var where rangeList
	for _, lr := range legacy {
		if lr.counted && lr.lines < lr.inKafka {
			short += lr.inKafka - lr.lines
			inKafka += lr.inKafka
			lines += lr.lines
			where.add(lr.lo, lr.hi)
		}
	}
	if short > 0 {
		add(Defect{Code: CodeMissingInStore, Offset: ptr(where.list[0].First), Count: int(short), Ranges: where.ranges(),
			Message: fmt.Sprintf("approximate (raw objects without a record index carry no offsets): in offsets %s Kafka holds %s, the raw objects there hold %s: at least %s missing",
				where.String(), plural(inKafka, "record"), plural(lines, "line"), plural(short, "record"))})
	}
	return nil
}

func isAre(n int64) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// kafkaAhead reports stored offsets at or beyond the committed offset: the
// normal state while the trigger has not yet committed a stored batch.
func (c *checker) kafkaAhead(p *PartitionReport, ko KafkaOffsets, add func(Defect)) {
	var last int64 = -1
	switch {
	case p.ExactOffsets:
		last = p.LastOffset
	default:
		for _, o := range c.cur.objs {
			if o.size >= 0 {
				last = max(last, o.nameOff)
			}
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
		for _, s := range c.cur.seen.spans {
			if s.hi >= ko.Committed {
				n += int(s.hi - max(s.lo, ko.Committed) + 1)
			}
		}
	}
	add(Defect{Code: CodeAheadOfCommit, Offset: ptr(ko.Committed), Count: n, Message: fmt.Sprintf(
		"the store holds offsets up to %d, at or beyond the group's committed offset %d (normal while the trigger has not yet committed a stored batch; Kafka redelivers them and the sink absorbs them)",
		last, ko.Committed)})
}

// probeKafka asks Kafka for the partitions of every topic to check (those
// in the store, whichever partitions of them are asked for, and those asked
// for), so that an unreachable cluster or a missing topic stops the run
// before any object is read.
func probeKafka(ctx context.Context, cfg *config, groups []*group, stored []string) (map[string][]int32, error) {
	if cfg.kafka == nil {
		return nil, nil
	}
	var topics []string
	for _, g := range groups {
		if !slices.Contains(topics, g.topic) {
			topics = append(topics, g.topic)
		}
	}
	for _, t := range append(slices.Clone(stored), cfg.topics...) {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	out := map[string][]int32{}
	for _, t := range topics {
		ps, err := cfg.kafka.Partitions(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("verify: kafka: partitions of topic %q: %w", t, err)
		}
		for _, g := range groups {
			if g.topic == t && !slices.Contains(ps, g.partition) {
				return nil, fmt.Errorf("verify: kafka: topic %q has no partition %d (it has %d): is it the source cluster?", t, g.partition, len(ps))
			}
		}
		out[t] = ps
	}
	return out, nil
}

// kafkaAbsent reports the partitions Kafka has, and whose records below
// the group's committed offset it still holds, of which the store holds
// nothing at all: a partition report each, with a missing_in_store error.
func kafkaAbsent(ctx context.Context, cfg *config, kps map[string][]int32, groups []*group, rep *Report) error {
	have := map[tp]bool{}
	for _, g := range groups {
		have[g.tp] = true
	}
	for _, t := range slices.Sorted(maps.Keys(kps)) {
		for _, p := range slices.Sorted(slices.Values(kps[t])) {
			if have[tp{t, p}] || !cfg.wantPartition(p) {
				continue
			}
			ko, err := cfg.kafka.Offsets(ctx, t, p)
			if err != nil {
				return fmt.Errorf("kafka offsets of %s/%d: %w", t, p, err)
			}
			lo, hi := ko.LogStart, min(ko.Committed, ko.HighWatermark)
			if ko.Committed < 0 || lo >= hi {
				continue
			}
			var m missingRecords
			filtered := int64(0)
			err = cfg.eachKafkaRecord(ctx, t, p, lo, hi, func(off int64, expected bool) {
				if expected {
					m.missing(off)
				} else {
					filtered++
					m.present()
				}
			})
			if err != nil {
				return err
			}
			if m.n == 0 {
				continue
			}
			d := Defect{Code: CodeMissingInStore, Severity: CodeMissingInStore.Severity(), Topic: t, Partition: p,
				Offset: ptr(m.l.list[0].First), Count: int(m.n), Ranges: m.l.ranges(),
				Message: fmt.Sprintf("the store holds nothing of this partition (no meta, data or index object under %q), but Kafka still holds %s below the group's committed offset %d: offsets %s",
					cfg.prefix+t+"/", plural(m.n, "record"), ko.Committed, m.l.String())}
			rep.Partitions = append(rep.Partitions, PartitionReport{Topic: t, Partition: p, FirstOffset: -1, LastOffset: -1,
				Epochs: []EpochReport{}, Defects: []Defect{d}, Errors: 1, Kafka: &ko, Filtered: filtered})
		}
	}
	slices.SortFunc(rep.Partitions, func(a, b PartitionReport) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return nil
}
