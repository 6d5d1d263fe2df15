package restore_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// sameOrder fails unless got holds exactly want, in order (offsets aside).
func sameOrder(t *testing.T, what string, got, want []msg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		g.offset, w.offset = 0, 0
		if g.String() != w.String() {
			t.Fatalf("%s record %d:\n got %s\nwant %s", what, i, g, w)
		}
	}
}

func byPartition(ms []msg) map[int32][]msg {
	out := map[int32][]msg{}
	for _, m := range ms {
		out[m.partition] = append(out[m.partition], m)
	}
	return out
}

// TestPartialThenFull: a restore of some offsets of one partition, then a
// restore of everything: every record lands exactly once (the earlier
// checkpoint, a high-water mark, made the full restore skip offsets below
// the partial range forever).
func TestPartialThenFull(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "dst")
	ms := produceSrc(t, c.ListenAddrs(), "src", 60)
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	backup(t, st, "src", format.JSONL, ms)
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(3)}
	sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.Partitions(0), restore.OffsetRange(5, 9))...)
	if err != nil || sum.Records != 5 {
		t.Fatalf("partial: %+v, %v", sum, err)
	}
	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != int64(len(ms))-5 || sum.Skipped != 5 {
		t.Fatalf("full: %+v, %v", sum, err)
	}
	want := byPartition(ms)
	got := readTopic(t, c.ListenAddrs(), "dst")
	p0 := append(append(append([]msg{}, want[0][5:10]...), want[0][:5]...), want[0][10:]...)
	sameOrder(t, "dst/0", got[0], p0)
	sameOrder(t, "dst/1", got[1], want[1])
	sameOrder(t, "dst/2", got[2], want[2])
	// Nothing is left to do.
	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != 0 || sum.Skipped != int64(len(ms)) {
		t.Fatalf("again: %+v, %v", sum, err)
	}
}

// TestAnotherCluster: a restore into a topic of the same name on another
// cluster produces everything (the checkpoint was keyed by topic name
// only), whether the clusters' ids differ or not (kfake gives every
// cluster the id "kfake" by default: the empty target partition shows the
// checkpoint is about another one).
func TestAnotherCluster(t *testing.T) {
	t.Parallel()
	for _, ids := range [][2]string{{"cluster-a", "cluster-b"}, {"same", "same"}} {
		t.Run(ids[0]+"-"+ids[1], func(t *testing.T) {
			t.Parallel()
			a := newClusterID(t, ids[0], parts, "src", "dst")
			b := newClusterID(t, ids[1], parts, "dst")
			ms := produceSrc(t, a.ListenAddrs(), "src", 30)
			st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
			backup(t, st, "src", format.JSONL, ms)
			for _, c := range []*kfake.Cluster{a, b} {
				sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"))
				if err != nil || sum.Records != int64(len(ms)) {
					t.Fatalf("restore: %+v, %v", sum, err)
				}
				got := readTopic(t, c.ListenAddrs(), "dst")
				want := byPartition(ms)
				for p := int32(0); p < parts; p++ {
					sameOrder(t, fmt.Sprintf("dst/%d", p), got[p], want[p])
				}
			}
		})
	}
}

// TestTimestampZero: a record stored with timestamp 0 is produced with
// timestamp 0, not the producer's clock.
func TestTimestampZero(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	ms := []msg{{partition: 0, offset: 0, value: ptr("zero"), ts: 0}, {partition: 0, offset: 1, value: ptr("one"), ts: 1}, {partition: 0, offset: 2, value: ptr("now"), ts: 1700000000000}}
	backup(t, st, "src", format.JSONL, ms)
	if _, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")); err != nil {
		t.Fatal(err)
	}
	sameOrder(t, "dst/0", readTopic(t, c.ListenAddrs(), "dst")[0], ms)
}

// rawFixture is a raw partition with everything the raw format cannot
// show by itself: values holding newlines, empty values, tombstones,
// binary bytes and offset gaps.
func rawFixture(p int32) []events.Record {
	values := [][]byte{[]byte("first"), []byte("two\nlines"), {}, nil, []byte("\n"), {0x00, 0x0a, 0xff, 0x0a}, []byte("after gap"),
		nil, []byte("x\n\ny"), []byte("plain"), {0x0a}, []byte("last")}
	offs := []int64{0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 20}
	var out []events.Record
	for i, v := range values {
		out = append(out, record(p, offs[i], nil, v, 1700000000000+offs[i]))
	}
	return out
}

