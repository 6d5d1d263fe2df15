package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrConflict: a data object disagrees with the partition's state in a way
// the protocol cannot explain by an earlier failed attempt of the same
// records. Typical causes: two invocations writing the same partition at once
// (the loser sees the winner's bytes), the output format changed while a
// failed batch was pending, or objects changed by hand. Nothing is written;
// the error names the object and the byte range.
var ErrConflict = errors.New("data object conflicts with the partition state")

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

// encodingID names what the bytes of an object depend on, besides the records.
func encodingID(e format.Encoder) string {
	v := "text"
	if e.ValueEncoding == events.Base64 {
		v = "base64"
	}
	return e.Format.String() + "/" + v
}

// partitionJob is one Write's work on one topic-partition.
type partitionJob struct {
	cfg       *config
	bufs      *bufCache
	st        *guardedStore
	topic     string
	partition int32
	recs      []*events.Record // sorted by offset, no repeats
	batchLen  int
	batchDups int
	log       zerolog.Logger

	start      time.Time
	written    int
	recovered  int
	earlier    int // stored records found that were not in the batch (see earlierLine)
	duplicates int
	bytes      int64
	objects    []string
	committed  int64
}

func (j *partitionJob) run(ctx context.Context) error {
	j.start = time.Now()
	j.duplicates = j.batchDups
	j.committed = -1
	m, fresh, err := loadMeta(ctx, j.st, j.cfg.prefix, j.topic, j.partition, j.recs[0].Offset)
	if err != nil {
		return err
	}
	j.committed = m.Committed
	// Kafka offsets may skip (compaction, transaction markers): only
	// "offset <= committed" means written, never "committed+1 is next".
	first := sort.Search(len(j.recs), func(i int) bool { return j.recs[i].Offset > m.Committed })
	j.duplicates += first
	pending := j.recs[first:]
	if len(pending) == 0 {
		j.log.Info().Int64("committed_offset", m.Committed).Int("duplicates", j.duplicates).Msg("batch already written")
		return nil
	}

	now := j.cfg.now()
	size := 0
	for _, r := range pending {
		size += j.cfg.enc.Size(r)
	}
	// One buffer for the partition, reused by every append (the store does
	// not keep it), so memory stays near the batch size.
	buf := j.bufs.get(size)
	defer func() { j.bufs.put(buf) }()

	// Every record goes to the topic's own folder for now; routing by time or
	// key adds folders, which the meta schema and the folder writer already
	// handle independently.
	folders := []struct {
		name string
		recs []*events.Record
	}{{"", pending}}
	lagging := false
	for _, fb := range folders {
		w := &folderWriter{job: j, name: fb.name, now: now, buf: buf, encID: encodingID(j.cfg.enc), prev: m.Committed}
		if fresh {
			// loadMeta's listing found no object before the batch.
			w.prev = max(w.prev, pending[0].Offset-1)
		}
		if f := m.Folders[fb.name]; f != nil {
			w.f, w.fromMeta = *f, true
		}
		w.recordSeal = func(ctx context.Context) error { return j.recordSeal(ctx, m, w) }
		if err := w.write(ctx, fb.recs); err != nil {
			return err
		}
		buf = w.buf
		lagging = lagging || w.lagging
		if w.f.Object == "" {
			delete(m.Folders, fb.name)
		} else {
			f := w.f
			m.Folders[fb.name] = &f
		}
	}

	m.Committed = pending[len(pending)-1].Offset
	m.Records += int64(j.written + j.recovered + j.earlier)
	m.UpdatedAt = now.UTC()
	m.Writer = requestID(ctx)
	key := MetaKey(j.cfg.prefix, j.topic, j.partition)
	if lagging {
		// An object holds more than this batch accounts for: either an
		// earlier attempt wrote records beyond this (shorter) redelivery, or
		// a concurrent invocation wrote them and may already have recorded
		// them. Writing our state over a newer one would move the partition
		// backwards, so look first. (Recovery path only.)
		if data, err := j.st.Get(ctx, key); err == nil {
			if cur, err := DecodeMeta(data, j.cfg.prefix, j.topic, j.partition); err == nil && cur.Committed >= m.Committed {
				j.committed = cur.Committed
				j.log.Warn().Int64("committed_offset", cur.Committed).Msg("meta object already records this batch; not rewriting it")
				return nil
			}
		}
	}
	data, err := m.encode()
	if err != nil {
		return fmt.Errorf("encode meta object: %w", err)
	}
	if err := j.st.Put(ctx, key, data); err != nil {
		return fmt.Errorf("write meta object %s: %w", key, err)
	}
	j.committed = m.Committed
	j.log.Info().
		Int64("first_offset", pending[0].Offset).Int64("last_offset", m.Committed).
		Int("written", j.written).Int("recovered", j.recovered).Int("duplicates", j.duplicates).
		Int64("bytes", j.bytes).Strs("objects", j.objects).Int("oss_requests", j.st.requests).
		Dur("took", time.Since(j.start)).Msg("partition written")
	return nil
}

