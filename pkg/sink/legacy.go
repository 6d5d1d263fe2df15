package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Legacy objects were written before record indexes existed (meta schema
// version 1, or found without an index). This version never appends to
// one: it makes sure no earlier attempt left records in it that the state
// lacks (absorbing them by comparison, as the previous version did), then
// seals it and continues in a new, indexed object.

// legacy makes progress on a legacy current object: the first call checks
// its length (and absorbs unrecorded records); the next seals it. It
// returns how many of recs were found already written.
func (w *folderWriter) legacy(ctx context.Context, recs []*events.Record) (int, error) {
	j := w.job
	if !w.legacyChecked {
		info, err := j.st.Stat(ctx, w.f.Object)
		if store.IsNotFound(err) {
			return 0, fmt.Errorf("%w: data object %s, current in the meta object with %d bytes, is missing", ErrConflict, w.f.Object, w.f.Size)
		}
		if err != nil {
			return 0, fmt.Errorf("check length of %s: %w", w.f.Object, err)
		}
		switch {
		case info.Size < w.f.Size:
			return 0, fmt.Errorf("%w: %s is %d bytes but the meta object records %d written: the object was truncated or replaced", ErrConflict, w.f.Object, info.Size, w.f.Size)
		case info.Size > w.f.Size:
			n, err := w.absorbLegacy(ctx, info.Size, recs)
			if err != nil {
				return 0, err
			}
			w.legacyChecked = !w.lagging
			return n, nil
		}
		w.legacyChecked = true
		return 0, nil
	}
	if err := w.recordSeal(ctx); err != nil {
		return 0, err
	}
	j.log.Info().Str("object", w.f.Object).Int64("bytes", w.f.Size).Msg("legacy data object sealed; continuing in indexed objects")
	w.has, w.f, w.legacyChecked = false, Folder{}, false
	return 0, nil
}

// absorbLegacy handles a legacy object longer than its recorded size: the
// bytes beyond it were appended by an earlier attempt whose meta object
// write never happened. Encoding is deterministic, so those bytes must be
// exactly the encodings of the next records, ending at a record boundary;
// they are counted as recovered, not written again. In JSONL a stored line
// for an offset between the last known record and the next pending one
// (compacted from Kafka since) is recognised by its offset. If every
// pending record matches and bytes remain, the earlier attempt had more
// records than this redelivery: the object is left "lagging" and the next
// batch absorbs the rest. Anything else is a conflict. The bytes are read
// in chunks: memory does not grow with how many there are.
func (w *folderWriter) absorbLegacy(ctx context.Context, length int64, recs []*events.Record) (int, error) {
	j := w.job
	obj, pos := w.f.Object, w.f.Size
	enc, ok := encoderFor(w.f.Encoding)
	if !ok {
		return 0, fmt.Errorf("%w: %s: the meta object names an unknown encoding %q", ErrConflict, obj, w.f.Encoding)
	}
	src := newByteSource(ctx, j.st, obj, pos, length, j.cfg.readChunk)
	var tmp []byte
	k := 0
	for src.pos < length && k < len(recs) {
		tmp = enc.Append(tmp[:0], recs[k])
		if enc.Format == format.JSONL {
			line, ok, err := src.line()
			if err != nil {
				return 0, fmt.Errorf("read %s: %w", obj, err)
			}
			if ok && !bytes.Equal(line, tmp) {
				if o, isEarlier := w.earlierLine(line, recs[k].Offset); isEarlier {
					if err := src.skip(int64(len(line)), nil); err != nil {
						return 0, fmt.Errorf("read %s: %w", obj, err)
					}
					w.absorbed(o, int64(len(line)), false)
					continue
				}
			}
		}
		same := int64(len(tmp)) <= length-src.pos
		if same {
			var err error
			if same, err = src.equal(tmp, nil); err != nil {
				return 0, fmt.Errorf("read %s: %w", obj, err)
			}
		}
		if !same {
			return 0, fmt.Errorf("%w: %s holds %d bytes after position %d that the meta object does not account for, "+
				"and they are not the next records of this batch (the first %d match, offset %d differs): "+
				"another invocation wrote this partition, SINK_FORMAT / SINK_VALUE_ENCODING changed while a failed batch was pending, "+
				"or (raw format only) log compaction removed a record between attempts",
				ErrConflict, obj, length-pos, pos, k, recs[k].Offset)
		}
		w.absorbed(recs[k].Offset, int64(len(tmp)), true)
		k++
	}
	if src.pos < length {
		w.lagging = true
		j.log.Warn().Str("object", obj).Int("records", k).Int64("later_bytes", length-src.pos).
			Msg("found records written by an earlier attempt, and more beyond this batch")
		return k, nil
	}
	j.log.Warn().Str("object", obj).Int("records", k).Msg("found records written by an earlier attempt")
	return k, nil
}

// absorbed accounts for one record found in a legacy object: recovered if
// this batch carries it, adopted otherwise.
func (w *folderWriter) absorbed(offset, n int64, recovered bool) {
	j := w.job
	w.f.Size += n
	w.note(offset, 0)
	if recovered {
		j.recovered++
	} else {
		j.adopted++
		j.log.Warn().Str("object", w.f.Object).Int64("offset", offset).Msg("stored record not in this batch (compacted since, or acknowledged earlier)")
	}
	j.noteObject(w.f.Object)
}

// earlierLine recognises, in a JSONL line, a stored record that precedes
// next and follows everything known written (w.prev) but is not in this
// batch. JSONL lines name their offset, so such a record is known to be
// stored, and skipping it stores nothing twice.
func (w *folderWriter) earlierLine(line []byte, next int64) (int64, bool) {
	var l struct {
		Topic     *string `json:"topic"`
		Partition *int32  `json:"partition"`
		Offset    *int64  `json:"offset"`
	}
	if json.Unmarshal(line, &l) != nil || l.Topic == nil || l.Partition == nil || l.Offset == nil {
		return 0, false
	}
	o := *l.Offset
	if *l.Topic != w.job.topic || *l.Partition != w.job.partition || o <= w.prev || o >= next {
		return 0, false
	}
	return o, true
}
