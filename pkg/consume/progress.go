package consume

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// StoredFunc returns the largest offset of topic/partition that the store
// holds (the partition's meta object's committed offset), -1 when it holds
// none. It is how Run learns what other members of the group, or earlier
// runs, have stored: the group's commits can lag behind the store.
type StoredFunc func(ctx context.Context, topic string, partition int32) (int64, error)

// UntilCaughtUp makes Run return nil once every partition of the topics is
// stored up to the high watermark it had when Run started: stored (read
// with stored, at start and at every progress tick, and learnt from each
// batch this run stores) >= that high watermark - 1, or the partition held
// no record. A topic already stored that far ends Run before it joins the
// group. Records produced after the start are consumed while Run runs but
// not waited for.
func UntilCaughtUp(stored StoredFunc) Option {
	return func(o *options) { o.until, o.stored = true, stored }
}

// StoredOffsets gives Run the store's committed offsets for its progress
// reports without UntilCaughtUp (the lag is then measured against the
// live high watermarks).
func StoredOffsets(stored StoredFunc) Option { return func(o *options) { o.stored = stored } }

// OnProgress calls fn every interval (from a goroutine of its own, never
// concurrently with itself) with the run's progress, at once when a
// rebalance wait begins (Progress.Rebalancing), and once more when Run
// ends, with Final set. interval <= 0: only the final call.
func OnProgress(interval time.Duration, fn func(Progress)) Option {
	return func(o *options) { o.progressEvery, o.progress = interval, fn }
}

// StoreTimeout bounds the store check before consuming (default: the
// ConnectTimeout).
func StoreTimeout(d time.Duration) Option { return func(o *options) { o.storeTimeout = d } }

// PartitionProgress is where one partition stands.
type PartitionProgress struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// LogStart is the smallest offset Kafka held at start.
	LogStart int64 `json:"log_start_offset"`
	// HighWatermark is the target with UntilCaughtUp (the high watermark
	// at start), else the latest one seen.
	HighWatermark int64 `json:"high_watermark"`
	// Stored is the largest offset stored, -1 when none is known.
	Stored int64 `json:"stored_offset"`
	// Lag is the records from Stored to HighWatermark (0 when caught up).
	Lag  int64 `json:"lag"`
	Done bool  `json:"caught_up"`
}

// Progress is a snapshot of Run.
type Progress struct {
	Elapsed time.Duration `json:"-"`
	// Records and Bytes (keys and values) this run stored.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	Batches int   `json:"batches"`
	// Lag is the sum of the partitions' lags.
	Lag int64 `json:"lag"`
	// Joined says this member holds a session of the group now;
	// JoiningFor, when not, how long it has waited to join: a long wait
	// means the group is rebalancing, typically waiting for a previous
	// member whose session has not expired.
	Joined     bool          `json:"joined"`
	JoiningFor time.Duration `json:"-"`
	// GroupState and GroupMembers are the group as its coordinator
	// describes it, asked while this member has been joining for a second
	// or more: "PreparingRebalance" with members means the join waits
	// for them (a previous member whose session has not expired yet).
	GroupState   string `json:"group_state,omitempty"`
	GroupMembers int    `json:"group_members,omitempty"`
	// Rebalancing: not joined, and the join waits for a rebalance (the
	// coordinator says so, or it has taken more than 3s). Reported when
	// it begins, whatever the interval.
	Rebalancing bool                `json:"rebalancing,omitempty"`
	CaughtUp    bool                `json:"caught_up"`
	Final       bool                `json:"-"`
	Partitions  []PartitionProgress `json:"partitions"`
}