// record is a record of topic "src"; value nil is a tombstone.
func record(p int32, off int64, key, value []byte, ts int64) events.Record {
	r := events.Record{Topic: "src", Partition: p, Offset: off, Key: key, HasKey: key != nil, Value: value, Timestamp: ts}
	if value == nil {
		r.ValueKind = events.ValueNull
	}
	return r
}

// TestRawIndexed: raw objects restore exactly from their record index:
// boundaries from sizes (values with newlines, binary values), offsets from
// runs (gaps), tombstones from nulls; an offset range selects by the real
// offsets. Stale index entries (appends that never landed) are ignored.
func TestRawIndexed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst", "part")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	recs := rawFixture(0)
	for p, enc := range []format.Encoder{{}, {ValueEncoding: events.Base64}} {
		w := &fixture.Writer{St: st, Prefix: "bk", Enc: enc, Flush: 5, PerAppend: 2}
		w.Write(t, "src", int32(p), rawFixture(int32(p)))
		w.Unlanded(t, "src", int32(p))
	}
	sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(4))
	if err != nil || sum.Records != 2*int64(len(recs)) || !sum.ValuesOnly {
		t.Fatalf("%+v, %v", sum, err)
	}
	check := func(topic string, p int32, want []events.Record) {
		t.Helper()
		gs := kafkatest.ReadPartition(t, c.ListenAddrs(), topic, p)
		if len(gs) != len(want) {
			t.Fatalf("%s/%d: %d records, want %d", topic, p, len(gs), len(want))
		}
		for i, g := range gs {
			w := want[i]
			if (g.Value == nil) != (w.Value == nil) || !bytes.Equal(g.Value, w.Value) || g.Key != nil || len(g.Headers) != 0 {
				t.Fatalf("%s/%d record %d (source offset %d): got key %q value %q (nil %v) headers %v; want value %q (nil %v)",
					topic, p, i, w.Offset, g.Key, g.Value, g.Value == nil, g.Headers, w.Value, w.Value == nil)
			}
		}
	}
	check("dst", 0, recs)
	check("dst", 1, recs)
	// Offsets 5..16 are the records at 7, 8, 9, 15, 16.
	sum, err = restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("part"),
		restore.Partitions(1), restore.OffsetRange(5, 16))
	if err != nil || sum.Records != 5 {
		t.Fatalf("range: %+v, %v", sum, err)
	}
	check("part", 1, recs[5:10])
}

// TestRawIndexedDamaged: an append whose bytes do not match its CRC fails
// the partition with the object and the range named, and nothing of that
// object is produced.
func TestRawIndexedDamaged(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	// Objects of 4 records in appends of 2: append 3 is the first of the
	// second object.
	w := &fixture.Writer{St: st, Prefix: "bk", Flush: 4, PerAppend: 2, Damage: 3}
	w.Write(t, "src", 0, rawFixture(0))
	w.Unlanded(t, "src", 0)
	keys := w.Objects("src", 0)
	_, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(2))
	if !errors.Is(err, restore.ErrPartial) || !strings.Contains(err.Error(), keys[1]) || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("err = %v", err)
	}
	if gs := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0); len(gs) != 4 {
		t.Fatalf("%d records produced, want the 4 of the first object", len(gs))
	}
}