// recordSeal writes the meta object as it stands now (m, as read, advanced
// by what w wrote or recovered so far) with w's open object sealed. It runs
// before an object the meta object records as open is sealed and records go
// to the next one: that decision depends on the clock (age) and on the
// settings, and a retry with another clock or other settings (an instance of
// the previous deployment, say) must not make another one and append the
// same records to the old object. This costs one PUT per such rotation.
// With one folder per partition, every record up to w.prev is durable.
func (j *partitionJob) recordSeal(ctx context.Context, m *Meta, w *folderWriter) error {
	snap := *m
	snap.Folders = make(map[string]*Folder, len(m.Folders))
	for name, f := range m.Folders {
		if name != w.name {
			snap.Folders[name] = f
		}
	}
	snap.Committed = w.prev
	snap.Records = m.Records + int64(j.written+j.recovered+j.earlier)
	snap.UpdatedAt = w.now.UTC()
	snap.Writer = requestID(ctx)
	data, err := snap.encode()
	if err != nil {
		return fmt.Errorf("encode meta object: %w", err)
	}
	key := MetaKey(j.cfg.prefix, j.topic, j.partition)
	if err := j.st.Put(ctx, key, data); err != nil {
		return fmt.Errorf("record the sealing of %s in %s: %w", w.f.Object, key, err)
	}
	return nil
}

