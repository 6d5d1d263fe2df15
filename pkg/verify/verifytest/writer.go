// Package verifytest writes stores for tests of the tools that read them,
// in the two layouts they must read.
//
// Writer writes as the sink's protocol v2 does (record indexes, seals,
// meta objects of schema version 2, epochs): every data object gets an
// index object (package objindex) whose entries are appended before the
// data they announce; opening the next object seals the previous one with
// a seal entry naming it; each batch ends with the meta object recording
// the open object's size, index size, records and last offset. It uses the
// real store, the real index encoding, the real object names and
// sink.DecodeMeta's checks. The engine (package sink) writes such stores
// itself; Writer is for the shapes it leaves only after failures, made on
// purpose (Stale: announcements that never landed, some of the size of
// what landed) and for exact control of where objects are cut.
//
// LegacyWriter writes as the version before record indexes did: no index,
// meta objects of schema version 1.
package verifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Writer writes partitions as the sink does with record indexes. Set the
// exported fields before the first Write.
type Writer struct {
	St     store.Store
	Prefix string // normalized, as sink.NormalizePrefix gives it
	Enc    format.Encoder
	Flush  int64 // records per data object
	// Stale: before every append, announce an alternative that never
	// lands (a failed attempt): every other one of the same size with
	// other bytes, the others one record shorter.
	Stale bool

	metas map[string]*sink.Meta // by topic/partition
	n     int
}

// EncID returns the encoding id of w.Enc ("raw/text", "jsonl/base64").
func (w *Writer) EncID() string {
	return w.Enc.Format.String() + "/" + w.Enc.ValueEncoding.String()
}

// Meta returns the state of topic/p written so far (nil if none); changes
// to it are written by PutMeta.
func (w *Writer) Meta(topic string, p int32) *sink.Meta {
	return w.metas[fmt.Sprintf("%s/%d", topic, p)]
}

// Write writes one batch of records of one partition, in objects of
// w.Flush records, and records the state.
func (w *Writer) Write(tb testing.TB, topic string, p int32, recs []events.Record) {
	tb.Helper()
	ctx := context.Background()
	m := w.Meta(topic, p)
	if m == nil {
		if w.metas == nil {
			w.metas = map[string]*sink.Meta{}
		}
		m = &sink.Meta{Version: sink.MetaVersion, Topic: topic, Partition: p, Committed: -1, Folders: map[string]*sink.Folder{}}
		w.metas[fmt.Sprintf("%s/%d", topic, p)] = m
	}
	for len(recs) > 0 {
		f := m.Folders[""]
		if f != nil && f.Records >= w.Flush {
			next := sink.ObjectKey(w.Prefix, topic, "", p, recs[0].Offset, m.Epoch)
			w.Index(tb, f, objindex.Entry{Seal: &objindex.Seal{At: f.Size, Next: next, NextOffset: recs[0].Offset}})
			f = nil
		}
		if f == nil {
			f = &sink.Folder{Object: sink.ObjectKey(w.Prefix, topic, "", p, recs[0].Offset, m.Epoch), Encoding: w.EncID(),
				FirstOffset: recs[0].Offset, LastOffset: recs[0].Offset - 1, OpenedAt: time.Unix(1_700_000_000, 0).UTC()}
			m.Folders[""] = f
		}
		n := min(int64(len(recs)), w.Flush-f.Records)
		a, data := w.Append(f.Size, recs[:n])
		if w.Stale {
			alt := *a
			if w.n%2 == 0 || len(a.Sizes) == 1 {
				alt.CRC32C ^= 0x5a5a
			} else {
				short, _ := w.Append(f.Size, recs[:n-1])
				alt = *short
			}
			w.Index(tb, f, objindex.Entry{Append: &alt})
			w.n++
		}
		w.Index(tb, f, objindex.Entry{Append: a})
		if _, err := w.St.Append(ctx, f.Object, f.Size, data); err != nil {
			tb.Fatalf("append data: %v", err)
		}
		f.Size += int64(len(data))
		f.Records += n
		f.LastOffset = recs[n-1].Offset
		if f.Records == n {
			f.FirstTimestamp, f.MinTimestamp = recs[0].Timestamp, a.MinTS
		}
		m.Committed = recs[n-1].Offset
		m.Records += n
		recs = recs[n:]
	}
	w.PutMeta(tb, topic, p)
}

