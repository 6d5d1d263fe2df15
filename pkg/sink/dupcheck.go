package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// checkDuplicates confirms that records the state calls written (offset <=
// committed) are the records stored at their offsets, before Write drops
// them as duplicates. Checking the first and the last of them is cheap (a
// few reads, only when a batch repeats records) and tells a redelivery or a
// replay (the consumer group reset to earlier offsets), whose records are
// the stored ones, from a topic recreated since (offsets starting again at
// 0) or an old meta object restored, whose records are not.
func (j *partitionJob) checkDuplicates(ctx context.Context, m *Meta, dups []*events.Record) error {
	check := []*events.Record{dups[0]}
	if len(dups) > 1 {
		check = append(check, dups[len(dups)-1])
	}
	locs, err := j.locateAll(ctx, m, check)
	if err != nil {
		return err
	}
	same, err := j.sameAsStored(ctx, locs, check)
	if err != nil {
		return err
	}
	for i, r := range check {
		what := ""
		switch {
		case locs[i].key == "":
			what = "is not stored in any data object of this epoch"
		case !same[i]:
			what = "differs from the record stored at that offset in " + locs[i].key
		}
		if what != "" {
			return fmt.Errorf("%w: the batch holds %d records at or below the committed offset %d, and the one at offset %d %s. "+
				"Likely causes: the topic was deleted and recreated (offsets start again at 0), or an old meta object was restored. "+
				"Nothing was written; retrying cannot help. To keep the stored objects and write the new records into new objects beside them, "+
				"run `sinkctl new-epoch --topic %s --partition %d` (see the README, \"Offsets restarted\")",
				ErrOffsetsReset, len(dups), m.Committed, r.Offset, what, j.topic, j.partition)
		}
	}
	j.log.Info().Int("duplicates", len(dups)).Int64("first_offset", dups[0].Offset).Int64("last_offset", dups[len(dups)-1].Offset).
		Msg("records at or below the committed offset match the stored ones: skipped as duplicates")
	return nil
}

// location is where a record is stored: key == "" when nowhere.
type location struct {
	key       string
	enc       format.Encoder
	pos, size int64
	legacy    bool
}

// locateAll finds where the records at the offsets of recs are stored:
// in the current object, or in the object with the greatest first offset
// <= the offset (found by a listing narrowed to the offset's leading
// digits), then by the object's index (read once per object), or, for
// legacy objects, by reading the object.
func (j *partitionJob) locateAll(ctx context.Context, m *Meta, recs []*events.Record) ([]location, error) {
	f := m.Folders[""]
	type target struct {
		first         int64
		end, indexEnd int64 // -1: look up
		legacy        bool
		idx           []int // into recs
	}
	var order []string
	targets := map[string]*target{}
	locs := make([]location, len(recs))
	for i, r := range recs {
		x := r.Offset
		var key string
		t := &target{end: -1, indexEnd: -1}
		if f != nil && f.Records > 0 && x >= f.FirstOffset && x <= f.LastOffset {
			key = f.Object
			t.first, t.end, t.indexEnd, t.legacy = f.FirstOffset, f.Size, f.IndexSize, f.Legacy
		} else {
			span := int64(0)
			if f != nil && f.Records > 0 {
				span = f.LastOffset - f.FirstOffset + 1
			}
			var err error
			if key, t.first, err = j.objectFor(ctx, m.Epoch, x, span); err != nil {
				return nil, err
			}
			if key == "" {
				continue
			}
		}
		if targets[key] == nil {
			targets[key] = t
			order = append(order, key)
		}
		targets[key].idx = append(targets[key].idx, i)
	}
	for _, key := range order {
		t := targets[key]
		if !t.legacy && key != f.objectOrEmpty() {
			info, err := j.st.Stat(ctx, objindex.Key(key))
			switch {
			case store.IsNotFound(err):
				t.legacy = true
			case err != nil:
				return nil, fmt.Errorf("look for the index of %s: %w", key, err)
			default:
				t.indexEnd = info.Size
			}
		}
		if t.legacy {
			for _, i := range t.idx {
				loc, err := j.locateLegacy(ctx, f, key, t.first, recs[i].Offset)
				if err != nil {
					return nil, err
				}
				locs[i] = loc
			}
			continue
		}
		if err := j.locateIndexed(ctx, key, t.end, t.indexEnd, recs, t.idx, locs); err != nil {
			return nil, err
		}
	}
	return locs, nil
}

