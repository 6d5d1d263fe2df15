// Package sinktest reads back what package sink wrote and checks the
// exactly-once guarantee: every expected offset of every partition present
// exactly once, in offset order, in objects named by their smallest offset,
// with meta objects that agree with the data. It is used by the engine's
// fault tests and by the end-to-end tests of the handler binary.
package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Object is one data object read back.
type Object struct {
	Key       string
	Partition int32
	First     int64 // the first offset in its name
	Data      []byte
	Offsets   []int64 // offsets of its records, in order
	Indexed   bool    // split by its record index
	Folder    string  // its folder name (sink.FolderName)
	// Staged: Data is the staging object's (sink.StageKey), its data
	// object not yet written. Final: Data is a data object built from
	// staged records (Parquet), whose offsets its index gives. (Raw, jsonl
	// and csv written whole hold the staged bytes: split like appendable
	// ones.)
	Staged, Final bool
}

// Partition is what one topic-partition holds.
type Partition struct {
	Meta    *sink.Meta
	Objects []Object // of the current epoch, by first offset
	Older   []Object // of earlier epochs (sink.StartEpoch), by epoch then first offset
}

// OffsetFunc extracts a record's offset from one line of a data object.
// Read may be given nil when every object has a record index: records are
// then taken at the offsets the index gives (for values that do not name
// their offset).
type OffsetFunc func(line []byte) (int64, error)