func (j *partitionJob) summary(err error) PartitionSummary {
	s := PartitionSummary{
		Topic: j.topic, Partition: j.partition,
		Records: j.batchLen, Written: j.written, Recovered: j.recovered, Duplicates: j.duplicates,
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

// folderWriter appends one folder's share of a partition's pending records.
type folderWriter struct {
	job   *partitionJob
	name  string
	now   time.Time
	encID string
	buf   []byte

	f Folder // the open object; f.Object == "" when none is open

	// prev is the offset of the last record known written to the folder
	// (the committed offset, then each record written or recovered).
	prev int64

	// verified: the open object's length was seen to equal f.Size during
	// this call, so no earlier attempt left unrecorded records in it.
	verified bool
	// recovering: this call found records an earlier attempt had written.
	recovering bool
	// nextChecked: this call looked for the object an earlier attempt would
	// have opened after the open one.
	nextChecked bool
	// sealNext: that object exists, so the earlier attempt sealed this one.
	sealNext bool
	// lagging: the open object holds bytes beyond every pending record; the
	// records of a later batch (see absorb).
	lagging bool
	// fromMeta: the open object is the one the meta object records, not one
	// this call opened.
	fromMeta bool
	// recordSeal records in the meta object that the open object is sealed.
	recordSeal func(ctx context.Context) error
	stalls     int
}

func (w *folderWriter) write(ctx context.Context, recs []*events.Record) error {
	j := w.job
	for len(recs) > 0 {
		if w.f.Object == "" {
			stray, first, err := w.findStray(ctx, recs[0].Offset)
			if err != nil {
				return err
			}
			if stray != "" {
				// Records the state does not know of: continue in that
				// object, so that absorb accounts for what it holds (JSONL),
				// or fails rather than store anything twice (raw).
				j.log.Warn().Str("object", stray).Int64("committed_offset", w.prev).Msg("data object beyond the committed offset")
				w.open(recs[0])
				w.f.Object, w.f.FirstOffset, w.f.LastOffset = stray, first, first
				continue
			}
			w.open(recs[0])
			continue
		}
		if w.f.Records > 0 && !w.nextChecked && w.recovering {
			// This call found records an earlier attempt wrote into the open
			// object; that attempt may also have filled it and gone on to the
			// next object. Its name is known: look, once per first record.
			w.nextChecked = true
			next := ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, recs[0].Offset, 0)
			if _, err := j.st.Stat(ctx, next); err == nil {
				w.sealNext = true
			} else if !store.IsNotFound(err) {
				return fmt.Errorf("look for %s: %w", next, err)
			}
		}
		if reason := w.sealReason(recs[0]); reason != "" {
			if !w.verified {
				// Sealing without having appended in this call: first make
				// sure no earlier attempt appended records the state lacks.
				n, err := w.verify(ctx, recs)
				if err != nil {
					return err
				}
				if n > 0 && w.sealNext {
					return fmt.Errorf("%w: %s holds unrecorded records while the next object %s exists too", ErrConflict, w.f.Object,
						ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, recs[0].Offset, 0))
				}
				recs = recs[n:]
				if w.lagging {
					return nil
				}
				continue
			}
			if w.fromMeta && !w.sealNext {
				if err := w.recordSeal(ctx); err != nil {
					return err
				}
			}
			w.seal(reason)
			continue
		}

		k, data := w.segment(recs)
		n, err := j.st.Append(ctx, w.f.Object, w.f.Size, data)
		if pe, ok := store.AsPositionError(err); ok {
			a, err := w.absorb(ctx, pe.Length, recs)
			if err != nil {
				return err
			}
			recs = recs[a:]
			if w.lagging {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("append %d records (offsets %d-%d) to %s at %d: %w",
				k, recs[0].Offset, recs[k-1].Offset, w.f.Object, w.f.Size, err)
		}
		if want := w.f.Size + int64(len(data)); n != want {
			return fmt.Errorf("%w: append to %s returned length %d, expected %d", ErrConflict, w.f.Object, n, want)
		}
		w.add(recs[:k], int64(len(data)), false)
		recs = recs[k:]
		w.verified = true
		if w.full() {
			w.seal("full")
		}
	}
	if w.recovering && w.f.Object != "" {
		// The batch ended where an earlier attempt's bytes in the open
		// object ended. That attempt may have gone on to later objects
		// (under other settings it may have found this one full); the next
		// record's name is not known yet, so look for any object after it.
		later, err := w.laterObject(ctx)
		if err != nil {
			return err
		}
		if later != "" {
			w.seal("an earlier attempt went on to " + later)
		}
	}
	return nil
}

// laterObject returns a data object of the folder that starts after the last
// record written or recovered (w.prev) and that this call did not write, or
// "". Recovery path only: it lists the partition's objects.
func (w *folderWriter) laterObject(ctx context.Context) (string, error) {
	j := w.job
	prefix := objectPrefix(j.cfg.prefix, j.topic, w.name, j.partition)
	infos, err := j.st.List(ctx, prefix)
	if err != nil {
		return "", fmt.Errorf("list %s*: %w", prefix, err)
	}
	for _, o := range infos {
		if _, off, ok := ParseObjectName(path.Base(o.Key)); ok && off > w.prev && !slices.Contains(j.objects, o.Key) {
			return o.Key, nil
		}
	}
	return "", nil
}

// findStray returns the first data object of the folder that starts
// strictly between the last record known written (w.prev) and first, the
// record a new object is about to start with, or "". No attempt can have
// opened one there, as objects start at records and this batch has none in
// between; so such an object holds records the meta object does not know
// of: compacted from Kafka since an earlier attempt wrote them, or written
// under a meta object that has since moved backwards (a racing
// invocation's late write). Without an offset gap the range is empty and
// nothing is asked; with one, a single LIST narrowed to the range's common
// decimal prefix.
func (w *folderWriter) findStray(ctx context.Context, first int64) (string, int64, error) {
	lo, hi := w.prev+1, first-1
	if lo > hi {
		return "", 0, nil
	}
	j := w.job
	base := objectPrefix(j.cfg.prefix, j.topic, w.name, j.partition)
	los, his := strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10)
	narrow := ""
	if len(los) == len(his) {
		for i := 0; i < len(los) && los[i] == his[i]; i++ {
			narrow = los[:i+1]
		}
	}
	infos, err := j.st.List(ctx, base+narrow)
	if err != nil {
		return "", 0, fmt.Errorf("list %s*: %w", base+narrow, err)
	}
	stray, at := "", int64(0)
	for _, o := range infos {
		_, off, ok := ParseObjectName(path.Base(o.Key))
		if ok && off >= lo && off <= hi && !slices.Contains(j.objects, o.Key) && (stray == "" || off < at) {
			stray, at = o.Key, off
		}
	}
	return stray, at, nil
}

