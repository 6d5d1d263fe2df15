package restore

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/parquetfile"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// object is one data object of the partition and epoch being restored.
type object struct {
	key       string // extension included
	ext       string // its name's extension (sink.SplitExt): "" for raw and legacy objects
	folder    string // its folder name (sink.FolderName): "", "dt=x/", "/tenant-a/orders/"
	invalid   bool   // in invalidRuleData/{topic}/
	partition int32
	first     int64              // the offset the name gives
	size      int64              // as listed (of the staging object while it exists)
	class     store.StorageClass // the data object's, as listed ("": Standard)
	epoch     int64
	index     bool  // an index object was listed beside it
	indexSize int64 // its length as listed
	// indexClass is its index object's class, as listed ("": Standard):
	// the sink writes index objects Standard, but a lifecycle rule on the
	// prefix moves them with the data.
	indexClass store.StorageClass
	// staged: of a staged encoding (format.Encoder.Staged): its records
	// are in the staging object (stage: listed) until the data object is
	// written from them (final: listed). Parquet (by its name) is built
	// from the staged records; raw, jsonl and csv written final (a staging
	// object listed) are copied, the staged bytes at the same positions.
	staged, stage, final bool
	// enc is the encoding of its first append (plan reads it for the
	// encodings that select fields); "" when not read.
	enc string

	// For objects without an index (legacy): how many offsets the names or
	// the meta object say it spans (-1: nothing says), and why, for messages.
	implied    int64
	impliedWhy string
}

// record is one decoded stored record.
type record struct {
	offset  int64
	ts      int64
	key     []byte
	value   []byte
	headers []sarama.RecordHeader
	// noTS: stored without a timestamp (raw, or SINK_FIELDS without
	// timestamp): the producer gives it one, a time range cannot select it.
	noTS    bool
	invalid bool // from invalidRuleData/{topic}/
}

// loaded is what reading one data object gives.
type loaded struct {
	recs   []record
	raw    bool // raw records: values only
	legacy bool
	noTS   bool // some records have no timestamp
}

// errRaw is wrapped when a raw object cannot be restored exactly.
var errRaw = errors.New("raw object cannot be restored exactly")

var jsonlStart = []byte(`{"topic":`)

// load reads and decodes one data object: through its index when it has
// one, else as a legacy object. Nothing is returned from an object that
// fails any check.
func load(ctx context.Context, st store.Store, ob object, enc events.ValueEncoding) (loaded, error) {
	if ob.staged {
		return loadStaged(ctx, st, ob)
	}
	// The data is read before the index: every append that landed in the
	// bytes read was announced in the index before it landed, so the index
	// read afterwards describes them all.
	data, err := st.Get(ctx, ob.key)
	if err != nil {
		return loaded{}, notRestored(ob.key, err)
	}
	idx, err := st.Get(ctx, objindex.Key(ob.key))
	switch {
	case err == nil:
		return loadIndexed(ob, data, idx)
	case !store.IsNotFound(err):
		return loaded{}, fmt.Errorf("read the record index of %s: %w", ob.key, err)
	case ob.index:
		return loaded{}, fmt.Errorf("the record index of %s was listed but is gone: %w", ob.key, err)
	case ob.ext != "":
		return loaded{}, noIndex(ob)
	}
	return loadLegacy(ob, data, enc)
}

func noIndex(ob object) error {
	return fmt.Errorf("%w: the record index of %s does not exist: the sink writes one for every object named with an extension (%s), and its records cannot be told apart without it",
		ErrRefused, ob.key, ob.ext)
}

// loadStaged reads an object of a staged encoding: from its staging
// object while it exists (its bytes are what the index describes,
// CRC-checked), else from the data object written from it: built
// (Parquet), or a copy of the staged bytes, read as they were.
func loadStaged(ctx context.Context, st store.Store, ob object) (loaded, error) {
	ikey := objindex.Key(ob.key)
	if ob.stage {
		data, err := st.Get(ctx, sink.StageKey(ob.key))
		switch {
		case err == nil:
			idx, err := st.Get(ctx, ikey)
			if err != nil {
				return loaded{}, fmt.Errorf("read the record index of %s: %w", ob.key, err)
			}
			return loadIndexed(ob, data, idx)
		case !store.IsNotFound(err):
			return loaded{}, fmt.Errorf("read %s: %w", sink.StageKey(ob.key), err)
		}
		// Finalized since the listing: the data object holds the records.
	}
	data, err := st.Get(ctx, ob.key)
	if store.IsNotFound(err) {
		return loaded{}, fmt.Errorf("%w: neither %s nor its staging object %s exists (gone since the listing?)", ErrRefused, ob.key, sink.StageKey(ob.key))
	}
	if err != nil {
		return loaded{}, notRestored(ob.key, err)
	}
	idx, err := st.Get(ctx, ikey)
	if store.IsNotFound(err) {
		return loaded{}, noIndex(ob)
	}
	if err != nil {
		return loaded{}, fmt.Errorf("read the record index of %s: %w", ob.key, err)
	}
	if ob.ext != parquetExt {
		return loadIndexed(ob, data, idx)
	}
	return loadBuilt(ob, data, idx)
}

