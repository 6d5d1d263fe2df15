package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const metaBasePrefix = ".oss_meta_file_partition_"

// indexBasePrefix starts the base name of a record index object
// (objindex.Key): .oss_index_{data object's base name}[.idx].
const indexBasePrefix = ".oss_index_"

// stageBasePrefix starts the base name of a staging object (sink.StageKey):
// .oss_stage_{data object's base name}.staged.
const stageBasePrefix = ".oss_stage_"

// restoreCheckpointPrefix starts the names of sinkctl restore's checkpoint
// objects (package restore, CheckpointKey), which verify skips.
const restoreCheckpointPrefix = ".restore_checkpoint_"

// tp names a topic-partition.
type tp struct {
	topic     string
	partition int32
}

// group is what the listing holds for one topic-partition.
type group struct {
	tp
	metaRead bool       // meta holds the meta object as read after the listing
	meta     metaResult //
	objs     []*dataObject
	byKey    map[string]*dataObject
}

// dataObject is one data object of a partition, as the listing (or the
// meta object) shows it: its data, its record index, or both, and for an
// encoding built when sealed (Parquet) its staging object.
type dataObject struct {
	key     string // extension included
	ext     string // its name's extension (sink.SplitExt): "" for raw and legacy objects
	folder  string // its folder name (sink.FolderName): "", "dt=x/", "/tenant-a/orders/"
	invalid bool   // in invalidRuleData/{topic}/
	nameOff int64  // the first offset its name claims
	// staged: its encoding is staged (format.Encoder.Staged): records are
	// appended to the staging object (sink.StageKey), then the data object
	// is written from them and the staging object removed. Parquet (by its
	// name) is built from the staged records; raw, jsonl and csv written
	// final (their index's encodings end in ";final", or a staging object
	// exists) are copied: the data object holds the staged bytes at the
	// same positions. A copied object whose staging object is gone and
	// was never seen is checked as any other, by its index.
	staged bool
	// The sizes of the objects as listed or looked up; -1: it does not
	// exist. dataSize is key's (not staged); stageSize and finalSize are
	// the staging object's and the built data object's (staged).
	dataSize, stageSize, finalSize int64
	// size is the length of the bytes the index describes, src the object
	// that holds them: the data object, or the staging object (staged).
	// A built object whose staging object is gone (built) has size the
	// built object's length and src its key: its index's bytes are no
	// longer stored, its records are read from it. -1: none exists.
	size      int64
	src       string
	built     bool
	indexKey  string // "": no index (a legacy object)
	indexSize int64
	epoch     int64
	lookalike bool  // its name is derived for no epoch (sink.ObjectEpoch)
	named     bool  // epoch and lookalike were told by the listing's attribution
	listed    bool  // in the listing (not only named by the meta object)
	live      bool  // may still grow: its sizes were read after the meta object
	idx       int   // position in its checker's objs
	recorded  int64 // bytes the meta object accounts for (set by the checker)
	open      bool  // the meta object's open object of its folder
	// class is the data object's storage class (of the built object for a
	// staged encoding), as listed or looked up ("": Standard); info its
	// Stat, once looked up for a check without reading (nil: not yet).
	class store.StorageClass
	info  *store.Info
}

func newDataObject(key, folder string, nameOff int64) *dataObject {
	_, ext := sink.SplitExt(key)
	o := &dataObject{key: key, ext: ext, folder: folder, nameOff: nameOff, staged: stagedName(key),
		dataSize: -1, stageSize: -1, finalSize: -1, size: -1, src: key, indexSize: -1}
	return o
}

// parquet reports whether o's encoding is built when sealed (Parquet, by
// its name): its data object holds other bytes than its staged ones.
func (o *dataObject) parquet() bool { return o.ext == parquetExt }

// copied reports whether o is staged in an encoding whose data object is
// a copy of its staged bytes (raw, jsonl, csv written final).
func (o *dataObject) copied() bool { return o.staged && !o.parquet() }

// markStaged makes o staged (a staging object of a copied encoding was
// found): a data object size already found is the written one's.
func (o *dataObject) markStaged() {
	if o.staged {
		return
	}
	o.staged = true
	if o.dataSize >= 0 {
		o.finalSize, o.dataSize = o.dataSize, -1
	}
}