// open starts a new object for records from r on. Nothing is written yet:
// the first append creates the object at position 0, or, if an earlier
// attempt already did, fails with its length, and absorb takes over.
func (w *folderWriter) open(r *events.Record) {
	j := w.job
	w.f = Folder{
		Object:      ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, r.Offset, 0),
		Encoding:    w.encID,
		FirstOffset: r.Offset,
		LastOffset:  r.Offset,
		OpenedAt:    w.now.UTC(),
		// FirstTimestamp is the first record's: the object's age is
		// measured from it (tooOld).
		FirstTimestamp: r.Timestamp,
	}
	w.verified, w.nextChecked, w.sealNext, w.fromMeta = false, false, false, false
}

func (w *folderWriter) seal(reason string) {
	w.job.log.Debug().Str("object", w.f.Object).Int64("bytes", w.f.Size).Int64("records", w.f.Records).Str("reason", reason).Msg("data object sealed")
	w.f = Folder{}
	w.verified, w.nextChecked, w.sealNext = false, false, false
}

// sealReason says why the open object must take no more records, or "".
func (w *folderWriter) sealReason(next *events.Record) string {
	switch {
	case w.f.Encoding != w.encID:
		return "format changed from " + w.f.Encoding
	case w.full():
		return "full"
	case w.tooOld(next):
		return "age"
	case w.sealNext:
		return "next object exists"
	}
	return ""
}

func (w *folderWriter) full() bool { return w.fullAt(w.f.Size, w.f.Records) }

func (w *folderWriter) fullAt(size, records int64) bool {
	c := w.job.cfg
	return size >= c.flushBytes || (c.flushRecords > 0 && records >= c.flushRecords)
}

// earlierLine recognises, in JSONL bytes, a stored line for a record that
// precedes next and follows everything known written (w.prev) but is not in
// this batch: compaction removed it from Kafka between attempts, or it was
// acknowledged under a meta object that has since moved backwards. JSONL
// lines name their offset, so such a record is known to be stored, and
// skipping it stores nothing twice. Raw lines carry no offset: there is no
// telling, and absorb fails instead.
func (w *folderWriter) earlierLine(enc format.Encoder, b []byte, next int64) (n int, offset int64, ok bool) {
	if enc.Format != format.JSONL {
		return 0, 0, false
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, 0, false
	}
	var line struct {
		Topic     *string `json:"topic"`
		Partition *int32  `json:"partition"`
		Offset    *int64  `json:"offset"`
	}
	if json.Unmarshal(b[:i], &line) != nil || line.Topic == nil || line.Partition == nil || line.Offset == nil {
		return 0, 0, false
	}
	o := *line.Offset
	if *line.Topic != w.job.topic || *line.Partition != w.job.partition || o <= w.prev || o >= next {
		return 0, 0, false
	}
	return i + 1, o, true
}

