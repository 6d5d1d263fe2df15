package restore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Summary is the outcome of a Run.
type Summary struct {
	Topic     string `json:"topic"`
	Target    string `json:"target_topic"`
	ClusterID string `json:"target_cluster_id"`
	DryRun    bool   `json:"dry_run"`
	// Checkpoints says whether checkpoints were consulted (not in a dry run
	// without brokers).
	Checkpoints bool  `json:"checkpoints_consulted"`
	Records     int64 `json:"records"` // produced (dry run: would be)
	Skipped     int64 `json:"skipped_by_checkpoint"`
	Bytes       int64 `json:"bytes"` // object bytes read
	RawObjects  int   `json:"raw_objects"`
	ValuesOnly  bool  `json:"values_only"` // raw objects were restored: values only
	// Lacking lists what the records of some objects were stored without,
	// written with SINK_FIELDS that left it out, and are restored without:
	// "key", "headers", "timestamp" (the producer's then); LackingObjects
	// counts those objects. (Raw objects: RawObjects.)
	Lacking        []string `json:"lacking,omitempty"`
	LackingObjects int      `json:"lacking_objects,omitempty"`
	// InvalidRecords counts those of Records that were stored in
	// invalidRuleData/{topic}/ (their folder could not be computed);
	// ExcludeInvalid says they were left out (ExcludeInvalid).
	InvalidRecords int64 `json:"invalid_records"`
	ExcludeInvalid bool  `json:"exclude_invalid"`
	// OtherObjects counts the objects named like data objects, in the
	// directories searched outside the topic's own, that are another
	// topic's (a directory topics share): left alone.
	OtherObjects int `json:"other_objects"`
	// Archive is where the restores of the archived objects read stand
	// (nil: none was read).
	Archive    *ArchiveSummary    `json:"archive,omitempty"`
	Elapsed    time.Duration      `json:"elapsed_ns"`
	Partitions []PartitionSummary `json:"partitions"`
}

// PartitionSummary is the outcome for one partition.
type PartitionSummary struct {
	Partition  int32 `json:"partition"`
	Epoch      int64 `json:"epoch"`
	Objects    int   `json:"objects"`
	RawObjects int   `json:"raw_objects"`
	Records    int64 `json:"records"`               // produced (dry run: would be)
	Skipped    int64 `json:"skipped_by_checkpoint"` // covered by the checkpoint
	// Folders counts the folders the partition's objects are in (more than
	// one with a routing template); InvalidRecords those of Records from
	// invalidRuleData/{topic}/.
	Folders        int   `json:"folders"`
	InvalidRecords int64 `json:"invalid_records"`
	Filtered       int64 `json:"filtered"` // outside the offset or time range
	// Landed counts the records of a chunk announced by an interrupted run
	// that the target partition showed had landed (not produced again).
	Landed      int64  `json:"landed_before"`
	FirstOffset int64  `json:"first_offset"` // of the records produced; -1: none
	LastOffset  int64  `json:"last_offset"`  // of the records produced; -1: none
	Checkpoint  string `json:"checkpoint,omitempty"`
	// Reset says the checkpoint was started over (ResetCheckpoint, or a
	// checkpoint about a target partition that is now empty).
	Reset bool `json:"checkpoint_reset,omitempty"`
	// Foreign counts records another producer wrote to the target
	// partition between or among this restore's records.
	Foreign int64  `json:"foreign_records,omitempty"`
	Error   string `json:"error,omitempty"`
	err     error
}

// Err returns the partition's error, if it failed.
func (p *PartitionSummary) Err() error { return p.err }

// ErrNeedBrokers is returned by a NoWait run without brokers once every
// archived object it needs is readable: there is nothing left to request,
// and producing needs the target cluster. Nothing was produced.
var ErrNeedBrokers = errors.New("no brokers to produce to")

// ConnectError reports a configuration or connection problem with Kafka:
// nothing was produced.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "kafka: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// ErrPartial is wrapped by the error Run returns when some partitions failed
// (their summaries carry the reason; the others completed).
var ErrPartial = errors.New("some partitions failed")

// ErrEpochs is wrapped by the error Run returns, before producing anything,
// when a partition holds objects of several epochs and no Epoch was given.
var ErrEpochs = errors.New("objects of several epochs")

