package restore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// This file gives read access to single data objects for the operator's
// tools (sinkctl ls and cat), through the same listing and readers a
// restore uses, so that every format, compression and staging state reads
// as it does there.

// ObjectInfo describes one data object as its listing and its record
// index give it.
type ObjectInfo struct {
	Key       string `json:"key"`
	Topic     string `json:"topic"`
	Folder    string `json:"folder,omitempty"` // sink.FolderName: "" is the topic's own folder
	Partition int32  `json:"partition"`
	// FirstOffset and LastOffset are the smallest and largest offsets the
	// record index says landed; Records their count. Without an index
	// (legacy objects, or an index that could not be read: IndexError)
	// FirstOffset is the one the name gives and LastOffset and Records are
	// -1.
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	Records     int64 `json:"records"`
	// Size is the data object's listed size (the staging object's while
	// a staged object is not written yet).
	Size         int64              `json:"size"`
	StorageClass store.StorageClass `json:"storage_class"`
	// Format is the encoding of its first append (format.Encoder.ID, e.g.
	// "jsonl/text;fields=...;z=gzip-1"), "legacy" for an object without a record index.
	Format string `json:"format"`
	// Staged: an object of a staged encoding (Parquet) whose records are
	// still in its staging object.
	Staged  bool `json:"staged,omitempty"`
	Invalid bool `json:"invalid,omitempty"` // in invalidRuleData/{topic}/
	// IndexError says why the record index could not give the offsets.
	IndexError string `json:"index_error,omitempty"`
}

