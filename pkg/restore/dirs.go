package restore

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// candidate is a listed key named like a data object of a partition of the
// topic; it is the topic's when its name derives (see plan).
type candidate struct {
	object
	home bool // inside the topic's own directory
}

// listed is what the listings found: by partition, the keys named like
// its data objects.
type listed struct {
	byPart map[int32][]candidate
	// covered are the directories listed (relative to the prefix); known
	// the partitions found, by a meta object or an object.
	covered []string
	known   map[int32]bool
}

// searched reports whether the listings covered dir.
func (l listed) searched(dir string) bool {
	return slices.ContainsFunc(l.covered, func(c string) bool { return strings.HasPrefix(dir, c) })
}

// list lists the topic's directory, invalidRuleData/{topic}/ and the
// search directories (Dirs, DirFunc) that those listings do not cover,
// each once, and returns the keys named like data objects of the
// partitions to restore. (With ExcludeInvalid too, invalidRuleData/ is
// listed: a chunk an interrupted run announced may hold its records.)
func list(ctx context.Context, st store.Store, o *options) (listed, error) {
	var dirs, covered []string
	var infos []store.Info
	seen := map[string]bool{}
	listAll := func(ds []string) error {
		for _, d := range ds {
			if slices.ContainsFunc(covered, func(c string) bool { return strings.HasPrefix(d, c) }) {
				continue
			}
			is, err := st.List(ctx, o.prefix+d)
			if err != nil {
				return fmt.Errorf("list %s: %w", o.prefix+d, err)
			}
			covered = append(covered, d)
			for _, in := range is {
				if !seen[in.Key] {
					seen[in.Key] = true
					infos = append(infos, in)
				}
			}
		}
		return nil
	}
	dirs = append(dirs, o.topic+"/", sink.InvalidDir(o.topic))
	if err := listAll(dirs); err != nil {
		return listed{}, err
	}

	var out listed
	known := map[int32]bool{}
	for _, p := range o.partitions {
		known[p] = true
	}
	for _, in := range infos {
		dir, base := path.Split(strings.TrimPrefix(in.Key, o.prefix))
		if dir == o.topic+"/" {
			if ps, ok := strings.CutPrefix(base, ".oss_meta_file_partition_"); ok {
				n, err := strconv.ParseInt(ps, 10, 32)
				if p := int32(n); err == nil && p >= 0 && strconv.FormatInt(n, 10) == ps && o.wantPartition(p) {
					known[p] = true
				}
				continue
			}
		}
		if dk, ok := objindex.DataKey(in.Key); ok {
			base = path.Base(dk)
		} else if dk, ok := stageData(in.Key); ok {
			base = path.Base(dk)
		}
		if p, _, ok := sink.ParseObjectName(base); ok && o.wantPartition(p) {
			known[p] = true
		}
	}
	search := slices.Clone(o.dirs)
	if o.dirFunc != nil {
		for _, p := range slices.Sorted(mapKeys(known)) {
			for _, d := range o.dirFunc(o.topic, p) {
				if err := checkDir(d); err != nil {
					return listed{}, fmt.Errorf("search directory of partition %d: %w", p, err)
				}
				search = append(search, d)
			}
		}
	}
	slices.Sort(search)
	if err := listAll(slices.Compact(search)); err != nil {
		return listed{}, err
	}

	indexed := map[string]int64{}                 // data object key -> its index's length
	indexClass := map[string]store.StorageClass{} // data object key -> its index's class
	staged := map[string]int64{}                  // data object key -> its staging object's length
	for _, in := range infos {
		if dk, ok := objindex.DataKey(in.Key); ok {
			indexed[dk], indexClass[dk] = in.Size, in.StorageClass
		} else if dk, ok := stageData(in.Key); ok {
			staged[dk] = in.Size
		}
	}
	out.byPart = map[int32][]candidate{}
	out.covered, out.known = covered, known
	at := map[string]int{} // data object key -> its candidate's position in byPart
	for _, in := range infos {
		key, isStage := in.Key, false
		if dk, ok := stageData(in.Key); ok {
			key, isStage = dk, true
		}
		dir, base := path.Split(strings.TrimPrefix(key, o.prefix))
		p, first, ok := sink.ParseObjectName(base) // index objects do not parse
		if !ok || !o.wantPartition(p) {
			continue
		}
		if i, ok := at[key]; ok {
			// A staged object listed twice: staging and data object.
			c := &out.byPart[p][i]
			c.staged = true
			c.stage, c.final = c.stage || isStage, c.final || !isStage
			if !isStage {
				c.class = in.StorageClass
			}
			continue
		}
		_, ext := sink.SplitExt(key)
		isize, hasIndex := indexed[key]
		ob := object{key: key, ext: ext, folder: sink.FolderName(o.topic, dir), partition: p, first: first, size: in.Size,
			index: hasIndex, indexSize: isize, indexClass: indexClass[key], invalid: dir == sink.InvalidDir(o.topic)}
		// Staged: Parquet by its name, the others (written final) when
		// their staging object exists; a written final object whose
		// staging object is gone is read as an appendable object.
		_, hasStage := staged[key]
		ob.staged = ext == parquetExt || isStage || hasStage
		if !isStage {
			ob.class = in.StorageClass
		}
		if ob.staged {
			ob.stage, ob.final = isStage, !isStage
			if s, ok := staged[key]; ok {
				ob.size = s // the staging object is read while it exists
			}
		}
		at[key] = len(out.byPart[p])
		out.byPart[p] = append(out.byPart[p], candidate{object: ob, home: strings.HasPrefix(dir, o.topic+"/")})
	}
	return out, nil
}

const parquetExt = ".parquet"

// stageData returns the data object key of a staging object's key
// (sink.StageKey), for the encodings staged: Parquet, and raw, jsonl and
// csv written final (any extension).
func stageData(key string) (string, bool) {
	dk, ok := sink.StageData(key)
	if !ok {
		return "", false
	}
	if _, _, ok := sink.ParseObjectName(path.Base(dk)); !ok {
		return "", false
	}
	return dk, true
}

func (o *options) wantPartition(p int32) bool {
	return len(o.partitions) == 0 || slices.Contains(o.partitions, p)
}

// checkDir checks a search directory: relative to the prefix, "" or
// ending in '/'.
func checkDir(d string) error {
	if strings.HasPrefix(d, "/") || (d != "" && !strings.HasSuffix(d, "/")) {
		return fmt.Errorf("restore: search directory %q: want a directory relative to the prefix, ending in '/' (\"\" for the whole prefix)", d)
	}
	return nil
}
