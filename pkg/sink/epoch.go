package sink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// ErrNoMeta: StartEpoch found no meta object for the partition.
var ErrNoMeta = errors.New("no meta object")

// StartEpoch ends the current epoch of a topic-partition and starts the
// next: the meta object keeps the ended epoch's committed offset and count
// in its history, and the new state is empty (committed offset -1, no
// current object). Records from then on land in new objects, whose names
// the new epoch derives (ObjectKey), beside the old ones; nothing stored is
// touched. It is the way forward after ErrOffsetsReset, when the topic was
// deleted and recreated and its offsets started again.
//
// It must not race with the sink writing the partition: run it while the
// partition's batches fail (they write nothing) or the trigger is stopped.
// It returns the new state.
func StartEpoch(ctx context.Context, st store.Store, prefix, topic string, partition int32, reason string, now time.Time) (*Meta, error) {
	prefix = NormalizePrefix(prefix)
	key := MetaKey(prefix, topic, partition)
	data, err := st.Get(ctx, key)
	if store.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w: the partition has no state to end (is the prefix, topic or partition right?)", key, ErrNoMeta)
	}
	if err != nil {
		return nil, fmt.Errorf("read meta object %s: %w", key, err)
	}
	m, err := DecodeMeta(data, prefix, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("meta object %s: %w", key, err)
	}
	next := newMeta(topic, partition, m.Epoch+1)
	next.Epochs = append(m.Epochs, EpochInfo{Epoch: m.Epoch, Committed: m.Committed, Records: m.Records, EndedAt: now.UTC(), Reason: reason})
	// Staged objects of the ended epoch take no more records: sealed, they
	// are finalized by the next batch, like those already waiting.
	next.Finalize = m.Finalize
	for name, f := range m.Folders {
		if !stagedEnc(f.Encoding) || f.Records == 0 {
			continue
		}
		nextKey := ObjectKey(prefix, topic, name, partition, f.LastOffset+1, m.Epoch) + extOf(f.Encoding)
		entry := objindex.AppendEntry(nil, objindex.Entry{Seal: &objindex.Seal{At: f.Size, Next: nextKey, NextOffset: f.LastOffset + 1, NextEnc: f.Encoding}})
		ikey := objindex.Key(f.Object)
		if _, err := st.Append(ctx, ikey, f.IndexSize, entry, stateOptions(f.IndexSize)...); err != nil {
			pe, ok := store.AsPositionError(err)
			if ok && pe.Length == f.IndexSize+int64(len(entry)) {
				// An earlier run of this sealed it and failed after.
				if got, gerr := st.GetRange(ctx, ikey, f.IndexSize, int64(len(entry))); gerr == nil && string(got) == string(entry) {
					ok, err = false, nil
				}
			}
			if ok {
				return nil, fmt.Errorf("%w: seal %s: its index %s holds more than the meta object records: the sink is writing the partition, "+
					"or a batch failed after writing; let a batch succeed (or stop the trigger) and run this again", ErrConflict, f.Object, ikey)
			}
			if err != nil {
				return nil, fmt.Errorf("seal %s: %w", f.Object, err)
			}
		}
		next.Finalize = append(next.Finalize, &Pending{Folder: name, Epoch: m.Epoch, Object: f.Object, Encoding: f.Encoding, FirstOffset: f.FirstOffset,
			LastOffset: f.LastOffset, Records: f.Records, Size: f.Size, IndexSize: f.IndexSize + int64(len(entry))})
	}
	next.UpdatedAt = now.UTC()
	next.Writer = "new-epoch"
	b, err := next.encode()
	if err != nil {
		return nil, fmt.Errorf("encode meta object: %w", err)
	}
	if err := st.Put(ctx, key, b, stateOptions(0)...); err != nil {
		return nil, fmt.Errorf("write meta object %s: %w", key, err)
	}
	return next, nil
}
