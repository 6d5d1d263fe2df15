package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Sink writes batches of records into a Store. It holds only configuration:
// all state lives in the store, so one Sink may serve concurrent Write calls.
type Sink struct {
	cfg  config
	bufs *bufCache
	// comps keeps the compressors of today's codec from one Write to the
	// next, and bounds them (see compCache).
	comps *compCache
	// large bounds the partitions reading large ranges at once, across
	// concurrent Write and SealIdle calls (MaxLargeReaders).
	large chan struct{}
}

// New returns a Sink configured by opts.
func New(opts ...Option) (*Sink, error) {
	cfg := defaultCfg()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.finalizeSet {
		cfg.enc.Final = cfg.finalize
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return &Sink{cfg: cfg, bufs: &bufCache{max: cfg.bufferCache}, comps: newCompCache(cfg.enc.Codec, compCacheSize(cfg.concurrency)),
		large: make(chan struct{}, min(cfg.concurrency, MaxLargeReaders))}, nil
}

// Summary reports what one Write did.
type Summary struct {
	Records    int `json:"records"`    // records in the batch
	Written    int `json:"written"`    // appended by this call
	Recovered  int `json:"recovered"`  // found already written by an earlier, failed attempt
	Adopted    int `json:"adopted"`    // found stored although not in this batch (see PartitionSummary)
	Skipped    int `json:"skipped"`    // in this batch, passed over by an earlier attempt (see PartitionSummary)
	Duplicates int `json:"duplicates"` // at or below the committed offset, or repeated in the batch
	Filtered   int `json:"filtered"`   // dropped by the filter (SINK_FILTER), committed
	Invalid    int `json:"invalid"`    // not routable, stored in invalidRuleData/ (SINK_INVALID=folder)
	// InvalidDropped counts records not routable and dropped
	// (SINK_INVALID=drop), committed.
	InvalidDropped int `json:"invalid_dropped"`
	// SeparatorValues counts the raw values written that hold '\n', which
	// only the record index tells apart from record boundaries.
	SeparatorValues int `json:"separator_values"`
	// Finalized counts data objects written from staged records (Parquet)
	// when sealed; Unfinalized those left for the next batch (failed).
	Finalized   int                `json:"finalized"`
	Unfinalized int                `json:"unfinalized"`
	Bytes       int64              `json:"bytes"` // bytes appended by this call
	Requests    int                `json:"oss_requests"`
	DurationMS  int64              `json:"duration_ms"`
	Partitions  []PartitionSummary `json:"partitions"`
	Error       string             `json:"error,omitempty"`
}

// PartitionSummary reports what one Write did to one topic-partition.
type PartitionSummary struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Records   int    `json:"records"`
	Written   int    `json:"written"`
	Recovered int    `json:"recovered"`
	// Adopted counts records an earlier attempt stored that this batch did
	// not carry: a batch the trigger gave up on after its appends landed,
	// or records beyond a shorter redelivery. They are now in the state.
	Adopted int `json:"adopted"`
	// Skipped counts records of this batch that an earlier attempt passed
	// over, storing records after them: the trigger gave up on a batch
	// holding them (they are in its dead-letter queue) and a redelivery
	// reached back to them. They are not written: that would break offset
	// order.
	Skipped         int      `json:"skipped"`
	Duplicates      int      `json:"duplicates"`
	Filtered        int      `json:"filtered"`
	Invalid         int      `json:"invalid"`
	InvalidDropped  int      `json:"invalid_dropped"`
	SeparatorValues int      `json:"separator_values"`
	Finalized       int      `json:"finalized"`
	Unfinalized     int      `json:"unfinalized"`
	FirstOffset     int64    `json:"first_offset"` // smallest offset in the batch
	LastOffset      int64    `json:"last_offset"`  // largest offset in the batch
	Committed       int64    `json:"committed_offset"`
	Bytes           int64    `json:"bytes"`
	Objects         []string `json:"objects"` // data objects written to, in order
	Requests        int      `json:"oss_requests"`
	DurationMS      int64    `json:"duration_ms"`
	Error           string   `json:"error,omitempty"`
}

// ErrDeadline: Write stopped before the context's deadline (less the
// margin) so that the partition's state stays consistent; the batch must be
// redelivered.
var ErrDeadline = errors.New("stopped before the invocation deadline")

type tpKey struct {
	topic     string
	partition int32
}

