package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

const (
	prefix = "backup/"
	topic  = "orders"
)

// setup is one way of running the sink: an encoding and where objects are
// cut.
type setup struct {
	name         string
	enc          format.Encoder
	flushRecords int64
	flushBytes   int64
}

var setups = []setup{
	{"raw", format.Encoder{}, 3, 0},
	{"jsonl", format.Encoder{Format: format.JSONL}, 0, 400},
	{"jsonl-base64", format.Encoder{Format: format.JSONL, ValueEncoding: events.Base64}, 4, 0},
}

func (s setup) sinkOptions() []sink.Option {
	opts := []sink.Option{sink.WithPrefix(prefix), sink.WithEncoder(s.enc)}
	if s.flushRecords > 0 {
		opts = append(opts, sink.WithFlushRecords(s.flushRecords))
	}
	if s.flushBytes > 0 {
		opts = append(opts, sink.WithFlushBytes(s.flushBytes))
	}
	return opts
}

// written is what a setup wrote: offsets per partition.
type written struct {
	offsets map[int32][]int64
	records int
}

// records returns n records of partition p, offsets from 100 with a gap now
// and then (compaction), values without newlines.
func records(tpc string, p int32, n int) []events.Record {
	var out []events.Record
	off := int64(100)
	for i := range n {
		out = append(out, events.Record{Topic: tpc, Partition: p, Offset: off, Timestamp: 1_700_000_000_000 + off,
			Key: fmt.Appendf(nil, "k%d", off), HasKey: true,
			Value: fmt.Appendf(nil, "value of %s/%d at %d %s", tpc, p, off, strings.Repeat("x", i%5))})
		off++
		if i%4 == 2 {
			off += 3
		}
	}
	return out
}

// batches returns what fill writes: two topics, partitions 0 and 1 of the
// first and 0 of the second, interleaved as a trigger batch does, in
// batches of 3 records so the meta objects move and several objects are
// sealed. Per partition the last object stays open with 2 records or more.
func batches() (out [][]events.Record, w written) {
	var all []events.Record
	all = append(all, records(topic, 0, 14)...)
	all = append(all, records(topic, 1, 11)...)
	all = append(all, records("payments", 0, 6)...)
	slices.SortStableFunc(all, func(a, b events.Record) int { return int(a.Offset - b.Offset) })
	w = written{offsets: map[int32][]int64{}}
	for i := 0; i < len(all); i += 3 {
		out = append(out, all[i:min(i+3, len(all))])
	}
	for _, r := range all {
		if r.Topic == topic {
			w.offsets[r.Partition] = append(w.offsets[r.Partition], r.Offset)
		}
		w.records++
	}
	return out, w
}

// fill runs the real engine on st (every object it opens gets a record
// index).
func fill(t *testing.T, st store.Store, s setup) written {
	t.Helper()
	sk, err := sink.New(append(s.sinkOptions(), sink.WithConcurrency(2))...)
	if err != nil {
		t.Fatal(err)
	}
	bs, w := batches()
	for _, batch := range bs {
		if _, err := sk.Write(context.Background(), st, batch); err != nil {
			t.Fatalf("sink write: %v", err)
		}
	}
	return w
}

// fillLegacy writes the same batches as the version before record indexes
// did: data objects without an index, meta objects of schema version 1.
func fillLegacy(t *testing.T, st store.Store, s setup) written {
	t.Helper()
	lw := &fixture.LegacyWriter{St: st, Prefix: prefix, Enc: s.enc, FlushRecords: s.flushRecords, FlushBytes: s.flushBytes}
	bs, w := batches()
	for _, batch := range bs {
		// The sink writes each partition of a batch on its own.
		parts := map[string][]events.Record{}
		var order []string
		for _, r := range batch {
			k := fmt.Sprintf("%s\x00%d", r.Topic, r.Partition)
			if parts[k] == nil {
				order = append(order, k)
			}
			parts[k] = append(parts[k], r)
		}
		for _, k := range order {
			recs := parts[k]
			lw.Write(t, recs[0].Topic, recs[0].Partition, recs)
		}
	}
	return w
}

// layout is the objects of partition 0 of topic.
type layout struct {
	meta   *sink.Meta
	sealed []string // sealed data objects, by first offset
	open   string
}

// legacy reports whether the layout is of the version before indexes
// (a meta object of schema version 1).
func (l layout) legacy() bool { return l.meta.Folders[""].Legacy }

func layoutOf(t *testing.T, st store.Store) layout {
	t.Helper()
	ctx := context.Background()
	data, err := st.Get(ctx, sink.MetaKey(prefix, topic, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sink.DecodeMeta(data, prefix, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	l := layout{meta: m, open: m.Folders[""].Object}
	infos, err := st.List(ctx, prefix+topic+"/partition_0_")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Key != l.open {
			l.sealed = append(l.sealed, in.Key)
		}
	}
	slices.SortFunc(l.sealed, func(a, b string) int { return int(nameOffset(a) - nameOffset(b)) })
	if len(l.sealed) < 3 {
		t.Fatalf("want at least 3 sealed objects, have %v", l.sealed)
	}
	return l
}

func nameOffset(key string) int64 {
	_, off, ok := sink.ParseObjectName(path.Base(key))
	if !ok {
		return -1
	}
	return off
}

func get(t *testing.T, st store.Store, key string) []byte {
	t.Helper()
	b, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, st store.Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, key, 0, data); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, st store.Store, key string) {
	t.Helper()
	if err := st.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, st store.Store, from, to string) {
	t.Helper()
	b := get(t, st, from)
	del(t, st, from)
	put(t, st, to, b)
}

// editLines rewrites the lines (without their newlines) of an object.
func editLines(t *testing.T, st store.Store, key string, fn func(lines [][]byte) [][]byte) {
	t.Helper()
	b := get(t, st, key)
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) < 3 {
		t.Fatalf("%s: want 3 lines at least, have %d", key, len(lines))
	}
	put(t, st, key, append(bytes.Join(fn(lines), []byte("\n")), '\n'))
}

// codes lists the report's defects as "code object" strings.
func codes(rep *verify.Report) []string {
	var out []string
	for _, d := range rep.AllDefects() {
		out = append(out, string(d.Code)+" "+d.Object)
	}
	return out
}

// find returns the defect of code about object, if any.
func find(rep *verify.Report, code verify.Code, object string) (verify.Defect, bool) {
	for _, d := range rep.AllDefects() {
		if d.Code == code && d.Object == object {
			return d, true
		}
	}
	return verify.Defect{}, false
}

func partition(rep *verify.Report, tpc string, p int32) *verify.PartitionReport {
	for i := range rep.Partitions {
		if rep.Partitions[i].Topic == tpc && rep.Partitions[i].Partition == p {
			return &rep.Partitions[i]
		}
	}
	return nil
}
