package sink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Router places records in folders (package route implements SINK_FOLDER).
type Router interface {
	// AppendFolder appends to dst the directory of rec, relative to the
	// prefix and ending in '/', with no empty, "." or ".." segment; or
	// fails when it cannot be computed from the record (a missing field).
	// It must be a pure function of the record, safe for concurrent use:
	// a retry must place every record where the failed attempt did.
	AppendFolder(dst []byte, rec *events.Record) ([]byte, error)
	// Static reports that the directory depends on the topic and the
	// partition only: one folder per partition.
	Static() bool
}

// InvalidPolicy says what happens to a record the router cannot place.
type InvalidPolicy uint8

const (
	// InvalidFolder stores it in {prefix}invalidRuleData/{topic}/, named
	// like any data object of its partition.
	InvalidFolder InvalidPolicy = iota
	// InvalidFail fails the partition's batch (ErrUnroutable), writing
	// nothing for it.
	InvalidFail
	// InvalidDrop counts it (InvalidDropped in the summary) and commits
	// it without storing it.
	InvalidDrop
)

// InvalidDir is the directory, relative to the prefix, of the records of
// topic that the router cannot place (InvalidFolder).
func InvalidDir(topic string) string { return "invalidRuleData/" + topic + "/" }

// ErrUnroutable: a record's folder cannot be computed (SINK_INVALID=fail).
// The record will not change: retrying cannot help; change SINK_INVALID or
// SINK_FOLDER, or let the trigger's dead-letter queue take the batch.
var ErrUnroutable = errors.New("record cannot be routed")

// routing is where each of a partition's pending records goes.
type routing struct {
	folders []string           // folder names, in order of first record
	recs    [][]*events.Record // per folder, in offset order
	// nowhere: filtered or dropped records, by kind.
	filtered, invalid, dropped int
}

// route splits recs (sorted by offset) by folder. With InvalidFail, a record
// that cannot be placed fails the whole partition before anything is
// written.
func (j *partitionJob) route(recs []*events.Record) (*routing, error) {
	c := j.cfg
	rt := &routing{}
	if c.router == nil && c.keep == nil {
		rt.folders, rt.recs = []string{""}, [][]*events.Record{recs}
		return rt, nil
	}
	at := map[string]int{}     // by directory, as the router renders it
	byName := map[string]int{} // by folder name
	var buf []byte
	for _, r := range recs {
		p, dir, err := j.place(r, buf)
		buf = dir
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: record at offset %d (batch element %d): %w; nothing was written for this partition "+
				"(SINK_INVALID=fail); the record will not change, so retrying cannot help: set SINK_INVALID=folder or drop, or fix SINK_FOLDER",
				ErrUnroutable, r.Offset, r.Index, err)
		case p == placeFiltered:
			rt.filtered++
			continue
		case p == placeDropped:
			rt.dropped++
			continue
		case p == placeInvalid:
			rt.invalid++
		case c.routed():
			// (Indexing by the bytes costs no allocation; the name is made
			// once per folder.)
			if i, ok := at[string(dir)]; ok {
				rt.recs[i] = append(rt.recs[i], r)
				continue
			}
		}
		name := j.folderName(p, dir)
		i, ok := byName[name]
		if !ok {
			i = len(rt.folders)
			byName[name] = i
			rt.folders = append(rt.folders, name)
			rt.recs = append(rt.recs, nil)
		}
		if p == placeFolder && c.routed() {
			at[string(dir)] = i
		}
		rt.recs[i] = append(rt.recs[i], r)
	}
	return rt, nil
}

// placement is where the settings put a record.
type placement uint8

const (
	placeFolder   placement = iota // its folder
	placeInvalid                   // invalidRuleData/{topic}/ (InvalidFolder)
	placeFiltered                  // nowhere: the filter drops it
	placeDropped                   // nowhere: not routable, InvalidDrop
)

// place says where r goes. For a folder of a routed partition, dir is the
// directory the router renders (into buf, reused). A record that cannot be
// routed under InvalidFail is an error.
func (j *partitionJob) place(r *events.Record, buf []byte) (p placement, dir []byte, err error) {
	c := j.cfg
	if c.keep != nil && !c.keep(r) {
		return placeFiltered, buf, nil
	}
	if !c.routed() {
		return placeFolder, buf, nil
	}
	dir, err = c.router.AppendFolder(buf[:0], r)
	switch {
	case err == nil:
		return placeFolder, dir, nil
	case c.invalid == InvalidDrop:
		return placeDropped, dir, nil
	case c.invalid == InvalidFail:
		return placeFolder, dir, err
	}
	return placeInvalid, dir, nil
}

