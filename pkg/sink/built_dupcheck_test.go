package sink_test

// Records delivered again that fall in a written Parquet object, whose
// stage is gone: compared with the object's rows, not by size and
// timestamp alone.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// builtEncodings: the offset and the value only, every field, fields
// without the offset, binary values, and each codec.
var builtEncodings = []string{
	"parquet/text;fields=offset,value",
	atkPQ,
	"parquet/text;fields=key,value,headers",
	"parquet/base64;fields=topic,partition,offset,timestamp,key,value,headers;z=zstd-1",
	"parquet/text;fields=headers,timestamp,key,value",
}

// builtStream is stream(0, n) with, in turn, null keys, empty keys,
// tombstones, headers and invalid UTF-8 values.
func builtStream(n int) []events.Record {
	all := stream(0, n)
	for i := range all {
		r := &all[i]
		switch i % 6 {
		case 1:
			r.Key, r.HasKey = nil, false
		case 2:
			r.Key, r.Value = []byte{}, []byte{}
		case 3:
			r.Value, r.ValueKind = nil, events.ValueNull
		case 4:
			r.Headers = []byte(`[{"key":"trace","value":"v1"},{"key":"n","value":null}]`)
		case 5:
			r.Value = append(append([]byte{}, r.Value...), 0xff, 'z', 0xfe)
		}
	}
	return all
}

// builtChange is a change of one field of a record that keeps its staged
// size and its timestamp within its append's: what a recreated topic can
// look like to a check by size and timestamp.
type builtChange struct {
	name  string
	field format.Field
	// apply changes r, all[i] of records written in batches (appends) of
	// per, and reports false when r has nothing to change.
	apply func(r *events.Record, all []events.Record, i, per int) bool
}

var builtChanges = []builtChange{
	{"value", format.FieldValue, func(r *events.Record, _ []events.Record, _, _ int) bool {
		if r.ValueKind == events.ValueNull || len(r.Value) == 0 {
			return false
		}
		r.Value = append([]byte{}, r.Value...)
		r.Value[0] ^= 1
		return true
	}},
	{"invalid UTF-8 made valid", format.FieldValue, func(r *events.Record, _ []events.Record, _, _ int) bool {
		k := bytes.IndexByte(r.Value, 0xff)
		if k < 0 {
			return false
		}
		r.Value = append([]byte{}, r.Value...)
		r.Value[k] = 'y'
		return true
	}},
	{"key", format.FieldKey, func(r *events.Record, _ []events.Record, _, _ int) bool {
		if !r.HasKey || len(r.Key) == 0 {
			return false
		}
		r.Key = append([]byte{}, r.Key...)
		r.Key[0] ^= 1
		return true
	}},
	{"header value", format.FieldHeaders, func(r *events.Record, _ []events.Record, _, _ int) bool {
		if !bytes.Contains(r.Headers, []byte(`"v1"`)) {
			return false
		}
		r.Headers = bytes.Replace(r.Headers, []byte(`"v1"`), []byte(`"v2"`), 1)
		return true
	}},
	{"timestamp of a neighbour", format.FieldTimestamp, func(r *events.Record, all []events.Record, i, per int) bool {
		// A neighbour in the same append has a timestamp within the
		// append's range.
		j := i + 1
		if i%per == per-1 {
			j = i - 1
		}
		if j >= len(all) {
			return false
		}
		r.Timestamp = all[j].Timestamp
		return true
	}},
}

// builtSnapshot is every object of st, to show a failed Write wrote nothing.
func builtSnapshot(st *memstore.Store) map[string]string {
	m := map[string]string{}
	for _, k := range st.Keys() {
		b, _ := st.Object(k)
		m[k] = string(b)
	}
	return m
}

