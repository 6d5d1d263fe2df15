package sink

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
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
//
// Each record is looked for in the folder it is routed to; records the
// settings store nowhere (filtered, dropped) are no evidence either way.
func (j *partitionJob) checkDuplicates(ctx context.Context, m *Meta, dups []*events.Record) error {
	if !j.cfg.routed() {
		if ok, err := j.legacyRawTail(ctx, m, dups); err != nil || ok {
			return err
		}
	}
	all := dups
	var where map[*events.Record]string
	if j.cfg.routed() || j.cfg.keep != nil {
		all = nil
		where = map[*events.Record]string{}
		var buf []byte
		for _, r := range dups {
			var name string
			var ok bool
			if name, buf, ok = j.placeOf(r, buf); ok {
				all = append(all, r)
				where[r] = name
			}
		}
		if len(all) == 0 {
			j.log.Info().Int("duplicates", len(dups)).Msg("records at or below the committed offset are stored nowhere (filtered or dropped): skipped as duplicates")
			return nil
		}
	}
	folderOf := func(r *events.Record) string {
		if where == nil {
			return j.folder
		}
		return where[r]
	}
	// The first and the last, and a few evenly between: raw objects hold
	// values only, and a recreated topic can repeat some (heartbeats).
	check := sample(all, 0, 8)
	for round := 0; ; round++ {
		locs, err := j.locateAll(ctx, m, check, folderOf)
		if err != nil {
			return err
		}
		same, err := j.sameAsStored(ctx, locs, check)
		if err != nil {
			return err
		}
		found := 0
		for i, r := range check {
			what := ""
			switch {
			case locs[i].state == absent:
				what = "is not stored: it precedes every data object of this epoch"
			case locs[i].state == differs || locs[i].state == stored && !same[i]:
				what = "differs from the record stored at that offset in " + locs[i].key
			case locs[i].state == stored:
				found++
			}
			if what != "" {
				return fmt.Errorf("%w: the batch holds %d records at or below the committed offset %d, and the one at offset %d %s. "+
					"Likely causes: the topic was deleted and recreated (offsets start again at 0), or an old meta object was restored. "+
					"Nothing was written; retrying cannot help. To keep the stored objects and write the new records into new objects beside them, "+
					"run `sinkctl new-epoch --topic %s --partition %d` (see the README, \"Offsets restarted\")",
					ErrOffsetsReset, len(dups), m.Committed, r.Offset, what, j.topic, j.partition)
			}
		}
		if found > 0 || round > 0 || len(all) <= 8 {
			if found == 0 && (j.cfg.routed() || j.cfg.keep != nil) {
				// Routed, an object covers the offsets of every folder in
				// between, and filtered, the offsets of records dropped: a
				// gap is no evidence either way. A topic recreated since
				// puts its records into other folders than the old records
				// at their offsets, or keeps records at offsets the old one
				// dropped, where they fall in gaps. Only a replay shows its
				// records where they are stored; none found, the partition
				// stops.
				r := check[0]
				return fmt.Errorf("%w: the batch holds %d records at or below the committed offset %d, and none of those checked (the one at offset %d among them) "+
					"is stored where the settings put it. Likely causes: the topic was deleted and recreated (offsets start again at 0), an old meta object "+
					"was restored, or SINK_FOLDER, SINK_TIMEZONE, SINK_INVALID or SINK_FILTER changed since those records were stored. Nothing was written; retrying cannot help. "+
					"To keep the stored objects and write the new records into new objects beside them, run `sinkctl new-epoch --topic %s --partition %d` "+
					"(see the README, \"Offsets restarted\")", ErrOffsetsReset, len(dups), m.Committed, r.Offset, j.topic, j.partition)
			}
			if found == 0 {
				// Every record tried falls in a gap of the stored offsets:
				// records the trigger gave up on (they are in its dead-letter
				// queue) or compacted away before they were stored. They are
				// not stored, and the partition has moved past them.
				j.log.Warn().Int("records", len(dups)).Int64("first_offset", dups[0].Offset).Int64("last_offset", dups[len(dups)-1].Offset).
					Msg("records at or below the committed offset were never stored (given up on earlier, or compacted): skipped")
			}
			break
		}
		// Every one falls in a gap of the stored offsets (records the
		// trigger gave up on, say): look at others between them for
		// evidence either way.
		check = sample(all, 1, 16)
	}
	j.log.Info().Int("duplicates", len(dups)).Int64("first_offset", dups[0].Offset).Int64("last_offset", dups[len(dups)-1].Offset).
		Msg("records at or below the committed offset match the stored ones: skipped as duplicates")
	return nil
}

