package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrIdleOff: SealIdle was called on a Sink without WithFlushIdle.
var ErrIdleOff = errors.New("idle sealing is off (SINK_FLUSH_IDLE is not set)")

// IdlePartition reports what SealIdle did to one topic-partition.
type IdlePartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Folders counts the open objects the meta object records.
	Folders int `json:"folders"`
	// Sealed lists the idle objects this call sealed (the timer's seal
	// entry is in their index, or an identical one: a retry's).
	Sealed []string `json:"sealed"`
	// Raced lists idle objects whose seal the index's fence refused: a
	// data invocation decided first (an append or a seal of its own), or
	// an attempt the trigger gave up on left entries that a data batch must
	// settle first. They are not sealed; nothing is wrong.
	Raced       []string `json:"raced,omitempty"`
	Finalized   int      `json:"finalized"`
	Unfinalized int      `json:"unfinalized"`
	Requests    int      `json:"oss_requests"`
	Error       string   `json:"error,omitempty"`
}

// IdleSummary reports what SealIdleTopics did.
type IdleSummary struct {
	// Now is the time idleness was measured against.
	Now       time.Time `json:"now"`
	FlushIdle string    `json:"flush_idle"`
	Topics    []string  `json:"topics"`
	// Partitions counts the meta objects found and checked.
	Partitions  int   `json:"partitions"`
	Folders     int   `json:"folders"`
	Sealed      int   `json:"sealed"`
	Finalized   int   `json:"finalized"`
	Unfinalized int   `json:"unfinalized"`
	Raced       int   `json:"raced"`
	Errors      int   `json:"errors"`
	Requests    int   `json:"oss_requests"`
	DurationMS  int64 `json:"duration_ms"`
	// Details lists the partitions where something was sealed, finalized,
	// refused or failed (a quiet partition is only counted).
	Details []IdlePartition `json:"details"`
	Error   string          `json:"error,omitempty"`
}

// FlushIdle returns the idle time of WithFlushIdle (0: off).
func (s *Sink) FlushIdle() time.Duration { return s.cfg.flushIdle }

// SealIdleTopics runs SealIdle on every partition of topics that has a
// meta object, found by a listing narrowed to the topic's meta objects
// ({prefix}{topic}/.oss_meta_file_partition_, one request per 1,000
// partitions), WithConcurrency partitions at a time. Partitions are
// independent: it returns an error if any failed, after the others
// finished, and the summary says which.
func (s *Sink) SealIdleTopics(ctx context.Context, st store.Store, topics []string, now time.Time) (*IdleSummary, error) {
	start := time.Now()
	sum := &IdleSummary{Now: now.UTC(), FlushIdle: s.cfg.flushIdle.String(), Topics: topics, Details: []IdlePartition{}}
	if s.cfg.flushIdle <= 0 {
		return sum, ErrIdleOff
	}
	if dl, ok := ctx.Deadline(); ok && s.cfg.deadlineMargin > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-s.cfg.deadlineMargin), ErrDeadline)
		defer cancel()
	}
	type part struct {
		topic     string
		partition int32
	}
	var (
		parts []part
		errs  []error
	)
	lst := &guardedStore{st: st}
	for _, topic := range topics {
		ps, err := s.metaPartitions(ctx, lst, topic)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			parts = append(parts, part{topic, p})
		}
	}
	res := make([]*IdlePartition, len(parts))
	perrs := make([]error, len(parts))
	sem := make(chan struct{}, s.cfg.concurrency)
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[i], perrs[i] = s.sealIdle(ctx, st, p.topic, p.partition, now)
		}()
	}
	wg.Wait()

	sum.Requests = lst.requests
	sum.Partitions = len(parts)
	for i, r := range res {
		sum.Folders += r.Folders
		sum.Sealed += len(r.Sealed)
		sum.Raced += len(r.Raced)
		sum.Finalized += r.Finalized
		sum.Unfinalized += r.Unfinalized
		sum.Requests += r.Requests
		if perrs[i] != nil {
			sum.Errors++
			errs = append(errs, fmt.Errorf("%s/%d: %w", r.Topic, r.Partition, perrs[i]))
		}
		if len(r.Sealed) > 0 || len(r.Raced) > 0 || r.Finalized > 0 || r.Unfinalized > 0 || r.Error != "" {
			sum.Details = append(sum.Details, *r)
		}
	}
	sum.DurationMS = time.Since(start).Milliseconds()
	err := errors.Join(errs...)
	if err != nil {
		sum.Error = err.Error()
	}
	return sum, err
}