// tracker keeps the progress; safe for concurrent use.
type tracker struct {
	o     *options
	start time.Time

	mu         sync.Mutex
	parts      map[tpKey]*PartitionProgress
	records    int64
	bytes      int64
	batches    int
	sessions   int
	joinSince  time.Time
	caughtUp   bool
	onCaughtUp func()
	// The group as last described while joining.
	groupState   string
	groupMembers int
	describing   bool
	// settled[k] is an offset from which the partition holds no data
	// record below its target (only transaction markers, or nothing):
	// stored up to settled-1 counts as caught up.
	settled map[tpKey]int64
	// floor[k] is where the group starts a partition it has no commit
	// for (applyStart): records below are never consumed.
	floor map[tpKey]int64
	// lastStored is each partition's stored offset at the previous check
	// for markers.
	lastStored map[tpKey]int64
}

type tpKey struct {
	topic     string
	partition int32
}

// newTracker reads the partitions' offsets and, when there is a StoredFunc,
// what the store holds.
func newTracker(ctx context.Context, o *options, client sarama.Client) (*tracker, error) {
	t := &tracker{o: o, start: time.Now(), parts: map[tpKey]*PartitionProgress{}, joinSince: time.Now(),
		settled: map[tpKey]int64{}, lastStored: map[tpKey]int64{}, floor: map[tpKey]int64{}}
	for _, topic := range o.topics {
		ps, err := client.Partitions(topic)
		if err != nil {
			return nil, fmt.Errorf("partitions of %q: %w", topic, err)
		}
		for _, p := range ps {
			lo, err := client.GetOffset(topic, p, sarama.OffsetOldest)
			if err != nil {
				return nil, fmt.Errorf("log start offset of %s/%d: %w", topic, p, err)
			}
			hi, err := client.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return nil, fmt.Errorf("high watermark of %s/%d: %w", topic, p, err)
			}
			t.parts[tpKey{topic, p}] = &PartitionProgress{Topic: topic, Partition: p, LogStart: lo, HighWatermark: hi, Stored: -1}
		}
	}
	if err := t.readStored(ctx); err != nil {
		return nil, err
	}
	t.settleMarkers(client)
	return t, nil
}

// readStored asks the store about every partition not caught up.
func (t *tracker) readStored(ctx context.Context) error {
	if t.o.stored == nil {
		return nil
	}
	t.mu.Lock()
	var todo []tpKey
	for k, p := range t.parts {
		if !p.Done {
			todo = append(todo, k)
		}
	}
	t.mu.Unlock()
	for _, k := range todo {
		off, err := t.o.stored(ctx, k.topic, k.partition)
		if err != nil {
			return &StoreError{fmt.Errorf("the store's committed offset of %s/%d: %w", k.topic, k.partition, err)}
		}
		t.setStored(k, off)
	}
	t.check()
	return nil
}

// refreshHighWatermarks reads the live high watermarks (without
// UntilCaughtUp, whose target stays fixed).
func (t *tracker) refreshHighWatermarks(client sarama.Client) {
	if t.o.until {
		return
	}
	t.mu.Lock()
	keys := make([]tpKey, 0, len(t.parts))
	for k := range t.parts {
		keys = append(keys, k)
	}
	t.mu.Unlock()
	for _, k := range keys {
		hi, err := client.GetOffset(k.topic, k.partition, sarama.OffsetNewest)
		if err != nil {
			continue // the next tick tries again; progress is informational
		}
		t.mu.Lock()
		t.parts[k].HighWatermark = hi
		t.mu.Unlock()
	}
}

func (t *tracker) setStored(k tpKey, off int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.parts[k]; p != nil && off > p.Stored {
		p.Stored = off
	}
}

// batchStored records a batch this run stored.
func (t *tracker) batchStored(topic string, partition int32, last int64, records int, bytes int64) {
	t.mu.Lock()
	t.records += int64(records)
	t.bytes += bytes
	t.batches++
	t.mu.Unlock()
	t.setStored(tpKey{topic, partition}, last)
	t.check()
}

func (t *tracker) joined() {
	t.mu.Lock()
	t.groupState, t.groupMembers = "", 0
	t.sessions++
	t.mu.Unlock()
}

func (t *tracker) left() {
	t.mu.Lock()
	t.sessions--
	if t.sessions == 0 {
		t.joinSince = time.Now()
	}
	t.mu.Unlock()
}

