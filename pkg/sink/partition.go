package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
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
	duplicates int
	bytes      int64
	objects    []string
	committed  int64
}

func (j *partitionJob) run(ctx context.Context) error {
	j.start = time.Now()
	j.duplicates = j.batchDups
	j.committed = -1
	m, err := loadMeta(ctx, j.st, j.cfg.prefix, j.topic, j.partition, j.recs[0].Offset)
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
		w := &folderWriter{job: j, name: fb.name, now: now, buf: buf, encID: encodingID(j.cfg.enc)}
		if f := m.Folders[fb.name]; f != nil {
			w.f = *f
		}
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
	m.Records += int64(j.written + j.recovered)
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
			if cur, err := DecodeMeta(data, j.topic, j.partition); err == nil && cur.Committed >= m.Committed {
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
	stalls  int
}

func (w *folderWriter) write(ctx context.Context, recs []*events.Record) error {
	j := w.job
	for len(recs) > 0 {
		if w.f.Object == "" {
			w.open(recs[0])
			continue
		}
		if w.f.Records > 0 && !w.nextChecked && (w.recovering || (!w.verified && w.nearAge())) {
			// An earlier attempt of this batch may have sealed the open object
			// and opened the next one: it saw the object older (a clock a
			// little ahead), or it found it full under other settings. Its
			// name is known, so look, once, on the recovery path or when the
			// age is close enough to the limit for clocks to disagree.
			w.nextChecked = true
			next := ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, recs[0].Offset)
			if _, err := j.st.Stat(ctx, next); err == nil {
				w.sealNext = true
			} else if !store.IsNotFound(err) {
				return fmt.Errorf("look for %s: %w", next, err)
			}
		}
		if reason := w.sealReason(); reason != "" {
			if !w.verified {
				// Sealing without having appended in this call: first make
				// sure no earlier attempt appended records the state lacks.
				n, err := w.verify(ctx, recs)
				if err != nil {
					return err
				}
				if n > 0 && w.sealNext {
					return fmt.Errorf("%w: %s holds unrecorded records while the next object %s exists too", ErrConflict, w.f.Object,
						ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, recs[0].Offset))
				}
				recs = recs[n:]
				if w.lagging {
					return nil
				}
				continue
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
	return nil
}

// open starts a new object for records from r on. Nothing is written yet:
// the first append creates the object at position 0, or, if an earlier
// attempt already did, fails with its length, and absorb takes over.
func (w *folderWriter) open(r *events.Record) {
	j := w.job
	w.f = Folder{
		Object:      ObjectKey(j.cfg.prefix, j.topic, w.name, j.partition, r.Offset),
		Encoding:    w.encID,
		FirstOffset: r.Offset,
		LastOffset:  r.Offset,
		OpenedAt:    w.now.UTC(),
	}
	w.verified, w.nextChecked, w.sealNext = false, false, false
}

func (w *folderWriter) seal(reason string) {
	w.job.log.Debug().Str("object", w.f.Object).Int64("bytes", w.f.Size).Int64("records", w.f.Records).Str("reason", reason).Msg("data object sealed")
	w.f = Folder{}
	w.verified, w.nextChecked, w.sealNext = false, false, false
}

// sealReason says why the open object must take no more records, or "".
func (w *folderWriter) sealReason() string {
	c := w.job.cfg
	switch {
	case w.f.Encoding != w.encID:
		return "format changed from " + w.f.Encoding
	case w.full():
		return "full"
	case c.flushInterval > 0 && w.now.Sub(w.f.OpenedAt) >= c.flushInterval:
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

// nearAge: the open object's age is within the clock-skew allowance of the
// flush interval.
func (w *folderWriter) nearAge() bool {
	iv := w.job.cfg.flushInterval
	return iv > 0 && w.now.Sub(w.f.OpenedAt) >= iv-min(iv/4, time.Minute)
}

// segment encodes the longest run of records that fits in the open object:
// records are added while the object is not yet full, so the cut depends only
// on the records and the settings, never on where a batch happens to end.
func (w *folderWriter) segment(recs []*events.Record) (int, []byte) {
	enc := w.job.cfg.enc
	buf := w.buf[:0]
	k := 0
	for k < len(recs) && (k == 0 || !w.fullAt(w.f.Size+int64(len(buf)), w.f.Records+int64(k))) {
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
	enc := j.cfg.enc
	var tmp []byte
	off, k := 0, 0
	for off < len(extra) && k < len(recs) {
		tmp = enc.Append(tmp[:0], recs[k])
		if len(tmp) > len(extra)-off || !bytes.Equal(tmp, extra[off:off+len(tmp)]) {
			return 0, fmt.Errorf("%w: %s holds %d bytes after position %d that the meta object does not account for, "+
				"and they are not the next records of this batch (the first %d match, offset %d differs): "+
				"another invocation wrote this partition, or SINK_FORMAT / SINK_VALUE_ENCODING changed while a failed batch was pending",
				ErrConflict, obj, len(extra), pos, k, recs[k].Offset)
		}
		off += len(tmp)
		k++
	}
	if k > 0 {
		w.add(recs[:k], int64(off), true)
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
