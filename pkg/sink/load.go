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

// maxRebuildObjects bounds the data objects whose indexes loadMeta reads to
// rebuild a missing meta object within one invocation (one ranged read
// each; the data is not read). A batch the trigger gave up on before the
// partition's first meta write leaves one object per cut, a few or, with
// small SINK_FLUSH_* settings, hundreds; a lost meta object of a long-lived
// partition leaves more, and needs an operator.
const maxRebuildObjects = 1000

// maxLostEpoch bounds the epochs tried when naming objects without a meta
// object.
const maxLostEpoch = 64

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
	if j.cfg.routed() {
		// Routed partitions spread over folders that no narrow listing
		// finds: each folder's first record looks for what a failed
		// attempt left in that folder (chainStart). A lost meta object
		// cannot be rebuilt; see the package doc, "Routing".
		return newMeta(topic, partition, 0), false, nil
	}
	// What a failed attempt left may be staged in an encoding other than
	// today's (SINK_FORMAT changed since): nothing says, so look.
	j.strays()
	type obj struct {
		key   string
		first int64
		epoch int64
	}
	var all, others []obj
	seenKey := map[string]bool{}
	err = j.listData(ctx, objectPrefix(prefix, topic, j.folder, partition), func(info store.Info) bool {
		p, off, ok := ParseObjectName(path.Base(info.Key))
		if !ok || p != partition || seenKey[info.Key] {
			return true
		}
		seenKey[info.Key] = true
		// Without the meta object the epoch is not known: a name is the
		// sink's if some epoch derives it.
		e, ok := ObjectEpoch(prefix, topic, j.folder, partition, off, info.Key, maxLostEpoch)
		if !ok {
			others = append(others, obj{info.Key, off, 0})
			return true
		}
		all = append(all, obj{info.Key, off, e})
		return true
	})
	if err != nil {
		return nil, false, fmt.Errorf("meta object %s absent; list data objects: %w", key, err)
	}
	if len(others) > 0 {
		j.log.Warn().Str("object", others[0].key).Int("count", len(others)).Msg("objects named like data objects that this sink did not write (ignored)")
	}
	// The newest epoch with objects is the partition's current one; the
	// history of earlier ones is lost with the meta object.
	epoch := int64(0)
	for _, o := range all {
		epoch = max(epoch, o.epoch)
	}
	j.epoch = epoch
	var objs []obj
	found := false
	var history []EpochInfo
	seen := map[int64]bool{}
	for _, o := range all {
		if o.epoch != epoch {
			if !seen[o.epoch] {
				seen[o.epoch] = true
				history = append(history, EpochInfo{Epoch: o.epoch, Committed: -1, Reason: "meta object lost; rebuilt without this epoch's history"})
			}
			continue
		}
		objs = append(objs, o)
		found = found || o.first == first
	}
	slices.SortFunc(history, func(a, b EpochInfo) int { return int(min(max(a.Epoch-b.Epoch, -1), 1)) })
	freshMeta := func() *Meta {
		m := newMeta(topic, partition, epoch)
		m.Epochs = history
		return m
	}
	j.listed = map[string]bool{}
	for _, o := range objs {
		j.listed[o.key] = true
	}
	slices.SortFunc(objs, func(a, b obj) int { return int(min(max(a.first-b.first, -1), 1)) })
	if len(objs) == 0 {
		return freshMeta(), true, nil
	}
	if objs[0].first >= first {
		if !found {
			// Every object starts after this batch's first record: a failed
			// first attempt began later than this redelivery does.
			return nil, false, fmt.Errorf("meta object %s: %w: no meta object yet, and the data objects of a failed first attempt (e.g. %s) "+
				"start after this batch's first offset %d; the partition cannot continue until the batch is redelivered from where that attempt began, "+
				"or those objects are moved away", key, ErrMetaMissing, objs[0].key, first)
		}
		return freshMeta(), true, nil
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
	if err == nil {
		m.Epochs = history
	}
	var bad *rebuildError
	if errors.As(err, &bad) || errors.Is(err, ErrConflict) {
		return nil, false, fmt.Errorf("meta object %s: %w: %d data objects (e.g. %s) start before this batch (offset %d), and the state cannot be rebuilt from them: %w; "+
			"restore the meta object, or move the data objects away to start the partition afresh", key, ErrMetaMissing, len(objs), objs[0].key, first, err)
	}
	if err != nil {
		// A read that failed (or the deadline): the next attempt rebuilds.
		return nil, false, fmt.Errorf("meta object %s absent; rebuild the state from %d data objects: %w", key, len(objs), err)
	}
	j.log.Warn().Int("objects", len(objs)).Int64("committed_offset", m.Committed).Msg("meta object missing: state rebuilt from the data objects' indexes")
	j.rebuilt = true
	return m, false, nil
}

// rebuildError says why the objects cannot be rebuilt into a state: an
// object without an index (written by an earlier version), or objects that
// do not form one chain. No retry changes that.
type rebuildError struct{ msg string }

func (e *rebuildError) Error() string { return e.msg }

func rebuildErrorf(format string, a ...any) error { return &rebuildError{fmt.Sprintf(format, a...)} }

// rebuild replays the indexes of the partition's data objects (keys, in
// offset order) into a state: the committed offset is the last record
// stored, the current object the last one (or the one its seal names).
func (j *partitionJob) rebuild(ctx context.Context, keys []string) (*Meta, error) {
	m := newMeta(j.topic, j.partition, j.epoch)
	w := &folderWriter{job: j, name: j.folder, now: j.cfg.now(), encID: encodingID(j.cfg.enc), prev: -1, dataLen: unknownLength, pendingFrom: -1, trustAdopted: true}
	for i, key := range keys {
		if err := w.followEmpty(ctx, key); err != nil {
			return nil, err
		}
		if _, err := j.st.Stat(ctx, objindex.Key(key)); store.IsNotFound(err) {
			return nil, rebuildErrorf("%s has no record index (written by an earlier version)", key)
		} else if err != nil {
			return nil, err
		}
		if w.has && w.f.Object != key {
			return nil, rebuildErrorf("%s does not follow %s (no seal names it)", key, w.f.Object)
		}
		if !w.has {
			_, first, _ := ParseObjectName(path.Base(key))
			w.openNext(key, first, w.encForName(key))
			// (Staged or not, as for adoptExisting: what exists says.)
			staged, err := j.stagedAt(ctx, key)
			if err != nil {
				return nil, err
			}
			w.f.Encoding = withStaged(w.f.Encoding, staged)
		}
		if _, err := w.replay(ctx, nil, unknownLength, unknownLength); err != nil {
			return nil, err
		}
		if w.f.Object == key && i < len(keys)-1 {
			return nil, rebuildErrorf("%s is not sealed, yet %s follows it", key, keys[i+1])
		}
	}
	if err := w.followEmpty(ctx, ""); err != nil {
		return nil, err
	}
	m.Committed = w.prev
	f := w.recorded()
	m.Folders[j.folder] = &f
	// Every record found is adopted (none was written by this batch), and
	// counted into records_written when the meta object is written.
	j.objects = nil
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