func (f *Folder) objectOrEmpty() string {
	if f == nil {
		return ""
	}
	return f.Object
}

// locateIndexed fills locs[i] for the records recs[i], i in idx, from the
// index of the data object key: resolved against end, the data length
// (-1: the seal's, or else looked up), reading the index up to indexEnd
// (-1: all of it).
func (j *partitionJob) locateIndexed(ctx context.Context, key string, end, indexEnd int64, recs []*events.Record, idx []int, locs []location) error {
	ikey := objindex.Key(key)
	if indexEnd < 0 {
		info, err := j.st.Stat(ctx, ikey)
		if err != nil {
			return fmt.Errorf("check length of %s: %w", ikey, err)
		}
		indexEnd = info.Size
	}
	sc := objindex.NewScanner(newRangeReader(ctx, j.st, ikey, 0, indexEnd, j.cfg.readChunk), 0)
	res := objindex.NewResolver(0, nil)
	look := func(as []*objindex.Append) {
		for _, a := range as {
			enc, _ := encoderFor(a.Enc)
			for _, i := range idx {
				x := recs[i].Offset
				if locs[i].key != "" || x < a.First() || x > a.Last() {
					continue
				}
				for rec := range a.All() {
					if rec.Offset == x {
						locs[i] = location{key: key, enc: enc, pos: rec.Pos, size: rec.Size}
						break
					}
				}
			}
		}
	}
	for sc.Scan() {
		if err := res.Add(sc.Entry()); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrConflict, ikey, err)
		}
		look(res.Landed())
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, objindex.ErrInvalid) {
			return fmt.Errorf("%w: %s: %w", ErrConflict, ikey, err)
		}
		return j.diagnose(ctx, ikey, indexEnd, fmt.Errorf("read index %s: %w", ikey, err))
	}
	if seal, ok := res.Sealed(); ok && end < 0 {
		end = seal.At
	}
	if end < 0 {
		info, err := j.st.Stat(ctx, key)
		if err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("check length of %s: %w", key, err)
		}
		end = info.Size
	}
	fin, err := res.Finish(end)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConflict, ikey, err)
	}
	look(fin.Landed)
	return nil
}

// objectFor returns the data object of this epoch with the greatest first
// offset <= x, or "". Names sort as text, not as numbers, so it lists the
// objects whose first offset shares x's leading digits, dropping one more
// digit each round until an object with as many digits as x is found
// (any object with a larger such first offset <= x shares those digits
// too); the last round lists the whole partition. span, the offsets the
// current object covers, hints where to begin.
func (j *partitionJob) objectFor(ctx context.Context, epoch, x, span int64) (string, int64, error) {
	base := objectPrefix(j.cfg.prefix, j.topic, "", j.partition)
	xs := strconv.FormatInt(x, 10)
	k := max(1, len(strconv.FormatInt(span, 10))-1)
	for ; k <= len(xs); k++ {
		best, at := "", int64(-1)
		err := listAll(ctx, j.st, base+xs[:len(xs)-k], func(info store.Info) bool {
			p, off, ok := ParseObjectName(path.Base(info.Key))
			if !ok || p != j.partition || off > x || off <= at || ObjectKey(j.cfg.prefix, j.topic, "", j.partition, off, epoch) != info.Key {
				return true
			}
			if k == len(xs) || len(strconv.FormatInt(off, 10)) == len(xs) {
				best, at = info.Key, off
			}
			return true
		})
		if err != nil {
			return "", 0, err
		}
		if best != "" {
			return best, at, nil
		}
	}
	return "", 0, nil
}