// settle derives size, src and built from the sizes found.
func (o *dataObject) settle() {
	o.size, o.src, o.built = o.dataSize, o.key, false
	if !o.staged {
		return
	}
	switch {
	case o.stageSize >= 0:
		o.size, o.src = o.stageSize, sink.StageKey(o.key)
	case o.finalSize >= 0:
		// A copied object's data object holds the staged bytes at their
		// positions: read as an appendable object's.
		o.size, o.built = o.finalSize, o.parquet()
	}
}

// stagedName reports whether the data object key (or base name) is of an
// encoding built when sealed (Parquet), by its extension: always staged.
// Copied encodings (raw, jsonl, csv written final) keep their extensions;
// they are told by their staging objects and their index's encodings.
func stagedName(key string) bool {
	_, ext := sink.SplitExt(key)
	return ext == parquetExt
}

const parquetExt = ".parquet"

// Run checks the objects under the prefix and returns a report. It returns
// an error only when the check could not be made: invalid options, a failed
// listing, or ctx done. Problems with individual objects, including read
// errors, are defects in the report.
func Run(ctx context.Context, st store.Store, opts ...Option) (*Report, error) {
	cfg := defaultCfg()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rep := &Report{Prefix: cfg.prefix, Format: cfg.format, Partitions: []PartitionReport{}, Defects: []Defect{}}

	groups, topics, err := list(ctx, st, &cfg, rep)
	if err != nil {
		return nil, err
	}
	noData(&cfg, rep, groups)
	kps, err := probeKafka(ctx, &cfg, groups, topics)
	if err != nil {
		return nil, err
	}

	prog := newTracker(cfg.progress, groups)
	rep.Partitions = make([]PartitionReport, len(groups))
	sem := make(chan struct{}, cfg.concurrency)
	var wg sync.WaitGroup
	var kafkaErr error
	var kafkaMu sync.Mutex
	for i, g := range groups {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := newChecker(ctx, st, &cfg, prog, g, rep.Dirs)
			rep.Partitions[i] = c.run()
			if cfg.kafka != nil && ctx.Err() == nil {
				if err := c.compareKafka(&rep.Partitions[i]); err != nil {
					kafkaMu.Lock()
					kafkaErr = cmp.Or(kafkaErr, err)
					kafkaMu.Unlock()
				}
			}
			prog.partitionDone(g.tp)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify: %w", context.Cause(ctx))
	}
	if kafkaErr != nil {
		return nil, fmt.Errorf("verify: %w", kafkaErr)
	}
	if cfg.kafka != nil {
		if err := kafkaAbsent(ctx, &cfg, kps, groups, rep); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	rep.Unmatched = unmatched(&cfg, rep.Partitions)
	slices.SortFunc(rep.Defects, compareDefects)
	rep.sum()
	return rep, nil
}

// noData reports requested topics and partitions that hold nothing, or an
// empty run.
func noData(cfg *config, rep *Report, groups []*group) {
	has := map[tp]bool{}
	hasTopic := map[string]bool{}
	for _, g := range groups {
		has[g.tp] = true
		hasTopic[g.topic] = true
	}
	for _, t := range cfg.topics {
		if len(cfg.partitions) == 0 {
			if !hasTopic[t] {
				rep.Defects = append(rep.Defects, newDefect(CodeNoData, t, -1, "",
					fmt.Sprintf("no meta or data object under %q", cfg.prefix+t+"/")))
			}
			continue
		}
		for _, p := range cfg.partitions {
			if !has[tp{t, p}] {
				rep.Defects = append(rep.Defects, newDefect(CodeNoData, t, p, "",
					fmt.Sprintf("no meta or data object of partition %d under %q", p, cfg.prefix+t+"/")))
			}
		}
	}
	if len(cfg.topics) == 0 && len(groups) > 0 {
		for _, p := range cfg.partitions {
			if !slices.ContainsFunc(groups, func(g *group) bool { return g.partition == p }) {
				rep.Defects = append(rep.Defects, newDefect(CodeNoData, "", p, "",
					fmt.Sprintf("no meta or data object of partition %d in any topic under prefix %q", p, cfg.prefix)))
			}
		}
	}
	if len(groups) == 0 && len(cfg.topics) == 0 {
		what := "no meta or data object"
		if len(cfg.partitions) > 0 {
			what += " of the partitions asked for"
		}
		rep.Defects = append(rep.Defects, newDefect(CodeNoData, "", -1, "",
			fmt.Sprintf("%s under prefix %q (is the prefix right?)", what, cfg.prefix)))
	}
}

// unmatched lists the topic and partition selections that no partition
// report matches.
func unmatched(cfg *config, parts []PartitionReport) []Selection {
	has := func(t string, p int32) bool {
		for _, pr := range parts {
			if (t == "" || pr.Topic == t) && (p < 0 || pr.Partition == p) {
				return true
			}
		}
		return false
	}
	var out []Selection
	switch {
	case len(cfg.topics) > 0 && len(cfg.partitions) > 0:
		for _, t := range cfg.topics {
			for _, p := range cfg.partitions {
				if !has(t, p) {
					out = append(out, Selection{Topic: t, Partition: ptr(p)})
				}
			}
		}
	case len(cfg.topics) > 0:
		for _, t := range cfg.topics {
			if !has(t, -1) {
				out = append(out, Selection{Topic: t})
			}
		}
	case len(cfg.partitions) > 0:
		for _, p := range cfg.partitions {
			if !has("", p) {
				out = append(out, Selection{Partition: ptr(p)})
			}
		}
	}
	return out
}

func (c *config) wantPartition(p int32) bool {
	return len(c.partitions) == 0 || slices.Contains(c.partitions, p)
}

// parsePartition parses a partition number as the sink writes it.
func parsePartition(s string) (int32, bool) {
	p, err := strconv.ParseInt(s, 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != s {
		return 0, false
	}
	return int32(p), true
}

// parseObjectName splits partition_{p}_offset_{o}_{suffix}{ext}, with a
// suffix of any length (sink.ParseObjectName accepts only 8 characters; a
// wrong suffix is a defect here, not a stranger) and any extension
// sink.SplitExt knows.
func parseObjectName(base string) (p int32, off int64, ok bool) {
	base, _ = sink.SplitExt(base)
	rest, found := strings.CutPrefix(base, "partition_")
	if !found {
		return 0, 0, false
	}
	ps, rest, found := strings.Cut(rest, "_offset_")
	if !found {
		return 0, 0, false
	}
	os, suffix, found := strings.Cut(rest, "_")
	if !found || suffix == "" {
		return 0, 0, false
	}
	p, ok = parsePartition(ps)
	if !ok {
		return 0, 0, false
	}
	o, err := strconv.ParseInt(os, 10, 64)
	if err != nil || o < 0 || strconv.FormatInt(o, 10) != os {
		return 0, 0, false
	}
	return p, o, true
}

func newDefect(code Code, topic string, partition int32, object, msg string) Defect {
	return Defect{Code: code, Severity: code.Severity(), Topic: topic, Partition: partition, Object: object, Count: 1, Message: msg}
}

func compareDefects(a, b Defect) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition),
		strings.Compare(a.Object, b.Object), cmp.Compare(posByte(a), posByte(b)), strings.Compare(string(a.Code), string(b.Code)))
}