// landedOf resolves an index against the data length size (a seal's
// position when size < 0) and returns the landed appends, every one's CRC
// checked against data unless data is nil.
func landedOf(ob object, data, idx []byte, size int64) ([]*objindex.Append, error) {
	res := objindex.NewResolver(0, func(a *objindex.Append) (bool, error) {
		if data == nil {
			return true, nil
		}
		if a.Pos+a.Bytes > int64(len(data)) {
			return false, nil
		}
		return crc32.Checksum(data[a.Pos:a.Pos+a.Bytes], objindex.Castagnoli) == a.CRC32C, nil
	})
	sc := objindex.NewScanner(bytes.NewReader(idx), 0)
	for sc.Scan() {
		e := sc.Entry()
		// Entries beyond the bytes read announce appends made after the
		// data was read (a sink still writing): not part of this snapshot.
		if size >= 0 && ((e.Append != nil && e.Append.Pos > size) || (e.Seal != nil && e.Seal.At > size)) {
			break
		}
		if err := res.Add(e); err != nil {
			return nil, fmt.Errorf("%s: record index: %w", ob.key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: record index: %w", ob.key, err)
	}
	if size < 0 {
		seal, ok := res.Sealed()
		if !ok {
			return nil, fmt.Errorf("%w: %s is built from staged records when sealed, but its record index has no seal", ErrRefused, ob.key)
		}
		size = seal.At
	}
	r, err := res.Finish(size)
	if err != nil {
		return nil, fmt.Errorf("%s: record index: %w", ob.key, err)
	}
	return r.Landed, nil
}

// loadIndexed splits data by the landed appends of its index, in each
// append's encoding (decompressing a compressed member).
func loadIndexed(ob object, data, idx []byte) (loaded, error) {
	landed, err := landedOf(ob, data, idx, int64(len(data)))
	if err != nil {
		return loaded{}, err
	}
	// Every landed append's bytes are checked before any record is used,
	// so nothing is produced from an object with a damaged append.
	for _, a := range landed {
		if got := crc32.Checksum(data[a.Pos:a.Pos+a.Bytes], objindex.Castagnoli); got != a.CRC32C {
			return loaded{}, fmt.Errorf("%s: bytes %d..%d (offsets %d..%d) have CRC-32C %d, the record index says %d: the object is damaged; nothing is restored from it",
				ob.key, a.Pos, a.Pos+a.Bytes-1, a.First(), a.Last(), got, a.CRC32C)
		}
	}
	var out loaded
	for _, a := range landed {
		enc, err := appendEncoding(ob, a)
		if err != nil {
			return loaded{}, err
		}
		b, base := data[a.Pos:a.Pos+a.Bytes], a.Pos
		if a.Decoded > 0 {
			if b, err = decompress(enc.Codec, b, a.Decoded); err != nil {
				return loaded{}, fmt.Errorf("%s: the member at bytes %d..%d (offsets %d..%d): %w", ob.key, a.Pos, a.Pos+a.Bytes-1, a.First(), a.Last(), err)
			}
			base = 0
		}
		if h := enc.Header(); a.Head > 0 && !bytes.Equal(b[:a.Head], h) {
			return loaded{}, fmt.Errorf("%s: the object starts with %q, not the header row %q of its encoding", ob.key, b[:a.Head], h)
		}
		for rr := range a.All() {
			rec, err := decodeRecord(enc, b[rr.Pos-base:rr.Pos-base+rr.Size], rr)
			if err != nil {
				return loaded{}, fmt.Errorf("%s: record at offset %d: %w", ob.key, rr.Offset, err)
			}
			out.recs = append(out.recs, rec)
		}
		out.raw = out.raw || enc.Format == format.Raw
		out.noTS = out.noTS || !enc.Fields.Has(format.FieldTimestamp) && !legacyJSONL(enc)
	}
	return out, nil
}

// appendEncoding returns the encoding of a landed append, which must be
// one this version reads and fit the object's name.
func appendEncoding(ob object, a *objindex.Append) (format.Encoder, error) {
	enc, err := format.ParseID(a.Enc)
	switch {
	case err != nil:
		return enc, fmt.Errorf("%s: append at %d: %w", ob.key, a.Pos, err)
	case enc.Ext() != ob.ext:
		return enc, fmt.Errorf("%w: %s: its index says its records are in encoding %s, whose objects the sink names with %q", ErrRefused, ob.key, a.Enc, enc.Ext())
	case (a.Decoded > 0) != enc.Compressed():
		return enc, fmt.Errorf("%s: append at %d: its decoded length (%d) does not fit its encoding %s", ob.key, a.Pos, a.Decoded, a.Enc)
	case enc.Format != format.Raw && !legacyJSONL(enc) && !enc.Fields.Has(format.FieldValue):
		return enc, fmt.Errorf("%w: %s holds no values (encoding %s: SINK_FIELDS without value): nothing to restore", ErrRefused, ob.key, a.Enc)
	}
	return enc, nil
}

func legacyJSONL(e format.Encoder) bool { return e.Format == format.JSONL && e.Fields.Len() == 0 }

// decompress returns the decoded bytes of one compressed member, which
// must be exactly n long.
func decompress(c format.Codec, member []byte, n int64) ([]byte, error) {
	zr, err := format.NewDecompressor(c, bytes.NewReader(member))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out := make([]byte, n)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("does not decompress into the %d bytes its index says: %w", n, err)
	}
	var one [1]byte
	switch _, err := io.ReadFull(zr, one[:]); {
	case err == nil:
		return nil, fmt.Errorf("decompresses to more than the %d bytes its index says", n)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("does not decompress: %w", err)
	}
	return out, nil
}

// decodeRecord decodes one record's bytes b in encoding enc; its offset
// comes from the index.
func decodeRecord(enc format.Encoder, b []byte, rr objindex.Record) (record, error) {
	if !enc.Built() && (len(b) == 0 || b[len(b)-1] != '\n') {
		return record{}, fmt.Errorf("its %d bytes do not end with a newline: the index does not match the data", rr.Size)
	}
	switch {
	case enc.Format == format.Raw:
		rec := record{offset: rr.Offset, noTS: true}
		if !rr.Null {
			rec.value = bytes.Clone(b[:len(b)-1])
		}
		return rec, nil
	case legacyJSONL(enc):
		rec, err := decodeLine(b[:len(b)-1], enc.ValueEncoding)
		if err == nil && rec.offset != rr.Offset {
			err = fmt.Errorf("the line holds offset %d, the record index says %d", rec.offset, rr.Offset)
		}
		return rec, err
	}
	d, err := enc.Decode(b)
	if err != nil {
		return record{}, err
	}
	if d.Fields.Has(format.FieldOffset) && d.Offset != rr.Offset {
		return record{}, fmt.Errorf("it holds offset %d, the record index says %d", d.Offset, rr.Offset)
	}
	if enc.Built() {
		// A staged Parquet record holds every field, the data object built from
		// it only those selected: a record is restored the same from
		// either.
		d.Fields = enc.Fields
	}
	return fromDecoded(d, rr.Offset)
}

// fromDecoded is the record to produce of what an encoding stored: what
// its fields lack, the record lacks (no key, no headers, no timestamp).
func fromDecoded(d format.Decoded, offset int64) (record, error) {
	fs := d.Fields
	rec := record{offset: offset, ts: d.Timestamp, noTS: !fs.Has(format.FieldTimestamp)}
	if fs.Has(format.FieldKey) && d.HasKey {
		rec.key = append([]byte{}, d.Key...) // an empty key is not a null one
	}
	if d.ValueKind != events.ValueNull {
		rec.value = append([]byte{}, d.Value...)
	}
	if fs.Has(format.FieldHeaders) && len(d.Headers) > 0 {
		hs, err := parseHeaders(d.Headers)
		if err != nil {
			return record{}, err
		}
		rec.headers = hs
	}
	return rec, nil
}

// loadBuilt reads the data object built from an object's staged records
// (its staging object is gone): the rows of the Parquet file, which must
// be the records of its index, offset for offset (without an offset
// column: as many). Its index's bytes are no longer stored, so no CRC can
// be checked; the file's own structure is.
func loadBuilt(ob object, data, idx []byte) (loaded, error) {
	landed, err := landedOf(ob, nil, idx, -1)
	if err != nil {
		return loaded{}, err
	}
	var n int64
	for _, a := range landed {
		n += a.Records()
	}
	pr, err := parquetfile.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return loaded{}, fmt.Errorf("%w: %s is not a data object the sink builds from staged records: %v", ErrRefused, ob.key, err)
	}
	if pr.NumRows() != n {
		return loaded{}, fmt.Errorf("%w: %s holds %d rows, its record index %d records: it is not the object built from them", ErrRefused, ob.key, pr.NumRows(), n)
	}
	hasOffset := slices.Contains(pr.Columns(), parquetfile.Offset)
	out := loaded{recs: make([]record, 0, n)}
	var row parquetfile.Row
	for _, a := range landed {
		enc, err := appendEncoding(ob, a)
		if err != nil {
			return loaded{}, err
		}
		for rr := range a.All() {
			if err := pr.Next(&row); err != nil {
				return loaded{}, fmt.Errorf("%s: the row of offset %d: %w", ob.key, rr.Offset, err)
			}
			if hasOffset && row.Offset != rr.Offset {
				return loaded{}, fmt.Errorf("%w: %s: a row holds offset %d where its record index says %d", ErrRefused, ob.key, row.Offset, rr.Offset)
			}
			d := format.Decoded{Fields: enc.Fields, Timestamp: row.Timestamp, Key: row.Key, HasKey: row.HasKey, Value: row.Value, Headers: row.Headers}
			if row.NullValue {
				d.ValueKind = events.ValueNull
			}
			rec, err := fromDecoded(d, rr.Offset)
			if err != nil {
				return loaded{}, fmt.Errorf("%s: the row of offset %d: %w", ob.key, rr.Offset, err)
			}
			out.recs = append(out.recs, rec)
		}
		out.noTS = out.noTS || !enc.Fields.Has(format.FieldTimestamp)
	}
	return out, nil
}

