package sink

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// maxRebuildObjects bounds the data objects loadMeta reads to rebuild a
// missing meta object within one invocation. A batch the trigger gave up on
// before the partition's first meta write leaves one or two; a lost meta
// object of a long-lived partition leaves many, and needs an operator.
const maxRebuildObjects = 64

// loadMeta reads the partition's meta object. When there is none, it lists
// the partition's data objects (only those whose full name is the one the
// protocol derives; look-alikes are not the sink's): none means a new
// partition; objects that all start at or after first (the batch's
// smallest offset), one of them exactly there, are what a failed first
// attempt left, which the fences of that object absorb. Objects before
// first — a first batch the trigger gave up on after its appends landed,
// or a meta object deleted — are replayed from their indexes into a
// rebuilt state, when they all have one and there are few enough; anything
// else fails with ErrMetaMissing rather than start over and write again
// every record the trigger redelivers.
//
// fresh reports that there was no meta object and no object before first.
func (j *partitionJob) loadMeta(ctx context.Context, first int64) (m *Meta, fresh bool, err error) {
	prefix, topic, partition := j.cfg.prefix, j.topic, j.partition
	key := MetaKey(prefix, topic, partition)
	data, err := j.st.Get(ctx, key)
	if err == nil {
		m, err := DecodeMeta(data, prefix, topic, partition)
		if err != nil {
			return nil, false, fmt.Errorf("meta object %s: %w", key, err)
		}
		return m, false, nil
	}
	if !store.IsNotFound(err) {
		return nil, false, fmt.Errorf("read meta object %s: %w", key, err)
	}
	type obj struct {
		key   string
		first int64
	}
	var objs, others []obj
	found := false
	err = listAll(ctx, j.st, objectPrefix(prefix, topic, "", partition), func(info store.Info) bool {
		p, off, ok := ParseObjectName(path.Base(info.Key))
		if !ok || p != partition {
			return true
		}
		if ObjectKey(prefix, topic, "", partition, off, 0) != info.Key {
			others = append(others, obj{info.Key, off})
			return true
		}
		objs = append(objs, obj{info.Key, off})
		found = found || off == first
		return true
	})
	j.listed = map[string]bool{}
	for _, o := range objs {
		j.listed[o.key] = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("meta object %s absent; list data objects: %w", key, err)
	}
	if len(others) > 0 {
		j.log.Warn().Str("object", others[0].key).Int("count", len(others)).Msg("objects named like data objects that this sink did not write (ignored)")
	}
	slices.SortFunc(objs, func(a, b obj) int { return int(min(max(a.first-b.first, -1), 1)) })
	if len(objs) == 0 {
		return newMeta(topic, partition, 0), true, nil
	}
	if objs[0].first >= first {
		if !found {
			// Every object starts after this batch's first record: a failed
			// first attempt began later than this redelivery does.
			return nil, false, fmt.Errorf("meta object %s: %w: no meta object yet, and the data objects of a failed first attempt (e.g. %s) "+
				"start after this batch's first offset %d; the partition cannot continue until the batch is redelivered from where that attempt began, "+
				"or those objects are moved away", key, ErrMetaMissing, objs[0].key, first)
		}
		return newMeta(topic, partition, 0), true, nil
	}
	if len(objs) > maxRebuildObjects {
		return nil, false, fmt.Errorf("meta object %s: %w (%d data objects, e.g. %s, and this batch starts at offset %d); "+
			"restore the meta object (from OSS versioning or a copy), or start a new epoch with `sinkctl new-epoch` to write the partition afresh "+
			"beside the old objects", key, ErrMetaMissing, len(objs), objs[0].key, first)
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.key
	}
	m, err = j.rebuild(ctx, keys)
	if err != nil {
		return nil, false, fmt.Errorf("meta object %s: %w: %d data objects (e.g. %s) start before this batch (offset %d), and the state cannot be rebuilt from them: %w; "+
			"restore the meta object, or move the data objects away to start the partition afresh", key, ErrMetaMissing, len(objs), objs[0].key, first, err)
	}
	j.log.Warn().Int("objects", len(objs)).Int64("committed_offset", m.Committed).Msg("meta object missing: state rebuilt from the data objects' indexes")
	return m, false, nil
}

// errLegacyObject: an object without a record index, whose records cannot
// be counted exactly.
var errLegacyObject = errors.New("an object has no record index (written by an earlier version)")

// rebuild replays the indexes of the partition's data objects (keys, in
// offset order) into a state: the committed offset is the last record
// stored, the current object the last one (or the one its seal names).
func (j *partitionJob) rebuild(ctx context.Context, keys []string) (*Meta, error) {
	m := newMeta(j.topic, j.partition, 0)
	w := &folderWriter{job: j, now: j.cfg.now(), encID: encodingID(j.cfg.enc), prev: -1, dataLen: unknownLength}
	for i, key := range keys {
		if err := w.followEmpty(ctx, key); err != nil {
			return nil, err
		}
		if _, err := j.st.Stat(ctx, objindex.Key(key)); store.IsNotFound(err) {
			return nil, fmt.Errorf("%s: %w", key, errLegacyObject)
		} else if err != nil {
			return nil, err
		}
		if w.has && w.f.Object != key {
			return nil, fmt.Errorf("%s does not follow %s (no seal names it)", key, w.f.Object)
		}
		if !w.has {
			_, first, _ := ParseObjectName(path.Base(key))
			w.openNext(key, first)
		}
		before := j.recovered + j.adopted
		if _, err := w.replay(ctx, nil, unknownLength, unknownLength); err != nil {
			return nil, err
		}
		m.Records += int64(j.recovered + j.adopted - before)
		if w.f.Object == key && i < len(keys)-1 {
			return nil, fmt.Errorf("%s is not sealed, yet %s follows it", key, keys[i+1])
		}
	}
	if err := w.followEmpty(ctx, ""); err != nil {
		return nil, err
	}
	m.Committed = w.prev
	m.Folders[""] = &w.f
	// The records were written by the attempt the trigger gave up on, not
	// by this batch: report them as adopted.
	j.adopted, j.recovered, j.objects = 0, 0, nil
	return m, nil
}

// followEmpty follows seals through objects that have an index but never
// got data (sealed at 0), until the current object is until, has no
// index, or is not sealed.
func (w *folderWriter) followEmpty(ctx context.Context, until string) error {
	for w.has && w.f.Object != until {
		if _, err := w.job.st.Stat(ctx, objindex.Key(w.f.Object)); store.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		cur := w.f.Object
		if _, err := w.replay(ctx, nil, unknownLength, unknownLength); err != nil {
			return err
		}
		if w.f.Object == cur {
			return nil
		}
	}
	return nil
}
