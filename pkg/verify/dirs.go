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
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// entry is a listed key named like a data object of some partition, or
// like its record index.
type entry struct {
	info    store.Info
	dir     string // relative to the prefix, ending in '/'
	key     string // the data object's key (of the index's or the stage's data object for those)
	indexed bool   // the key is the index object
	stage   bool   // the key is the staging object (sink.StageKey)
	p       int32
	off     int64
}

// lister lists the directories of a run and sorts what it finds.
type lister struct {
	ctx context.Context
	st  store.Store
	cfg *config
	rep *Report

	listed  []string // directories listed, relative to the prefix
	seen    map[string]bool
	metas   map[string]map[int32]bool // topic -> partitions with a listed meta object
	entries []entry
	strays  map[string][]string // first directory -> keys that are neither meta, data nor index
}

// list lists the prefix (or each requested topic's directory and
// invalidRuleData/{topic}/), then the search directories (WithDirs,
// WithDirFunc) that those listings do not cover, each once, reads the meta
// objects, and gives every data and index object to the topic-partition
// whose object name it is (see attribute). It returns the groups, sorted,
// keeping only the requested partitions, and the topics that hold a meta
// or data object.
func list(ctx context.Context, st store.Store, cfg *config, rep *Report) ([]*group, []string, error) {
	l := &lister{ctx: ctx, st: st, cfg: cfg, rep: rep, seen: map[string]bool{},
		metas: map[string]map[int32]bool{}, strays: map[string][]string{}}
	base := []string{""}
	if len(cfg.topics) > 0 {
		base = base[:0]
		for _, t := range cfg.topics {
			base = append(base, t+"/", sink.InvalidDir(t))
		}
	}
	if err := l.listAll(base); err != nil {
		return nil, nil, err
	}
	topics := l.topics()
	search, err := l.searchDirs(topics)
	if err != nil {
		return nil, nil, err
	}
	if err := l.listAll(search); err != nil {
		return nil, nil, err
	}
	metas := l.readMetas(topics)
	groups := l.attribute(topics, metas)
	l.reportStrays(topics)
	rep.Dirs = l.listed

	out := make([]*group, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	// The topics that hold something, whichever partitions are asked for.
	holds := map[string]bool{}
	for _, g := range out {
		holds[g.topic] = true
	}
	for _, e := range l.entries {
		first, rest, _ := strings.Cut(e.dir, "/")
		holds[first] = true
		if first == "invalidRuleData" {
			inv, _, _ := strings.Cut(rest, "/")
			holds[inv] = true
		}
	}
	var found []string
	for _, t := range topics {
		if len(l.metas[t]) > 0 || holds[t] {
			found = append(found, t)
		}
	}
	slices.SortFunc(out, func(a, b *group) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	slices.Sort(found)
	return out, found, nil
}

// listAll lists each of dirs not covered by a directory listed before.
func (l *lister) listAll(dirs []string) error {
	for _, d := range dirs {
		if covered(l.listed, d) {
			continue
		}
		infos, err := l.st.List(l.ctx, l.cfg.prefix+d)
		if err != nil {
			return fmt.Errorf("verify: list %q: %w", l.cfg.prefix+d, err)
		}
		l.listed = append(l.listed, d)
		for _, info := range infos {
			if !l.seen[info.Key] {
				l.seen[info.Key] = true
				l.classify(info)
			}
		}
	}
	return nil
}

// covered reports whether dir is under one of dirs (every listing is
// recursive).
func covered(dirs []string, dir string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(dir, d) })
}

// classify sorts one listed key.
func (l *lister) classify(info store.Info) {
	rest := strings.TrimPrefix(info.Key, l.cfg.prefix)
	first, sub, ok := strings.Cut(rest, "/")
	if !ok || first == "" {
		l.rep.Ignored++
		return
	}
	dir, base := path.Split(sub)
	if dir == "" && strings.HasPrefix(base, restoreCheckpointPrefix) {
		// sinkctl restore's progress, kept next to the data: the
		// tool's own, neither data nor a key outside the topic folders.
		l.rep.ToolKeys++
		return
	}
	if dir == "" {
		if ps, ok := strings.CutPrefix(base, metaBasePrefix); ok {
			if p, ok := parsePartition(ps); ok {
				if l.metas[first] == nil {
					l.metas[first] = map[int32]bool{}
				}
				l.metas[first][p] = true
				return
			}
		}
	}
	indexed, stage := false, false
	if dk, ok := objindex.DataKey(base); ok {
		base, indexed = dk, true
	} else if dk, ok := sink.StageData(base); ok {
		// The sink's own: records of an object of a staged encoding
		// (Parquet, or any written final), appended here until then.
		base, stage = dk, true
	} else if strings.HasPrefix(base, indexBasePrefix) || strings.HasPrefix(base, stageBasePrefix) {
		// Named like the sink's own objects but not as the sink names
		// them (an index or stage suffix missing): a look-alike.
		l.strays[first] = append(l.strays[first], info.Key)
		return
	}
	if p, off, ok := parseObjectName(base); ok {
		d := first + "/" + dir
		l.entries = append(l.entries, entry{info: info, dir: d, key: l.cfg.prefix + d + base, indexed: indexed, stage: stage, p: p, off: off})
		return
	}
	l.strays[first] = append(l.strays[first], info.Key)
}

