package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrConflict: a data object or its index disagrees with the partition's
// state in a way the protocol cannot explain by an earlier failed attempt
// (a concurrent writer that keeps racing, objects edited or replaced by
// hand, a recorded size larger than the object). Nothing is written; the
// error names the object. Retrying the same batch cannot help until an
// operator looks.
var ErrConflict = errors.New("data object conflicts with the partition state")

// ErrOffsetsReset: a batch holds a record at an offset the state calls
// written, and what is stored there is not that record (or nothing is
// stored there). The topic was most likely deleted and recreated, so that
// offsets started again below the committed offset, or an old meta object
// was restored. Nothing is written; dropping the records as duplicates
// would lose them, and appending them would mix two topics in one object.
// StartEpoch (`sinkctl new-epoch`) is the way forward.
var ErrOffsetsReset = errors.New("offsets restarted below the committed offset")

type requestIDKey struct{}

// WithRequestID returns a context carrying the invocation's request id, which
// Write records in the meta objects it writes.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// encodingID names what the bytes of an object depend on, besides the
// records (format.Encoder.ID): stored in meta objects and index entries.
func encodingID(e format.Encoder) string { return e.ID() }

// encoderFor returns the encoder an encoding id names.
func encoderFor(id string) (format.Encoder, bool) {
	e, err := format.ParseID(id)
	return e, err == nil
}

// extOf returns the name extension of objects in the encoding id ("" for
// an unknown one, which DecodeMeta and the index checks refuse anyway).
func extOf(id string) string {
	e, _ := encoderFor(id)
	return e.Ext()
}

// stagedEnc reports whether objects of the encoding id are staged and
// written when sealed (format.Encoder.Staged).
func stagedEnc(id string) bool {
	e, ok := encoderFor(id)
	return ok && e.Staged()
}

// withStaged returns the encoding id like id, staged (format.Encoder.Final)
// or not: the same name, another id. Parquet ids are staged either way.
func withStaged(id string, staged bool) string {
	e, ok := encoderFor(id)
	if !ok || e.Format == format.Parquet || e.Final == staged {
		return id
	}
	e.Final = staged
	return encodingID(e)
}

// dataKey returns the key of the data object of a folder for the record at
// offset first, in the encoding id: ObjectKey and the encoding's extension.
func (j *partitionJob) dataKey(folder string, first int64, id string) string {
	return ObjectKey(j.cfg.prefix, j.topic, folder, j.partition, first, j.epoch) + extOf(id)
}

// partitionJob is one Write's work on one topic-partition.
type partitionJob struct {
	cfg   *config
	bufs  *bufCache
	comps *compCache
	// zbuf holds the compressed append (compressed encodings).
	zbuf []byte
	// staging: staged encodings may be in use (today's, or objects still
	// to finalize), or an object is looked for that no state knows the
	// encoding of (see strays), so listings look for staging objects too.
	staging bool
	// sealed: staged objects sealed in this call (by it or, found on
	// replay, by an earlier attempt), to be finalized.
	sealed    []*Pending
	st        *guardedStore
	topic     string
	partition int32
	recs      []*events.Record // sorted by offset, no repeats
	// folder: the partition's one folder when routing is static (see
	// Router.Static); routed partitions have one per record.
	folder    string
	batchLen  int
	batchDups int
	log       zerolog.Logger

	start       time.Time
	epoch       int64
	written     int
	recovered   int
	adopted     int // stored records found that were not in the batch
	skipped     int // records of the batch an earlier attempt skipped (see land)
	duplicates  int
	filtered    int // dropped by the filter
	invalid     int // not routable: stored in invalidRuleData/
	dropped     int // not routable: dropped (InvalidDrop)
	separators  int // raw values holding the separator
	finalized   int // data objects written from staged records
	unfinalized int // sealed staged objects left to finalize (failed)
	bytes       int64
	objects     []string
	committed   int64
	// listed: the partition's data objects, when loadMeta had to list them
	// (no meta object); nil otherwise.
	listed map[string]bool
	// br is the read buffer of recovery's byte sources, one at a time.
	br *bufio.Reader
	// rebuilt: loadMeta rebuilt the state from the data objects.
	rebuilt bool
	// listCache: listings made by the duplicate check, by prefix.
	listCache map[string][]store.Info
}