// ErrRefused is wrapped by a partition's error when its records cannot be
// restored exactly (a raw object without index that cannot be numbered, a
// target partition that does not match the checkpoint): running again does
// not help.
var ErrRefused = errors.New("refused")

type partJob struct {
	p       int32
	epoch   int64
	folders [][]object // every object of the epoch, per folder, by first offset (invalidRuleData/ included)
	nsel    int        // objects selected by the offset range
	enc     events.ValueEncoding
	result  PartitionSummary
}

// Run restores the records stored for one topic; see the package doc. The
// summary is returned also with an error, when any work was done.
func Run(ctx context.Context, st store.Store, k Kafka, opts ...Option) (*Summary, error) {
	start := time.Now()
	o := options{fromOffset: -1, toOffset: -1, epoch: -1, chunk: DefaultChunkRecords, log: zerolog.Nop(),
		tier: store.TierStandard, days: DefaultRestoreDays, poll: DefaultRestorePoll}
	for _, opt := range opts {
		opt(&o)
	}
	o.prefix = sink.NormalizePrefix(o.prefix)
	if err := o.validate(); err != nil {
		return nil, err
	}
	cks := checkpoints{st: st, prefix: o.prefix}
	if o.ckStore != nil {
		cks = checkpoints{st: o.ckStore, prefix: sink.NormalizePrefix(o.ckPrefix)}
	}
	jobs, total, others, err := plan(ctx, st, &o)
	if err != nil {
		return nil, err
	}
	lk, err := checkFields(ctx, st, &o, jobs, false)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Topic: o.topic, Target: o.target, DryRun: o.dryRun, OtherObjects: others, ExcludeInvalid: o.excludeInvalid,
		Lacking: lk.fields, LackingObjects: lk.objects}
	if len(lk.fields) > 0 {
		o.log.Warn().Strs("lacking", lk.fields).Int("objects", lk.objects).Str("example", lk.example).Str("encoding", lk.enc).
			Msg("objects written with SINK_FIELDS that leave out " + strings.Join(lk.fields, ", ") + ": their records are restored without them (a producer timestamp for a missing one)")
	}

	var producer sarama.SyncProducer
	var tgt *target
	// NoWait without brokers only requests restores: the archive step
	// needs no Kafka (without the target cluster's checkpoints it asks
	// for every archived object of the range, some perhaps produced
	// already), so the hours a Cold Archive restore takes can start
	// before the target cluster is up.
	requestOnly := o.noWait && len(k.Brokers) == 0
	if len(jobs) > 0 && (!o.dryRun && !requestOnly || len(k.Brokers) > 0) {
		client, id, err := connect(ctx, k, o.target, jobs)
		if err != nil {
			return nil, err
		}
		defer client.Close()
		cons, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			return nil, &ConnectError{fmt.Errorf("consumer: %w", err)}
		}
		defer cons.Close()
		if !o.dryRun {
			producer, err = sarama.NewSyncProducerFromClient(client)
			if err != nil {
				return nil, &ConnectError{fmt.Errorf("producer: %w", err)}
			}
			defer producer.Close()
		}
		tgt = &target{client: client, cons: cons, topic: o.target, id: id}
		sum.ClusterID, sum.Checkpoints = id, true
		if id == "" {
			o.log.Warn().Msg("the target cluster reports no cluster id: checkpoints cannot tell it from other clusters without one (the target partitions are still checked)")
		}
	}
	// Archived objects are made readable before anything is read, so that
	// a restore that must wait does so before producing, and a run that
	// does not wait (NoWait) leaves nothing half done.
	if sum.Archive, err = thaw(ctx, st, &o, jobs, tgt, cks); err != nil {
		return sum, err
	}
	if requestOnly && !o.dryRun {
		what := "no archived objects are needed"
		if sum.Archive != nil {
			what = "the archived objects needed are readable (" + sum.Archive.String() + ")"
		}
		return sum, fmt.Errorf("restore: %w: %s; run again with the target cluster's brokers to produce their records", ErrNeedBrokers, what)
	}
	if frozenIndexes(&o, jobs) {
		// Now readable: the encodings of the objects whose index was
		// archived are checked too.
		if lk, err = checkFields(ctx, st, &o, jobs, true); err != nil {
			return sum, err
		}
		sum.Lacking, sum.LackingObjects = lk.fields, lk.objects
	}
	o.log.Info().Str("topic", o.topic).Str("target", o.target).Int("partitions", len(jobs)).
		Int64("bytes", total).Bool("dry_run", o.dryRun).Msg("restore starting")

	pr := &progress{total: total, start: start, f: o.progress}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &run{ctx: ctx, st: st, o: &o, j: j, prod: producer, tgt: tgt, cks: cks, pr: pr}
			j.result = r.partition()
		}()
	}
	wg.Wait()
	pr.report(0, 0, true)

	var failed []string
	var firstErr error
	for _, j := range jobs {
		r := j.result
		sum.Partitions = append(sum.Partitions, r)
		sum.Records += r.Records
		sum.Skipped += r.Skipped
		sum.RawObjects += r.RawObjects
		sum.InvalidRecords += r.InvalidRecords
		if r.err != nil {
			failed = append(failed, strconv.Itoa(int(r.Partition)))
			if firstErr == nil || errors.Is(firstErr, context.Canceled) {
				firstErr = r.err
			}
		}
	}
	sum.Bytes = pr.bytesDone()
	sum.ValuesOnly = sum.RawObjects > 0
	sum.Elapsed = time.Since(start)
	if sum.ValuesOnly {
		o.log.Warn().Int("raw_objects", sum.RawObjects).Msg("raw objects hold values only: restored without key, headers or original timestamp")
	}
	o.log.Info().Int64("records", sum.Records).Int64("skipped_by_checkpoint", sum.Skipped).
		Dur("elapsed_ms", sum.Elapsed).Int("failed_partitions", len(failed)).Msg("restore finished")
	if ctx.Err() != nil {
		return sum, fmt.Errorf("restore interrupted (run again to resume from the checkpoints): %w", context.Cause(ctx))
	}
	if len(failed) > 0 {
		return sum, fmt.Errorf("%w: partitions %s: %w", ErrPartial, strings.Join(failed, ","), firstErr)
	}
	return sum, nil
}

