package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// run restores one partition.
type run struct {
	ctx  context.Context
	st   store.Store
	o    *options
	j    *partJob
	prod sarama.SyncProducer // nil: dry run
	tgt  *target             // nil: dry run without brokers
	cks  checkpoints
	pr   *progress

	ck        *Checkpoint // nil: checkpoints not consulted
	res       PartitionSummary
	runFrom   int64 // first offset of the run's range
	coverFrom int64 // first offset not yet covered by a confirmed chunk
	lastSeen  int64 // largest offset examined
	dirty     bool  // ck has changes not saved
	inFlight  bool  // a produce failed: the saved pending chunk stands
	fromTS    *int64
	toTS      *int64
	timed     bool
	validOnly bool  // ExcludeInvalid: the records of invalidRuleData/ are left out
	pending   int64 // object bytes read since the last progress report
}

// selected returns the folders the run reads records from: all of them,
// or all but invalidRuleData/{topic}/ with ExcludeInvalid.
func (r *run) selected() [][]object {
	if !r.validOnly {
		return r.j.folders
	}
	var out [][]object
	for _, objs := range r.j.folders {
		if !objs[0].invalid {
			out = append(out, objs)
		}
	}
	return out
}

// span is the range the run covers from first to last offset, with its
// filters.
func (r *run) span(first, last int64) Range {
	return Range{First: first, Last: last, FromTS: r.fromTS, ToTS: r.toTS, ValidOnly: r.validOnly}
}

func (r *run) partition() PartitionSummary {
	o, j := r.o, r.j
	r.res = PartitionSummary{Partition: j.p, Epoch: j.epoch, Objects: j.nsel, FirstOffset: -1, LastOffset: -1}
	r.validOnly = o.excludeInvalid
	r.res.Folders = len(r.selected())
	r.runFrom = max(o.fromOffset, 0)
	r.coverFrom, r.lastSeen = r.runFrom, -1
	if !o.fromTime.IsZero() {
		ms := o.fromTime.UnixMilli()
		r.fromTS = &ms
	}
	if !o.toTime.IsZero() {
		ms := o.toTime.UnixMilli()
		r.toTS = &ms
	}
	r.timed = r.fromTS != nil || r.toTS != nil
	if err := r.precheck(); err != nil {
		return r.fail(err)
	}
	if r.tgt != nil {
		if err := r.resume(); err != nil {
			return r.fail(err)
		}
	}
	err := r.restore()
	if ferr := r.final(err == nil); err == nil {
		err = ferr
	}
	if err != nil {
		return r.fail(err)
	}
	return r.res
}

func (r *run) fail(err error) PartitionSummary {
	r.res.err = err
	r.res.Error = err.Error()
	return r.res
}

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRefused}, a...)...)
}

// precheck reads the selected raw objects without an index before anything
// is produced, so that a partition that cannot be restored exactly is
// refused as a whole. JSONL objects are told apart by their first bytes.
func (r *run) precheck() error {
	o := r.o
	for _, objs := range r.selected() {
		for i, ob := range objs {
			if o.toOffset >= 0 && ob.first > o.toOffset {
				break
			}
			if ob.index || ob.size == 0 || (o.fromOffset >= 0 && i+1 < len(objs) && objs[i+1].first <= o.fromOffset) {
				continue
			}
			head, err := r.st.GetRange(r.ctx, ob.key, 0, min(ob.size, int64(len(jsonlStart))))
			if err != nil {
				return notRestored(ob.key, err)
			}
			if bytes.Equal(head, jsonlStart) {
				continue
			}
			if _, err := load(r.ctx, r.st, ob, r.j.enc); err != nil {
				if errors.Is(err, errRaw) {
					return fmt.Errorf("%w: %w", ErrRefused, err)
				}
				return err
			}
		}
	}
	return nil
}

