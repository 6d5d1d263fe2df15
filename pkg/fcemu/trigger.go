package fcemu

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
)

// Record is one Kafka record as the trigger sees it: where it is.
type Record struct {
	Partition int32
	Offset    int64
}

// TriggerConfig configures a Trigger. Zero fields take the defaults named.
type TriggerConfig struct {
	// Streams holds each partition's offsets, ascending (gaps allowed).
	Streams map[int32][]int64
	// Render turns a batch (per-partition order kept, partitions
	// interleaved) into an invocation payload, e.g. a CloudEvents array.
	// It is called from Run's goroutine.
	Render func(batch []Record) []byte
	// Seed seeds the RNG that draws boundaries, partitions and
	// interleavings: the same Seed and results give the same batches.
	Seed uint64
	// MaxBatch bounds the new records of one partition in one batch. Default 25.
	MaxBatch int
	// Rewind: a redelivery of a partition starts up to this many records
	// before its first unacknowledged one (at it, for a first delivery).
	// Default 3; negative means 0.
	Rewind int
	// Skip is the chance that a partition with records left sits out a
	// round (so batches mix partitions differently). Default 0.25;
	// negative means never.
	Skip float64
	// Concurrency is how many invocations a round sends at once, each for
	// a disjoint set of partitions: one batch per partition in flight, as
	// the trigger does. Default 1.
	Concurrency int
	// MaxAttempts bounds the failed deliveries in a row of one partition:
	// Run fails when a partition reaches it. Default 20.
	MaxAttempts int
	// BeforeInvoke, if set, is called before each invocation (and before
	// Render renders its batch), from Run's goroutine; it may add d.Opts.
	BeforeInvoke func(d *Delivery)
	// AfterInvoke, if set, is called after each invocation, from Run's
	// goroutine, in invocation order; an error stops Run.
	AfterInvoke func(d Delivery) error
}

// Delivery is one invocation of the trigger.
type Delivery struct {
	N          int // 1-based, in the order invocations were built
	Batch      []Record
	RetryCount int // x-fc-retry-count: failed deliveries in a row of its partitions (the most of any)
	Opts       []InvokeOpt
	Result     Result
}

// TriggerStats counts a trigger's invocations.
type TriggerStats struct {
	Invocations int
	OK          int
	Errors      int
	Timeouts    int
	Lost        int
	Records     int            // records sent, redeliveries included
	ErrorTypes  map[string]int // errorType of failed invocations ("" for timeouts and lost ones)
}

// Trigger plays FC's Kafka trigger over an Emulator: it sends the records
// of every stream in batches with random boundaries, several partitions
// interleaved in a batch with each partition's order kept, and on a failed
// or timed-out invocation redelivers the failed partitions from at or
// before their first unacknowledged record, with other boundaries and
// x-fc-retry-count bumped, until every record is acknowledged. A successful
// invocation acknowledges every record of its batch.
type Trigger struct {
	emu   *Emulator
	cfg   TriggerConfig
	rng   *rand.Rand
	parts []int32
	acked map[int32]int // index of the first unacknowledged record
	fails map[int32]int // failed deliveries in a row
	n     int
	stats TriggerStats
}

// NewTrigger checks cfg and returns a trigger that invokes through emu.
func NewTrigger(emu *Emulator, cfg TriggerConfig) (*Trigger, error) {
	var errs []error
	if emu == nil {
		errs = append(errs, errors.New("no emulator"))
	}
	if cfg.Render == nil {
		errs = append(errs, errors.New("no Render function"))
	}
	for p, offs := range cfg.Streams {
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				errs = append(errs, fmt.Errorf("partition %d: offset %d follows %d", p, offs[i], offs[i-1]))
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fcemu: trigger: %w", err)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 25
	}
	if cfg.Rewind == 0 {
		cfg.Rewind = 3
	}
	cfg.Rewind = max(cfg.Rewind, 0)
	if cfg.Skip == 0 {
		cfg.Skip = 0.25
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	return &Trigger{
		emu: emu, cfg: cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x6663656d75)),
		parts: slices.Sorted(maps.Keys(cfg.Streams)),
		acked: map[int32]int{}, fails: map[int32]int{},
		stats: TriggerStats{ErrorTypes: map[string]int{}},
	}, nil
}

// Done reports whether every record has been acknowledged.
func (t *Trigger) Done() bool {
	for _, p := range t.parts {
		if t.acked[p] < len(t.cfg.Streams[p]) {
			return false
		}
	}
	return true
}

// Acked returns how many records of partition p are acknowledged.
func (t *Trigger) Acked(p int32) int { return t.acked[p] }

