package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// objFormat is how one object was read.
type objFormat uint8

const (
	fmtNone objFormat = iota // empty or unread
	fmtRaw
	fmtJSONL
	fmtCSV
	fmtParquet
)

func (f objFormat) String() string {
	switch f {
	case fmtRaw:
		return "raw"
	case fmtJSONL:
		return "jsonl"
	case fmtCSV:
		return "csv"
	case fmtParquet:
		return "parquet"
	}
	return ""
}

// objResult is what reading one object found.
type objResult struct {
	unread  bool // checked without reading its bytes (checkUnread)
	format  objFormat
	read    bool // read (or resolved) to the end without error
	indexed bool // its records are those its index says landed
	// exact: its records' offsets are known (JSONL lines, or an index).
	exact      bool
	records    int64 // records (indexed) or complete lines (legacy)
	recRecords int64 // of them inside the recorded bytes
	tailLines  int64 // legacy: complete lines past the recorded bytes
	fresh      int64 // legacy JSONL: recorded lines holding an offset seen nowhere before
	freshMin   int64 // legacy JSONL: the smallest offset seen nowhere before; -1 if none
	// Offsets (exact objects): smallest and largest over the object, and
	// the largest and the last inside the recorded bytes; -1 when none.
	min, max, recMax, recLast int64
	boundary                  bool // legacy: a line ends exactly at the recorded size (or it is 0)
	torn                      bool // legacy: ends in a partial line
	// tailBad: a record past the recorded size is no record the sink
	// could absorb (bad, another partition's, a repeated or earlier offset).
	tailBad bool
	seal    *objindex.Seal // the index's seal, if sealed
	idx     *indexState    // indexed: what the index says (nil otherwise)
}

// aggKey identifies the defects counted together.
type aggKey struct {
	code   Code
	object string
}

// epochState is one epoch of the partition: its objects, checked on their
// own, since offsets start again in a new epoch.
type epochState struct {
	epoch   int64
	current bool            // the meta object's current epoch (without one: the newest)
	info    *sink.EpochInfo // an ended epoch's history entry; nil for the current one or an unknown one
	objs    []*dataObject   // sorted by folder, then name offset
	seen    offsetSet
	prevMax map[string]int64 // folder -> largest offset read so far
	// inexact: some data could not be read or resolved, so counts are not
	// compared.
	inexact bool
}

// recorded returns the epoch's committed offset and records written as
// the meta object records them, and false when it records none.
func (es *epochState) recorded(m *sink.Meta) (committed, records int64, ok bool) {
	switch {
	case m == nil:
		return -1, -1, false
	case es.current:
		return m.Committed, m.Records, true
	case es.info != nil:
		return es.info.Committed, es.info.Records, true
	}
	return -1, -1, false
}

// checker checks one topic-partition.
type checker struct {
	ctx  context.Context
	st   store.Store
	cfg  *config
	prog *tracker
	g    *group
	dirs []string // the directories the run listed

	metaKey string
	meta    *sink.Meta
	metaBad bool // meta object unreadable or invalid
	objs    []*dataObject
	res     []objResult
	epochs  []*epochState // oldest first
	cur     *epochState   // the current epoch, nil when no object or meta names one

	encs map[string]format.Encoder // encoding ids parsed
	kc   kafkaContent

	defects []Defect
	agg     map[aggKey]int
	// lookupFailed holds open objects whose existence is unknown (reported
	// unreadable, not missing).
	lookupFailed map[string]bool
}

func newChecker(ctx context.Context, st store.Store, cfg *config, prog *tracker, g *group, dirs []string) *checker {
	return &checker{ctx: ctx, st: st, cfg: cfg, prog: prog, g: g, dirs: dirs,
		metaKey: sink.MetaKey(cfg.prefix, g.topic, g.partition),
		objs:    g.objs, agg: map[aggKey]int{}, lookupFailed: map[string]bool{}, encs: map[string]format.Encoder{}}
}

// add records a defect, counting it into an earlier one of the same code
// and object.
func (c *checker) add(d Defect) {
	d.Topic, d.Partition, d.Severity = c.g.topic, c.g.partition, d.Code.Severity()
	if d.Count == 0 {
		d.Count = 1
	}
	k := aggKey{d.Code, d.Object}
	if i, ok := c.agg[k]; ok {
		c.defects[i].Count += d.Count
		return
	}
	c.agg[k] = len(c.defects)
	c.defects = append(c.defects, d)
}

