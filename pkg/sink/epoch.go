package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rs/zerolog"

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
// The open staged objects of the ended epoch take no more records: each is
// sealed, and listed for the next batch to finalize. One whose index holds
// more than the meta object records — a batch the trigger gave up on
// (ErrorsTolerance ALL) stored or announced appends there, and no batch of
// the recreated topic can succeed to bring the state up to it — has its
// index replayed first, as a batch would: the records that landed, in it
// and in the objects its seals name, are adopted into the ended epoch (its
// committed offset and count in the history, the objects sealed on the way
// listed for finalizing), and the seal goes after them. Folders are taken
// in name order and every step is derived from what is stored, so a run
// stopped at any point and run again does the same (it recognises its own
// seals), and the one meta PUT at the end records all of it.
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
		return nil, fmt.Errorf("read meta object %s: %w (retrying may help)", key, err)
	}
	m, err := DecodeMeta(data, prefix, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("meta object %s: %w", key, err)
	}
	next := newMeta(topic, partition, m.Epoch+1)
	// Staged objects of the ended epoch take no more records: sealed, they
	// are finalized by the next batch, like those already waiting.
	next.Finalize = m.Finalize
	ended := EpochInfo{Epoch: m.Epoch, Committed: m.Committed, Records: m.Records, EndedAt: now.UTC(), Reason: reason}
	for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
		f := m.Folders[name]
		if !stagedEnc(f.Encoding) || f.Legacy {
			continue
		}
		j := endedJob(ctx, st, prefix, topic, partition, m.Epoch, f.Encoding, now)
		if err := j.sealEnded(ctx, name, f); err != nil {
			if !errors.Is(err, ErrConflict) {
				err = fmt.Errorf("%w (retrying helps if the cause was transient: a run again resumes where this one stopped)", err)
			}
			return nil, fmt.Errorf("end epoch %d of %s/%d: %w", m.Epoch, topic, partition, err)
		}
		ended.Committed = max(ended.Committed, j.committed)
		ended.Records += int64(j.adopted)
		j.pend(next)
	}
	next.Epochs = append(m.Epochs, ended)
	next.UpdatedAt = now.UTC()
	next.Writer = "new-epoch"
	b, err := next.encode()
	if err != nil {
		return nil, fmt.Errorf("encode meta object: %w", err)
	}
	if err := st.Put(ctx, key, b, stateOptions(0)...); err != nil {
		return nil, fmt.Errorf("write meta object %s: %w (retrying helps: a run again does the same)", key, err)
	}
	return next, nil
}

// endedJob returns a job over a partition's ended epoch, for StartEpoch's
// replay of one folder: the default settings in the folder's encoding, and
// the logger of ctx, if any.
func endedJob(ctx context.Context, st store.Store, prefix, topic string, partition int32, epoch int64, enc string, now time.Time) *partitionJob {
	cfg := defaultCfg()
	cfg.prefix = prefix
	cfg.enc, _ = encoderFor(enc) // (DecodeMeta checked it)
	cfg.now = func() time.Time { return now }
	if l := zerolog.Ctx(ctx); l.GetLevel() != zerolog.Disabled {
		cfg.log = *l
	}
	j := &partitionJob{cfg: &cfg, bufs: &bufCache{}, comps: newCompCache(cfg.enc.Codec, 1), st: &guardedStore{st: st}, topic: topic, partition: partition,
		epoch: epoch, staging: true, committed: -1, start: now}
	j.log = cfg.log.With().Str("topic", topic).Int32("partition", partition).Int64("epoch", epoch).Logger()
	return j
}

// sealEnded seals the open staged object f of folder name in the ended
// epoch, so that its records are finalized, and puts in j.sealed every
// object to finalize, in j.adopted the records found beyond the recorded
// state and in j.committed the folder's last record (-1 if none).
//
// The seal goes at the index's recorded length first: the common case, one
// request. Refused (errIndexGrew), the index is replayed — what landed is
// adopted, seals are followed to the objects they name (this run's own
// seal too, when it was stopped before its meta PUT) — and the last object
// reached, if it holds records, is sealed after every entry of its index
// (also an announced append that never landed: the batch that announced it
// was given up on).
func (j *partitionJob) sealEnded(ctx context.Context, name string, f *Folder) error {
	if f.Records > 0 {
		p := pendingOf(name, j.epoch, f)
		n, err := j.writeSeal(ctx, p)
		if err == nil {
			p.IndexSize = n
			j.sealed = append(j.sealed, p)
			j.committed = f.LastOffset
			return nil
		}
		if !errors.Is(err, errIndexGrew) {
			return err
		}
	} else {
		// Nothing recorded: an object announced, or named by a seal, that
		// no recorded batch wrote to. Only an index that exists and grew
		// says a batch given up on did.
		info, err := j.st.Stat(ctx, objindex.Key(f.Object))
		if store.IsNotFound(err) || err == nil && info.Size == f.IndexSize {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up the index of %s: %w", f.Object, err)
		}
	}
	w := j.resume(name, f)
	for {
		// Each replay reads the current object's index beyond the state
		// and follows at most one seal: go on while one was followed.
		// (Seals name later offsets, but for at most maxSameOffsetSeals in
		// a row, which replay bounds, so this ends.)
		at := w.f.Object
		if _, err := w.replay(ctx, nil, unknownLength, unknownLength); err != nil {
			return fmt.Errorf("replay %s (a batch given up on wrote beyond the meta object): %w", at, err)
		}
		if !w.has || w.f.Object == at {
			break
		}
	}
	if f.Records > 0 || w.prev > f.LastOffset {
		// (An object with no records recorded has a last offset before
		// its first: no record of its own.)
		j.committed = w.prev
	}
	if !w.has || w.f.Records == 0 || !stagedEnc(w.f.Encoding) {
		// (A seal the batch given up on wrote may name an object in
		// another encoding, SINK_FORMAT changed: not staged, it is left
		// open in the ended epoch like any such object, its records
		// counted.)
		return nil
	}
	p := pendingOf(name, j.epoch, &w.f)
	n, err := j.writeSeal(ctx, p)
	if errors.Is(err, errIndexGrew) {
		return fmt.Errorf("%w: %w just after its replay: the sink is writing the partition; stop the trigger and run this again", ErrConflict, err)
	}
	if err != nil {
		return err
	}
	p.IndexSize = n
	j.sealed = append(j.sealed, p)
	return nil
}