// topics returns the topics to check: those asked for, or else every
// first-level directory that holds a meta object, or a data object whose
// name the sink derives for that topic (in its own directory or in
// invalidRuleData/{topic}/; a partition whose meta object is missing)
// among its first names.
func (l *lister) topics() []string {
	if len(l.cfg.topics) > 0 {
		return slices.Clone(l.cfg.topics)
	}
	is := map[string]bool{}
	for t := range l.metas {
		is[t] = true
	}
	// A directory of other topics' objects (a shared one) is given up on
	// after maxDiscoveryMisses names that do not derive for it, so that
	// discovery costs a few hashes per directory, not per object.
	const maxDiscoveryMisses = 16
	misses := map[string]int{}
	for _, e := range l.entries {
		t, _, _ := strings.Cut(e.dir, "/")
		if t == "invalidRuleData" {
			if inv, _, ok := strings.Cut(strings.TrimPrefix(e.dir, "invalidRuleData/"), "/"); ok && e.dir == sink.InvalidDir(inv) {
				t = inv
			}
		}
		if is[t] || misses[t] >= maxDiscoveryMisses {
			continue
		}
		if _, ok := sink.ObjectEpoch(l.cfg.prefix, t, sink.FolderName(t, e.dir), e.p, e.off, e.key, maxEpochProbe); ok {
			is[t] = true
		} else {
			misses[t]++
		}
	}
	return slices.Sorted(maps.Keys(is))
}

// partitions returns, per topic, the partitions to check known from the
// listings so far (meta objects, objects in the topic's own directory and
// in invalidRuleData/{topic}/), and those asked for, sorted.
func (l *lister) partitions(topics []string) map[string][]int32 {
	sets := map[string]map[int32]bool{}
	for _, t := range topics {
		sets[t] = map[int32]bool{}
	}
	add := func(t string, p int32) {
		if l.cfg.wantPartition(p) {
			sets[t][p] = true
		}
	}
	for _, t := range topics {
		for p := range l.metas[t] {
			add(t, p)
		}
		if len(l.cfg.topics) > 0 {
			for _, p := range l.cfg.partitions {
				add(t, p)
			}
		}
	}
	for _, e := range l.entries {
		first, rest, _ := strings.Cut(e.dir, "/")
		if first == "invalidRuleData" {
			first, _, _ = strings.Cut(rest, "/")
		}
		if sets[first] != nil {
			add(first, e.p)
		}
	}
	out := make(map[string][]int32, len(sets))
	for t, ps := range sets {
		out[t] = slices.Sorted(maps.Keys(ps))
	}
	return out
}