// loadLegacy splits an object without index by lines. JSONL lines carry
// their offsets; raw lines are numbered from the name's first offset, which
// is exact only if the line count is the number of offsets the names or the
// meta object imply (no value held a newline, the offsets had no gaps).
func loadLegacy(ob object, data []byte, enc events.ValueEncoding) (loaded, error) {
	out := loaded{legacy: true}
	if len(data) == 0 {
		return out, nil
	}
	if data[len(data)-1] != '\n' {
		return loaded{}, fmt.Errorf("%s: last line is not terminated (not written by the sink?)", ob.key)
	}
	lines := bytes.SplitAfter(data, []byte{'\n'})
	lines = lines[:len(lines)-1] // the empty tail after the last newline
	out.raw = !bytes.HasPrefix(data, jsonlStart)
	out.noTS = out.raw
	if out.raw {
		if err := checkLegacyRaw(ob, int64(len(lines))); err != nil {
			return loaded{}, err
		}
	}
	out.recs = make([]record, 0, len(lines))
	for i, ln := range lines {
		body := ln[:len(ln)-1]
		if out.raw {
			out.recs = append(out.recs, record{offset: ob.first + int64(i), value: bytes.Clone(body), noTS: true})
			continue
		}
		rec, err := decodeLine(body, enc)
		if err != nil {
			return loaded{}, fmt.Errorf("%s line %d: %w", ob.key, i+1, err)
		}
		out.recs = append(out.recs, rec)
	}
	return out, nil
}