// resume reads the checkpoint and brings it in line with the target
// partition, then saves it: before anything is produced, so that a store
// that cannot take checkpoints fails the partition with nothing produced.
func (r *run) resume() error {
	o, j := r.o, r.j
	id := CheckpointID{Source: o.ckSource, Topic: o.topic, Epoch: j.epoch, Partition: j.p, ClusterID: r.tgt.id, Target: o.target}
	ck, key, err := r.cks.load(r.ctx, id)
	r.res.Checkpoint = key
	if err != nil {
		return err
	}
	start, end, err := r.tgt.offsets(j.p)
	if err != nil {
		return err
	}
	if o.reset && ck != nil {
		o.log.Warn().Int32("partition", j.p).Str("checkpoint", key).Int64("target_end_offset", end).
			Msg("checkpoint reset: every selected record is produced again, also those already in the target")
		r.res.Reset, ck = true, nil
	}
	if ck == nil {
		if !o.reset && end > 0 {
			old := legacyCheckpointKey(o.prefix, o.topic, o.target, j.p)
			if _, err := r.st.Stat(r.ctx, old); err == nil {
				return refused("%s is a checkpoint of an earlier sinkctl version: it says records were produced to a topic named %q on some cluster, not which records on which cluster; target partition %s/%d holds records. Start over (--reset-checkpoint: records already there would be there twice) or delete it",
					old, o.target, o.target, j.p)
			} else if !store.IsNotFound(err) {
				return fmt.Errorf("look for an earlier version's checkpoint %s: %w", old, err)
			}
		}
		r.ck = newCheckpoint(id, end)
	} else {
		r.ck = ck
		if err := r.reconcile(start, end); err != nil {
			return err
		}
	}
	if o.dryRun {
		return nil
	}
	if err := r.cks.save(r.ctx, r.ck); err != nil {
		return fmt.Errorf("%w; nothing was produced (a read-only or WORM backup? keep the checkpoints elsewhere: --checkpoint-dir)", err)
	}
	return nil
}

// reconcile learns from the target partition (log start and end offsets)
// what reached it since the checkpoint was written.
func (r *run) reconcile(start, end int64) error {
	o, j, ck := r.o, r.j, r.ck
	next := ck.NextTargetOffset
	if end < next {
		if !ck.hasProduced() || end == 0 {
			if ck.hasProduced() {
				o.log.Warn().Int32("partition", j.p).Str("checkpoint", r.res.Checkpoint).Int64("checkpoint_next_offset", next).
					Msg("the target partition is empty: the checkpoint is about another partition (topic recreated, or another cluster with the same cluster id); starting over")
				r.res.Reset = true
			}
			r.ck = newCheckpoint(ck.ID, end)
			return nil
		}
		return refused("target partition %s/%d ends at offset %d, but checkpoint %s records records this restore produced up to offset %d: it is not the partition restored into (topic recreated, another cluster with the same cluster id %q, or records lost by the brokers), and records the checkpoint counts may be missing from it. To produce everything again into it (records already there would be there twice): --reset-checkpoint",
			o.target, j.p, end, r.res.Checkpoint, next-1, r.tgt.id)
	}
	if a := ck.Anchor; a != nil {
		if err := r.checkAnchor(*a, start); err != nil {
			return err
		}
	}
	p := ck.Pending
	if p == nil {
		if end > next {
			r.res.Foreign += end - next
			o.log.Warn().Int32("partition", j.p).Int64("records", end-next).Int64("from_offset", next).
				Msg("records another producer wrote to the target partition since the last restore run: left alone, the restore continues after them")
			ck.NextTargetOffset = end
		}
		return nil
	}
	k := end - next
	if k > p.Records {
		return refused("target partition %s/%d holds %d records after offset %d, where an interrupted run was producing a chunk of %d records (source offsets %d..%d): another producer writes to it, so which of the chunk's records landed cannot be told. To produce everything again (records already there would be there twice): --reset-checkpoint",
			o.target, j.p, k, next-1, p.Records, p.From, p.Last)
	}
	srcs, err := r.pendingRecords(p)
	if err != nil {
		return err
	}
	ms, err := r.tgt.read(r.ctx, j.p, max(next, start), end)
	if err != nil {
		return err
	}
	for _, m := range ms {
		i := m.Offset - next
		if i < 0 || i >= k || !same(srcs[i], m) {
			return refused("the record at offset %d of target partition %s/%d is not source offset %d, which an interrupted run produced there: another producer writes to the partition, so which of the chunk's records (source offsets %d..%d) landed cannot be told. To produce everything again (records already there would be there twice): --reset-checkpoint",
				m.Offset, o.target, j.p, srcs[min(max(i, 0), int64(len(srcs))-1)].offset, p.From, p.Last)
		}
	}
	if n := int64(len(ms)); n < k {
		o.log.Warn().Int32("partition", j.p).Int64("records", k-n).
			Msg("records of the interrupted chunk were removed from the target (retention or compaction) before they could be compared; counted from the end offset")
	}
	if k > 0 {
		last := srcs[k-1]
		ck.add(Range{First: p.From, Last: last.offset, FromTS: p.FromTS, ToTS: p.ToTS, ValidOnly: p.ValidOnly})
		ck.Anchor = &Anchor{TargetOffset: end - 1, SourceOffset: last.offset}
	}
	o.log.Info().Int32("partition", j.p).Int64("landed", k).Int64("announced", p.Records).Msg("interrupted chunk reconciled with the target partition")
	r.res.Landed = k
	ck.NextTargetOffset, ck.Pending = end, nil
	return nil
}