// source returns a byteSource over key's bytes [off, end), reusing the
// job's read buffer.
func (j *partitionJob) source(ctx context.Context, key string, off, end int64) *byteSource {
	s := reuseByteSource(j.br, ctx, j.st, key, off, end, j.cfg.readChunk)
	j.br = s.br
	return s
}

// release returns what the job borrowed from the sink.
func (j *partitionJob) release() {
	j.st.release()
	if j.zbuf != nil {
		j.bufs.put(j.zbuf)
		j.zbuf = nil
	}
}

func (j *partitionJob) run(ctx context.Context) error {
	defer j.release()
	j.start = time.Now()
	j.staging = j.cfg.enc.Staged()
	j.duplicates = j.batchDups
	j.committed = -1
	if r := j.cfg.router; r != nil && r.Static() {
		dir, err := r.AppendFolder(nil, j.recs[0])
		if err != nil {
			return fmt.Errorf("folder of record at offset %d: %w", j.recs[0].Offset, err)
		}
		j.folder = FolderName(j.topic, string(dir))
	}
	// What a failed first attempt left starts at the first record stored,
	// not at a record the filter drops.
	firstStored := j.recs[0].Offset
	if keep := j.cfg.keep; keep != nil {
		firstStored = 1<<63 - 1
		for _, r := range j.recs {
			if keep(r) {
				firstStored = r.Offset
				break
			}
		}
	}
	m, fresh, err := j.loadMeta(ctx, firstStored)
	if err != nil {
		return err
	}
	j.epoch = m.Epoch
	j.committed = m.Committed
	j.staging = j.staging || len(m.Finalize) > 0
	// Kafka offsets may skip (compaction, transaction markers): only
	// "offset <= committed" means written, never "committed+1 is next".
	first := sort.Search(len(j.recs), func(i int) bool { return j.recs[i].Offset > m.Committed })
	if first > 0 {
		// Records the state calls written are dropped only once the store
		// confirms it holds them: offsets that start again below the
		// committed offset (a recreated topic) must not vanish as
		// duplicates.
		if err := j.checkDuplicates(ctx, m, j.recs[:first]); err != nil {
			return err
		}
		j.duplicates += first
	}
	pending := j.recs[first:]
	if len(pending) == 0 {
		if err := j.sealFull(ctx, m); err != nil {
			return err
		}
		if j.rebuilt || len(j.sealed) > 0 {
			// Nothing to write, but the rebuilt state must be kept, or
			// every batch rebuilds it again and readers find no state.
			m.Records += int64(j.adopted)
			m.UpdatedAt, m.Writer = j.cfg.now().UTC(), requestID(ctx)
			j.pend(m)
			if err := j.putMeta(ctx, m); err != nil {
				return err
			}
		}
		j.finalizeAll(ctx, m)
		j.log.Info().Int64("committed_offset", m.Committed).Int("duplicates", j.duplicates).Msg("batch already written")
		return nil
	}

	now := j.cfg.now()
	rt, err := j.route(pending)
	if err != nil {
		return err
	}
	j.filtered, j.invalid, j.dropped = rt.filtered, rt.invalid, rt.dropped
	routed := j.cfg.routed()
	if err := j.dropStoredAhead(ctx, m, rt); err != nil {
		return err
	}
	if routed {
		if err := j.announce(ctx, m, rt, now); err != nil {
			return err
		}
	}
	size := 0
	for _, recs := range rt.recs {
		for _, r := range recs {
			if j.cfg.enc.Format == format.Raw {
				size += j.cfg.enc.Size(r)
			} else {
				// An exact bound would scan every string once more before
				// encoding it; a buffer that turns out short grows once.
				size += len(r.Value) + len(r.Key) + len(r.Headers) + len(r.Topic) + 96
			}
		}
	}
	// One buffer for the partition, reused by every append of every folder
	// (the store does not keep it), so memory stays near the batch size
	// whatever the number of folders.
	buf := j.bufs.get(size)
	defer func() { j.bufs.put(buf) }()

	// touched: folders this call wrote, true when their state is complete.
	touched := map[string]bool{}
	for i, name := range rt.folders {
		recs := rt.recs[i]
		if len(recs) == 0 {
			continue
		}
		w := &folderWriter{job: j, name: name, now: now, buf: buf, encID: encodingID(j.cfg.enc), prev: m.Committed, dataLen: unknownLength, pendingFrom: -1}
		f := m.Folders[name]
		switch {
		case f != nil && f.Legacy && routed:
			return fmt.Errorf("%w: the partition's open object %s was written by an earlier version (no record index); "+
				"run with the default SINK_FOLDER ({topic}/) until the object is sealed, then turn routing on", ErrConflict, f.Object)
		case f != nil && !f.Legacy:
			// The folder's own last record: records after it that an
			// attempt given up on stored there may be at or below the
			// committed offset, which later batches moved past without
			// touching this folder (routed, or all their records filtered).
			w.prev = f.LastOffset
		case fresh:
			// loadMeta's listing found no object before the batch.
			w.prev = max(w.prev, recs[0].Offset-1)
		}
		var before Folder
		hadFolder := f != nil
		if f != nil {
			w.f, w.has = *f, true
			before = *f
		}
		w.recordSeal = func(ctx context.Context) error { return j.recordSeal(ctx, m, w) }
		err = w.write(ctx, recs)
		buf = w.buf
		if err != nil {
			return err
		}
		if w.has {
			f := w.recorded()
			if f.Records > 0 && (!hadFolder || f.Object != before.Object || f.Records != before.Records) {
				// Records were stored (or found stored) in the object:
				// idle sealing measures from here. (Conservative for
				// records an earlier attempt stored: later, never sooner.)
				f.AppendedAt = now.UTC()
			}
			m.Folders[name] = &f
			touched[name] = w.pendingFrom < 0 && !w.unverified
		} else {
			delete(m.Folders, name)
		}
		if !routed {
			m.Committed = max(m.Committed, w.prev)
		}
	}
	// Every pending record is now stored, filtered or dropped. (Without
	// routing the folder's last record may be beyond the batch: records
	// adopted from an earlier attempt.)
	m.Committed = max(m.Committed, pending[len(pending)-1].Offset)
	if err := j.sealFull(ctx, m); err != nil {
		return err
	}
	if closed := j.closeFolders(ctx, m, touched); len(closed) > 0 {
		j.log.Info().Strs("folders", closed).Int("open_folders", len(m.Folders)).Msg("folders closed: more open objects than the bound")
	}
	m.Records += int64(j.written + j.recovered + j.adopted)
	m.UpdatedAt = now.UTC()
	m.Writer = requestID(ctx)
	j.pend(m)
	if err := j.putMeta(ctx, m); err != nil {
		return err
	}
	j.committed = m.Committed
	j.finalizeAll(ctx, m)
	j.log.Info().
		Int64("first_offset", pending[0].Offset).Int64("last_offset", pending[len(pending)-1].Offset).Int64("committed_offset", m.Committed).
		Int("written", j.written).Int("recovered", j.recovered).Int("adopted", j.adopted).Int("skipped", j.skipped).Int("duplicates", j.duplicates).
		Int("filtered", j.filtered).Int("invalid", j.invalid).Int("invalid_dropped", j.dropped).Int("folders", len(rt.folders)).
		Int64("bytes", j.bytes).Strs("objects", j.objects).Int("oss_requests", j.st.requests).
		Dur("took_ms", time.Since(j.start)).Msg("partition written")
	return nil
}