func checkLegacyRaw(ob object, lines int64) error {
	if ob.implied < 0 {
		return fmt.Errorf("%w: %s is a raw object without a record index (written by an earlier sink version) and %s, so its %d lines cannot be numbered with certainty",
			errRaw, ob.key, ob.impliedWhy, lines)
	}
	if lines != ob.implied {
		why := "offset gaps (compaction, transactions)"
		if lines > ob.implied {
			why = "values holding newlines"
		}
		return fmt.Errorf("%w: %s is a raw object without a record index (written by an earlier sink version): it holds %d lines but %s, %d offsets from %d: %s, so no line can be given its offset with certainty",
			errRaw, ob.key, lines, ob.impliedWhy, ob.implied, ob.first, why)
	}
	return nil
}

type jsonlLine struct {
	Partition *int32          `json:"partition"`
	Offset    *int64          `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       *string         `json:"key"`
	Value     json.RawMessage `json:"value"`
	Headers   json.RawMessage `json:"headers"`
}

type jsonlHeader struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func decodeLine(b []byte, enc events.ValueEncoding) (record, error) {
	var l jsonlLine
	if err := json.Unmarshal(b, &l); err != nil {
		return record{}, fmt.Errorf("not a JSONL record: %w", err)
	}
	if l.Offset == nil || l.Partition == nil {
		return record{}, errors.New("JSONL record without partition or offset")
	}
	rec := record{offset: *l.Offset, ts: l.Timestamp}
	if l.Key != nil {
		rec.key = []byte(*l.Key)
	}
	v := bytes.TrimSpace(l.Value)
	switch {
	case len(v) == 0 || string(v) == "null":
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return record{}, fmt.Errorf("value: %w", err)
		}
		if enc == events.Base64 {
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return record{}, fmt.Errorf("value is not base64 (SINK_VALUE_ENCODING text?): %w", err)
			}
			rec.value = d
		} else {
			rec.value = []byte(s)
		}
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return record{}, fmt.Errorf("value: %w", err)
		}
		rec.value = buf.Bytes()
	}
	hs, err := parseHeaders(l.Headers)
	if err != nil {
		return record{}, err
	}
	rec.headers = hs
	return rec, nil
}

// parseHeaders reads the headers of the trigger's JSON array text
// ([{"key":..,"value":..}]; nil, null and [] are none).
func parseHeaders(b []byte) ([]sarama.RecordHeader, error) {
	h := bytes.TrimSpace(b)
	if len(h) == 0 || string(h) == "null" {
		return nil, nil
	}
	var hs []jsonlHeader
	if err := json.Unmarshal(h, &hs); err != nil {
		return nil, fmt.Errorf("headers: want [{\"key\":..,\"value\":..}]: %w", err)
	}
	var out []sarama.RecordHeader
	for _, x := range hs {
		hdr := sarama.RecordHeader{Key: []byte(x.Key)}
		if x.Value != nil {
			hdr.Value = []byte(*x.Value)
		}
		out = append(out, hdr)
	}
	return out, nil
}

// cursor yields the records of one folder's objects in offset order,
// loading one object at a time, when the merge reaches its first offset,
// and dropping offsets repeated within the folder (as earlier sink
// versions could leave them).
type cursor struct {
	folder int // position among the partition's folders, for ties
	objs   []object
	i      int      // the next object to load
	ob     object   // the object recs are of
	recs   []record // its records not yet yielded; nil: used up, or not loaded
	j      int
	last   int64 // the largest offset the folder yielded; -1: none
}

// bound is the smallest offset c can yield next: its next record's, or the
// first offset of its next object (no record of an object is below the
// offset it is named for), MaxInt64 when it is exhausted.
func (c *cursor) bound() int64 {
	switch {
	case c.j < len(c.recs):
		return c.recs[c.j].offset
	case c.i < len(c.objs):
		return c.objs[c.i].first
	}
	return math.MaxInt64
}

// cursors is a min-heap of cursors by bound.
type cursors []*cursor

func (h cursors) Len() int { return len(h) }
func (h cursors) Less(i, j int) bool {
	a, b := h[i].bound(), h[j].bound()
	return a < b || (a == b && h[i].folder < h[j].folder)
}
func (h cursors) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// iter yields the records of a partition's epoch in offset order, merging
// its folders (each folder's objects hold increasing offsets; the records
// of one partition may be spread over many folders) through a heap of
// folder cursors. An object is loaded only when the merge reaches the
// offset it is named for, and dropped when its records are used up, so at
// most one object per folder is in memory, and only of the folders whose
// current object spans the offset reached: with time folders, one or two;
// with a folder per key, interleaved everywhere, one per folder.
//
// An offset that two folders hold is an error (ErrRefused), found before
// either copy is handed out: the sink stores each record once, so the
// store is damaged or was written with two routings, and guessing which
// copy is right could produce a record twice or a wrong one.
type iter struct {
	ctx    context.Context
	st     store.Store
	enc    events.ValueEncoding
	h      cursors
	onLoad func(ob object, l loaded) error

	last    int64  // the last offset yielded; -1: none
	lastObj string // the object it came from
}

// records returns an iterator over the records of folders with offsets
// from..to (to < 0: no end). It may also yield records outside, those of
// the objects it has to read. onLoad, if set, is called for every object
// read and can stop the iteration with an error.
func records(ctx context.Context, st store.Store, folders [][]object, enc events.ValueEncoding, from, to int64, onLoad func(object, loaded) error) *iter {
	it := &iter{ctx: ctx, st: st, enc: enc, onLoad: onLoad, last: -1}
	for n, objs := range folders {
		start, end := span(objs, from, to)
		if start < end {
			it.h = append(it.h, &cursor{folder: n, objs: objs[start:end], last: -1})
		}
	}
	heap.Init(&it.h)
	return it
}

// span returns the objects of a folder, objs[start:end], that can hold
// offsets from..to (to < 0: no end): an object's records are below the
// next object's first offset, and none below its own.
func span(objs []object, from, to int64) (start, end int) {
	for start+1 < len(objs) && objs[start+1].first <= from {
		start++
	}
	end = len(objs)
	for to >= 0 && end > start && objs[end-1].first > to {
		end--
	}
	return start, end
}

// next returns the next record in offset order; false at the end.
func (it *iter) next() (record, bool, error) {
	for len(it.h) > 0 {
		c := it.h[0]
		if c.recs == nil {
			if c.i >= len(c.objs) {
				heap.Pop(&it.h)
				continue
			}
			if err := it.load(c); err != nil {
				return record{}, false, err
			}
			heap.Fix(&it.h, 0)
			continue
		}
		r := c.recs[c.j]
		c.j++
		if c.j == len(c.recs) {
			c.recs, c.j = nil, 0 // used up: not kept while other folders go on
		}
		if r.offset <= c.last {
			it.fix(c) // repeated within the folder
			continue
		}
		if it.last >= 0 && r.offset <= it.last {
			return record{}, false, it.conflict(r.offset, it.lastObj, c.ob.key)
		}
		c.last, it.last, it.lastObj = r.offset, r.offset, c.ob.key
		it.fix(c)
		// Another folder's next record at the same offset (an object is
		// named for its first record) is found before r is handed out, so
		// that neither copy is produced.
		if len(it.h) > 0 && it.h[0] != c && it.h[0].bound() == r.offset {
			return record{}, false, it.conflict(r.offset, c.ob.key, it.h[0].current())
		}
		return r, true, nil
	}
	return record{}, false, nil
}

// current returns the key of the object c yields from next.
func (c *cursor) current() string {
	if c.recs != nil {
		return c.ob.key
	}
	return c.objs[c.i].key
}

// fix restores the heap after c, its top, moved on, dropping c when it is
// exhausted.
func (it *iter) fix(c *cursor) {
	if c.recs == nil && c.i >= len(c.objs) {
		heap.Pop(&it.h)
		return
	}
	heap.Fix(&it.h, 0)
}

// load reads c's next object.
func (it *iter) load(c *cursor) error {
	if err := it.ctx.Err(); err != nil {
		return err
	}
	ob := c.objs[c.i]
	c.i++
	l, err := load(it.ctx, it.st, ob, it.enc)
	if err != nil {
		return err
	}
	if it.onLoad != nil {
		if err := it.onLoad(ob, l); err != nil {
			return err
		}
	}
	for k := range l.recs {
		l.recs[k].invalid = ob.invalid
	}
	c.ob, c.recs, c.j = ob, l.recs, 0
	if len(c.recs) == 0 {
		c.recs = nil // an empty object, or one sealed at 0
	}
	return nil
}

// conflict is the error for offset off, found in object other after
// object first (or at or below it).
func (it *iter) conflict(off int64, first, other string) error {
	if off == it.last {
		return refused("offset %d is stored twice: in %s and in %s (two folders; the sink stores each record in one): "+
			"the store is damaged or was written with two routings, and which copy to restore cannot be told. sinkctl verify reports it (duplicate_offset); "+
			"remove one copy, then run again: what was produced is in the checkpoint",
			off, first, other)
	}
	return refused("offset %d in %s comes after offset %d of %s: an object holds offsets below the one it is named for, so the folders cannot be merged in offset order (sinkctl verify reports it)",
		off, other, it.last, first)
}