// checkAnchor checks that the target still holds, where the checkpoint
// says, the last record this restore produced: a recreated topic or
// another cluster's partition that happens to be as long fails here.
func (r *run) checkAnchor(a Anchor, start int64) error {
	o, j := r.o, r.j
	if a.TargetOffset < start {
		o.log.Warn().Int32("partition", j.p).Int64("offset", a.TargetOffset).Int64("log_start", start).
			Msg("the last record this restore produced was removed from the target by retention: the target cannot be checked against the checkpoint")
		return nil
	}
	ms, err := r.tgt.read(r.ctx, j.p, a.TargetOffset, a.TargetOffset+1)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		o.log.Warn().Int32("partition", j.p).Int64("offset", a.TargetOffset).
			Msg("the last record this restore produced was removed from the target (compaction): the target cannot be checked against the checkpoint")
		return nil
	}
	src, ok, err := r.find(a.SourceOffset)
	if err != nil {
		return err
	}
	if !ok {
		return refused("source offset %d, the last record checkpoint %s says was produced, is no longer stored: the backup changed since", a.SourceOffset, r.res.Checkpoint)
	}
	if !same(src, ms[0]) {
		return refused("the record at offset %d of target partition %s/%d is not source offset %d, which checkpoint %s says this restore produced there: the target is not the partition restored into (topic recreated, or another cluster with the same cluster id %q). To produce everything again into it: --reset-checkpoint",
			a.TargetOffset, o.target, j.p, a.SourceOffset, r.res.Checkpoint, r.tgt.id)
	}
	return nil
}

// find returns the stored record at offset off.
func (r *run) find(off int64) (record, bool, error) {
	it := records(r.ctx, r.st, r.j.folders, r.j.enc, off, off, nil)
	for {
		rec, ok, err := it.next()
		if err != nil || !ok || rec.offset > off {
			return record{}, false, err
		}
		if rec.offset == off {
			return rec, true, nil
		}
	}
}

// pendingRecords returns the records of an announced chunk, as the run
// that announced it selected them.
func (r *run) pendingRecords(p *Pending) ([]record, error) {
	it := records(r.ctx, r.st, r.j.folders, r.j.enc, p.From, p.Last, nil)
	var out []record
	for {
		rec, ok, err := it.next()
		if err != nil {
			return nil, err
		}
		if !ok || rec.offset > p.Last {
			break
		}
		if rec.offset < p.From || (!rec.noTS && !inTS(rec.ts, p.FromTS, p.ToTS)) || (p.ValidOnly && rec.invalid) ||
			r.ck.covered(rec.offset, rec.ts, rec.noTS, rec.invalid) {
			continue
		}
		out = append(out, rec)
	}
	if int64(len(out)) != p.Records {
		return nil, refused("checkpoint %s announced %d records with source offsets %d..%d, the backup now holds %d: it changed since", r.res.Checkpoint, p.Records, p.From, p.Last, len(out))
	}
	return out, nil
}

// same reports whether m is the target record of r: key, value and
// headers (timestamps are not compared: a topic with LogAppendTime
// replaces them).
func same(r record, m *sarama.ConsumerMessage) bool {
	if !equalNullable(r.key, m.Key) || !equalNullable(r.value, m.Value) || len(r.headers) != len(m.Headers) {
		return false
	}
	for i, h := range r.headers {
		if !bytes.Equal(h.Key, m.Headers[i].Key) || !bytes.Equal(h.Value, m.Headers[i].Value) {
			return false
		}
	}
	return true
}