// JSONLOffset reads the offset member of a jsonl line.
func JSONLOffset(line []byte) (int64, error) {
	var r struct {
		Offset *int64 `json:"offset"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return 0, err
	}
	if r.Offset == nil {
		return 0, fmt.Errorf("no offset member")
	}
	return *r.Offset, nil
}

// Read loads the meta and data objects of a topic under prefix (normalized
// as the sink does). Values must not contain '\n' for raw objects without
// an index to be split into records. offsetOf may be nil when every data
// object has an index: the offsets are then the index's alone, so values
// need not name them (raw objects of identical values, say).
func Read(ctx context.Context, st store.Store, prefix, topic string, offsetOf OffsetFunc) (map[int32]*Partition, error) {
	return ReadDirs(ctx, st, prefix, topic, nil, offsetOf)
}

// ReadDirs is Read for a routed layout: it also searches the directories
// dirs (relative to the prefix, ending in '/'; routing templates that do
// not start with the topic) and sink.InvalidDir(topic). There, keys that
// are not the derived name of one of the topic's objects belong to other
// topics and are skipped.
func ReadDirs(ctx context.Context, st store.Store, prefix, topic string, dirs []string, offsetOf OffsetFunc) (map[int32]*Partition, error) {
	prefix = sink.NormalizePrefix(prefix)
	infos, err := st.List(ctx, prefix+topic+"/")
	if err != nil {
		return nil, err
	}
	own := len(infos)
	seen := map[string]bool{}
	for _, info := range infos {
		seen[info.Key] = true
	}
	for _, dir := range append(slices.Clone(dirs), sink.InvalidDir(topic)) {
		more, err := st.List(ctx, prefix+dir)
		if err != nil {
			return nil, err
		}
		for _, info := range more {
			if !seen[info.Key] {
				seen[info.Key] = true
				infos = append(infos, info)
			}
		}
	}
	parts := map[int32]*Partition{}
	get := func(p int32) *Partition {
		if parts[p] == nil {
			parts[p] = &Partition{}
		}
		return parts[p]
	}
	var indexes []string
	staged := map[string]bool{}
	for _, info := range infos {
		if dk, ok := stageData(info.Key); ok {
			staged[dk] = true
		}
	}
	for i, info := range infos {
		base := path.Base(info.Key)
		folder := sink.FolderName(topic, strings.TrimPrefix(path.Dir(info.Key)+"/", prefix))
		if i >= own {
			// Outside the topic's directory: only the topic's own objects.
			k := info.Key
			if dk, ok := objindex.DataKey(k); ok {
				k = dk
			}
			if dk, ok := stageData(k); ok {
				k = dk
			}
			p, first, ok := sink.ParseObjectName(path.Base(k))
			if !ok {
				continue
			}
			if _, ok := sink.ObjectEpoch(prefix, topic, folder, p, first, k, 64); !ok {
				continue
			}
		}
		if dk, ok := objindex.DataKey(info.Key); ok {
			indexes = append(indexes, dk)
			continue
		}
		data, err := st.Get(ctx, info.Key)
		if err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(base, ".oss_meta_file_partition_"); ok {
			var p int32
			if _, err := fmt.Sscan(rest, &p); err != nil {
				return nil, fmt.Errorf("meta object %s: bad partition", info.Key)
			}
			m, err := sink.DecodeMeta(data, prefix, topic, p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", info.Key, err)
			}
			get(p).Meta = m
			continue
		}
		key := info.Key
		dk, isStage := stageData(key)
		if isStage {
			key = dk
		} else if staged[key] {
			// Written from its staging object, which is not removed yet:
			// the records are read from the staging object (once); the data
			// object must hold them too.
			if err := checkFinal(ctx, st, key, data); err != nil {
				return nil, err
			}
			if _, ext := sink.SplitExt(key); ext != ".parquet" {
				// Raw, jsonl or csv written whole (SINK_FINALIZE): the
				// staged bytes themselves, up to the seal.
				stage, err := st.Get(ctx, sink.StageKey(key))
				if err != nil {
					return nil, err
				}
				if !bytes.HasPrefix(stage, data) {
					return nil, fmt.Errorf("object %s: not the first %d bytes of its staging object", key, len(data))
				}
			}
			continue
		}
		p, first, ok := sink.ParseObjectName(path.Base(key))
		if !ok {
			return nil, fmt.Errorf("unexpected object %s", info.Key)
		}
		o := Object{Key: key, Partition: p, First: first, Data: data, Folder: folder, Staged: isStage}
		_, ext := sink.SplitExt(key)
		o.Final = ext == ".parquet" && !isStage
		if plain := ext == "" || ext == ".jsonl" || ext == ".csv"; plain && (len(data) == 0 || data[len(data)-1] != '\n') {
			return nil, fmt.Errorf("object %s: does not end with a newline", info.Key)
		}
		get(p).Objects = append(get(p).Objects, o)
	}
	for _, part := range parts {
		epoch := int64(0)
		if part.Meta != nil {
			epoch = part.Meta.Epoch
		}
		var current []Object
		for i := range part.Objects {
			o := &part.Objects[i]
			e, ok := sink.ObjectEpoch(prefix, topic, o.Folder, o.Partition, o.First, o.Key, epoch)
			if !ok {
				return nil, fmt.Errorf("object %s: name suffix is not the derived one (%s)", o.Key, sink.ObjectKey(prefix, topic, o.Folder, o.Partition, o.First, epoch))
			}
			if err := o.split(ctx, st, slices.Contains(indexes, o.Key), offsetOf); err != nil {
				return nil, err
			}
			if e == epoch {
				current = append(current, *o)
			} else {
				part.Older = append(part.Older, *o)
			}
		}
		part.Objects = current
	}
	// An index without its data object must announce nothing that landed.
	for _, dk := range indexes {
		if _, err := st.Stat(ctx, dk); err == nil {
			continue
		}
		if _, err := st.Stat(ctx, sink.StageKey(dk)); err == nil {
			continue
		}
		res, err := resolveIndex(ctx, st, dk, -1, nil)
		if err != nil {
			return nil, err
		}
		if len(res.Landed) > 0 {
			return nil, fmt.Errorf("index of %s announces %d landed appends, but the data object is missing", dk, len(res.Landed))
		}
	}
	for _, p := range parts {
		slices.SortFunc(p.Objects, func(a, b Object) int { return int(a.First - b.First) })
		slices.SortStableFunc(p.Older, func(a, b Object) int { return int(a.First - b.First) })
	}
	return parts, nil
}

// split finds the object's records: by its index when it has one (which
// must resolve against the data, every landed append matching its CRC, and
// every record's offset as offsetOf reads it, or as the format decodes it,
// agreeing with the index), by lines otherwise. Compressed appends are
// decompressed; a data object written from staged records is checked
// against its index's counts.
func (o *Object) split(ctx context.Context, st store.Store, indexed bool, offsetOf OffsetFunc) error {
	if !indexed {
		if offsetOf == nil {
			return fmt.Errorf("object %s has no record index, and no OffsetFunc was given to read its lines", o.Key)
		}
		for line := range bytes.SplitSeq(o.Data[:len(o.Data)-1], []byte("\n")) {
			off, err := offsetOf(line)
			if err != nil {
				return fmt.Errorf("object %s: line %q: %w", o.Key, line, err)
			}
			o.Offsets = append(o.Offsets, off)
		}
		return nil
	}
	dataLen, data := int64(len(o.Data)), o.Data
	if o.Final {
		// A built (Parquet) object: its bytes are not the staged ones.
		dataLen, data = sealedLength, nil
	}
	res, err := resolveIndex(ctx, st, o.Key, dataLen, data)
	if err != nil {
		return err
	}
	o.Indexed = true
	if o.Final {
		for _, a := range res.Landed {
			for r := range a.All() {
				o.Offsets = append(o.Offsets, r.Offset)
			}
		}
		return checkFinal(ctx, st, o.Key, o.Data)
	}
	for _, a := range res.Landed {
		stored := o.Data[a.Pos : a.Pos+a.Bytes]
		if got := crc32.Checksum(stored, objindex.Castagnoli); got != a.CRC32C {
			return fmt.Errorf("object %s: bytes %d-%d do not match their index entry's CRC", o.Key, a.Pos, a.Pos+a.Bytes)
		}
		enc, err := format.ParseID(a.Enc)
		if err != nil {
			return fmt.Errorf("object %s: %w", o.Key, err)
		}
		dec, base := stored, a.Pos
		if a.Decoded > 0 {
			zr, err := format.NewDecompressor(enc.Codec, bytes.NewReader(stored))
			if err != nil {
				return fmt.Errorf("object %s: append at %d: %w", o.Key, a.Pos, err)
			}
			if dec, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("object %s: append at %d does not decompress: %w", o.Key, a.Pos, err)
			}
			if int64(len(dec)) != a.Decoded {
				return fmt.Errorf("object %s: append at %d decompresses to %d bytes, its index says %d", o.Key, a.Pos, len(dec), a.Decoded)
			}
			base = 0
		}
		if h := enc.Header(); a.Head > 0 && !bytes.Equal(dec[:a.Head], h) {
			return fmt.Errorf("object %s: preamble %q, want %q", o.Key, dec[:a.Head], h)
		}
		for r := range a.All() {
			rec := dec[r.Pos-base : r.Pos-base+r.Size]
			if err := checkRecord(enc, rec, r.Offset, offsetOf); err != nil {
				return fmt.Errorf("object %s: record at %d: %w", o.Key, r.Pos, err)
			}
			o.Offsets = append(o.Offsets, r.Offset)
		}
	}
	return nil
}

// checkRecord checks one record's bytes against the offset its index
// gives: by offsetOf for raw and legacy JSONL lines, by decoding
// otherwise (when the encoding carries the offset).
func checkRecord(enc format.Encoder, rec []byte, offset int64, offsetOf OffsetFunc) error {
	if enc.Built() {
		d, err := enc.Decode(rec)
		if err != nil {
			return err
		}
		if d.Offset != offset {
			return fmt.Errorf("staged record holds offset %d, its index says %d", d.Offset, offset)
		}
		return nil
	}
	if rec[len(rec)-1] != '\n' {
		return fmt.Errorf("does not end with a newline")
	}
	if enc.Format == format.Raw || enc.Fields.Len() == 0 {
		if offsetOf == nil {
			return nil
		}
		off, err := offsetOf(rec[:len(rec)-1])
		if err != nil {
			return fmt.Errorf("%q: %w", rec, err)
		}
		if off != offset {
			return fmt.Errorf("holds offset %d, its index says %d", off, offset)
		}
		return nil
	}
	d, err := enc.Decode(rec)
	if err != nil {
		return fmt.Errorf("%q: %w", rec, err)
	}
	if d.Fields.Has(format.FieldOffset) && d.Offset != offset {
		return fmt.Errorf("holds offset %d, its index says %d", d.Offset, offset)
	}
	return nil
}

// checkFinal checks a data object written from staged records against its
// index: as many records, from the first offset to the last.
func checkFinal(ctx context.Context, st store.Store, key string, data []byte) error {
	_, ext := sink.SplitExt(key)
	staged := data
	if ext == ".parquet" {
		staged = nil // built: not the staged bytes
	}
	res, err := resolveIndex(ctx, st, key, sealedLength, staged)
	if err != nil {
		return err
	}
	var n, first, last int64
	for _, a := range res.Landed {
		if n == 0 {
			first = a.First()
		}
		n += a.Records()
		last = a.Last()
	}
	if ext != ".parquet" {
		// Raw, jsonl or csv written whole: its index splits it (split),
		// resolved against its own length, which must be the seal's.
		for _, a := range res.Landed {
			if end := a.Pos + a.Bytes; end > int64(len(data)) {
				return fmt.Errorf("object %s: %d bytes, its staged records end at %d", key, len(data), end)
			}
		}
		return nil
	}
	enc := format.ForExt(ext, 0)
	if len(res.Landed) > 0 {
		// The staged records' own encoding says which fields (columns)
		// the object has.
		if enc, err = format.ParseID(res.Landed[0].Enc); err != nil {
			return fmt.Errorf("object %s: %w", key, err)
		}
	}
	got, err := enc.CheckBuilt(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("object %s: %w", key, err)
	}
	// (Without an offset column, SINK_FIELDS leaving it out, only the
	// count can be compared.)
	if got.Records != n || got.HasOffsets != enc.Fields.Has(format.FieldOffset) || got.HasOffsets && (got.FirstOffset != first || got.LastOffset != last) {
		return fmt.Errorf("object %s holds %d records (offsets %d-%d), its index %d (%d-%d)", key, got.Records, got.FirstOffset, got.LastOffset, n, first, last)
	}
	return nil
}

// stageData returns the data object key of a staging object's key.
func stageData(key string) (string, bool) { return sink.StageData(key) }

// sealedLength asks resolveIndex to resolve against the seal's position.
const sealedLength = -2

// resolveIndex resolves the index of dataKey against dataLen (-1: no data
// object; sealedLength: the seal's position).
//
// data, if not nil, is the bytes the index describes (the data object, or
// the staging object, or a data object written whole from it): alternatives
// of one size at one position are told apart by their CRC against it, as
// the sink's writers and finalizer resolve them. Without it ties go to the
// last alternative, which is wrong when racing invocations announced
// different appends of the same size there and an earlier one landed (the
// CRC check of split then fails on bytes the sink resolved right).
func resolveIndex(ctx context.Context, st store.Store, dataKey string, dataLen int64, data []byte) (objindex.Result, error) {
	b, err := st.Get(ctx, objindex.Key(dataKey))
	if err != nil {
		return objindex.Result{}, err
	}
	entries, err := objindex.ParseAll(b)
	if err != nil {
		return objindex.Result{}, fmt.Errorf("index of %s: %w", dataKey, err)
	}
	if dataLen == sealedLength {
		r := objindex.NewResolver(0, nil)
		for _, e := range entries {
			if err := r.Add(e); err != nil {
				return objindex.Result{}, fmt.Errorf("index of %s: %w", dataKey, err)
			}
		}
		seal, ok := r.Sealed()
		if !ok {
			return objindex.Result{}, fmt.Errorf("index of %s: the data object is written from staged records, but its index has no seal", dataKey)
		}
		dataLen = seal.At
	}
	var verify func(a *objindex.Append) (bool, error)
	if data != nil {
		verify = func(a *objindex.Append) (bool, error) {
			if a.Pos+a.Bytes > int64(len(data)) {
				return false, nil
			}
			return crc32.Checksum(data[a.Pos:a.Pos+a.Bytes], objindex.Castagnoli) == a.CRC32C, nil
		}
	}
	res, err := objindex.Resolve(entries, 0, dataLen, verify)
	if err != nil {
		return objindex.Result{}, fmt.Errorf("index of %s: %w", dataKey, err)
	}
	return res, nil
}

// Check verifies that the topic holds, in the current epoch, exactly the
// expected offsets per partition, each once, in order, and that the meta objects agree with the
// data: committed offset = last offset, records count, and the open object's
// recorded size = its length (no unrecorded bytes left behind).
func Check(ctx context.Context, st store.Store, prefix, topic string, offsetOf OffsetFunc, want map[int32][]int64) error {
	return CheckWith(ctx, st, prefix, topic, offsetOf, Want{Offsets: want})
}

// Want is what CheckWith expects of a topic.
type Want struct {
	// Offsets are the offsets stored, per partition.
	Offsets map[int32][]int64
	// Committed is each partition's committed offset, when it is not the
	// last offset stored (records filtered or dropped after it).
	Committed map[int32]int64
	// Dirs are the directories outside the topic's to search (ReadDirs).
	Dirs []string
	// Folders, if set, gives the folder name each offset must be in.
	Folders map[int32]map[int64]string
}

// CheckWith is Check for routed layouts: each offset once across all
// folders, in offset order within each folder.
func CheckWith(ctx context.Context, st store.Store, prefix, topic string, offsetOf OffsetFunc, w Want) error {
	parts, err := ReadDirs(ctx, st, prefix, topic, w.Dirs, offsetOf)
	if err != nil {
		return err
	}
	want := w.Offsets
	for p := range parts {
		if _, ok := want[p]; !ok {
			return fmt.Errorf("partition %d: present but not expected", p)
		}
	}
	for p, offs := range want {
		got := parts[p]
		if got == nil {
			if len(offs) == 0 {
				if _, ok := w.Committed[p]; !ok {
					continue
				}
			}
			return fmt.Errorf("partition %d: nothing written, want %d records", p, len(offs))
		}
		var all []int64
		last := map[string]int64{}
		for _, o := range got.Objects {
			if len(o.Offsets) == 0 || o.Offsets[0] != o.First {
				return fmt.Errorf("partition %d: object %s named for offset %d starts with %v", p, o.Key, o.First, o.Offsets[:min(1, len(o.Offsets))])
			}
			for _, off := range o.Offsets {
				if l, ok := last[o.Folder]; ok && off <= l {
					return fmt.Errorf("partition %d: folder %q: offset %d in %s follows %d: out of order", p, o.Folder, off, o.Key, l)
				}
				last[o.Folder] = off
				if want := w.Folders[p]; want != nil && want[off] != o.Folder {
					return fmt.Errorf("partition %d: offset %d is in folder %q (%s), want %q", p, off, o.Folder, o.Key, want[off])
				}
			}
			all = append(all, o.Offsets...)
		}
		slices.Sort(all)
		if err := sameOffsets(all, offs); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
		m := got.Meta
		if m == nil {
			return fmt.Errorf("partition %d: no meta object", p)
		}
		committed, ok := w.Committed[p]
		if !ok {
			committed = offs[len(offs)-1]
		}
		if m.Committed != committed {
			return fmt.Errorf("partition %d: meta committed_offset %d, want %d", p, m.Committed, committed)
		}
		if m.Records != int64(len(offs)) {
			return fmt.Errorf("partition %d: meta records_written %d, want %d", p, m.Records, len(offs))
		}
		for name, f := range m.Folders {
			if !f.Legacy {
				info, err := st.Stat(ctx, objindex.Key(f.Object))
				if err != nil && !(store.IsNotFound(err) && f.IndexSize == 0) {
					return fmt.Errorf("partition %d: folder %q: index of %s: %v", p, name, f.Object, err)
				}
				if info.Size != f.IndexSize {
					return fmt.Errorf("partition %d: folder %q: index of %s is %d bytes, meta says %d", p, name, f.Object, info.Size, f.IndexSize)
				}
			}
			if f.Records == 0 {
				continue
			}
			var obj *Object
			for i := range got.Objects {
				if got.Objects[i].Key == f.Object {
					obj = &got.Objects[i]
				}
			}
			if obj == nil {
				return fmt.Errorf("partition %d: folder %q: open object %s missing", p, name, f.Object)
			}
			if int64(len(obj.Data)) != f.Size || int64(len(obj.Offsets)) != f.Records || obj.Offsets[len(obj.Offsets)-1] != f.LastOffset {
				return fmt.Errorf("partition %d: open object %s: %d bytes/%d records/last %d, meta says %d/%d/%d",
					p, f.Object, len(obj.Data), len(obj.Offsets), obj.Offsets[len(obj.Offsets)-1], f.Size, f.Records, f.LastOffset)
			}
		}
	}
	return nil
}

func sameOffsets(got, want []int64) error {
	seen := map[int64]int{}
	for i, o := range got {
		seen[o]++
		if seen[o] > 1 {
			return fmt.Errorf("offset %d written %d times", o, seen[o])
		}
		if i > 0 && got[i-1] >= o {
			return fmt.Errorf("offset %d follows %d: out of order", o, got[i-1])
		}
	}
	for _, o := range want {
		if seen[o] == 0 {
			return fmt.Errorf("offset %d missing (%d of %d records present)", o, len(got), len(want))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d records present, want %d", len(got), len(want))
	}
	return nil
}

// Value returns a raw value that names its partition and offset
// ("p3-o120-" and the padding), so that RawOffset can check raw objects.
// The padding must not contain "-o" or '\n'.
func Value(partition int32, offset int64, padding string) []byte {
	return fmt.Appendf(nil, "p%d-o%d-%s", partition, offset, padding)
}

// RawOffset reads the offset back from a line holding a Value.
func RawOffset(line []byte) (int64, error) {
	_, rest, ok := strings.Cut(string(line), "-o")
	if !ok {
		return 0, fmt.Errorf("not a sinktest.Value")
	}
	s, _, _ := strings.Cut(rest, "-")
	return strconv.ParseInt(s, 10, 64)
}

// AtMostOnce checks the weaker promise that holds when a partition stopped
// with an error: no offset is stored twice. It names the first offset that
// is, and the two objects that hold it.
func AtMostOnce(parts map[int32]*Partition) error {
	for p, part := range parts {
		seen := map[int64]string{}
		for _, o := range part.Objects {
			for _, off := range o.Offsets {
				if prev, dup := seen[off]; dup {
					return fmt.Errorf("partition %d: offset %d stored twice: in %s and %s", p, off, prev, o.Key)
				}
				seen[off] = o.Key
			}
		}
	}
	return nil
}