// metaPartitions lists the partitions of topic that have a meta object,
// page by page under the narrow prefix of its meta objects (nothing else
// of the topic is listed).
func (s *Sink) metaPartitions(ctx context.Context, st store.Store, topic string) ([]int32, error) {
	if err := events.CheckTopic(topic); err != nil {
		return nil, fmt.Errorf("topic %q: %w", topic, err)
	}
	prefix := strings.TrimSuffix(MetaKey(s.cfg.prefix, topic, 0), "0")
	var out []int32
	after := ""
	for {
		page, more, err := st.ListPage(ctx, prefix, after, 0)
		if err != nil {
			return nil, fmt.Errorf("list the meta objects of topic %s (%s*): %w", topic, prefix, err)
		}
		for _, info := range page {
			// Only the exact name the sink writes: a look-alike
			// (".oss_meta_file_partition_3.bak") is not a partition's.
			n, err := strconv.ParseInt(strings.TrimPrefix(info.Key, prefix), 10, 32)
			if err == nil && n >= 0 && MetaKey(s.cfg.prefix, topic, int32(n)) == info.Key {
				out = append(out, int32(n))
			}
		}
		if !more || len(page) == 0 {
			break
		}
		after = page[len(page)-1].Key
	}
	slices.Sort(out)
	return out, nil
}

// SealIdle seals the idle open objects of one topic-partition: those with
// records whose last append (Folder.AppendedAt, else the meta object's
// updated_at) is WithFlushIdle or more before now. It never writes a
// record and never moves the committed offset; see the package doc, "Idle
// sealing", for why it is safe against data invocations racing it.
//
// For each idle object it writes a seal entry at the index length the meta
// object records, naming the next object for the record after the last,
// as a seal of a full object does. The index's fence decides: refused, the
// object is not sealed (IdlePartition.Raced). Then, if anything was
// sealed, it reads the meta object again and writes it with each sealed
// object's successor as its folder's current object, where the folder is
// still as the seal found it (and staged objects listed to finalize), and
// finalizes as Write does. A retry, or two SealIdle calls at once, find
// their own seal entry in place and finish the same way.
func (s *Sink) SealIdle(ctx context.Context, st store.Store, topic string, partition int32, now time.Time) (*IdlePartition, error) {
	if s.cfg.flushIdle <= 0 {
		return &IdlePartition{Topic: topic, Partition: partition, Sealed: []string{}}, ErrIdleOff
	}
	if dl, ok := ctx.Deadline(); ok && s.cfg.deadlineMargin > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, dl.Add(-s.cfg.deadlineMargin), ErrDeadline)
		defer cancel()
	}
	return s.sealIdle(ctx, st, topic, partition, now)
}

func (s *Sink) sealIdle(ctx context.Context, st store.Store, topic string, partition int32, now time.Time) (*IdlePartition, error) {
	res := &IdlePartition{Topic: topic, Partition: partition, Sealed: []string{}}
	j := &partitionJob{cfg: &s.cfg, bufs: s.bufs, comps: s.comps, st: &guardedStore{st: st, large: s.large}, topic: topic, partition: partition,
		start: time.Now(), committed: -1, staging: true}
	j.log = s.logger(ctx).With().Str("topic", topic).Int32("partition", partition).Logger()
	defer j.release()
	err := j.sealIdle(ctx, now, res)
	res.Finalized, res.Unfinalized, res.Requests = j.finalized, j.unfinalized, j.st.requests
	if err != nil {
		res.Error = err.Error()
	}
	return res, err
}