// folderName is the folder name of a placement in a folder (see place).
func (j *partitionJob) folderName(p placement, dir []byte) string {
	switch {
	case p == placeInvalid:
		return FolderName(j.topic, InvalidDir(j.topic))
	case !j.cfg.routed():
		return j.folder
	}
	return FolderName(j.topic, string(dir))
}

// placeOf returns the folder a record at or below the committed offset was
// stored in, or false if it was stored nowhere (filtered, dropped, or not
// routable under InvalidFail), for the duplicate check.
func (j *partitionJob) placeOf(r *events.Record, buf []byte) (string, []byte, bool) {
	p, dir, err := j.place(r, buf)
	if err != nil || p == placeFiltered || p == placeDropped {
		return "", dir, false
	}
	return j.folderName(p, dir), dir, true
}

// routed reports whether records of a partition may go to several folders.
func (c *config) routed() bool { return c.router != nil && !c.router.Static() }

// closeFolders drops from m the open objects of the folders beyond the
// bound, those whose last record has the smallest offset first (ties by
// name), so that attempts close alike. A closed object is never appended
// to again — nothing names it any more, and every later record has a
// larger offset than its first, so no search for a failed attempt's
// object finds it — and the folder's next record opens a new object.
//
// Only a folder whose state is complete may close: none holding records
// beyond the committed offset (adopted from an earlier attempt), none with
// an announced append not yet resolved (touched[name] false), and none
// whose index holds entries the state does not know (an attempt that
// failed after appending there, which a later batch without records for
// the folder committed past): an untouched folder's index is looked up
// first, and one that grew is replayed (settle) before it closes.
func (j *partitionJob) closeFolders(ctx context.Context, m *Meta, touched map[string]bool) []string {
	if len(m.Folders) <= j.cfg.maxFolders {
		return nil
	}
	var names []string
	for name, f := range m.Folders {
		if complete, ok := touched[name]; f.LastOffset <= m.Committed && (complete || !ok) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m.Folders[a].LastOffset, m.Folders[b].LastOffset), strings.Compare(a, b))
	})
	var closed []string
	for _, name := range names {
		if len(m.Folders) <= j.cfg.maxFolders || ctx.Err() != nil {
			break
		}
		f := m.Folders[name]
		// indexLen: the length of f's index, where its seal goes.
		indexLen := f.IndexSize
		if !touched[name] && !f.Legacy {
			info, err := j.st.Stat(ctx, objindex.Key(f.Object))
			if store.IsNotFound(err) {
				info.Size, err = 0, nil
			}
			if err != nil {
				continue
			}
			if info.Size != f.IndexSize {
				ok, n := j.settle(ctx, m, name)
				if !ok {
					continue
				}
				indexLen = n
			}
		}
		if f := m.Folders[name]; stagedEnc(f.Encoding) && f.Records > 0 {
			// A staged object's records become a data object when it takes
			// no more: closed, it does not (its state is complete here), so
			// it is finalized like a sealed one, up to its recorded size.
			// Its seal follows every entry of its index, also an announced
			// append that settle gave up on: the recorded index_size stops
			// before that one, and a seal there would find it taken.
			p := pendingOf(name, j.epoch, f)
			p.Closed = true
			p.IndexSize = indexLen
			j.sealed = append(j.sealed, p)
		}
		delete(m.Folders, name)
		closed = append(closed, name)
	}
	return closed
}

// settle replays the index of a folder's open object that grew beyond what
// the state records — an attempt stored records there, or announced an
// append, and the trigger gave up on its batch — so that the folder can
// close although no later record goes to it (else it would stay open for
// good, one more each time). It reports whether the folder may close now:
// its object is still the current one (no seal followed) and its records
// end at or below the committed offset. What it adopted is counted, and
// the folder's state updated either way. An announced append that has not
// landed is given up on: the batch that announced it is behind the
// committed offset, and only a request of a dead invocation landing late
// could still add to the object (see "The assumption").
//
// It also returns the index's length as replayed (beyond the recorded
// index_size when an announcement was given up on).
func (j *partitionJob) settle(ctx context.Context, m *Meta, name string) (bool, int64) {
	f := *m.Folders[name]
	w := j.resume(name, &f)
	adopted := j.adopted
	if _, err := w.replay(ctx, nil, unknownLength, unknownLength); err != nil {
		j.log.Warn().Err(err).Str("folder", name).Msg("folder past the bound left open: its index could not be replayed")
		j.adopted = adopted
		return false, 0
	}
	if !w.has {
		delete(m.Folders, name)
		return true, 0
	}
	cur := w.recorded()
	m.Folders[name] = &cur
	return w.f.Object == f.Object && w.f.LastOffset <= m.Committed, w.f.IndexSize
}