// check marks the partitions caught up and, with UntilCaughtUp, calls
// onCaughtUp once all are.
func (t *tracker) check() {
	t.mu.Lock()
	all := true
	for k, p := range t.parts {
		s, ok := t.settled[k]
		p.Done = p.HighWatermark <= max(p.LogStart, t.floor[k]) || p.Stored >= p.HighWatermark-1 || ok && p.Stored+1 >= s
		all = all && p.Done
	}
	fire := t.o.until && all && !t.caughtUp
	if fire {
		t.caughtUp = true
	}
	cb := t.onCaughtUp
	t.mu.Unlock()
	if fire && cb != nil {
		cb()
	}
}

func (t *tracker) isCaughtUp() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.caughtUp
}

// snapshot returns the progress now.
func (t *tracker) snapshot(final bool) Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	pr := Progress{Elapsed: time.Since(t.start), Records: t.records, Bytes: t.bytes, Batches: t.batches,
		Joined: t.sessions > 0, CaughtUp: t.caughtUp, Final: final}
	if !pr.Joined {
		pr.JoiningFor = time.Since(t.joinSince)
		pr.GroupState, pr.GroupMembers = t.groupState, t.groupMembers
		pr.Rebalancing = pr.JoiningFor >= rebalanceAfter || pr.GroupState == "PreparingRebalance" && pr.GroupMembers > 1
	}
	for k, p := range t.parts {
		c := *p
		c.Lag = 0
		if next := max(c.Stored+1, c.LogStart, t.floor[k]); c.HighWatermark > next && !c.Done {
			c.Lag = c.HighWatermark - next
		}
		pr.Lag += c.Lag
		pr.Partitions = append(pr.Partitions, c)
	}
	sort.Slice(pr.Partitions, func(i, j int) bool {
		a, b := pr.Partitions[i], pr.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return pr
}

// report calls the progress function every interval until ctx ends.
func (t *tracker) report(ctx context.Context, client sarama.Client) {
	every := t.o.progressEvery
	if t.o.progress == nil {
		every = 0
	}
	if every <= 0 && !t.o.until {
		return
	}
	// The store and Kafka are read at every report, or every storePoll
	// without reports (UntilCaughtUp must learn what other members
	// store); the group's state is looked at every second, so that a
	// rebalance wait is reported when it begins, not at the next report.
	poll := every
	if poll <= 0 {
		poll = storePoll
	}
	tick := time.NewTicker(min(time.Second, poll))
	defer tick.Stop()
	lastPoll, lastReport := time.Now(), time.Now()
	said := false // the current rebalance wait was reported
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.describeGroup(client)
		now := time.Now()
		if now.Sub(lastPoll) >= poll {
			lastPoll = now
			if err := t.readStored(ctx); err != nil && ctx.Err() == nil {
				t.o.log.Warn().Err(err).Msg("reading the store's offsets failed; trying again at the next look")
			}
			t.refreshHighWatermarks(client)
			t.settleMarkers(client)
			t.check()
		}
		if ctx.Err() != nil {
			return
		}
		if every <= 0 {
			continue
		}
		snap := t.snapshot(false)
		due := now.Sub(lastReport) >= every || snap.Rebalancing && !said
		said = snap.Rebalancing
		if due {
			lastReport = now
			t.o.progress(snap)
		}
	}
}

// storePoll is how often UntilCaughtUp reads the store without progress
// reports.
const storePoll = 5 * time.Second

// rebalanceAfter is how long joining the group may take before Progress
// calls it a rebalance wait: a first join takes well under a second; a
// longer one waits for the members of the last generation, one of which
// (a previous run killed without leaving) is kept until its session
// times out.
const rebalanceAfter = 3 * time.Second

// maxMarkerLag bounds the lag for which settleMarkers looks: a
// transactional producer leaves one marker per transaction after its
// records, so a partition stored up to its last data record lags by a few.
const maxMarkerLag = 100