// sealFull seals the open staged objects that are full: an append that
// filled one was found on replay (its reply was lost, so the eager seal
// after it did not happen), or a batch of duplicates met one. A staged
// object's records become a data object only once it is sealed.
func (j *partitionJob) sealFull(ctx context.Context, m *Meta) error {
	if !j.staging {
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
		f := m.Folders[name]
		if !stagedEnc(f.Encoding) || f.Records == 0 || f.Legacy {
			continue
		}
		w := j.resume(name, f)
		if !w.full() {
			continue
		}
		if _, err := w.seal(ctx, nil, f.LastOffset+1, "full"); err != nil {
			return err
		}
		if w.has {
			cur := w.recorded()
			m.Folders[name] = &cur
		}
	}
	return nil
}

// dropStoredAhead takes out of rt, as duplicates, the records a folder
// already holds beyond the committed offset: adopted from an attempt whose
// batch this one repeats only in part, they are stored already (after the
// duplicate check).
func (j *partitionJob) dropStoredAhead(ctx context.Context, m *Meta, rt *routing) error {
	var more []*events.Record
	for i, name := range rt.folders {
		f := m.Folders[name]
		if f == nil || f.LastOffset <= m.Committed {
			continue
		}
		recs := rt.recs[i]
		k := sort.Search(len(recs), func(x int) bool { return recs[x].Offset > f.LastOffset })
		more = append(more, recs[:k]...)
		rt.recs[i] = recs[k:]
	}
	if len(more) == 0 {
		return nil
	}
	slices.SortFunc(more, byOffset)
	if err := j.checkDuplicates(ctx, m, more); err != nil {
		return err
	}
	j.duplicates += len(more)
	return nil
}