// Append returns the index entry and the bytes of an append of recs at
// data position pos.
func (w *Writer) Append(pos int64, recs []events.Record) (*objindex.Append, []byte) {
	var b objindex.Builder
	b.Reset(w.EncID(), pos)
	var data []byte
	for i := range recs {
		r := &recs[i]
		start := len(data)
		data = w.Enc.Append(data, r)
		b.Add(r.Offset, data[start:], r.ValueKind == events.ValueNull, r.Timestamp)
	}
	return cloneAppend(b.Append()), data
}

func cloneAppend(a *objindex.Append) *objindex.Append {
	c := *a
	c.Offsets, c.Sizes, c.Nulls = slices.Clone(a.Offsets), slices.Clone(a.Sizes), slices.Clone(a.Nulls)
	return &c
}

// Index appends e to f's index at the recorded index size.
func (w *Writer) Index(tb testing.TB, f *sink.Folder, e objindex.Entry) {
	tb.Helper()
	line := objindex.AppendEntry(nil, e)
	if _, err := w.St.Append(context.Background(), objindex.Key(f.Object), f.IndexSize, line); err != nil {
		tb.Fatalf("append index: %v", err)
	}
	f.IndexSize += int64(len(line))
}

// PutMeta writes the meta object of topic/p, which must pass
// sink.DecodeMeta.
func (w *Writer) PutMeta(tb testing.TB, topic string, p int32) {
	tb.Helper()
	m := w.Meta(topic, p)
	m.UpdatedAt = time.Unix(1_700_000_100, 0).UTC()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := sink.DecodeMeta(b, w.Prefix, topic, p); err != nil {
		tb.Fatalf("the fixture's meta object is invalid: %v\n%s", err, b)
	}
	if err := w.St.Put(context.Background(), sink.MetaKey(w.Prefix, topic, p), b); err != nil {
		tb.Fatal(err)
	}
}

// NewEpoch ends the current epoch of topic/p (the topic was recreated):
// its offsets start again, in objects of other names.
func (w *Writer) NewEpoch(tb testing.TB, topic string, p int32) {
	tb.Helper()
	m := w.Meta(topic, p)
	m.Epochs = append(m.Epochs, sink.EpochInfo{Epoch: m.Epoch, Committed: m.Committed, Records: m.Records,
		EndedAt: time.Unix(1_700_000_200, 0).UTC(), Reason: "topic recreated"})
	m.Epoch++
	m.Committed, m.Records, m.Folders = -1, 0, map[string]*sink.Folder{}
	w.PutMeta(tb, topic, p)
}

// Records returns n records of topic/p from offset first, with offset gaps
// (compaction) every few records, some null values, and values that hold
// '\n' (text) or 0x0A bytes (binary), each with the marker "VALUE".
func Records(topic string, p int32, first int64, n int, binary bool) []events.Record {
	var out []events.Record
	off := first
	for i := range n {
		r := events.Record{Topic: topic, Partition: p, Offset: off, Timestamp: 1_700_000_000_000 + off,
			Key: fmt.Appendf(nil, "k%d", off), HasKey: true}
		switch {
		case i%7 == 5:
			r.ValueKind = events.ValueNull
		case binary:
			r.ValueKind = events.ValueBytes
			r.Value = append([]byte("VALUE\x00\x0a\xff"), byte(i), 0x0a, '\n', 0x0a)
		default:
			r.Value = fmt.Appendf(nil, "VALUE %d\nsecond line\n\nof %s/%d", off, topic, p)
		}
		out = append(out, r)
		off++
		if i%5 == 4 || i%7 == 2 {
			off += 2 // at object boundaries (5 records an object), and inside objects
		}
	}
	return out
}