func posByte(d Defect) int64 {
	if d.Pos == nil {
		return -1
	}
	return d.Pos.Byte
}

// tracker serializes progress calls and keeps the run's totals.
type tracker struct {
	fn func(Progress)
	mu sync.Mutex
	p  Progress
}

func newTracker(fn func(Progress), groups []*group) *tracker {
	t := &tracker{fn: fn}
	t.p.PartitionsTotal = len(groups)
	for _, g := range groups {
		for _, o := range g.objs {
			if o.size >= 0 {
				t.p.ObjectsTotal++
				t.p.BytesTotal += o.size
			}
		}
	}
	return t
}

// grow adds objects and bytes found after the listing to the totals.
func (t *tracker) grow(objects int, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.ObjectsTotal += objects
	t.p.BytesTotal += bytes
}

func (t *tracker) bytes(k tp, key string, n int64) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.Topic, t.p.Partition, t.p.Object = k.topic, k.partition, key
	t.p.BytesDone += n
	t.fn(t.p)
}

func (t *tracker) objectDone(k tp, key string) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.Topic, t.p.Partition, t.p.Object = k.topic, k.partition, key
	t.p.ObjectsDone++
	t.fn(t.p)
}

func (t *tracker) partitionDone(k tp) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.Topic, t.p.Partition, t.p.Object = k.topic, k.partition, ""
	t.p.PartitionsDone++
	t.fn(t.p)
}