// Write stores records, exactly once per offset across every retry of the
// same records: records at or below a partition's committed offset, and
// repeated offsets in the batch, are skipped. Partitions are independent;
// Write returns an error if any partition failed, after the others finished,
// and the Summary says which.
//
// records must be fully decoded and valid: Write performs no validation of
// its own beyond what the protocol needs, and writes nothing if records is
// empty. It does not modify records.
func (s *Sink) Write(ctx context.Context, st store.Store, records []events.Record) (*Summary, error) {
	start := time.Now()
	sum := &Summary{Records: len(records), Partitions: []PartitionSummary{}}
	if len(records) == 0 {
		return sum, nil
	}
	// The batch's Sync runs after the work, so it gets the invocation's
	// own deadline, not the margin-shortened one that stops new requests.
	syncCtx := ctx
	if dl, ok := ctx.Deadline(); ok && s.cfg.deadlineMargin > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-s.cfg.deadlineMargin), ErrDeadline)
		defer cancel()
	}
	log := s.logger(ctx)

	jobs := s.split(records)
	sum.Partitions = make([]PartitionSummary, len(jobs))
	errs := make([]error, len(jobs))
	// A store that makes writes durable in groups (the local directory)
	// gives each partition a view of one batch, synced below before
	// anything is reported written (see the package doc, "Durability").
	var batch store.Batch
	if b, ok := st.(store.Batcher); ok {
		batch = b.NewBatch()
	}
	sem := make(chan struct{}, s.cfg.concurrency)
	var wg sync.WaitGroup
	for i, g := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pst := st
			if batch != nil {
				pst = batch.View()
			}
			j := &partitionJob{cfg: &s.cfg, bufs: s.bufs, comps: s.comps, st: &guardedStore{st: pst, large: s.large}, topic: g.recs[0].Topic, partition: g.recs[0].Partition, recs: g.recs, batchDups: g.dups, batchLen: g.n, start: time.Now(), committed: -1}
			j.log = log.With().Str("topic", j.topic).Int32("partition", j.partition).Logger()
			// The topic is a key segment: one Kafka cannot name must never
			// reach a key (the decoder refuses it too).
			if err := events.CheckTopic(j.topic); err != nil {
				errs[i] = fmt.Errorf("record at offset %d: %w", j.recs[0].Offset, err)
			} else {
				errs[i] = j.run(ctx)
			}
			sum.Partitions[i] = j.summary(errs[i])
		}()
	}
	wg.Wait()
	if batch != nil {
		if err := batch.Sync(syncCtx); err != nil {
			// Written but of unknown durability: not written, as far as
			// the trigger is told; its redelivery recovers what is there.
			for i := range errs {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("make the partition's writes durable: %w", err)
					sum.Partitions[i].Error = errs[i].Error()
				}
			}
		}
	}

	for i := range sum.Partitions {
		p := &sum.Partitions[i]
		sum.Written += p.Written
		sum.Recovered += p.Recovered
		sum.Adopted += p.Adopted
		sum.Skipped += p.Skipped
		sum.SeparatorValues += p.SeparatorValues
		sum.Finalized += p.Finalized
		sum.Unfinalized += p.Unfinalized
		sum.Duplicates += p.Duplicates
		sum.Filtered += p.Filtered
		sum.Invalid += p.Invalid
		sum.InvalidDropped += p.InvalidDropped
		sum.Bytes += p.Bytes
		sum.Requests += p.Requests
		if errs[i] != nil {
			errs[i] = fmt.Errorf("%s/%d: %w", p.Topic, p.Partition, errs[i])
		}
	}
	sum.DurationMS = time.Since(start).Milliseconds()
	err := errors.Join(errs...)
	if err != nil {
		sum.Error = err.Error()
	}
	return sum, err
}

func (s *Sink) logger(ctx context.Context) zerolog.Logger {
	if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
		return *l
	}
	return s.cfg.log
}

// split groups records by topic-partition, in order of first appearance, and
// sorts each group by offset, dropping repeated offsets (the first copy wins:
// a redelivered record is the same record).
func (s *Sink) split(records []events.Record) []group {
	index := map[tpKey]int{}
	var groups []group
	for i := range records {
		r := &records[i]
		k := tpKey{r.Topic, r.Partition}
		g, ok := index[k]
		if !ok {
			g = len(groups)
			index[k] = g
			groups = append(groups, group{})
		}
		groups[g].recs = append(groups[g].recs, r)
	}
	for i := range groups {
		g := &groups[i]
		g.n = len(g.recs)
		if !slices.IsSortedFunc(g.recs, byOffset) {
			slices.SortStableFunc(g.recs, byOffset)
		}
		g.recs = slices.CompactFunc(g.recs, func(a, b *events.Record) bool { return a.Offset == b.Offset })
		g.dups = g.n - len(g.recs)
	}
	return groups
}

// group is the records of one topic-partition in a batch.
type group struct {
	recs []*events.Record // sorted by offset, no repeats
	n    int              // records in the batch, repeats included
	dups int              // repeats dropped
}

func byOffset(a, b *events.Record) int {
	switch {
	case a.Offset < b.Offset:
		return -1
	case a.Offset > b.Offset:
		return 1
	}
	return 0
}
