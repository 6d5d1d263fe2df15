package sink

import (
	"context"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// loadMeta reads the partition's meta object. When there is none, it lists
// the partition's data objects (see the package doc, Recovery): none means a
// new partition; objects that all start at or after first (the batch's
// smallest offset), one of them exactly there, are what a failed first
// attempt of this batch left, and the comparison of their bytes with the
// records will absorb them; anything else means the meta object was lost, and
// the sink refuses to start over (ErrMetaMissing).
//
// fresh reports that there was no meta object: the listing then showed that
// no object starts before first.
func loadMeta(ctx context.Context, st store.Store, prefix, topic string, partition int32, first int64) (m *Meta, fresh bool, err error) {
	key := MetaKey(prefix, topic, partition)
	data, err := st.Get(ctx, key)
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
	objs, err := st.List(ctx, objectPrefix(prefix, topic, "", partition))
	if err != nil {
		return nil, false, fmt.Errorf("meta object %s absent; list data objects: %w", key, err)
	}
	firstKey := ObjectKey(prefix, topic, "", partition, first, 0)
	found, early := false, ""
	for _, o := range objs {
		p, off, ok := ParseObjectName(o.Key[len(prefix+topic)+1:])
		if !ok || p != partition {
			continue
		}
		found = found || o.Key == firstKey
		if off < first && early == "" {
			early = o.Key
		}
	}
	if len(objs) > 0 && early != "" {
		return nil, false, fmt.Errorf("meta object %s: %w (%d data objects, e.g. %s, and this batch starts at offset %d); "+
			"restore the meta object, or move the data objects away to start the partition afresh", key, ErrMetaMissing, len(objs), early, first)
	}
	if len(objs) > 0 && !found {
		// Every object starts after this batch's first record: a failed
		// first attempt began later than this redelivery does.
		return nil, false, fmt.Errorf("meta object %s: %w: no meta object yet, and the data objects of a failed first attempt (e.g. %s) "+
			"start after this batch's first offset %d; the partition cannot continue until the batch is redelivered from where that attempt began, "+
			"or those objects are moved away", key, ErrMetaMissing, objs[0].Key, first)
	}
	return newMeta(topic, partition, 0), true, nil
}