func (o *options) validate() error {
	var errs []error
	if o.topic == "" {
		errs = append(errs, errors.New("restore: no source topic"))
	}
	switch {
	case o.target == "":
		errs = append(errs, errors.New("restore: no target topic (--target-topic)"))
	case o.target == o.topic && !o.allowSource:
		errs = append(errs, fmt.Errorf("restore: the target topic is the source topic %q: the backup does not say which cluster it came from, so this may produce its records again into the topic they were backed up from; allow it explicitly (--allow-source-topic)", o.topic))
	}
	if o.chunk <= 0 {
		errs = append(errs, fmt.Errorf("restore: chunk size %d: must be positive", o.chunk))
	}
	if o.fromOffset >= 0 && o.toOffset >= 0 && o.fromOffset > o.toOffset {
		errs = append(errs, fmt.Errorf("restore: offset range %d..%d is empty", o.fromOffset, o.toOffset))
	}
	if !o.fromTime.IsZero() && !o.toTime.IsZero() && o.fromTime.After(o.toTime) {
		errs = append(errs, fmt.Errorf("restore: time range %s..%s is empty", o.fromTime.Format(time.RFC3339), o.toTime.Format(time.RFC3339)))
	}
	for _, p := range o.partitions {
		if p < 0 {
			errs = append(errs, fmt.Errorf("restore: partition %d: must not be negative", p))
		}
	}
	for _, d := range o.dirs {
		if err := checkDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	if o.epoch < -1 {
		errs = append(errs, fmt.Errorf("restore: epoch %d: must not be negative", o.epoch))
	}
	errs = append(errs, o.checkArchive()...)
	return errors.Join(errs...)
}

// plan lists the objects, reads the meta objects, picks each partition's
// epoch and selects the objects of the offset range. It also returns how
// many listed objects outside the topic's own directory are another's.
func plan(ctx context.Context, st store.Store, o *options) ([]*partJob, int64, int, error) {
	ls, err := list(ctx, st, o)
	if err != nil {
		return nil, 0, 0, err
	}
	var jobs []*partJob
	var total int64
	var ambiguous, unlisted []string
	others := 0
	for _, p := range slices.Sorted(mapKeys(ls.known)) {
		meta := readMeta(ctx, st, o, p)
		if meta != nil && (o.epoch < 0 || o.epoch == meta.Epoch) {
			// A folder the state names where no listing looked: its
			// records would be left out without a word.
			for _, name := range slices.Sorted(mapKeys(meta.Folders)) {
				if dir := sink.FolderDir(o.topic, name); !ls.searched(dir) {
					unlisted = append(unlisted, fmt.Sprintf("partition %d: %s%s", p, o.prefix, dir))
				}
			}
		}
		if len(ls.byPart[p]) == 0 {
			continue
		}
		maxEpoch := max(o.epoch, 0)
		if meta != nil {
			maxEpoch = max(maxEpoch, meta.Epoch)
		}
		byEpoch := map[int64][]object{}
		for _, c := range ls.byPart[p] {
			ob := c.object
			e, ok := sink.ObjectEpoch(o.prefix, o.topic, ob.folder, p, ob.first, ob.key, maxEpoch)
			switch {
			case !ok && c.home:
				o.log.Warn().Str("object", ob.key).Int64("max_epoch", maxEpoch).
					Msg("ignored: not a name the sink derives for this partition in any of its epochs (not written by the sink)")
				continue
			case !ok:
				// Another topic's, in a directory topics share.
				others++
				continue
			}
			ob.epoch = e
			byEpoch[e] = append(byEpoch[e], ob)
		}
		epochs := slices.Sorted(mapKeys(byEpoch))
		epoch := o.epoch
		switch {
		case len(epochs) == 0:
			continue
		case epoch < 0 && len(epochs) > 1:
			es := make([]string, len(epochs))
			for i, e := range epochs {
				es[i] = strconv.FormatInt(e, 10)
			}
			ambiguous = append(ambiguous, fmt.Sprintf("partition %d has objects of epochs %s", p, strings.Join(es, ", ")))
			continue
		case epoch < 0:
			epoch = epochs[0]
		case len(byEpoch[epoch]) == 0:
			o.log.Warn().Int32("partition", p).Int64("epoch", epoch).Msg("no data objects of this epoch for this partition")
			continue
		}
		j := &partJob{p: p, epoch: epoch, enc: o.valueEnc}
		if !o.encSet {
			j.enc = metaEncoding(meta)
		}
		j.folders = folders(o, byEpoch[epoch], meta, epoch)
		for _, ob := range j.selected(o) {
			j.nsel++
			total += ob.size
		}
		jobs = append(jobs, j)
	}
	if len(ambiguous) > 0 {
		return nil, 0, 0, fmt.Errorf("restore: %w: %s; a recreated topic starts a new epoch whose offsets start again, and epochs are never mixed: choose one (--epoch N)",
			ErrEpochs, strings.Join(ambiguous, "; "))
	}
	if len(unlisted) > 0 {
		return nil, 0, 0, fmt.Errorf("restore: %w: the meta objects name folders outside the directories searched (%s), so their records would be left out: "+
			"give the sink's routing template (--folder, or SINK_FOLDER as the function has it)", ErrRefused, strings.Join(unlisted, ", "))
	}
	for _, p := range o.partitions {
		if !slices.ContainsFunc(jobs, func(j *partJob) bool { return j.p == p }) {
			o.log.Warn().Int32("partition", p).Msg("no data objects for this partition")
		}
	}
	return jobs, total, others, nil
}

// selected returns the objects of j that the offset range selects (and
// ExcludeInvalid leaves), by folder.
func (j *partJob) selected(o *options) []*object {
	var out []*object
	for _, objs := range j.folders {
		if o.excludeInvalid && objs[0].invalid {
			continue
		}
		for i := range objs {
			if o.toOffset >= 0 && objs[i].first > o.toOffset {
				break
			}
			if o.fromOffset >= 0 && i+1 < len(objs) && objs[i+1].first <= o.fromOffset {
				continue
			}
			out = append(out, &objs[i])
		}
	}
	return out
}

// folders groups objects by folder, each sorted by first offset, and works
// out for objects without an index how many offsets they span.
func folders(o *options, objs []object, meta *sink.Meta, epoch int64) [][]object {
	byFolder := map[string][]object{}
	for _, ob := range objs {
		byFolder[ob.folder] = append(byFolder[ob.folder], ob)
	}
	var out [][]object
	for _, f := range slices.Sorted(mapKeys(byFolder)) {
		fo := byFolder[f]
		slices.SortFunc(fo, func(a, b object) int { return cmp.Or(cmp.Compare(a.first, b.first), strings.Compare(a.key, b.key)) })
		for i := range fo {
			fo[i].implied, fo[i].impliedWhy = implied(fo, i, meta, epoch)
		}
		out = append(out, fo)
	}
	return out
}

// implied returns how many offsets object i of a folder spans according to
// the names and the meta object, or -1 and why not.
func implied(fo []object, i int, meta *sink.Meta, epoch int64) (int64, string) {
	ob := fo[i]
	if i+1 < len(fo) {
		n := fo[i+1].first
		return n - ob.first, fmt.Sprintf("the next object %s starts at offset %d", path.Base(fo[i+1].key), n)
	}
	if meta == nil {
		return -1, "no later object or meta object says how many offsets it spans"
	}
	if epoch == meta.Epoch {
		f := meta.Folders[ob.folder]
		switch {
		case f == nil:
			if ob.folder == "" && meta.Committed >= ob.first {
				return meta.Committed - ob.first + 1, fmt.Sprintf("the meta object's committed offset is %d", meta.Committed)
			}
		case f.Object == ob.key:
			n := f.LastOffset - f.FirstOffset + 1
			if f.Records != n {
				// Lines could match the span only by a newline making up
				// for each gap: never exact.
				return -1, fmt.Sprintf("the meta object records %d records over the %d offsets %d..%d (offset gaps)", f.Records, n, f.FirstOffset, f.LastOffset)
			}
			return n, fmt.Sprintf("the meta object records %d records with offsets %d..%d", f.Records, f.FirstOffset, f.LastOffset)
		case f.FirstOffset > ob.first:
			return f.FirstOffset - ob.first, fmt.Sprintf("the meta object's current object starts at offset %d", f.FirstOffset)
		}
		return -1, "no later object or meta object says how many offsets it spans"
	}
	for _, e := range meta.Epochs {
		if e.Epoch == epoch && ob.folder == "" && e.Committed >= ob.first {
			return e.Committed - ob.first + 1, fmt.Sprintf("epoch %d ended at committed offset %d", epoch, e.Committed)
		}
	}
	return -1, "no later object or meta object says how many offsets it spans"
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readMeta reads a partition's meta object; nil when it is missing or
// unusable (then epochs beyond 0 and the extent of the last raw object
// without an index are unknown).
func readMeta(ctx context.Context, st store.Store, o *options, p int32) *sink.Meta {
	key := sink.MetaKey(o.prefix, o.topic, p)
	b, err := st.Get(ctx, key)
	if err != nil {
		if !store.IsNotFound(err) {
			o.log.Warn().Str("meta", key).Err(err).Msg("meta object unreadable")
		}
		return nil
	}
	m, err := sink.DecodeMeta(b, o.prefix, o.topic, p)
	if err != nil {
		o.log.Warn().Str("meta", key).Err(err).Msg("meta object unusable")
		return nil
	}
	return m
}

// metaEncoding is the value encoding of JSONL objects without an index,
// from the meta object (text when it cannot tell).
func metaEncoding(m *sink.Meta) events.ValueEncoding {
	if m == nil {
		return events.Text
	}
	for _, f := range m.Folders {
		if strings.HasSuffix(f.Encoding, "/base64") {
			return events.Base64
		}
	}
	return events.Text
}

// progress aggregates the partitions' progress.
type progress struct {
	mu      sync.Mutex
	total   int64
	start   time.Time
	f       func(Progress)
	records int64
	bytes   int64
}

func (p *progress) report(records, bytes int64, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records += records
	p.bytes += bytes
	if p.f == nil || (records == 0 && !final) {
		return
	}
	el := time.Since(p.start)
	pg := Progress{Records: p.records, Bytes: p.bytes, TotalBytes: p.total, Elapsed: el}
	if s := el.Seconds(); s > 0 {
		pg.Rate = float64(p.records) / s
		if p.bytes > 0 && p.total > p.bytes {
			pg.ETA = time.Duration(float64(el) * float64(p.total-p.bytes) / float64(p.bytes))
		}
	}
	p.f(pg)
}

func (p *progress) bytesDone() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}