func (c *checker) addf(code Code, object string, pos *Position, offset *int64, format string, args ...any) {
	c.add(Defect{Code: code, Object: object, Pos: pos, Offset: offset, Message: fmt.Sprintf(format, args...)})
}

func ptr[T any](v T) *T { return &v }

func (c *checker) run() PartitionReport {
	c.loadMeta()
	c.findOpenObjects()
	c.assignEpochs()
	c.refreshSizes()
	c.startKafka()
	c.res = make([]objResult, len(c.objs))
	for _, es := range c.epochs {
		for _, o := range es.objs {
			if c.ctx.Err() != nil {
				return PartitionReport{}
			}
			o.recorded = c.recordedBytes(es, o)
			c.res[o.idx] = c.checkObject(es, o)
			if o.size >= 0 {
				c.prog.objectDone(c.g.tp, o.key)
			}
		}
	}
	if c.ctx.Err() != nil {
		return PartitionReport{}
	}
	c.compareMeta()
	return c.report()
}

// loadMeta takes the meta object as the listing read it, or reads and
// decodes it.
func (c *checker) loadMeta() {
	r := c.g.meta
	if !c.g.metaRead {
		r = readMeta(c.ctx, c.st, c.cfg, c.g.tp)
	}
	if r.defect != nil {
		c.add(*r.defect)
	}
	c.meta, c.metaBad = r.meta, r.bad
}

// findOpenObjects makes sure the meta object's open objects are among
// c.objs when their data or index exists, even if created after the
// listing, and reads the current sizes of those that were listed: the
// meta object was read after the listing, so they may have grown.
func (c *checker) findOpenObjects() {
	if c.meta == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.meta.Folders)) {
		f := c.meta.Folders[name]
		if o := c.object(f.Object); o != nil {
			c.stat(o)
			continue
		}
		// DecodeMeta checked that f.Object is the object the protocol
		// names for the folder and first offset.
		o := newDataObject(f.Object, name, f.FirstOffset)
		o.invalid = name == "/"+sink.InvalidDir(c.g.topic)
		if c.stat(o) && (o.size >= 0 || o.indexKey != "") {
			c.objs = append(c.objs, o)
		} else if o.size >= 0 {
			c.prog.grow(-1, -o.size) // not checked after all
		}
	}
}

// stat reads the current size of o's data object (for an encoding built
// when sealed: its staging object, then the built object), then of its
// index, in that order: the sink writes an index entry before the data it
// announces, so the index read second announces all the data seen; and it
// writes the built object before it removes the staging object, so a
// staging object gone when looked up leaves the built object found after
// it. It marks o live, and returns false when a lookup failed (reported).
func (c *checker) stat(o *dataObject) bool {
	o.live = true
	ok := true
	look := func(key string, size *int64) {
		info, err := c.st.Stat(c.ctx, key)
		switch {
		case err == nil:
			*size = info.Size
			if key == o.key {
				o.class, o.info = info.StorageClass, &info
			}
		case store.IsNotFound(err):
			*size = -1
		default:
			ok = false
			if c.ctx.Err() == nil {
				c.lookupFailed[o.key] = true
				c.addf(CodeUnreadable, key, nil, nil, "cannot look up the object: %v", err)
			}
		}
	}
	old := o.size
	if o.staged {
		look(sink.StageKey(o.key), &o.stageSize)
		look(o.key, &o.finalSize)
	} else {
		look(o.key, &o.dataSize)
		if o.dataSize < 0 && ok {
			// A copied encoding's records are in its staging object
			// until its data object is written (looked up again: it is
			// written before the staging object goes).
			look(sink.StageKey(o.key), &o.stageSize)
			if o.stageSize >= 0 {
				o.markStaged()
			}
			look(o.key, &o.finalSize)
			if !o.staged {
				o.dataSize, o.finalSize = o.finalSize, -1
			}
		}
	}
	o.settle()
	switch {
	case old < 0 && o.size >= 0:
		c.prog.grow(1, o.size)
	case old >= 0 && o.size < 0:
		c.prog.grow(-1, -old)
	case old >= 0:
		c.prog.grow(0, o.size-old)
	}
	ik := objindex.Key(o.key)
	info, err := c.st.Stat(c.ctx, ik)
	switch {
	case err == nil:
		o.indexKey, o.indexSize = ik, info.Size
	case store.IsNotFound(err):
		o.indexKey, o.indexSize = "", -1
	default:
		ok = false
		if c.ctx.Err() == nil {
			c.lookupFailed[o.key] = true
			c.addf(CodeUnreadable, ik, nil, nil, "cannot look up the index object: %v", err)
		}
	}
	return ok
}