func (j *partitionJob) sealIdle(ctx context.Context, now time.Time, res *IdlePartition) error {
	if err := events.CheckTopic(j.topic); err != nil {
		return err
	}
	m, err := j.readMeta(ctx)
	if m == nil || err != nil {
		return err
	}
	j.epoch, j.committed = m.Epoch, m.Committed
	res.Folders = len(m.Folders)
	var errs []error
	// seals: the folders sealed, as the meta object recorded them before
	// (what the seal was decided on) and their successors.
	type seal struct{ was, next Folder }
	seals := map[string]seal{}
	for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
		f := m.Folders[name]
		if f.Records == 0 || f.Legacy {
			// Nothing known stored (a seal's successor, an announced
			// object), or an object without an index (a data batch seals
			// it). An object that holds records the state does not know
			// of yet (a late meta PUT) waits for the next data batch.
			continue
		}
		last := idleSince(m, f)
		if now.Sub(last) < j.cfg.flushIdle {
			continue
		}
		w := &folderWriter{job: j, name: name, now: now, encID: encodingID(j.cfg.enc), f: *f, has: true,
			prev: f.LastOffset, dataLen: unknownLength, pendingFrom: -1}
		ok, err := w.sealIdle(ctx)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			res.Raced = append(res.Raced, f.Object)
		default:
			res.Sealed = append(res.Sealed, f.Object)
			seals[name] = seal{*f, w.f}
			j.log.Info().Str("object", f.Object).Int64("records", f.Records).Int64("last_offset", f.LastOffset).
				Time("appended_at", last).Dur("idle_ms", now.Sub(last)).Msg("idle object sealed")
		}
	}
	if len(seals) > 0 {
		// Record the seals in the meta object as it is now, not as read:
		// a data invocation may have written it meanwhile (OSS has no
		// compare-and-swap for a PUT), and writing back what was read
		// would move its folders back. Re-read just before the PUT, only
		// the timer's own change is applied, to folders still recorded as
		// the seal found them: one a data invocation moved on has followed
		// the seal already (its entry was refused by it).
		cur, err := j.readMeta(ctx)
		if err == nil && cur == nil {
			err = errors.New("the meta object vanished")
		}
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("record %d idle seals (they stand in the indexes; a retry or the next batch completes them): %w", len(seals), err))...)
		}
		// The staged objects sealed (w.sealed), listed to finalize with
		// the seals that are recorded.
		staged := map[string]*Pending{}
		for _, p := range j.sealed {
			staged[p.Object] = p
		}
		j.sealed = nil
		applied := 0
		if cur.Epoch == m.Epoch {
			for _, name := range slices.Sorted(maps.Keys(seals)) {
				sl := seals[name]
				f := cur.Folders[name]
				if f == nil || f.Object != sl.was.Object || f.IndexSize != sl.was.IndexSize {
					continue
				}
				next := sl.next
				cur.Folders[name] = &next
				if p := staged[sl.was.Object]; p != nil {
					j.sealed = append(j.sealed, p)
				}
				applied++
			}
		}
		if applied > 0 {
			stampIdle(cur)
			cur.UpdatedAt, cur.Writer = now.UTC(), requestID(ctx)
			j.pend(cur)
			if err := j.putMeta(ctx, cur); err != nil {
				return errors.Join(append(errs, fmt.Errorf("record %d idle seals (they stand in the indexes; a retry or the next batch completes them): %w", applied, err))...)
			}
		}
		j.sealed = nil
		m = cur
	}
	// Objects still to finalize (sealed now, or left by an earlier call):
	// finalizing is idempotent and does not fail the call (Unfinalized).
	j.finalizeIdle(ctx, m, now)
	return errors.Join(errs...)
}

// readMeta reads and decodes the partition's meta object; nil without one.
func (j *partitionJob) readMeta(ctx context.Context) (*Meta, error) {
	key := MetaKey(j.cfg.prefix, j.topic, j.partition)
	data, err := j.st.Get(ctx, key)
	if store.IsNotFound(err) {
		// Listed a moment ago, gone now: nothing of it to seal.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read meta object %s: %w", key, err)
	}
	m, err := DecodeMeta(data, j.cfg.prefix, j.topic, j.partition)
	if err != nil {
		return nil, fmt.Errorf("meta object %s: %w", key, err)
	}
	return m, nil
}