// settleMarkers looks, with UntilCaughtUp, at every partition not caught
// up whose lag is small and whose stored offset did not move since the
// last look: if what remains below the target holds no data record
// (transaction markers, which no consumer is given, or offsets compacted
// away), the partition counts as caught up; else nothing changes.
func (t *tracker) settleMarkers(client sarama.Client) {
	if !t.o.until {
		return
	}
	type look struct {
		k        tpKey
		from, to int64
	}
	var looks []look
	t.mu.Lock()
	for k, p := range t.parts {
		from := max(p.Stored+1, p.LogStart, t.floor[k])
		last, seen := t.lastStored[k]
		t.lastStored[k] = p.Stored
		_, settled := t.settled[k]
		if p.Done || settled || p.HighWatermark-from > maxMarkerLag || seen && last != p.Stored {
			continue
		}
		looks = append(looks, look{k, from, p.HighWatermark})
	}
	t.mu.Unlock()
	for _, l := range looks {
		if noDataRecords(client, l.k.topic, l.k.partition, l.from, l.to) {
			t.mu.Lock()
			t.settled[l.k] = l.from
			t.mu.Unlock()
			t.o.log.Info().Str("topic", l.k.topic).Int32("partition", l.k.partition).Int64("from", l.from).Int64("to", l.to).
				Msg("no data record left below the high watermark at start (transaction markers): caught up")
		}
	}
}

// noDataRecords reports whether one fetch shows that topic/partition holds
// no data record in [from, to): only control batches (transaction
// markers), or none, up to to. False when the fetch cannot tell (an error,
// a response that does not reach to, an old message format).
func noDataRecords(client sarama.Client, topic string, partition int32, from, to int64) bool {
	leader, err := client.Leader(topic, partition)
	if err != nil {
		return false
	}
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 0, MinBytes: 0, MaxBytes: 64 << 10, Isolation: sarama.ReadUncommitted}
	req.AddBlock(topic, partition, from, 64<<10, -1)
	resp, err := leader.Fetch(req)
	if err != nil {
		return false
	}
	b := resp.GetBlock(topic, partition)
	if b == nil || !errors.Is(b.Err, sarama.ErrNoError) {
		return false
	}
	reached := from
	for _, rs := range b.RecordsSet {
		rb := rs.RecordBatch
		if rb == nil || rb.PartialTrailingRecord {
			return false
		}
		if rb.FirstOffset >= to {
			return true // nothing in [reached, to): gaps
		}
		if !rb.Control {
			for _, r := range rb.Records {
				if off := rb.FirstOffset + r.OffsetDelta; off >= from && off < to {
					return false
				}
			}
		}
		if reached = max(reached, rb.FirstOffset+int64(rb.LastOffsetDelta)+1); reached >= to {
			return true
		}
	}
	return false
}

// describeGroup asks the coordinator, in the background, how the group
// stands while this member has been joining for a second or more
// (informational: an error leaves the last answer). In the background
// because a coordinator may hold the answer until the rebalance ends
// (kfake does), which must not hold up the reports.
func (t *tracker) describeGroup(client sarama.Client) {
	t.mu.Lock()
	ask := t.sessions == 0 && time.Since(t.joinSince) >= time.Second && !t.describing
	t.describing = t.describing || ask
	t.mu.Unlock()
	if !ask {
		return
	}
	go func() {
		state, members := "", 0
		if coord, err := client.Coordinator(t.o.group); err == nil {
			resp, err := coord.DescribeGroups(&sarama.DescribeGroupsRequest{Groups: []string{t.o.group}})
			if err == nil && len(resp.Groups) == 1 && errors.Is(resp.Groups[0].Err, sarama.ErrNoError) {
				state, members = resp.Groups[0].State, len(resp.Groups[0].Members)
			}
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		t.describing = false
		if state != "" && t.sessions == 0 {
			t.groupState, t.groupMembers = state, members
		}
	}()
}