// TestLegacyRaw: raw objects without an index restore only when their line
// count is the number of offsets the names or the meta object imply;
// otherwise the partition is refused, naming the object and why, and
// nothing of it is produced.
func TestLegacyRaw(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	for _, tc := range []struct {
		name       string
		offsets    []int64  // of the records stored, ...
		values     []string // ... holding these values,
		flush      int64    // in objects of this many records (0: one object)
		bad        int      // index of the refused object; -1: restores
		why        string
		wantValues []string
	}{
		{"exact", []int64{0, 1, 2, 3, 4}, []string{"a", "b", "c", "d", "e"}, 3, -1, "", []string{"a", "b", "c", "d", "e"}},
		{"gap before the next object", []int64{0, 1, 3}, []string{"a", "b", "d"}, 2, 0, "offset gaps", nil},
		{"newline before the next object", []int64{0, 1, 2}, []string{"a\nb", "c", "d"}, 2, 0, "newlines", nil},
		{"gap in the current object", []int64{0, 1, 4}, []string{"a", "b", "c"}, 0, 0, "offset gaps", nil},
		{"newline in the current object", []int64{0}, []string{"x\ny"}, 0, 0, "newlines", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
			var recs []events.Record
			for i, off := range tc.offsets {
				recs = append(recs, record(0, off, nil, []byte(tc.values[i]), 0))
			}
			w := &fixture.LegacyWriter{St: st, Prefix: "bk", FlushRecords: tc.flush}
			w.Write(t, "src", 0, recs)
			keys := w.Objects("src", 0)
			target := "dst-" + strings.ReplaceAll(tc.name, " ", "-")
			kafkatest.CreateTopic(t, c.ListenAddrs(), target, 1)
			sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic(target), restore.ChunkRecords(1))
			gs := kafkatest.ReadPartition(t, c.ListenAddrs(), target, 0)
			if tc.bad < 0 {
				if err != nil || sum.Records != int64(len(tc.wantValues)) || len(gs) != len(tc.wantValues) {
					t.Fatalf("%+v, %v, %d records in the target", sum, err, len(gs))
				}
				for i, g := range gs {
					if string(g.Value) != tc.wantValues[i] {
						t.Fatalf("record %d: %q, want %q", i, g.Value, tc.wantValues[i])
					}
				}
				return
			}
			if !errors.Is(err, restore.ErrPartial) || !strings.Contains(err.Error(), keys[tc.bad]) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %v", err)
			}
			if len(gs) != 0 {
				t.Fatalf("%d records produced from a refused partition", len(gs))
			}
		})
	}
}

// TestJSONLIndexedFolders: JSONL objects with record indexes (binary
// values in base64, tombstones, keys, timestamp 0), with the partition's
// records spread over two folders: they are produced merged in offset
// order.
func TestJSONLIndexedFolders(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	var all []events.Record
	for o := range int64(20) {
		key, value, ts := fmt.Appendf(nil, "k%d", o), []byte{byte(o), 0x0a, 0x00, '"', 0xff}, 1700000000000+o
		switch o % 7 {
		case 2:
			value = nil
		case 3:
			key, ts = nil, 0
		}
		all = append(all, record(0, o, key, value, ts))
	}
	// Even offsets in one folder, odd in the other, written as batches
	// come: in offset order, each folder cut its own way.
	w := &fixture.Writer{St: st, Prefix: "bk", Enc: format.Encoder{Format: format.JSONL, ValueEncoding: events.Base64}}
	folders := []struct {
		name             string
		flush, perAppend int64
	}{{"even/", 4, 3}, {"odd/", 3, 2}}
	for i := 0; i < len(all); i += 6 {
		batch := all[i:min(i+6, len(all))]
		for k, f := range folders {
			var part []events.Record
			for _, r := range batch {
				if r.Offset%2 == int64(k) {
					part = append(part, r)
				}
			}
			w.Folder, w.Flush, w.PerAppend = f.name, f.flush, f.perAppend
			w.Write(t, "src", 0, part)
		}
	}
	for _, f := range folders {
		w.Folder = f.name
		w.Unlanded(t, "src", 0)
	}
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.Partitions(0), restore.ChunkRecords(3)}
	sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.OffsetRange(5, 12))...)
	if err != nil || sum.Records != 8 || sum.ValuesOnly {
		t.Fatalf("range: %+v, %v", sum, err)
	}
	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != 12 || sum.Skipped != 8 {
		t.Fatalf("rest: %+v, %v", sum, err)
	}
	want := append(append(append([]events.Record{}, all[5:13]...), all[:5]...), all[13:]...)
	gs := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)
	if len(gs) != len(want) {
		t.Fatalf("%d records, want %d", len(gs), len(want))
	}
	for i, g := range gs {
		w := want[i]
		if (g.Key == nil) != (w.Key == nil) || !bytes.Equal(g.Key, w.Key) || (g.Value == nil) != (w.Value == nil) || !bytes.Equal(g.Value, w.Value) ||
			g.Timestamp.UnixMilli() != w.Timestamp {
			t.Fatalf("record %d: key %q value %q ts %d; want offset %d key %q value %q ts %d",
				i, g.Key, g.Value, g.Timestamp.UnixMilli(), w.Offset, w.Key, w.Value, w.Timestamp)
		}
	}
}