// idleSince returns when f's object last took records: its appended_at,
// or for a folder recorded before that field existed, when the meta object
// was written (the last append came before).
func idleSince(m *Meta, f *Folder) time.Time {
	if f.AppendedAt.IsZero() {
		return m.UpdatedAt
	}
	return f.AppendedAt
}

// stampIdle records in each folder without appended_at the time idleSince
// measures it from, before updated_at changes: writing the meta object
// must not make an object younger.
func stampIdle(m *Meta) {
	for _, f := range m.Folders {
		if f.Records > 0 && f.AppendedAt.IsZero() {
			f.AppendedAt = m.UpdatedAt
		}
	}
}

// finalizeIdle is finalizeAll for the timer: it writes the data objects
// the meta object m lists, then removes those confirmed from the list of
// the meta object as it is then (re-read, as for the seals: a data
// invocation may have written it meanwhile, and finalizing takes long).
func (j *partitionJob) finalizeIdle(ctx context.Context, m *Meta, now time.Time) {
	if len(m.Finalize) == 0 {
		return
	}
	done := map[string]bool{}
	for _, p := range m.Finalize {
		if ctx.Err() != nil {
			break
		}
		if err := j.finalize(ctx, p); err != nil {
			msg := "finalizing a sealed object failed: its records are staged and committed; the next batch or timer run tries again"
			if store.IsPermanent(err) || errors.Is(err, ErrConflict) {
				msg = "finalizing a sealed object failed, and retrying cannot help until the cause is fixed (see the error): its records are staged and committed, and stay so"
			}
			j.log.Error().Err(err).Str("object", p.Object).Msg(msg)
			j.unfinalized++
			continue
		}
		j.finalized++
		done[p.Object] = true
	}
	if len(done) == 0 {
		return
	}
	cur, err := j.readMeta(ctx)
	if err == nil && cur != nil {
		n := len(cur.Finalize)
		cur.Finalize = slices.DeleteFunc(cur.Finalize, func(p *Pending) bool { return done[p.Object] })
		if len(cur.Finalize) == n {
			// A data invocation removed them already.
			return
		}
		stampIdle(cur)
		cur.UpdatedAt, cur.Writer = now.UTC(), requestID(ctx)
		err = j.putMeta(ctx, cur)
	}
	if err != nil {
		// The entries stay listed; the next batch or timer run finds the
		// data objects written and only removes the staging.
		j.log.Warn().Err(err).Msg("meta object not updated after finalizing; the next batch or timer run completes it")
	}
}

// sealIdle seals the current object, idle, naming the next object for the
// record after its last. It reports false, changing nothing, when the
// index's fence refuses the entry and what stands there is not this very
// entry.
func (w *folderWriter) sealIdle(ctx context.Context) (bool, error) {
	j := w.job
	at, next := w.f.IndexSize, w.f.LastOffset+1
	idxLen, err := w.sealEntry(ctx, next, "idle")
	if err != nil {
		return false, err
	}
	if idxLen < 0 {
		return true, nil
	}
	if idxLen == at+int64(len(w.entry)) {
		// An earlier try of this request landed (its answer lost), or a
		// racing timer's, or a data invocation's seal of the full object:
		// byte for byte the same decision, taken once.
		ikey := objindex.Key(w.f.Object)
		same, err := j.source(ctx, ikey, at, idxLen).equal(w.entry, nil)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", ikey, err)
		}
		if same {
			w.f.IndexSize = idxLen
			w.sealedTo(j.dataKey(w.name, next, w.encID), next, "idle")
			return true, nil
		}
	}
	j.log.Info().Str("object", w.f.Object).Int64("index_size", at).Int64("index_length", idxLen).
		Msg("idle object not sealed: its index holds more than the meta object records (a data invocation decided first, or a batch left entries to settle)")
	return false, nil
}