// ListObjects lists the data objects of topic under prefix (normalized),
// of the given partitions (all when none), in the topic's folder,
// invalidRuleData/{topic}/ and the directories dirs (relative to the
// prefix), sorted by partition, folder and first offset. It reads each
// object's record index (one GET of a small object each) for its offsets;
// an index that cannot be read is reported in IndexError, not as an error.
func ListObjects(ctx context.Context, st store.Store, prefix, topic string, partitions []int32, dirs ...string) ([]ObjectInfo, error) {
	o := &options{prefix: sink.NormalizePrefix(prefix), topic: topic, partitions: partitions, dirs: dirs}
	for _, d := range dirs {
		if err := checkDir(d); err != nil {
			return nil, err
		}
	}
	l, err := list(ctx, st, o)
	if err != nil {
		return nil, err
	}
	var out []ObjectInfo
	for _, p := range slices.Sorted(mapKeys(l.byPart)) {
		for _, c := range l.byPart[p] {
			out = append(out, describe(ctx, st, topic, c.object))
		}
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int {
		switch {
		case a.Partition != b.Partition:
			return int(a.Partition - b.Partition)
		case a.Folder != b.Folder:
			return strings.Compare(a.Folder, b.Folder)
		case a.FirstOffset != b.FirstOffset:
			if a.FirstOffset < b.FirstOffset {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// describe reads ob's record index for its offsets and encoding.
func describe(ctx context.Context, st store.Store, topic string, ob object) ObjectInfo {
	in := ObjectInfo{Key: ob.key, Topic: topic, Folder: ob.folder, Partition: ob.partition, FirstOffset: ob.first, LastOffset: -1, Records: -1,
		Size: ob.size, StorageClass: ob.class, Format: "legacy", Staged: ob.staged && ob.stage, Invalid: ob.invalid}
	if in.StorageClass == "" {
		in.StorageClass = store.Standard
	}
	if !ob.index {
		if ob.ext != "" {
			in.Format, in.IndexError = strings.TrimPrefix(ob.ext, "."), "no record index"
		}
		return in
	}
	idx, err := st.Get(ctx, objindex.Key(ob.key))
	if err != nil {
		in.Format, in.IndexError = strings.TrimPrefix(ob.ext, "."), fmt.Sprintf("read the record index: %v", err)
		return in
	}
	size := ob.size
	if ob.staged && !ob.stage && ob.ext == parquetExt {
		size = -1 // built: the seal says where the staged bytes ended
	}
	landed, err := landedOf(ob, nil, idx, size)
	if err != nil {
		in.Format, in.IndexError = strings.TrimPrefix(ob.ext, "."), err.Error()
		return in
	}
	in.Records, in.Format = 0, strings.TrimPrefix(ob.ext, ".")
	if in.Format == "" {
		in.Format = "raw"
	}
	for i, a := range landed {
		if i == 0 {
			in.FirstOffset, in.Format = a.First(), a.Enc
		}
		in.LastOffset = max(in.LastOffset, a.Last())
		in.Records += a.Records()
	}
	return in
}

// Record is one record read back from a data object. A nil Key is a null
// key (or none stored), a nil Value a null value (a tombstone); what the
// object's encoding does not store (SINK_FIELDS) is absent: HasTimestamp
// false, no headers.
type Record struct {
	Offset       int64
	Timestamp    int64 // ms
	HasTimestamp bool
	Key          []byte
	Value        []byte
	Headers      []Header
	Invalid      bool // in invalidRuleData/{topic}/
}

// Header is a record header; a nil Value is a null one.
type Header struct {
	Key   []byte
	Value []byte
}

// ObjectRecords is what ReadObject returns.
type ObjectRecords struct {
	Info    ObjectInfo
	Records []Record
	// Inexact: a raw object without a record index (written by an early
	// sink version): its lines are numbered from the offset its name
	// gives, which is exact only without offset gaps and newlines in
	// values.
	Inexact bool
}

// ErrNotDataObject: the key is not named like a data object of the sink.
var ErrNotDataObject = errors.New("not a data object of the sink")

// ReadObject reads the records of the data object key (the full key,
// prefix included) of any format, decompressed, through its record index
// as a restore does: every landed append's CRC is checked and nothing is
// returned from an object that fails a check. enc says how string values of
// legacy JSONL objects (without an index) are encoded.
func ReadObject(ctx context.Context, st store.Store, prefix, key string, enc events.ValueEncoding) (*ObjectRecords, error) {
	prefix = sink.NormalizePrefix(prefix)
	rel, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return nil, fmt.Errorf("%s: not under the prefix %q", key, prefix)
	}
	if dk, ok := objindex.DataKey(key); ok {
		return nil, fmt.Errorf("%s is the record index of %s: name the data object", key, dk)
	}
	if dk, ok := stageData(key); ok {
		key, rel = dk, strings.TrimPrefix(dk, prefix)
	}
	dir, base := path.Split(rel)
	p, _, ok := sink.ParseObjectName(base)
	if !ok || dir == "" {
		return nil, fmt.Errorf("%s: %w (named {topic}/partition_{p}_offset_{first}_{8 chars}[.ext])", key, ErrNotDataObject)
	}
	// The topic is the first directory, or the second under
	// invalidRuleData/; an object routed elsewhere is found by its own
	// directory, listed too.
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	topic := parts[0]
	if topic == strings.TrimSuffix(sink.InvalidDir(""), "/") && len(parts) > 1 {
		topic = parts[1]
	}
	o := &options{prefix: prefix, topic: topic, partitions: []int32{p}, dirs: []string{dir}}
	l, err := list(ctx, st, o)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(l.byPart[p], func(c candidate) bool { return c.key == key })
	if i < 0 {
		return nil, fmt.Errorf("%s: %w", key, store.ErrNotFound)
	}
	ob := l.byPart[p][i].object
	out := &ObjectRecords{Info: describe(ctx, st, topic, ob)}
	ob.implied, ob.impliedWhy = -1, "nothing here says how many offsets it spans"
	ld, err := load(ctx, st, ob, enc)
	if errors.Is(err, errRaw) {
		// Printing is not restoring: the lines are shown, numbered from
		// the name's offset, and said to be inexact.
		data, gerr := st.Get(ctx, ob.key)
		if gerr != nil {
			return nil, notRestored(ob.key, gerr)
		}
		ob.implied = int64(strings.Count(string(data), "\n"))
		ld, err = loadLegacy(ob, data, enc)
		out.Inexact = true
	}
	if err != nil {
		return nil, err
	}
	for _, r := range ld.recs {
		rec := Record{Offset: r.offset, Timestamp: r.ts, HasTimestamp: !r.noTS, Key: r.key, Value: r.value, Invalid: ob.invalid}
		for _, h := range r.headers {
			rec.Headers = append(rec.Headers, Header{Key: h.Key, Value: h.Value})
		}
		out.Records = append(out.Records, rec)
	}
	return out, nil
}