// announce records in the meta object, before anything is written to
// them, the objects this batch opens in folders the state has no open
// object for. A routed partition's folders are not all touched by every
// batch, so an object that a failed attempt opened could otherwise hold
// records beyond the committed offset unknown to the state, once later
// batches without records for its folder commit past its first offset
// (a batch the trigger gave up on, a shorter redelivery): announced, it is
// the folder's current object, whose index the next record for the folder
// replays. One PUT per batch that opens folders; none otherwise.
func (j *partitionJob) announce(ctx context.Context, m *Meta, rt *routing, now time.Time) error {
	n := 0
	for i, name := range rt.folders {
		recs := rt.recs[i]
		if len(recs) == 0 || m.Folders[name] != nil {
			continue
		}
		first := recs[0].Offset
		m.Folders[name] = &Folder{Object: j.dataKey(name, first, encodingID(j.cfg.enc)), Encoding: encodingID(j.cfg.enc),
			FirstOffset: first, LastOffset: first - 1, OpenedAt: now.UTC()}
		n++
	}
	if n == 0 {
		return nil
	}
	m.UpdatedAt, m.Writer = now.UTC(), requestID(ctx)
	if err := j.putMeta(ctx, m); err != nil {
		return fmt.Errorf("announce %d new folders: %w", n, err)
	}
	return nil
}

func (j *partitionJob) putMeta(ctx context.Context, m *Meta) error {
	data, err := m.encode()
	if err != nil {
		return fmt.Errorf("encode meta object: %w", err)
	}
	key := MetaKey(j.cfg.prefix, j.topic, j.partition)
	if err := j.st.Put(ctx, key, data, stateOptions(0)...); err != nil {
		return fmt.Errorf("write meta object %s: %w", key, err)
	}
	return nil
}

// recordSeal writes the meta object as it stands now (m, as read, advanced
// by what w wrote or recovered so far) without w's current object. It runs
// before a legacy object (one without a record index, which this version
// never appends to) is left for a new, indexed one: the meta object of the
// new schema also makes an instance of the previous version refuse the
// partition instead of appending to the legacy object behind its back.
func (j *partitionJob) recordSeal(ctx context.Context, m *Meta, w *folderWriter) error {
	snap := *m
	snap.Folders = make(map[string]*Folder, len(m.Folders))
	for name, f := range m.Folders {
		if name != w.name {
			snap.Folders[name] = f
		}
	}
	snap.Committed = max(m.Committed, w.prev)
	snap.Records = m.Records + int64(j.written+j.recovered+j.adopted)
	snap.UpdatedAt = w.now.UTC()
	snap.Writer = requestID(ctx)
	if err := j.putMeta(ctx, &snap); err != nil {
		return fmt.Errorf("record the sealing of %s: %w", w.f.Object, err)
	}
	return nil
}

func (j *partitionJob) summary(err error) PartitionSummary {
	s := PartitionSummary{
		Topic: j.topic, Partition: j.partition,
		Records: j.batchLen, Written: j.written, Recovered: j.recovered, Adopted: j.adopted, Skipped: j.skipped, Duplicates: j.duplicates,
		Filtered: j.filtered, Invalid: j.invalid, InvalidDropped: j.dropped,
		SeparatorValues: j.separators, Finalized: j.finalized, Unfinalized: j.unfinalized,
		FirstOffset: j.recs[0].Offset, LastOffset: j.recs[len(j.recs)-1].Offset, Committed: j.committed,
		Bytes: j.bytes, Objects: j.objects, Requests: j.st.requests,
		DurationMS: time.Since(j.start).Milliseconds(),
	}
	if s.Objects == nil {
		s.Objects = []string{}
	}
	if err != nil {
		s.Error = err.Error()
	}
	return s
}

// noteObject records that this call wrote to or found records in key.
func (j *partitionJob) noteObject(key string) {
	if len(j.objects) == 0 || j.objects[len(j.objects)-1] != key {
		j.objects = append(j.objects, key)
	}
}