// sample returns up to n of recs, evenly spread, first and last included
// (round 0), or others between them (round 1).
func sample(recs []*events.Record, round, n int) []*events.Record {
	var out []*events.Record
	if round == 0 {
		if len(recs) <= n {
			return recs
		}
		for k := 0; k < n; k++ {
			out = append(out, recs[k*(len(recs)-1)/(n-1)])
		}
		return out
	}
	for k := 0; k < n; k++ {
		i := (2*k + 1) * (len(recs) - 1) / (2 * n)
		if len(out) == 0 || out[len(out)-1] != recs[i] {
			out = append(out, recs[i])
		}
	}
	return out
}

// legacyRawTail confirms repeated records that end the current object when
// it is a legacy raw object, whose lines carry no offsets (and whose
// numbering by line is wrong across offset gaps): the batch's repeated
// records, encoded one after the other, must be the object's last bytes,
// starting at a line boundary. That is what a redelivery right after an
// upgrade looks like.
func (j *partitionJob) legacyRawTail(ctx context.Context, m *Meta, dups []*events.Record) (bool, error) {
	f := m.Folders[j.folder]
	if f == nil || !f.Legacy || dups[len(dups)-1].Offset != f.LastOffset || dups[0].Offset < f.FirstOffset || int64(len(dups)) > f.Records {
		return false, nil
	}
	enc, ok := encoderFor(f.Encoding)
	if !ok || enc.Format != format.Raw {
		return false, nil
	}
	var want []byte
	for _, r := range dups {
		want = enc.Append(want, r)
		if len(want) >= j.cfg.readChunk { // with the separator before: one read
			return false, nil
		}
	}
	n := int64(len(want))
	if n > f.Size {
		return false, nil
	}
	from := f.Size - n
	if from > 0 {
		from-- // the separator before, to know the run starts on a line
	}
	b, err := j.st.GetRange(ctx, f.Object, from, f.Size-from)
	if err != nil {
		return false, j.diagnose(ctx, f.Object, f.Size, fmt.Errorf("read %s [%d, %d): %w", f.Object, from, f.Size, err))
	}
	if from > 0 && b[0] != '\n' || !bytes.Equal(b[len(b)-len(want):], want) {
		return false, nil
	}
	j.log.Info().Int("duplicates", len(dups)).Msg("records at or below the committed offset end the (legacy) current object: skipped as duplicates")
	return true, nil
}

// location is where a record is stored: key == "" when nowhere.
type location struct {
	state     locState
	key       string
	encs      []format.Encoder // the object's encoding (legacy JSONL: both value encodings)
	pos, size int64
	// minTS, maxTS: the Kafka timestamps of the append that holds the
	// record (0: not known). Raw objects do not store timestamps, but the
	// index does, per append.
	minTS, maxTS int64
	// a: the append that holds the record, when its bytes are not at pos
	// in key: compressed (pos is then in the member's decoded bytes) or
	// staged (in key's staging object).
	a *objindex.Append
	// row: the records of the object's landed appends before it, which is
	// its row in a data object built from them (staged encodings).
	row int64
}

// locState is what the store says about a record's offset.
type locState uint8

const (
	absent  locState = iota // no data object of the epoch starts at or before it
	gap                     // the object that would hold it does not: never stored
	stored                  // stored at key [pos, pos+size)
	differs                 // a legacy raw object: no line holds the record (raw lines carry no offsets)
)