// maxEpochProbe bounds the epochs tried for an object name when no meta
// object says which epoch is current.
const maxEpochProbe = 16

// assignEpochs tells each object's epoch from its name, reports look-alike
// names, and groups the objects by epoch, each sorted by folder and name
// offset.
func (c *checker) assignEpochs() {
	maxEpoch := int64(maxEpochProbe)
	if c.meta != nil {
		maxEpoch = c.meta.Epoch
	}
	newest := int64(0)
	for _, o := range c.objs {
		if !o.named {
			e, ok := sink.ObjectEpoch(c.cfg.prefix, c.g.topic, o.folder, c.g.partition, o.nameOff, o.key, maxEpoch)
			o.epoch, o.lookalike = e, !ok
		}
		if !o.lookalike {
			newest = max(newest, o.epoch)
		}
	}
	current := newest
	if c.meta != nil {
		current = c.meta.Epoch
	}
	byEpoch := map[int64]*epochState{}
	get := func(e int64) *epochState {
		es := byEpoch[e]
		if es == nil {
			es = &epochState{epoch: e, current: e == current, prevMax: map[string]int64{}}
			if c.meta != nil {
				for i := range c.meta.Epochs {
					if c.meta.Epochs[i].Epoch == e {
						es.info = &c.meta.Epochs[i]
					}
				}
			}
			byEpoch[e] = es
		}
		return es
	}
	for _, o := range c.objs {
		if o.lookalike {
			// Checked with the current epoch's objects, whose offsets it
			// most likely claims.
			o.epoch = current
			c.nameSuffix(o, maxEpoch)
		}
		es := get(o.epoch)
		es.objs = append(es.objs, o)
	}
	if c.meta != nil {
		get(current)
		for _, ei := range c.meta.Epochs {
			get(ei.Epoch)
		}
	}
	for _, es := range byEpoch {
		slices.SortFunc(es.objs, func(a, b *dataObject) int {
			return cmp.Or(strings.Compare(a.folder, b.folder), cmp.Compare(a.nameOff, b.nameOff), strings.Compare(a.key, b.key))
		})
		c.epochs = append(c.epochs, es)
	}
	slices.SortFunc(c.epochs, func(a, b *epochState) int { return cmp.Compare(a.epoch, b.epoch) })
	c.objs = c.objs[:0]
	for _, es := range c.epochs {
		if es.current {
			c.cur = es
		}
		if !es.current && es.info == nil && len(es.objs) > 0 && c.meta != nil {
			c.addf(CodeUnknownEpoch, es.objs[0].key, nil, nil,
				"%d objects belong to epoch %d, which the meta object's history does not list (current epoch %d): checked on their own, not against any state",
				len(es.objs), es.epoch, c.meta.Epoch)
		}
		for _, o := range es.objs {
			o.idx = len(c.objs)
			c.objs = append(c.objs, o)
		}
	}
}

func (c *checker) nameSuffix(o *dataObject, maxEpoch int64) {
	want := sink.ObjectKey(c.cfg.prefix, c.g.topic, o.folder, c.g.partition, o.nameOff, o.epoch)
	_, got := path.Split(o.key)
	suffix := want[strings.LastIndexByte(want, '_')+1:]
	which := fmt.Sprintf("epoch %d", o.epoch)
	if maxEpoch > 0 {
		which = fmt.Sprintf("any epoch 0 to %d", maxEpoch)
	}
	c.addf(CodeNameSuffix, o.key, nil, ptr(o.nameOff),
		"name %s does not end in the characters derived for %s (%s in epoch %d): the sink did not write this object, a retry would not find it and could write its records again",
		got, which, suffix, o.epoch)
}

// refreshSizes reads the current sizes of the listed objects that may have
// grown since the listing: the last listed one of each folder of each epoch
// (the meta object's open objects were read by findOpenObjects). Sealed
// objects never change.
func (c *checker) refreshSizes() {
	for _, es := range c.epochs {
		last := map[string]*dataObject{}
		for _, o := range es.objs {
			if o.listed {
				last[o.folder] = o
			}
		}
		for _, name := range slices.Sorted(maps.Keys(last)) {
			if o := last[name]; !o.live {
				c.stat(o) // a failed lookup is left to the read, which reports it
			}
		}
	}
}