// addEarlier accounts for a line earlierLine recognised.
func (w *folderWriter) addEarlier(offset, n int64) {
	j := w.job
	w.f.Size += n
	w.f.Records++
	w.f.LastOffset = offset
	w.prev = offset
	j.earlier++
	if len(j.objects) == 0 || j.objects[len(j.objects)-1] != w.f.Object {
		j.objects = append(j.objects, w.f.Object)
	}
	j.log.Warn().Str("object", w.f.Object).Int64("offset", offset).Msg("stored record not in this batch (compacted since, or acknowledged earlier)")
}

// encoderFor returns the encoder an encoding id (see encodingID) names.
func encoderFor(id string) (format.Encoder, bool) {
	fs, vs, ok := strings.Cut(id, "/")
	if !ok {
		return format.Encoder{}, false
	}
	f, err := format.Parse(fs)
	if err != nil {
		return format.Encoder{}, false
	}
	v, err := events.ParseValueEncoding(vs)
	if err != nil {
		return format.Encoder{}, false
	}
	return format.Encoder{Format: f, ValueEncoding: v}, true
}

// tooOld reports whether r is SINK_FLUSH_INTERVAL or more newer than the
// open object's first record, in Kafka record time. Record time, not the
// clock, so that the decision is a function of the records alone: every
// retry, on any machine, and every racing invocation seals at the same
// record. Records without a timestamp never seal by age.
func (w *folderWriter) tooOld(r *events.Record) bool {
	iv := w.job.cfg.flushInterval.Milliseconds()
	return iv > 0 && w.f.FirstTimestamp > 0 && r.Timestamp > 0 && r.Timestamp-w.f.FirstTimestamp >= iv
}

// segment encodes the longest run of records that fits in the open object:
// records are added while the object is not yet full nor too old, so the cut
// depends only on the records and the settings, never on where a batch
// happens to end or on the clock.
func (w *folderWriter) segment(recs []*events.Record) (int, []byte) {
	enc := w.job.cfg.enc
	buf := w.buf[:0]
	k := 0
	for k < len(recs) && (k == 0 || !w.fullAt(w.f.Size+int64(len(buf)), w.f.Records+int64(k)) && !w.tooOld(recs[k])) {
		buf = enc.Append(buf, recs[k])
		k++
	}
	w.buf = buf
	return k, buf
}

func (w *folderWriter) add(recs []*events.Record, n int64, recovered bool) {
	j := w.job
	w.f.Size += n
	w.f.Records += int64(len(recs))
	w.f.LastOffset = recs[len(recs)-1].Offset
	w.prev = w.f.LastOffset
	if recovered {
		j.recovered += len(recs)
	} else {
		j.written += len(recs)
		j.bytes += n
	}
	if len(j.objects) == 0 || j.objects[len(j.objects)-1] != w.f.Object {
		j.objects = append(j.objects, w.f.Object)
	}
}

// verify checks that the open object ends where the state says, absorbing
// what an earlier attempt appended beyond it.
func (w *folderWriter) verify(ctx context.Context, recs []*events.Record) (int, error) {
	info, err := w.job.st.Stat(ctx, w.f.Object)
	if store.IsNotFound(err) {
		return 0, fmt.Errorf("%w: data object %s, open in the meta object with %d bytes, is missing", ErrConflict, w.f.Object, w.f.Size)
	}
	if err != nil {
		return 0, fmt.Errorf("check length of %s: %w", w.f.Object, err)
	}
	if info.Size == w.f.Size {
		w.verified = true
		return 0, nil
	}
	return w.absorb(ctx, info.Size, recs)
}

