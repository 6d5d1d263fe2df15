package restore_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore/restoretest"
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
	st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
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
			st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
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
	st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
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
func rawFixture() []restoretest.Record {
	values := [][]byte{[]byte("first"), []byte("two\nlines"), {}, nil, []byte("\n"), {0x00, 0x0a, 0xff, 0x0a}, []byte("after gap"),
		nil, []byte("x\n\ny"), []byte("plain"), {0x0a}, []byte("last")}
	offs := []int64{0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 20}
	var out []restoretest.Record
	for i, v := range values {
		out = append(out, restoretest.Record{Offset: offs[i], Value: v, Timestamp: 1700000000000 + offs[i]})
	}
	return out
}

// TestRawIndexed: raw objects restore exactly from their record index:
// boundaries from sizes (values with newlines, binary values), offsets from
// runs (gaps), tombstones from nulls; an offset range selects by the real
// offsets. Stale index entries (appends that never landed) are ignored.
func TestRawIndexed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst", "part")
	st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	recs := rawFixture()
	for p, enc := range []string{"raw/text", "raw/base64"} {
		keys := restoretest.WriteIndexed(t, st, "bk", "src", int32(p), 0, enc, recs, restoretest.Layout{PerObject: 5, PerAppend: 2})
		restoretest.WriteMeta(t, st, "bk", "src", int32(p), 0, enc, keys[len(keys)-1], recs[10:], int64(len(recs)), nil)
	}
	sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(4))
	if err != nil || sum.Records != 2*int64(len(recs)) || !sum.ValuesOnly {
		t.Fatalf("%+v, %v", sum, err)
	}
	check := func(topic string, p int32, want []restoretest.Record) {
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
	st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	recs := rawFixture()
	// Objects of 4 records in appends of 2: append 3 is the first of the
	// second object.
	keys := restoretest.WriteIndexed(t, st, "bk", "src", 0, 0, "raw/text", recs, restoretest.Layout{PerObject: 4, PerAppend: 2, Damage: 3})
	restoretest.WriteMeta(t, st, "bk", "src", 0, 0, "raw/text", keys[len(keys)-1], recs[8:], int64(len(recs)), nil)
	_, err = restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(2))
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
		objs       []restoretest.LegacyObject
		cur, last  int64 // the meta's current object: records, last offset
		bad        int   // index of the refused object; -1: restores
		why        string
		wantValues []string
	}{
		{"exact", []restoretest.LegacyObject{{First: 0, Values: []string{"a", "b", "c"}}, {First: 3, Values: []string{"d", "e"}}}, 2, 4, -1, "", []string{"a", "b", "c", "d", "e"}},
		{"gap before the next object", []restoretest.LegacyObject{{First: 0, Values: []string{"a", "b"}}, {First: 3, Values: []string{"d"}}}, 1, 3, 0, "offset gaps", nil},
		{"newline before the next object", []restoretest.LegacyObject{{First: 0, Values: []string{"a\nb", "c"}}, {First: 2, Values: []string{"d"}}}, 1, 2, 0, "newlines", nil},
		{"gap in the current object", []restoretest.LegacyObject{{First: 0, Values: []string{"a", "b", "c"}}}, 3, 4, 0, "offset gaps", nil},
		{"newline in the current object", []restoretest.LegacyObject{{First: 0, Values: []string{"x\ny"}}}, 1, 0, 0, "newlines", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			keys := restoretest.WriteLegacyRaw(t, st, "bk", "src", 0, tc.objs, tc.cur, tc.last)
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
	st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	var all, even, odd []restoretest.Record
	for o := range int64(20) {
		r := restoretest.Record{Offset: o, Key: fmt.Appendf(nil, "k%d", o), Value: []byte{byte(o), 0x0a, 0x00, '"', 0xff}, Timestamp: 1700000000000 + o}
		switch o % 7 {
		case 2:
			r.Value = nil
		case 3:
			r.Key, r.Timestamp = nil, 0
		}
		all = append(all, r)
		if o%2 == 0 {
			even = append(even, r)
		} else {
			odd = append(odd, r)
		}
	}
	restoretest.WriteIndexed(t, st, "bk", "src", 0, 0, "jsonl/base64", even, restoretest.Layout{PerObject: 4, PerAppend: 3, Folder: "even/"})
	restoretest.WriteIndexed(t, st, "bk", "src", 0, 0, "jsonl/base64", odd, restoretest.Layout{PerObject: 3, PerAppend: 2, Folder: "odd/"})
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.Partitions(0), restore.ChunkRecords(3)}
	sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.OffsetRange(5, 12))...)
	if err != nil || sum.Records != 8 || sum.ValuesOnly {
		t.Fatalf("range: %+v, %v", sum, err)
	}
	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != 12 || sum.Skipped != 8 {
		t.Fatalf("rest: %+v, %v", sum, err)
	}
	want := append(append(append([]restoretest.Record{}, all[5:13]...), all[:5]...), all[13:]...)
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