// locateLegacy finds offset x in a legacy object: JSONL lines carry their
// offset; raw lines do not, so the record is taken to be line x-first,
// which is exact only without offset gaps and newlines in values — a
// mismatch there fails the check rather than guess.
func (j *partitionJob) locateLegacy(ctx context.Context, f *Folder, key string, first, x int64) (location, error) {
	end := int64(-1)
	encID := encodingID(j.cfg.enc)
	if f != nil && f.Object == key {
		end, encID = f.Size, f.Encoding
	} else {
		info, err := j.st.Stat(ctx, key)
		if err != nil {
			return location{}, fmt.Errorf("check length of %s: %w", key, err)
		}
		end = info.Size
	}
	enc, ok := encoderFor(encID)
	if !ok {
		return location{}, fmt.Errorf("%w: %s: unknown encoding %q", ErrConflict, key, encID)
	}
	src := newByteSource(ctx, j.st, key, 0, end, j.cfg.readChunk)
	for n := first; src.pos < end; n++ {
		head, err := src.peek()
		if err != nil {
			return location{}, fmt.Errorf("read %s: %w", key, err)
		}
		off := n
		if enc.Format == format.JSONL {
			if off, ok = jsonlOffset(head); !ok {
				return location{}, fmt.Errorf("%w: %s: the line at %d is not a record of this sink", ErrConflict, key, src.pos)
			}
		}
		start := src.pos
		if err := src.skipLine(); err != nil {
			return location{}, fmt.Errorf("read %s: %w", key, err)
		}
		switch {
		case off == x:
			return location{key: key, enc: enc, pos: start, size: src.pos - start, legacy: true}, nil
		case off > x:
			return location{}, nil
		}
	}
	return location{}, nil
}

// jsonlOffset reads the offset of a JSONL line from its fixed opening
// ({"topic":...,"partition":N,"offset":N,...).
func jsonlOffset(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	i := bytes.Index(line, []byte(`,"offset":`))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(`,"offset":`):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	o, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	return o, err == nil
}

// diagnose turns a failed read of key, which the state says holds at least
// want bytes, into ErrConflict when key is missing or shorter (deleted,
// replaced or truncated behind the sink's back: no retry helps); other
// failures are returned as they are.
func (j *partitionJob) diagnose(ctx context.Context, key string, want int64, err error) error {
	info, serr := j.st.Stat(ctx, key)
	switch {
	case store.IsNotFound(serr):
		return fmt.Errorf("%w: %s is missing, but the partition's state says it holds %d bytes: it was deleted behind the sink's back", ErrConflict, key, want)
	case serr == nil && info.Size < want:
		return fmt.Errorf("%w: %s is %d bytes, but the partition's state says it holds %d: it was truncated or replaced", ErrConflict, key, info.Size, want)
	}
	return err
}

// sameAsStored reports, for each record, whether the bytes at its
// location are its encoding in the object's encoding. Locations in one
// object within a read chunk of each other are read at once.
func (j *partitionJob) sameAsStored(ctx context.Context, locs []location, recs []*events.Record) ([]bool, error) {
	same := make([]bool, len(recs))
	done := make([]bool, len(recs))
	for i := range recs {
		if done[i] || locs[i].key == "" {
			continue
		}
		lo, hi := locs[i].pos, locs[i].pos+locs[i].size
		group := []int{i}
		for k := i + 1; k < len(recs); k++ {
			l := locs[k]
			if l.key == locs[i].key && max(hi, l.pos+l.size)-min(lo, l.pos) <= int64(j.cfg.readChunk) {
				lo, hi = min(lo, l.pos), max(hi, l.pos+l.size)
				group = append(group, k)
			}
		}
		if hi-lo > int64(j.cfg.readChunk) {
			// One record larger than a chunk: compare it piece by piece.
			src := newByteSource(ctx, j.st, locs[i].key, lo, hi, j.cfg.readChunk)
			want := locs[i].enc.Append(nil, recs[i])
			eq := int64(len(want)) == locs[i].size
			if eq {
				var err error
				if eq, err = src.equal(want, nil); err != nil {
					return nil, fmt.Errorf("read %s: %w", locs[i].key, err)
				}
			}
			same[i], done[i] = eq, true
			continue
		}
		b, err := j.st.GetRange(ctx, locs[i].key, lo, hi-lo)
		if err != nil {
			return nil, j.diagnose(ctx, locs[i].key, hi, fmt.Errorf("read %s [%d, %d): %w", locs[i].key, lo, hi, err))
		}
		for _, k := range group {
			l := locs[k]
			want := l.enc.Append(nil, recs[k])
			same[k] = int64(len(want)) == l.size && bytes.Equal(b[l.pos-lo:l.pos-lo+l.size], want)
			done[k] = true
		}
	}
	return same, nil
}