// searchDirs returns the search directories of the topics' partitions, the
// shortest of nested ones, sorted.
func (l *lister) searchDirs(topics []string) ([]string, error) {
	var dirs []string
	dirs = append(dirs, l.cfg.dirs...)
	if l.cfg.dirFunc != nil {
		parts := l.partitions(topics)
		for _, t := range topics {
			for _, p := range parts[t] {
				for _, d := range l.cfg.dirFunc(t, p) {
					if err := checkDir(d); err != nil {
						return nil, fmt.Errorf("verify: search directory of %s/%d: %w", t, p, err)
					}
					dirs = append(dirs, d)
				}
			}
		}
	}
	slices.Sort(dirs)
	var out []string
	for _, d := range slices.Compact(dirs) {
		if !covered(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// metaResult is a meta object read: the state, or the defect that says
// why there is none (nil for a meta object that does not exist).
type metaResult struct {
	meta   *sink.Meta
	defect *Defect
	bad    bool
}

// readMetas reads the listed meta objects of the topics' partitions to
// check, WithConcurrency at a time: their epochs are needed to tell whose
// objects a shared directory holds.
func (l *lister) readMetas(topics []string) map[tp]metaResult {
	var keys []tp
	for _, t := range topics {
		for _, p := range slices.Sorted(maps.Keys(l.metas[t])) {
			if l.cfg.wantPartition(p) {
				keys = append(keys, tp{t, p})
			}
		}
	}
	out := make(map[tp]metaResult, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, l.cfg.concurrency)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := readMeta(l.ctx, l.st, l.cfg, k)
			mu.Lock()
			out[k] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// readMeta reads and decodes the meta object of k.
func readMeta(ctx context.Context, st store.Store, cfg *config, k tp) metaResult {
	key := sink.MetaKey(cfg.prefix, k.topic, k.partition)
	data, err := st.Get(ctx, key)
	switch {
	case store.IsNotFound(err):
		return metaResult{}
	case err != nil:
		r := metaResult{bad: true}
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, store.ErrNotRestored):
			// A lifecycle rule archived it (the sink writes it Standard):
			// the objects are checked without it, as without a meta object.
			d := newDefect(CodeArchived, k.topic, k.partition, key,
				fmt.Sprintf("the meta object is in an archive class and not restored (a lifecycle rule moved it): the objects were checked without it; restore it (OSS RestoreObject) to check them against it: %v", err))
			r.defect = &d
		default:
			d := newDefect(CodeMetaUnreadable, k.topic, k.partition, key, fmt.Sprintf("cannot read the meta object: %v", err))
			r.defect = &d
		}
		return r
	}
	m, err := sink.DecodeMeta(data, cfg.prefix, k.topic, k.partition)
	if err != nil {
		d := newDefect(CodeMetaInvalid, k.topic, k.partition, key, err.Error())
		return metaResult{bad: true, defect: &d}
	}
	return metaResult{meta: m}
}

// attribute gives every listed data and index object of a partition to
// check to its topic-partition, and returns the groups. An object belongs
// to topic T when its key is the one sink.ObjectKey derives for T, the
// folder its directory is for T (sink.FolderName), its partition and first
// offset, and an epoch up to the meta object's (maxEpochProbe without
// one). The topics tried, in order: the key's first directory, the other
// directories of its path, then every topic checked; the first that
// derives it owns it. An object of a topic not checked, or whose name no
// topic derives, is another's (Report.OtherObjects): several topics can
// share a directory (a template that does not start with {topic}), except
// that a key inside a checked topic's own directory that no topic derives
// is that topic's look-alike (name_suffix), as before routing.
func (l *lister) attribute(topics []string, metas map[tp]metaResult) map[tp]*group {
	checked := map[string]bool{}
	for _, t := range topics {
		checked[t] = true
	}
	groups := map[tp]*group{}
	get := func(k tp) *group {
		g := groups[k]
		if g == nil {
			g = &group{tp: k, byKey: map[string]*dataObject{}}
			if r, ok := metas[k]; ok {
				g.metaRead, g.meta = true, r
			}
			groups[k] = g
		}
		return g
	}
	for k := range metas {
		get(k)
	}
	bound := func(t string, p int32) int64 {
		if r := metas[tp{t, p}]; r.meta != nil {
			return r.meta.Epoch
		}
		return maxEpochProbe
	}
	var tried []string
	other := map[string]bool{} // data object keys counted in OtherObjects
	for _, e := range l.entries {
		if !l.cfg.wantPartition(e.p) {
			continue
		}
		home, _, _ := strings.Cut(e.dir, "/")
		tried = tried[:0]
		owner, epoch, found := "", int64(0), false
		try := func(t string) bool {
			if t == "" || slices.Contains(tried, t) {
				return false
			}
			tried = append(tried, t)
			ep, ok := sink.ObjectEpoch(l.cfg.prefix, t, sink.FolderName(t, e.dir), e.p, e.off, e.key, bound(t, e.p))
			if ok {
				owner, epoch, found = t, ep, true
			}
			return ok
		}
		if !try(home) {
			for _, seg := range strings.Split(strings.TrimSuffix(e.dir, "/"), "/") {
				if try(seg) {
					break
				}
			}
		}
		if !found {
			for _, t := range topics {
				if try(t) {
					break
				}
			}
		}
		lookalike := false
		switch {
		case found && checked[owner]:
		case !found && checked[home]:
			owner, lookalike = home, true
		default:
			if !other[e.key] {
				other[e.key] = true
				l.rep.OtherObjects++
			}
			continue
		}
		g := get(tp{owner, e.p})
		o := g.byKey[e.key]
		if o == nil {
			o = newDataObject(e.key, sink.FolderName(owner, e.dir), e.off)
			o.listed, o.named, o.epoch, o.lookalike = true, true, epoch, lookalike
			o.invalid = o.folder == "/"+sink.InvalidDir(owner)
			g.byKey[e.key] = o
			g.objs = append(g.objs, o)
		}
		switch {
		case e.indexed:
			o.indexKey, o.indexSize = e.info.Key, e.info.Size
		case e.stage:
			o.markStaged()
			o.stageSize = e.info.Size
		case o.staged:
			o.finalSize, o.class = e.info.Size, e.info.StorageClass
		default:
			o.dataSize, o.class = e.info.Size, e.info.StorageClass
		}
	}
	for _, g := range groups {
		for _, o := range g.objs {
			o.settle()
		}
	}
	return groups
}

// reportStrays reports the keys in a checked topic's directory that are no
// meta, data or index object of the sink; the others are not the sink's
// and are counted in Report.Ignored.
func (l *lister) reportStrays(topics []string) {
	for _, first := range slices.Sorted(maps.Keys(l.strays)) {
		keys := l.strays[first]
		if !slices.Contains(topics, first) {
			l.rep.Ignored += len(keys)
			continue
		}
		for _, k := range keys {
			l.rep.Defects = append(l.rep.Defects, newDefect(CodeStrayObject, first, -1, k,
				"not a meta object or data object name of the sink; the sink never writes it"))
		}
	}
}