func equalNullable(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

// restore reads the selected records in offset order and produces those
// the checkpoint does not cover, a chunk at a time.
func (r *run) restore() error {
	o, j := r.o, r.j
	it := records(r.ctx, r.st, r.selected(), j.enc, r.runFrom, o.toOffset, func(ob object, l loaded) error {
		r.pending += ob.size
		if l.raw {
			r.res.RawObjects++
		}
		if l.noTS && r.timed {
			// (plan refuses this before producing anything when the
			// encodings say so; this is the last line.)
			return refused("%s holds records without a timestamp (%s): a time range cannot select them", ob.key, noTSWhy(l))
		}
		return nil
	})
	var chunk []record
	for {
		rec, ok, err := it.next()
		if err != nil {
			return err
		}
		if !ok || (o.toOffset >= 0 && rec.offset > o.toOffset) {
			break
		}
		r.lastSeen = max(r.lastSeen, rec.offset)
		switch {
		case o.fromOffset >= 0 && rec.offset < o.fromOffset,
			r.timed && !inTS(rec.ts, r.fromTS, r.toTS):
			r.res.Filtered++
		case r.ck != nil && r.ck.covered(rec.offset, rec.ts, rec.noTS, rec.invalid):
			r.res.Skipped++
		default:
			chunk = append(chunk, rec)
			if len(chunk) >= o.chunk {
				if err := r.flush(chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
	}
	return r.flush(chunk)
}

// flush announces a chunk in the checkpoint, produces it and records it as
// produced (saved with the next announcement, or by final).
func (r *run) flush(chunk []record) error {
	if len(chunk) == 0 {
		r.pr.report(0, r.pending, false)
		r.pending = 0
		return nil
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	o, j := r.o, r.j
	first, last := chunk[0].offset, chunk[len(chunk)-1].offset
	if r.prod != nil {
		ck := r.ck
		ck.Pending = &Pending{TargetOffset: ck.NextTargetOffset, From: r.coverFrom, Last: last, Records: int64(len(chunk)), FromTS: r.fromTS, ToTS: r.toTS,
			ValidOnly: r.validOnly}
		if err := r.cks.save(r.ctx, ck); err != nil {
			ck.Pending = nil
			return fmt.Errorf("%w; source offsets %d..%d were not produced", err, first, last)
		}
		r.dirty = false
		msgs := make([]*sarama.ProducerMessage, len(chunk))
		for i, rec := range chunk {
			m := &sarama.ProducerMessage{Topic: o.target, Partition: j.p, Headers: rec.headers}
			if rec.key != nil {
				m.Key = sarama.ByteEncoder(rec.key)
			}
			if rec.value != nil {
				m.Value = sarama.ByteEncoder(rec.value)
			}
			// Records stored without a timestamp (raw, or SINK_FIELDS
			// without it) get the producer's clock's.
			if !rec.noTS && rec.ts >= 0 {
				m.Timestamp = time.UnixMilli(rec.ts)
			}
			msgs[i] = m
		}
		if err := r.prod.SendMessages(msgs); err != nil {
			r.inFlight = true
			return fmt.Errorf("produce source offsets %d..%d to %s/%d: %w (some may have landed: the next run reads the target partition to tell which, and produces the rest)",
				first, last, o.target, j.p, err)
		}
		t0, t1 := msgs[0].Offset, msgs[len(msgs)-1].Offset
		if foreign := t1 - ck.NextTargetOffset + 1 - int64(len(msgs)); foreign != 0 || t0 != ck.NextTargetOffset {
			r.res.Foreign += foreign
			o.log.Warn().Int32("partition", j.p).Int64("records", foreign).Int64("from_offset", ck.NextTargetOffset).Int64("to_offset", t1).
				Msg("records another producer wrote landed among this restore's records in the target partition (or a request of an interrupted run arrived late)")
		}
		ck.add(r.span(r.runFrom, last))
		ck.Anchor = &Anchor{TargetOffset: t1, SourceOffset: last}
		ck.NextTargetOffset, ck.Pending = t1+1, nil
		r.dirty = true
	}
	r.coverFrom = last + 1
	if r.res.FirstOffset < 0 {
		r.res.FirstOffset = first
	}
	r.res.LastOffset = last
	r.res.Records += int64(len(chunk))
	for _, rec := range chunk {
		if rec.invalid {
			r.res.InvalidRecords++
		}
	}
	r.pr.report(int64(len(chunk)), r.pending, false)
	r.pending = 0
	return nil
}

// final extends the run's range to every offset it examined when it
// completed, and saves what is not saved yet.
func (r *run) final(completed bool) error {
	if r.ck == nil || r.prod == nil || r.inFlight {
		return nil
	}
	if completed && r.ck.add(r.span(r.runFrom, r.lastSeen)) {
		r.dirty = true
	}
	if !r.dirty {
		return nil
	}
	if err := r.cks.save(r.ctx, r.ck); err != nil {
		return fmt.Errorf("%w (the records produced are in the target: the next run finds them there)", err)
	}
	r.dirty = false
	return nil
}

// noTSWhy says why an object's records have no timestamp.
func noTSWhy(l loaded) string {
	if l.raw {
		return "raw records are values only"
	}
	return "written with SINK_FIELDS without timestamp"
}