// Stats returns the counts so far.
func (t *Trigger) Stats() TriggerStats {
	s := t.stats
	s.ErrorTypes = maps.Clone(t.stats.ErrorTypes)
	return s
}

// Run delivers until every record is acknowledged. It fails if a partition
// fails MaxAttempts deliveries in a row, if AfterInvoke returns an error, or
// if ctx ends.
func (t *Trigger) Run(ctx context.Context) (TriggerStats, error) {
	for !t.Done() {
		if err := t.round(ctx); err != nil {
			return t.Stats(), err
		}
	}
	return t.Stats(), nil
}

// pending is one batch of a round.
type pending struct {
	d    Delivery
	ends map[int32]int // index after the partition's last record in the batch
	err  error
}

// round sends one batch to each of up to Concurrency groups of partitions
// and applies the results.
func (t *Trigger) round(ctx context.Context) error {
	var open, chosen []int32
	for _, p := range t.parts {
		if t.acked[p] < len(t.cfg.Streams[p]) {
			open = append(open, p)
		}
	}
	for _, p := range open {
		if t.rng.Float64() >= t.cfg.Skip {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) == 0 {
		chosen = []int32{open[t.rng.IntN(len(open))]}
	}
	t.rng.Shuffle(len(chosen), func(i, j int) { chosen[i], chosen[j] = chosen[j], chosen[i] })
	groups := make([][]int32, min(t.cfg.Concurrency, len(chosen)))
	for i, p := range chosen {
		groups[i%len(groups)] = append(groups[i%len(groups)], p)
	}

	batches := make([]*pending, len(groups))
	for g, parts := range groups {
		batches[g] = t.build(parts)
		if t.cfg.BeforeInvoke != nil {
			t.cfg.BeforeInvoke(&batches[g].d)
		}
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		payload := t.cfg.Render(b.d.Batch)
		opts := append([]InvokeOpt{RetryCount(b.d.RetryCount)}, b.d.Opts...)
		wg.Go(func() { b.d.Result, b.err = t.emu.Invoke(ctx, payload, opts...) })
	}
	wg.Wait()

	var errs []error
	for _, b := range batches {
		if b.err != nil {
			errs = append(errs, fmt.Errorf("fcemu: trigger: invocation %d: %w", b.d.N, b.err))
			continue
		}
		if err := t.apply(b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// build draws the batch of one group of partitions.
func (t *Trigger) build(parts []int32) *pending {
	t.n++
	b := &pending{d: Delivery{N: t.n}, ends: map[int32]int{}}
	queues := make([][]Record, 0, len(parts))
	for _, p := range parts {
		offs := t.cfg.Streams[p]
		start := t.acked[p]
		if t.fails[p] > 0 {
			start = max(0, start-t.rng.IntN(t.cfg.Rewind+1))
		}
		end := min(len(offs), t.acked[p]+1+t.rng.IntN(t.cfg.MaxBatch))
		q := make([]Record, 0, end-start)
		for _, o := range offs[start:end] {
			q = append(q, Record{p, o})
		}
		queues = append(queues, q)
		b.ends[p] = end
		b.d.RetryCount = max(b.d.RetryCount, t.fails[p])
	}
	// Interleave: repeatedly take the next record of a random partition.
	for len(queues) > 0 {
		i := t.rng.IntN(len(queues))
		b.d.Batch = append(b.d.Batch, queues[i][0])
		if queues[i] = queues[i][1:]; len(queues[i]) == 0 {
			queues = slices.Delete(queues, i, i+1)
		}
	}
	return b
}

// apply acknowledges a successful batch or counts a failure against its
// partitions.
func (t *Trigger) apply(b *pending) error {
	r := b.d.Result
	t.stats.Invocations++
	t.stats.Records += len(b.d.Batch)
	switch r.Status {
	case StatusOK:
		t.stats.OK++
	case StatusError:
		t.stats.Errors++
	case StatusTimeout:
		t.stats.Timeouts++
	case StatusLost:
		t.stats.Lost++
	}
	if r.Failed() {
		t.stats.ErrorTypes[r.ErrorType]++
	}
	var errs []error
	if t.cfg.AfterInvoke != nil {
		if err := t.cfg.AfterInvoke(b.d); err != nil {
			errs = append(errs, fmt.Errorf("fcemu: trigger: invocation %d: %w", b.d.N, err))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(b.ends)) {
		if !r.Failed() {
			t.acked[p] = max(t.acked[p], b.ends[p])
			t.fails[p] = 0
			continue
		}
		if t.fails[p]++; t.fails[p] >= t.cfg.MaxAttempts {
			errs = append(errs, fmt.Errorf("fcemu: trigger: partition %d: %d deliveries in a row failed, the last: %s", p, t.fails[p], r))
		}
	}
	return errors.Join(errs...)
}