func builtSame(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// builtReads counts the ranged reads of written Parquet objects (not
// stages, not indexes) through it.
func builtReads(st *memstore.Store) (*rvChaos, *atomic.Int64) {
	n := &atomic.Int64{}
	c := &rvChaos{Store: st}
	c.hook = func(method, key string) {
		if method == "GetRange" && strings.HasSuffix(key, ".parquet") && !strings.Contains(key, ".oss_stage_") {
			n.Add(1)
		}
	}
	return c, n
}

// TestBuiltDuplicatesComparedByContent: records at or below the committed
// offset that fall in written Parquet objects (their stages gone) are
// compared with the objects' rows. A redelivery is dropped exactly (no
// duplicate, no error), in every encoding, with null and empty keys,
// tombstones, headers and invalid UTF-8; a record changed in any field the
// encoding keeps, with its staged size and timestamp unchanged, is not the
// stored one: ErrOffsetsReset, and nothing written.
func TestBuiltDuplicatesComparedByContent(t *testing.T) {
	all := builtStream(14)
	// Objects of one append each, and of three (rows counted across
	// appends).
	layouts := []struct{ flush, per int }{{3, 3}, {6, 2}}
	for _, id := range builtEncodings {
		for _, lay := range layouts {
			t.Run(fmt.Sprintf("%s/flush=%d/batch=%d", id, lay.flush, lay.per), func(t *testing.T) {
				builtDuplicates(t, id, all, lay.flush, lay.per)
			})
		}
	}
}

// builtDuplicates is TestBuiltDuplicatesComparedByContent for encoding id,
// objects of flush records written in batches of per.
func builtDuplicates(t *testing.T, id string, all []events.Record, flush, per int) {
	ctx := context.Background()
	enc := mustEnc(id)
	st := memstore.New()
	sk := atkSink(t, id, sink.WithFlushRecords(int64(flush)))
	for i := 0; i < 12; i += per { // 12/flush written objects
		mustWrite(t, sk, st, all[i:i+per])
	}
	mustWrite(t, sk, st, all[12:]) // and an open, staged one
	if stages := atkKeys(st, ".oss_stage_"); len(stages) != 1 {
		t.Fatalf("stages %v, want only the open object's", stages)
	}
	written := 0
	for _, k := range st.Keys() {
		if strings.HasSuffix(k, ".parquet") && !strings.Contains(k, ".oss_stage_") {
			written++
		}
	}
	if written != 12/flush {
		t.Fatalf("%d written objects, want %d: %v", written, 12/flush, st.Keys())
	}

	cases := 0
	for i := range all {
		for _, c := range builtChanges {
			if !enc.Fields.Has(c.field) {
				continue
			}
			changed := append([]events.Record{}, all...)
			if !c.apply(&changed[i], all, i, per) {
				continue
			}
			if got, want := len(enc.Append(nil, &changed[i])), len(enc.Append(nil, &all[i])); got != want {
				t.Fatalf("%s of offset %d changes the staged size (%d, was %d): not the case this test is for", c.name, all[i].Offset, got, want)
			}
			cases++
			// A batch of the changed record and its neighbours,
			// few enough that the check looks at every one.
			batch := changed[max(0, i-2):min(len(all), i+3)]
			before := builtSnapshot(st)
			_, err := sk.Write(ctx, st, batch)
			if !errors.Is(err, sink.ErrOffsetsReset) {
				t.Fatalf("%s changed at offset %d: %v, want ErrOffsetsReset", c.name, all[i].Offset, err)
			}
			if !builtSame(before, builtSnapshot(st)) {
				t.Fatalf("%s changed at offset %d: the failed batch wrote", c.name, all[i].Offset)
			}
		}
	}
	if cases < len(all)/2 {
		t.Fatalf("only %d changes tried", cases)
	}

	// The records themselves, again: dropped, reading the written
	// objects (their stages are gone), and a batch reaching past
	// them writes only what is new.
	for _, b := range [][2]int{{0, 8}, {4, 12}, {8, 14}, {0, 3}, {11, 12}, {12, 14}} {
		ch, reads := builtReads(st)
		sum, err := sk.Write(ctx, ch, all[b[0]:b[1]])
		if err != nil {
			t.Fatalf("redelivery of %d-%d: %v", b[0], b[1], err)
		}
		if p := sum.Partitions[0]; p.Duplicates != b[1]-b[0] || p.Written != 0 {
			t.Fatalf("redelivery of %d-%d: %+v", b[0], b[1], p)
		}
		if b[0] < 12 && reads.Load() == 0 {
			t.Fatalf("redelivery of %d-%d: no written object read", b[0], b[1])
		}
		if b[0] >= 12 && reads.Load() != 0 {
			t.Fatalf("redelivery of %d-%d, all in the open object: %d reads of written objects", b[0], b[1], reads.Load())
		}
		// The footer, the offset range and a row group per
		// object: a handful of reads, however many records.
		if reads.Load() > 24 {
			t.Fatalf("redelivery of %d-%d: %d reads of written objects", b[0], b[1], reads.Load())
		}
	}
	more := append(append([]events.Record{}, all...), builtStream(20)[14:]...)
	mustWrite(t, sk, st, more[6:])
	atkCheck(t, st, more)
}

// TestBuiltReplayComparedByContent: a replay into a written Parquet object
// (a stale meta object put back: the state is behind the object's index)
// compares the batch's records with the object's rows. A record changed
// with its staged size and timestamp kept is refused (ErrOffsetsReset,
// nothing written); the records themselves are recovered, nothing twice.
func TestBuiltReplayComparedByContent(t *testing.T) {
	ctx := context.Background()
	all := builtStream(12)
	metaKey := sink.MetaKey("backup/", topic, 0)
	for _, id := range builtEncodings {
		t.Run(id, func(t *testing.T) {
			enc := mustEnc(id)
			st := memstore.New()
			sk := atkSink(t, id, sink.WithFlushRecords(3))
			mustWrite(t, sk, st, all[:3])
			stale, _ := st.Object(metaKey) // names the empty object of offset all[3]
			mustWrite(t, sk, st, all[3:4]) // two appends: rows counted across them
			mustWrite(t, sk, st, all[4:6])
			mustWrite(t, sk, st, all[6:7]) // all[3:6] written, its stage gone
			if stages := atkKeys(st, ".oss_stage_"); len(stages) != 1 {
				t.Fatalf("stages %v, want only the open object's", stages)
			}
			put := func() {
				t.Helper()
				if err := st.Put(ctx, metaKey, stale); err != nil {
					t.Fatal(err)
				}
			}

			cases := 0
			for i := 3; i < 6; i++ {
				for _, c := range builtChanges {
					if !enc.Fields.Has(c.field) {
						continue
					}
					changed := append([]events.Record{}, all...)
					if !c.apply(&changed[i], all, i, 2) { // all[4:6]: a neighbour's timestamp is in range
						continue
					}
					cases++
					put()
					before := builtSnapshot(st)
					_, err := sk.Write(ctx, st, changed[3:8])
					if !errors.Is(err, sink.ErrOffsetsReset) {
						t.Fatalf("%s changed at offset %d: %v, want ErrOffsetsReset", c.name, all[i].Offset, err)
					}
					if !builtSame(before, builtSnapshot(st)) {
						t.Fatalf("%s changed at offset %d: the failed batch wrote", c.name, all[i].Offset)
					}
				}
			}
			if cases == 0 {
				t.Fatal("no change tried")
			}

			put()
			ch, reads := builtReads(st)
			sum, err := sk.Write(ctx, ch, all[3:8])
			if err != nil {
				t.Fatalf("replay with the records themselves: %v", err)
			}
			if p := sum.Partitions[0]; p.Recovered != 4 || p.Written != 1 || p.Duplicates != 0 {
				t.Fatalf("replay with the records themselves: %+v, want 4 recovered (3 from the written object), 1 written", p)
			}
			if reads.Load() == 0 {
				t.Fatal("the written object was not read")
			}
			// A replay whose batch holds none of the written object's
			// records adopts them.
			put()
			if sum := mustWrite(t, sk, st, all[7:9]); sum.Partitions[0].Adopted != 4 || sum.Partitions[0].Written != 1 {
				t.Fatalf("replay adopting the written object's records: %+v", sum.Partitions[0])
			}
			mustWrite(t, sk, st, all[9:])
			atkCheck(t, st, all)
		})
	}
}

// TestBuiltArchivedComparedByIndex: written Parquet objects moved to an
// archive class (a lifecycle rule, or SINK_STORAGE_CLASS) refuse reads
// until restored. Records delivered again into them, by the duplicate
// check and by a replay, are compared with the index only (staged size and
// timestamp): the batch succeeds without reading them, nothing is written
// twice, and a record of another size is still refused.
func TestBuiltArchivedComparedByIndex(t *testing.T) {
	ctx := context.Background()
	all := builtStream(12)
	metaKey := sink.MetaKey("backup/", topic, 0)
	st := memstore.New()
	sk := atkSink(t, atkPQ, sink.WithFlushRecords(3))
	mustWrite(t, sk, st, all[:3])
	stale, _ := st.Object(metaKey)
	mustWrite(t, sk, st, all[3:6])
	mustWrite(t, sk, st, all[6:7])
	archived := 0
	for _, k := range st.Keys() {
		if strings.HasSuffix(k, ".parquet") && !strings.Contains(k, ".oss_stage_") {
			data, _ := st.Object(k)
			if err := st.Put(ctx, k, data, store.WithStorageClass(store.ColdArchive)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, k); !errors.Is(err, store.ErrNotRestored) {
				t.Fatalf("archived %s read: %v", k, err)
			}
			archived++
		}
	}
	if archived != 2 {
		t.Fatalf("%d written objects, want 2: %v", archived, st.Keys())
	}
	// The duplicate check.
	if sum := mustWrite(t, sk, st, all[:7]); sum.Partitions[0].Duplicates != 7 || sum.Partitions[0].Written != 0 {
		t.Fatalf("redelivery into archived objects: %+v", sum.Partitions[0])
	}
	longer := append([]events.Record{}, all...)
	longer[4].Value = append(append([]byte{}, all[4].Value...), 'x')
	if _, err := sk.Write(ctx, st, longer[3:6]); !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("a record of another size at a stored offset: %v, want ErrOffsetsReset", err)
	}
	// The replay: a stale meta object put back.
	if err := st.Put(ctx, metaKey, stale); err != nil {
		t.Fatal(err)
	}
	sum, err := sk.Write(ctx, st, all[3:8])
	if err != nil {
		t.Fatalf("replay into an archived object: %v", err)
	}
	if p := sum.Partitions[0]; p.Recovered != 4 || p.Written != 1 {
		t.Fatalf("replay into an archived object: %+v, want 4 recovered, 1 written", p)
	}
	mustWrite(t, sk, st, all[8:])
	for _, k := range st.Keys() {
		if info, _ := st.Stat(ctx, k); info.StorageClass.Archived() {
			if _, err := st.Restore(ctx, k, 1, store.TierExpedited); err != nil {
				t.Fatal(err)
			}
		}
	}
	atkCheck(t, st, all)
}