func (c *checker) object(key string) *dataObject {
	for _, o := range c.objs {
		if o.key == key {
			return o
		}
	}
	return nil
}

// openFolder returns the meta object's open object for o's folder if o is
// it.
func (c *checker) openFolder(o *dataObject) *sink.Folder {
	if c.meta == nil || o.epoch != c.meta.Epoch {
		return nil
	}
	if f := c.meta.Folders[o.folder]; f != nil && f.Object == o.key {
		return f
	}
	return nil
}

// recordedBytes is how much of o the meta object accounts for.
// (For a built object whose staging object is gone, its index's bytes
// are no longer stored: all or nothing of them, see checkBuilt.)
func (c *checker) recordedBytes(es *epochState, o *dataObject) int64 {
	size := max(o.size, 0)
	committed, _, ok := es.recorded(c.meta)
	if !ok {
		return size
	}
	if f := c.openFolder(o); f != nil {
		o.open = true
		return min(f.Size, size)
	}
	if o.nameOff > committed {
		return 0
	}
	return size
}

// checkObject checks one object: through its index when it has one, by
// its lines otherwise.
func (c *checker) checkObject(es *epochState, o *dataObject) objResult {
	if c.cfg.noRead || c.frozen(o) {
		return c.checkUnread(es, o)
	}
	if o.indexKey != "" {
		if r, ok := c.checkIndexed(es, o); ok {
			return r
		}
		// The index cannot be used (reported): the data is checked as if
		// it had none.
	}
	if o.size < 0 {
		return objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	}
	if o.ext != "" {
		// Objects named with an extension are of the encodings that came
		// with formats, always written with an index: their bytes
		// (compressed members, CSV rows, staged records) are no lines.
		es.inexact = true
		if o.indexKey == "" {
			c.add(Defect{Code: CodeIndexMissing, Object: o.key, Other: objindex.Key(o.key),
				Message: fmt.Sprintf("the object's record index does not exist: the sink writes one for every object named with an extension (%s), and its records cannot be told apart without it", o.ext)})
		}
		return objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	}
	return c.checkLegacy(es, o)
}

// unreadable reports that o could not be read; the epoch's counts are not
// compared.
func (c *checker) unreadable(es *epochState, key string, err error) {
	es.inexact = true
	if c.ctx.Err() != nil {
		return
	}
	if errors.Is(err, store.ErrNotRestored) {
		// An index object a lifecycle rule archived with its data (the
		// sink writes them Standard), or a restored copy that expired
		// since the Stat: not a defect of the backup.
		c.addf(CodeArchived, key, nil, nil,
			"the object is in an archive class and not restored (a lifecycle rule moves index objects with their data): it cannot be read, so what depends on it was not checked. "+
				"Restore it to check it (sinkctl restore requests restores of the archived data and index objects it reads; or OSS RestoreObject): %v", err)
		return
	}
	what := "cannot be read"
	if store.IsNotFound(err) {
		what = "is gone since the listing"
	}
	c.addf(CodeUnreadable, key, nil, nil, "the object %s: %v", what, err)
}

// noteOffset records that o stores off (at pos): a duplicate or an offset
// below an earlier one of the folder is reported. fresh is false for a
// duplicate; ordered is false when off is below an earlier offset.
func (c *checker) noteOffset(es *epochState, o *dataObject, off int64, pos *Position) (fresh, ordered bool) {
	holder, dup := es.seen.add(off, o.idx)
	if dup {
		where := "earlier in this object"
		other := ""
		if holder != o.idx {
			other = c.objs[holder].key
			where = "in " + other
		}
		c.add(Defect{Code: CodeDuplicateOffset, Object: o.key, Pos: pos, Offset: ptr(off), Other: other,
			Message: fmt.Sprintf("offset %d is stored twice: also %s", off, where)})
		return false, true
	}
	prev, ok := es.prevMax[o.folder]
	ordered = !ok || off > prev
	if !ordered {
		c.addf(CodeOutOfOrder, o.key, pos, ptr(off), "offset %d comes after offset %d", off, prev)
	} else {
		es.prevMax[o.folder] = off
	}
	return true, ordered
}