// absorb handles an open object whose length is not the recorded f.Size.
//
// Bytes beyond f.Size were appended by an earlier attempt whose meta object
// write never happened (a crash, a timeout, an error after the append took
// effect), or by a concurrent invocation. Encoding is deterministic, so those
// bytes must be exactly the encodings of the next pending records, ending at
// a record boundary; such records are counted as written ("recovered") and
// not appended again. If every pending record matches and bytes remain, the
// earlier attempt had more records than this redelivery: the object is left
// "lagging" behind its recorded size, and the next invocation, which carries
// those later records, absorbs the rest. Anything else is a conflict.
func (w *folderWriter) absorb(ctx context.Context, length int64, recs []*events.Record) (int, error) {
	j := w.job
	obj, pos := w.f.Object, w.f.Size
	if length < pos {
		return 0, fmt.Errorf("%w: %s is %d bytes but the meta object records %d written: the object was truncated or replaced", ErrConflict, obj, length, pos)
	}
	if length == pos {
		// The store reported a mismatch, yet the length is what we expected:
		// someone else is appending right now. A few rounds settle a
		// transient race; more mean a concurrent writer.
		if w.stalls++; w.stalls > 3 {
			return 0, fmt.Errorf("%w: %s keeps changing length at %d: another invocation is writing this partition", ErrConflict, obj, pos)
		}
		return 0, nil
	}
	extra, err := j.st.GetRange(ctx, obj, pos, length-pos)
	if err != nil {
		return 0, fmt.Errorf("read unrecorded bytes %d-%d of %s: %w", pos, length, obj, err)
	}
	// Compare in the encoding the object was written in, which may not be
	// today's (SINK_FORMAT changed since).
	enc, ok := encoderFor(w.f.Encoding)
	if !ok {
		return 0, fmt.Errorf("%w: %s: the meta object names an unknown encoding %q", ErrConflict, obj, w.f.Encoding)
	}
	var tmp []byte
	off, k := 0, 0
	for off < len(extra) && k < len(recs) {
		tmp = enc.Append(tmp[:0], recs[k])
		if len(tmp) <= len(extra)-off && bytes.Equal(tmp, extra[off:off+len(tmp)]) {
			w.add(recs[k:k+1], int64(len(tmp)), true)
			off += len(tmp)
			k++
			continue
		}
		if n, o, ok := w.earlierLine(enc, extra[off:], recs[k].Offset); ok {
			w.addEarlier(o, int64(n))
			off += n
			continue
		}
		return 0, fmt.Errorf("%w: %s holds %d bytes after position %d that the meta object does not account for, "+
			"and they are not the next records of this batch (the first %d match, offset %d differs): "+
			"another invocation wrote this partition, SINK_FORMAT / SINK_VALUE_ENCODING changed while a failed batch was pending, "+
			"or (raw format only) log compaction removed a record between attempts",
			ErrConflict, obj, len(extra), pos, k, recs[k].Offset)
	}
	if k > 0 {
		// The first pending record changed: whether an earlier attempt
		// opened the object after this one must be asked again, under the
		// name that record gives it.
		w.nextChecked = false
	}
	w.recovering = true
	if off == len(extra) {
		w.verified = true
		j.log.Warn().Str("object", obj).Int("records", k).Int("bytes", off).Msg("found records written by an earlier attempt")
		return k, nil
	}
	w.lagging = true
	w.verified = false
	j.log.Warn().Str("object", obj).Int("records", k).Int("bytes", off).Int("later_bytes", len(extra)-off).
		Msg("found records written by an earlier attempt, and more beyond this batch")
	return k, nil
}