// locateAll finds where the records at the offsets of recs are stored:
// in the current object, or in the object with the greatest first offset
// <= the offset (found by a listing narrowed to the offset's leading
// digits), then by the object's index (read once per object), or, for
// legacy objects, by reading the object.
func (j *partitionJob) locateAll(ctx context.Context, m *Meta, recs []*events.Record, folderOf func(*events.Record) string) ([]location, error) {
	type target struct {
		first         int64
		end, indexEnd int64 // -1: look up
		legacy        bool
		idx           []int // into recs
		f             *Folder
	}
	var order []string
	targets := map[string]*target{}
	locs := make([]location, len(recs))
	for i, r := range recs {
		x := r.Offset
		var key string
		folder := folderOf(r)
		f := m.Folders[folder]
		t := &target{end: -1, indexEnd: -1, f: f}
		if f != nil && f.Records > 0 && x >= f.FirstOffset && x <= f.LastOffset {
			key = f.Object
			t.first, t.end, t.indexEnd, t.legacy = f.FirstOffset, f.Size, f.IndexSize, f.Legacy
		} else {
			span := int64(0)
			if f != nil && f.Records > 0 {
				span = f.LastOffset - f.FirstOffset + 1
			}
			var err error
			if key, t.first, err = j.objectFor(ctx, folder, m.Epoch, x, span); err != nil {
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
		if !t.legacy && key != t.f.objectOrEmpty() {
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
				loc, err := j.locateLegacy(ctx, t.f, key, t.first, recs[i])
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
	sc := objindex.NewScannerSize(newRangeReader(ctx, j.st, ikey, 0, indexEnd, j.cfg.readChunk), 0, indexEnd)
	res := objindex.NewResolver(0, nil)
	for _, i := range idx {
		// Covered by this object: stored, unless no landed append has it.
		locs[i] = location{state: gap, key: key}
	}
	rows := int64(0) // the records of the landed appends before a
	look := func(as []*objindex.Append) {
		for _, a := range as {
			enc, _ := encoderFor(a.Enc)
			for _, i := range idx {
				x := recs[i].Offset
				if locs[i].state == stored || x < a.First() || x > a.Last() {
					continue
				}
				n := int64(0)
				for rec := range a.All() {
					if rec.Offset == x {
						locs[i] = location{state: stored, key: key, encs: []format.Encoder{enc}, pos: rec.Pos, size: rec.Size, minTS: a.MinTS, maxTS: a.MaxTS, row: rows + n}
						if a.Decoded > 0 || enc.Staged() {
							locs[i].a = a
						}
						break
					}
					n++
				}
			}
			rows += a.Records()
		}
	}
	for sc.Scan() {
		if err := res.Add(sc.Entry()); err != nil {
			return resolveErr(key, err)
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
		// Unsealed (else the seal said): a staged encoding's bytes are in
		// its staging object, which the name alone does not tell
		// (SINK_FINALIZE keeps names); the others' in the object itself.
		at := StageKey(key)
		info, err := j.st.Stat(ctx, at)
		if store.IsNotFound(err) {
			at = key
			info, err = j.st.Stat(ctx, key)
		}
		if err != nil && !store.IsNotFound(err) {
			return fmt.Errorf("check length of %s: %w", at, err)
		}
		end = info.Size
	}
	fin, err := res.Finish(end)
	if err != nil {
		return resolveErr(key, err)
	}
	look(fin.Landed)
	return nil
}

// objectFor returns the data object of the folder and epoch with the greatest first
// offset <= x, or "". Names sort as text, not as numbers, so it lists the
// objects whose first offset shares x's leading digits, dropping one more
// digit each round until an object with as many digits as x is found
// (any object with a larger such first offset <= x shares those digits
// too); the last round lists the whole partition. span, the offsets the
// current object covers, hints where to begin.
func (j *partitionJob) objectFor(ctx context.Context, folder string, epoch, x, span int64) (string, int64, error) {
	base := objectPrefix(j.cfg.prefix, j.topic, folder, j.partition)
	xs := strconv.FormatInt(x, 10)
	// (Never more digits than x has: offset 0 under a current object that
	// spans a hundred offsets must still be looked for.)
	k := min(len(xs), max(1, len(strconv.FormatInt(span, 10))-1))
	for ; k <= len(xs); k++ {
		best, at := "", int64(-1)
		prefix := base + xs[:len(xs)-k]
		infos, ok := j.listCache[prefix]
		if !ok {
			err := j.listData(ctx, prefix, func(info store.Info) bool {
				infos = append(infos, info)
				return true
			})
			if err != nil {
				return "", 0, err
			}
			if j.listCache == nil {
				j.listCache = map[string][]store.Info{}
			}
			j.listCache[prefix] = infos
		}
		for _, info := range infos {
			p, off, ok := ParseObjectName(path.Base(info.Key))
			if stem, _ := SplitExt(info.Key); !ok || p != j.partition || off > x || off <= at || ObjectKey(j.cfg.prefix, j.topic, folder, j.partition, off, epoch) != stem {
				continue
			}
			if k == len(xs) || len(strconv.FormatInt(off, 10)) == len(xs) {
				best, at = info.Key, off
			}
		}
		if best != "" {
			return best, at, nil
		}
	}
	return "", 0, nil
}

// locateLegacy finds the record r in a legacy object (no index), reading
// it in chunks. Its encoding is the meta object's for the current object;
// a sealed legacy object's is recorded nowhere, so it is told by its first
// line (JSONL lines open with {"topic":). JSONL lines carry their offset:
// exact. Raw lines do not, and offset gaps make line numbers run behind
// offsets, so the record is looked for among the lines up to the one its
// offset would have without gaps: found there it is taken as stored, not
// found it differs.
func (j *partitionJob) locateLegacy(ctx context.Context, f *Folder, key string, first int64, r *events.Record) (location, error) {
	x := r.Offset
	var end int64
	encID := ""
	if f != nil && f.Object == key {
		end, encID = f.Size, f.Encoding
	} else {
		info, err := j.st.Stat(ctx, key)
		if err != nil {
			return location{}, fmt.Errorf("check length of %s: %w", key, err)
		}
		end = info.Size
	}
	src := j.source(ctx, key, 0, end)
	var encs []format.Encoder
	if e, ok := encoderFor(encID); ok {
		encs = []format.Encoder{e}
	} else {
		head, err := src.peek()
		if err != nil {
			return location{}, fmt.Errorf("read %s: %w", key, err)
		}
		if bytes.HasPrefix(head, []byte(`{"topic":`)) {
			encs = []format.Encoder{{Format: format.JSONL, ValueEncoding: j.cfg.enc.ValueEncoding}, {Format: format.JSONL, ValueEncoding: 1 - j.cfg.enc.ValueEncoding}}
		} else {
			encs = []format.Encoder{{Format: format.Raw, ValueEncoding: j.cfg.enc.ValueEncoding}}
		}
	}
	jsonl := encs[0].Format == format.JSONL
	var want []byte
	if !jsonl {
		want = encs[0].Append(nil, r)
	}
	for n := first; src.pos < end && (jsonl || n <= x); n++ {
		head, err := src.peek()
		if err != nil {
			return location{}, fmt.Errorf("read %s: %w", key, err)
		}
		start := src.pos
		if jsonl {
			off, ok := jsonlOffset(head)
			if !ok {
				return location{}, fmt.Errorf("%w: %s: the line at %d is not a record of this sink", ErrConflict, key, src.pos)
			}
			if off > x {
				break
			}
			if err := src.skipLine(); err != nil {
				return location{}, fmt.Errorf("read %s: %w", key, err)
			}
			if off == x {
				return location{state: stored, key: key, encs: encs, pos: start, size: src.pos - start}, nil
			}
			continue
		}
		if len(head) >= len(want) && bytes.Equal(head[:len(want)], want) {
			return location{state: stored, key: key, encs: encs, pos: start, size: int64(len(want))}, nil
		}
		if err := src.skipLine(); err != nil {
			return location{}, fmt.Errorf("read %s: %w", key, err)
		}
	}
	if jsonl {
		return location{state: gap, key: key}, nil
	}
	return location{state: differs, key: key}, nil
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
// location are its encoding in the object's encoding (and, where the index
// has them, its timestamp is among those of the append that holds it: raw
// objects hold values only, and a recreated topic may repeat values).
// Locations in one object within a read chunk of each other are read at
// once.
func (j *partitionJob) sameAsStored(ctx context.Context, locs []location, recs []*events.Record) ([]bool, error) {
	same := make([]bool, len(recs))
	done := make([]bool, len(recs))
	if err := j.sameInAppends(ctx, locs, recs, same, done); err != nil {
		return nil, err
	}
	matches := func(l location, r *events.Record, equal func(want []byte) (bool, error)) (bool, error) {
		if ts := r.Timestamp; l.minTS > 0 && ts > 0 && (ts < l.minTS || ts > l.maxTS) {
			return false, nil
		}
		for _, enc := range l.encs {
			want := enc.Append(nil, r)
			if int64(len(want)) != l.size {
				continue
			}
			if ok, err := equal(want); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	for i := range recs {
		if done[i] || locs[i].state != stored {
			continue
		}
		lo, hi := locs[i].pos, locs[i].pos+locs[i].size
		group := []int{i}
		for k := i + 1; k < len(recs); k++ {
			l := locs[k]
			if l.state == stored && l.key == locs[i].key && max(hi, l.pos+l.size)-min(lo, l.pos) <= int64(j.cfg.readChunk) {
				lo, hi = min(lo, l.pos), max(hi, l.pos+l.size)
				group = append(group, k)
			}
		}
		if hi-lo > int64(j.cfg.readChunk) {
			// One record larger than a chunk: compare it piece by piece.
			l := locs[i]
			eq, err := matches(l, recs[i], func(want []byte) (bool, error) {
				return j.source(ctx, l.key, l.pos, l.pos+l.size).equal(want, nil)
			})
			if err != nil {
				return nil, j.diagnose(ctx, l.key, l.pos+l.size, fmt.Errorf("read %s: %w", l.key, err))
			}
			same[i], done[i] = eq, true
			continue
		}
		b, err := j.st.GetRange(ctx, locs[i].key, lo, hi-lo)
		if errors.Is(err, store.ErrNotRestored) {
			// An archived data object (SINK_STORAGE_CLASS Archive on
			// appendable objects, a lifecycle rule): compared by the
			// index alone, as a written staged object is (see
			// sameInAppends), rather than fail on a restore.
			for _, k := range group {
				same[k], done[k] = indexMatches(locs[k], recs[k]), true
			}
			continue
		}
		if err != nil {
			return nil, j.diagnose(ctx, locs[i].key, hi, fmt.Errorf("read %s [%d, %d): %w", locs[i].key, lo, hi, err))
		}
		for _, k := range group {
			l := locs[k]
			got := b[l.pos-lo : l.pos-lo+l.size]
			same[k], _ = matches(l, recs[k], func(want []byte) (bool, error) { return bytes.Equal(got, want), nil })
			done[k] = true
		}
	}
	return same, nil
}

// indexMatches reports whether r is the record at l by what the index
// holds alone: its encoded size and the timestamps of the append holding
// it. It is the comparison of records whose bytes cannot be read: a staged
// object written whole (its stage removed), an archived data object not
// restored. (A recreated topic whose records repeat sizes and timestamps
// exactly is taken for a replay there.)
func indexMatches(l location, r *events.Record) bool {
	if ts := r.Timestamp; l.minTS > 0 && ts > 0 && (ts < l.minTS || ts > l.maxTS) {
		return false
	}
	for _, enc := range l.encs {
		if int64(len(enc.Append(nil, r))) == l.size {
			return true
		}
	}
	return false
}

// sameInAppends is sameAsStored for the records whose location names the
// append that holds them (compressed or staged encodings): each such
// append is read once, decoded, up to the last record looked for in it. A
// staged object whose staging object is gone was written as its data
// object: its records are compared with the rows built from them there
// (sameInBuilt, after every append is done, each such object read forward
// once), so that a record of the same size and timestamp but other
// content (a recreated topic) is told from a redelivery; an archived data
// object cannot be read without a restore: its records are taken as the
// same when their encoded size and timestamp agree with the index
// (indexMatches), as for raw.
func (j *partitionJob) sameInAppends(ctx context.Context, locs []location, recs []*events.Record, same, done []bool) error {
	var builtKeys []string             // in the order found
	built := map[string][]builtCheck{} // by data object
	// copied: data objects of a staged, not built, encoding (SINK_FINALIZE)
	// found written, their stages gone: their bytes are the staged bytes.
	copied := map[string]bool{}
	builtEnc := map[string]format.Encoder{}
	for i := range recs {
		l := locs[i]
		if done[i] || l.state != stored || l.a == nil {
			continue
		}
		group := []int{}
		for k := i; k < len(recs); k++ {
			if locs[k].state == stored && locs[k].a != nil && locs[k].key == l.key && locs[k].a.Pos == l.a.Pos {
				group = append(group, k)
			}
		}
		slices.SortFunc(group, func(x, y int) int { return cmp.Compare(locs[x].pos, locs[y].pos) })
		enc := l.encs[0]
		key := l.key
		if enc.Staged() {
			key = StageKey(l.key)
		}
		var src *appendSource
		var err error
		// gone: the stage was found finalized (by an earlier append of
		// this object too: no request to learn it again).
		_, gone := built[l.key]
		// archived: the object read cannot be read without a restore:
		// the rest of the group by the index alone.
		archived := false
		if !gone {
			if enc.Staged() && !enc.Built() && copied[l.key] {
				key = l.key
			}
			src, err = j.openAppend(ctx, key, l.a, enc)
		}
		at := l.a.Head
		for _, k := range group {
			lk, r := locs[k], recs[k]
			done[k] = true
			if ts := r.Timestamp; lk.minTS > 0 && ts > 0 && (ts < lk.minTS || ts > lk.maxTS) {
				continue
			}
			want := enc.Append(nil, r)
			if int64(len(want)) != lk.size {
				continue
			}
			if archived {
				same[k] = true
				continue
			}
			if gone {
				built[l.key] = append(built[l.key], builtCheck{k: k, row: lk.row, want: want})
				continue
			}
			// Read the record where the index puts it; a stage found
			// written in a copied encoding is read again in the data
			// object, which holds the same bytes at the same positions.
			for {
				if err == nil {
					rel := lk.pos
					if l.a.Decoded == 0 {
						rel -= l.a.Pos
					}
					if err = src.skip(rel-at, nil); err == nil {
						same[k], err = src.equal(want, nil)
						at = rel + lk.size
					}
				}
				if err == nil {
					break
				}
				if errors.Is(err, store.ErrNotRestored) {
					// An archived data object (appendable, or a copied
					// final one): by the index alone (doc.go, Staging).
					j.archivedSame(key, err)
					archived, same[k], err = true, true, nil
					break
				}
				if enc.Staged() && key != l.key {
					finalized, serr := j.stageFinalized(ctx, l.key, err)
					if serr != nil {
						return serr
					}
					if finalized && !enc.Built() {
						copied[l.key] = true
						key, at = l.key, l.a.Head
						src, err = j.openAppend(ctx, key, l.a, enc)
						continue
					}
					if finalized {
						gone, err = true, nil
						if _, ok := built[l.key]; !ok {
							builtKeys = append(builtKeys, l.key)
							builtEnc[l.key] = enc
						}
						built[l.key] = append(built[l.key], builtCheck{k: k, row: lk.row, want: want})
						break
					}
				}
				if src != nil {
					err = src.fail(err)
				}
				return j.diagnose(ctx, key, l.a.Pos+l.a.Bytes, err)
			}
		}
	}
	for _, key := range builtKeys {
		if err := j.sameInBuilt(ctx, key, builtEnc[key], built[key], same); err != nil {
			return err
		}
	}
	return nil
}

// stageFinalized reports, after readErr reading the staging object of the data
// object key, whether the staging object is gone because key was written
// from it. Only a stage that is missing while key exists is: a failure to
// tell (a lookup that fails) is returned as the transient failure it is,
// never left to diagnose, which would take the missing stage for one
// deleted behind the sink's back (ErrConflict, a permanent stop).
func (j *partitionJob) stageFinalized(ctx context.Context, key string, readErr error) (bool, error) {
	if !store.IsNotFound(readErr) {
		_, err := j.st.Stat(ctx, StageKey(key))
		if err == nil {
			return false, nil // there: readErr is the read's own failure
		}
		if !store.IsNotFound(err) {
			return false, fmt.Errorf("check %s: %w", StageKey(key), err)
		}
	}
	_, err := j.st.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case store.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("check %s: %w", key, err)
}