// TestCopiedFinalComparedByContent: with SINK_FINALIZE, raw, jsonl and csv
// objects are written whole from their stage, byte for byte. Records
// delivered again into such an object, its stage gone, are compared with
// the data object's bytes where the stage held them: a redelivery is
// dropped, a recreated topic's record of the same size and timestamp is
// refused (ErrOffsetsReset, nothing written); archived, the object is
// compared by the index only.
func TestCopiedFinalComparedByContent(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 9)
	again := make([]events.Record, len(all))
	for i, r := range all {
		r.Value = []byte(strings.Replace(string(r.Value), "p0-", "q0-", 1)) // same length
		again[i] = r
	}
	for _, id := range []string{"raw/text;final", "jsonl/text;fields=offset,value;final", "csv/text;fields=offset,value;z=gzip-1;final",
		"jsonl/text;fields=key,value;z=zstd-1;final"} {
		t.Run(id, func(t *testing.T) {
			st := memstore.New()
			sk := atkSink(t, id, sink.WithFlushRecords(3))
			mustWrite(t, sk, st, all[:7])
			if stages := atkKeys(st, ".oss_stage_"); len(stages) != 1 {
				t.Fatalf("stages %v, want only the open object's", stages)
			}
			if _, err := sk.Write(ctx, st, again[:6]); !errors.Is(err, sink.ErrOffsetsReset) {
				t.Fatalf("a recreated topic's records at stored offsets: %v, want ErrOffsetsReset", err)
			}
			if sum := mustWrite(t, sk, st, all[:7]); sum.Partitions[0].Duplicates != 7 || sum.Partitions[0].Written != 0 {
				t.Fatalf("redelivery: %+v", sum.Partitions[0])
			}
			// Archived: by the index only (the limit), not a failure.
			for _, k := range st.Keys() {
				if info, _ := st.Stat(ctx, k); !info.Appendable && !strings.Contains(k, ".oss_") {
					data, _ := st.Object(k)
					if err := st.Put(ctx, k, data, store.WithStorageClass(store.Archive), store.WithMetadata(info.Metadata...)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if sum := mustWrite(t, sk, st, all[:6]); sum.Partitions[0].Duplicates != 6 {
				t.Fatalf("redelivery into archived objects: %+v", sum.Partitions[0])
			}
			mustWrite(t, sk, st, all[6:])
			for _, k := range st.Keys() {
				if info, _ := st.Stat(ctx, k); info.StorageClass.Archived() {
					if _, err := st.Restore(ctx, k, 1, ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			atkCheck(t, st, all)
		})
	}
}
