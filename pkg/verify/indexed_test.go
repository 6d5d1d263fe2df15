package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// appendOf returns the index entry of an append of recs at pos.
func appendOf(w *fixture.Writer, pos int64, recs []events.Record) *objindex.Append {
	a, _ := w.Append(pos, recs)
	return a
}

// TestIndexedClean: objects with record indexes, in every encoding, with
// raw values holding '\n', binary values holding 0x0A, null values, offset
// gaps, objects sealed mid-batch, and failed attempts' announcements
// (stale entries, some of the same size as what landed), read in chunks of
// every small size: no defect at all, exact records and offsets, and no
// index object taken for a stray.
func TestIndexedClean(t *testing.T) {
	for _, s := range v2setups {
		for _, stale := range []bool{false, true} {
			for _, chunk := range []int64{1, 7, 64, 4 << 20} {
				t.Run(fmt.Sprintf("%s/stale=%v/chunk=%d", s.name, stale, chunk), func(t *testing.T) {
					st := memstore.New()
					w := v2fill(t, st, s, stale)
					rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(chunk), verify.WithObjectDetails())
					if err != nil {
						t.Fatal(err)
					}
					if !rep.OK() || len(rep.AllDefects()) != 0 {
						t.Fatalf("defects in a clean store: %v", rep.AllDefects())
					}
					pr := partition(rep, topic, 0)
					recs := fixture.Records(topic, 0, 100, 23, s.binary())
					m := w.Meta(topic, 0)
					wantFormat := strings.Split(s.name, "-")[0]
					if wantFormat == "raw" && s.binary() {
						wantFormat = "raw"
					}
					if pr.Records != int64(len(recs)) || !pr.ExactOffsets || pr.FirstOffset != recs[0].Offset ||
						pr.LastOffset != recs[len(recs)-1].Offset || pr.Format != wantFormat || pr.Objects != 5 || pr.Indexes != 5 || pr.LegacyRaw != 0 {
						t.Errorf("partition 0: %+v", pr)
					}
					if len(pr.Epochs) != 1 || pr.Epochs[0].Records != 23 || pr.Epochs[0].Committed != m.Committed || !pr.Epochs[0].Current {
						t.Errorf("epochs %+v", pr.Epochs)
					}
					sealed := 0
					for _, o := range pr.ObjectList {
						if o.Sealed {
							sealed++
						}
						if o.Index != objindex.Key(o.Key) || o.Records != 5 && !o.Open {
							t.Errorf("object %+v", o)
						}
					}
					if sealed != 4 {
						t.Errorf("%d sealed objects, want 4", sealed)
					}
				})
			}
		}
	}
}

// v2plant is one defect planted in a clean indexed store.
type v2plant struct {
	name    string
	formats []string // setups it applies to; nil: all
	// do plants the defect and returns the code and object expected (code
	// "" for none: the store must stay clean), and the other codes
	// allowed as its consequences.
	do func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (code verify.Code, object string, also []verify.Code)
	// check, if set, looks at the defect found.
	check func(t *testing.T, d verify.Defect, l v2layout, w *fixture.Writer)
}

// flipValueByte changes one byte inside the first value of an object
// (marked "VALUE" in text and binary values; the base64 text otherwise)
// without touching a line or JSON boundary.
func flipValueByte(t *testing.T, st store.Store, key string) {
	t.Helper()
	b := get(t, st, key)
	i := bytes.Index(b, []byte("VALUE"))
	if i < 0 {
		i = bytes.Index(b, []byte(`"value":"`)) + len(`"value":"`)
	}
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	put(t, st, key, b)
}

// entries returns the entries of an index object.
func entries(t *testing.T, st store.Store, key string) []objindex.Entry {
	t.Helper()
	sc := objindex.NewScanner(bytes.NewReader(get(t, st, key)), 0)
	var out []objindex.Entry
	for sc.Scan() {
		out = append(out, sc.Entry())
	}
	if sc.Err() != nil {
		t.Fatal(sc.Err())
	}
	return out
}

func appendTo(t *testing.T, st store.Store, key string, data []byte) {
	t.Helper()
	info, err := st.Stat(context.Background(), key)
	if err != nil && !store.IsNotFound(err) {
		t.Fatal(err)
	}
	if _, err := st.Append(context.Background(), key, info.Size, data); err != nil {
		t.Fatal(err)
	}
}

func rangeOf(t *testing.T, st store.Store, dataKey string) verify.Range {
	t.Helper()
	es := entries(t, st, indexOf(dataKey))
	first, last := int64(-1), int64(-1)
	for _, e := range es {
		if a := e.Append; a != nil {
			if first < 0 {
				first = a.First()
			}
			last = a.Last()
		}
	}
	return verify.Range{First: first, Last: last}
}

var v2plants = []v2plant{
	{name: "stale entry announced past the recorded state",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			f := l.meta.Folders[""]
			recs := fixture.Records(topic, 0, l.meta.Committed+1, 2, false)
			a := appendOf(w, f.Size, recs)
			appendTo(t, st, indexOf(l.open), objindex.AppendEntry(nil, objindex.Entry{Append: a}))
			return "", "", nil
		}},
	{name: "crash after sealing and announcing the next object",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			f := l.meta.Folders[""]
			off := l.meta.Committed + 1
			next := keyFor(off, 0)
			appendTo(t, st, indexOf(l.open), objindex.AppendEntry(nil, objindex.Entry{Seal: &objindex.Seal{At: f.Size, Next: next, NextOffset: off}}))
			a := appendOf(w, 0, fixture.Records(topic, 0, off, 3, false))
			appendTo(t, st, indexOf(next), objindex.AppendEntry(nil, objindex.Entry{Append: a}))
			return "", "", nil
		}},
	{name: "index sealed at 0 without data",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			// The record sealed[1] was named for vanished (compacted)
			// before its data landed: an index at its name, sealed at 0,
			// handing on to sealed[1] renamed for its second record.
			r := rangeOf(t, st, l.sealed[1])
			gone := keyFor(r.First-1, 0)
			// sealed[0] hands on to the empty object ...
			idx0 := entries(t, st, indexOf(l.sealed[0]))
			var b []byte
			for _, e := range idx0 {
				if e.Seal != nil {
					e.Seal.Next, e.Seal.NextOffset = gone, r.First-1
				}
				b = objindex.AppendEntry(b, e)
			}
			put(t, st, indexOf(l.sealed[0]), b)
			// ... which announced a record that never landed, then sealed
			// at 0 handing on to sealed[1].
			a := appendOf(w, 0, fixture.Records(topic, 0, r.First-1, 1, false))
			b = objindex.AppendEntry(nil, objindex.Entry{Append: a})
			b = objindex.AppendEntry(b, objindex.Entry{Seal: &objindex.Seal{At: 0, Next: l.sealed[1], NextOffset: r.First}})
			put(t, st, indexOf(gone), b)
			return "", "", nil
		}},
	{name: "index holding only a seal at the data's length",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			// No sink writes that (a legacy object is sealed in the meta
			// object, without an index): the data has bytes that no
			// append announced, whatever it holds.
			var b []byte
			for _, e := range entries(t, st, indexOf(l.sealed[1])) {
				if e.Seal != nil {
					b = objindex.AppendEntry(b, e)
				}
			}
			put(t, st, indexOf(l.sealed[1]), b)
			return verify.CodeIndexInconsistent, l.sealed[1], []verify.Code{verify.CodeRawUnverifiable}
		}},
	{name: "crc mismatch in a sealed object",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			flipValueByte(t, st, l.sealed[1])
			return verify.CodeCRCMismatch, l.sealed[1], nil
		}},
	{name: "crc mismatch in the open object's last append",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.open)
			es := entries(t, st, indexOf(l.open))
			last := es[len(es)-1].Append
			i := last.Pos + int64(bytes.Index(b[last.Pos:], []byte("VALUE")))
			if bytes.Index(b[last.Pos:], []byte("VALUE")) < 0 {
				i = last.Pos + int64(bytes.Index(b[last.Pos:], []byte(`"value":"`))) + int64(len(`"value":"`))
			}
			b[i] ^= 0x03
			put(t, st, l.open, b)
			return verify.CodeCRCMismatch, l.open, nil
		}},
	{name: "jsonl line offset differs from the index", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			r := rangeOf(t, st, l.sealed[1])
			b := get(t, st, l.sealed[1])
			from := fmt.Sprintf(`"offset":%d,`, r.First)
			to := fmt.Sprintf(`"offset":%d,`, r.First+800)
			if len(from) != len(to) {
				t.Fatal("offsets of different lengths")
			}
			put(t, st, l.sealed[1], bytes.Replace(b, []byte(from), []byte(to), 1))
			return verify.CodeOffsetMismatch, l.sealed[1], []verify.Code{verify.CodeCRCMismatch}
		}},
	{name: "bytes past the seal: inconsistent index",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.sealed[1])
			put(t, st, l.sealed[1], append(b, "extra\n"...))
			return verify.CodeIndexInconsistent, l.sealed[1],
				[]verify.Code{verify.CodeRawUnverifiable, verify.CodeBadRecord, verify.CodeRecordsMismatch}
		}},
	{name: "data cut short: inconsistent index",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.sealed[1])
			put(t, st, l.sealed[1], b[:len(b)-3])
			return verify.CodeIndexInconsistent, l.sealed[1],
				[]verify.Code{verify.CodeTornTail, verify.CodeRawUnverifiable, verify.CodeRecordsMismatch, verify.CodeDuplicateOffset}
		}},
	{name: "index not parseable",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			b := get(t, st, indexOf(l.sealed[1]))
			put(t, st, indexOf(l.sealed[1]), append(b, "{not json}\n"...))
			return verify.CodeIndexInvalid, l.sealed[1], []verify.Code{verify.CodeRawUnverifiable}
		}},
	{name: "data object deleted, index left",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			del(t, st, l.sealed[1])
			return verify.CodeDataMissing, l.sealed[1], nil
		},
		check: func(t *testing.T, d verify.Defect, l v2layout, _ *fixture.Writer) {
			// The records it held, exactly, with the offset gaps inside.
			if d.Offset == nil || *d.Offset != nameOffset(l.sealed[1]) || len(d.Ranges) == 0 ||
				d.Ranges[0].First != nameOffset(l.sealed[1]) || d.Ranges[len(d.Ranges)-1].Last != nameOffset(l.sealed[2])-1 && d.Ranges[len(d.Ranges)-1].Last >= nameOffset(l.sealed[2]) {
				t.Errorf("ranges %v", d.Ranges)
			}
		}},
	{name: "data object and index deleted",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			del(t, st, l.sealed[1])
			del(t, st, indexOf(l.sealed[1]))
			return verify.CodeObjectMissing, l.sealed[1], []verify.Code{verify.CodeRecordsMismatch}
		},
		check: func(t *testing.T, d verify.Defect, l v2layout, _ *fixture.Writer) {
			want := verify.Range{First: nameOffset(l.sealed[1]), Last: nameOffset(l.sealed[2]) - 1}
			if len(d.Ranges) != 1 || d.Ranges[0] != want || !strings.Contains(d.Message, "Kafka gaps") {
				t.Errorf("ranges %v, want %v: %s", d.Ranges, want, d.Message)
			}
		}},
	{name: "index deleted, data left",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			del(t, st, indexOf(l.sealed[1]))
			return verify.CodeIndexMissing, l.sealed[1], []verify.Code{verify.CodeRawUnverifiable, verify.CodeRecordsMismatch}
		}},
	{name: "open data object deleted, index left",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			del(t, st, l.open)
			return verify.CodeOpenObjectMissing, l.open, nil
		},
		check: func(t *testing.T, d verify.Defect, l v2layout, _ *fixture.Writer) {
			f := l.meta.Folders[""]
			if len(d.Ranges) == 0 || d.Ranges[0].First != f.FirstOffset || d.Ranges[len(d.Ranges)-1].Last != f.LastOffset || d.Other != indexOf(l.open) {
				t.Errorf("ranges %v, other %q", d.Ranges, d.Other)
			}
		}},
	{name: "unrecorded append",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			f := l.meta.Folders[""]
			recs := fixture.Records(topic, 0, l.meta.Committed+1, 1, w.Enc.ValueEncoding == events.Base64)
			a := appendOf(w, f.Size, recs)
			appendTo(t, st, indexOf(l.open), objindex.AppendEntry(nil, objindex.Entry{Append: a}))
			appendTo(t, st, l.open, w.Enc.Append(nil, &recs[0]))
			return verify.CodeUnrecordedTail, l.open, nil
		}},
	{name: "meta index_size beyond the index",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			w.Meta(topic, 0).Folders[""].IndexSize += 1000
			w.PutMeta(t, topic, 0)
			return verify.CodeOpenObjectSize, l.open, nil
		}},
	{name: "meta records differ from the index",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			w.Meta(topic, 0).Folders[""].Records--
			w.Meta(topic, 0).Records--
			w.PutMeta(t, topic, 0)
			return verify.CodeOpenObjectRecords, l.open, []verify.Code{verify.CodeRecordsMismatch}
		}},
	{name: "meta last offset differs from the index",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			w.Meta(topic, 0).Folders[""].LastOffset--
			w.PutMeta(t, topic, 0)
			return verify.CodeOpenObjectOffsets, l.open, nil
		}},
	{name: "seal names another next object",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			var b []byte
			for _, e := range entries(t, st, indexOf(l.sealed[1])) {
				if e.Seal != nil {
					e.Seal.Next = keyFor(e.Seal.NextOffset, 3)
				}
				b = objindex.AppendEntry(b, e)
			}
			put(t, st, indexOf(l.sealed[1]), b)
			return verify.CodeSealMismatch, l.sealed[1], nil
		}},
	{name: "look-alike name",
		do: func(t *testing.T, st store.Store, l v2layout, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
			to := l.sealed[1][:len(l.sealed[1])-8] + "deadbeef"
			rename(t, st, l.sealed[1], to)
			rename(t, st, indexOf(l.sealed[1]), indexOf(to))
			return verify.CodeNameSuffix, to, []verify.Code{verify.CodeObjectMissing, verify.CodeSealMismatch}
		}},
	{name: "duplicate record across objects",
		do: func(t *testing.T, st store.Store, l v2layout, w *fixture.Writer) (verify.Code, string, []verify.Code) {
			// An object named inside sealed[2]'s range holding a copy of
			// the open object's last record, indexed as the sink would.
			f := l.meta.Folders[""]
			recs := fixture.Records(topic, 0, 100, 23, w.Enc.ValueEncoding == events.Base64)
			last := recs[len(recs)-1]
			if last.Offset != f.LastOffset {
				t.Fatalf("last record %d, the meta object says %d", last.Offset, f.LastOffset)
			}
			dup := keyFor(nameOffset(l.sealed[2])+1, 0)
			a := appendOf(w, 0, []events.Record{last})
			appendTo(t, st, indexOf(dup), objindex.AppendEntry(nil, objindex.Entry{Append: a}))
			appendTo(t, st, dup, w.Enc.Append(nil, &last))
			return verify.CodeDuplicateOffset, l.open, []verify.Code{verify.CodeNameOffset, verify.CodeSealMismatch, verify.CodeRecordsMismatch, verify.CodeOutOfOrder}
		}},
}

// TestIndexedPlanted plants each defect in a clean indexed store of every
// encoding and expects exactly that defect (code and object), plus only
// the consequences the case names, and OK() false exactly when one of
// them is an error. Cases with no code must stay clean.
func TestIndexedPlanted(t *testing.T) {
	for _, s := range v2setups {
		for _, pl := range v2plants {
			for _, stale := range []bool{false, true} {
				if pl.formats != nil && !slices.Contains(pl.formats, s.name) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/stale=%v", s.name, pl.name, stale), func(t *testing.T) {
					st := memstore.New()
					w := v2fill(t, st, s, stale)
					l := v2layoutOf(t, st)
					code, object, also := pl.do(t, st, l, w)
					rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(64))
					if err != nil {
						t.Fatal(err)
					}
					if code == "" {
						if len(rep.AllDefects()) != 0 || !rep.OK() {
							t.Fatalf("want no defect, got %v", rep.AllDefects())
						}
						return
					}
					d, ok := find(rep, code, object)
					if !ok {
						t.Fatalf("want %s on %s, got %v", code, object, rep.AllDefects())
					}
					t.Logf("%s", d)
					if pl.check != nil {
						pl.check(t, d, l, w)
					}
					wantOK := code.Severity() == verify.SeverityWarning
					for _, d := range rep.AllDefects() {
						if d.Code == code && d.Object == object {
							continue
						}
						t.Logf("also: %s", d)
						if !slices.Contains(also, d.Code) {
							t.Errorf("unexpected defect: %s", d)
						}
						wantOK = wantOK && d.Severity == verify.SeverityWarning
					}
					if rep.OK() != wantOK {
						t.Errorf("OK() = %v, want %v", rep.OK(), wantOK)
					}
					for _, pr := range rep.Partitions {
						if (pr.Topic != topic || pr.Partition != 0) && len(pr.Defects) > 0 {
							t.Errorf("%s/%d: %v", pr.Topic, pr.Partition, pr.Defects)
						}
					}
				})
			}
		}
	}
}

// epochFill writes partition 0 of topic in epoch 0 (offsets from 100),
// starts epoch 1 (the topic was recreated) and writes it again from offset
// 100: the same offsets in objects of other names.
func epochFill(t *testing.T, st store.Store, s v2setup) *fixture.Writer {
	t.Helper()
	w := v2fill(t, st, s, false)
	w.NewEpoch(t, topic, 0)
	recs := fixture.Records(topic, 0, 100, 13, s.binary())
	for i := 0; i < len(recs); i += 4 {
		w.Write(t, topic, 0, recs[i:min(i+4, len(recs))])
	}
	return w
}

// TestEpochs: each epoch of a partition is checked on its own against its
// entry in the meta object's history, though the offsets overlap; names
// derived for no epoch are look-alikes.
func TestEpochs(t *testing.T) {
	epoch0 := func(t *testing.T, st store.Store) []string {
		var keys []string
		infos, _ := st.List(context.Background(), prefix+topic+"/partition_0_")
		for _, in := range infos {
			if e, ok := sink.ObjectEpoch(prefix, topic, "", 0, nameOffset(in.Key), in.Key, 1); ok && e == 0 {
				keys = append(keys, in.Key)
			}
		}
		slices.SortFunc(keys, func(a, b string) int { return int(nameOffset(a) - nameOffset(b)) })
		return keys
	}
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, st store.Store, w *fixture.Writer) (verify.Code, string, []verify.Code)
	}{
		{name: "clean", do: func(*testing.T, store.Store, *fixture.Writer) (verify.Code, string, []verify.Code) {
			return "", "", nil
		}},
		{name: "ended epoch's object deleted with its index",
			do: func(t *testing.T, st store.Store, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
				k := epoch0(t, st)[1]
				del(t, st, k)
				del(t, st, indexOf(k))
				return verify.CodeObjectMissing, k, []verify.Code{verify.CodeRecordsMismatch}
			}},
		{name: "ended epoch's records_written wrong",
			do: func(t *testing.T, st store.Store, w *fixture.Writer) (verify.Code, string, []verify.Code) {
				w.Meta(topic, 0).Epochs[0].Records++
				w.PutMeta(t, topic, 0)
				return verify.CodeRecordsMismatch, sink.MetaKey(prefix, topic, 0), nil
			}},
		{name: "name of an epoch the meta object does not have",
			do: func(t *testing.T, st store.Store, _ *fixture.Writer) (verify.Code, string, []verify.Code) {
				k := epoch0(t, st)[1]
				to := keyFor(nameOffset(k), 7)
				rename(t, st, k, to)
				rename(t, st, indexOf(k), indexOf(to))
				return verify.CodeNameSuffix, to, []verify.Code{verify.CodeObjectMissing, verify.CodeRecordsMismatch,
					verify.CodeDuplicateOffset, verify.CodeOutOfOrder, verify.CodeSealMismatch, verify.CodeNameOffset, verify.CodeCommittedMismatch}
			}},
		{name: "epoch missing from the history",
			do: func(t *testing.T, st store.Store, w *fixture.Writer) (verify.Code, string, []verify.Code) {
				w.Meta(topic, 0).Epochs = nil
				w.PutMeta(t, topic, 0)
				return verify.CodeUnknownEpoch, epoch0(t, st)[0], nil
			}},
	} {
		for _, s := range v2setups {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				st := memstore.New()
				w := epochFill(t, st, s)
				code, object, also := tc.do(t, st, w)
				rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithPartitions(0), verify.WithChunkSize(50))
				if err != nil {
					t.Fatal(err)
				}
				pr := partition(rep, topic, 0)
				if code == "" {
					if len(rep.AllDefects()) != 0 {
						t.Fatalf("defects: %v", rep.AllDefects())
					}
					if pr.Epoch != 1 || len(pr.Epochs) != 2 || pr.Epochs[0].Current || !pr.Epochs[1].Current ||
						pr.Epochs[0].Records != 23 || pr.Epochs[1].Records != 13 || pr.Epochs[0].RecordsWritten != 23 ||
						pr.Records != 36 || pr.FirstOffset != 100 || pr.LastOffset != pr.Epochs[1].LastOffset || !pr.ExactOffsets {
						t.Errorf("report %+v", pr)
					}
					return
				}
				d, ok := find(rep, code, object)
				if !ok {
					t.Fatalf("want %s on %s, got %v", code, object, rep.AllDefects())
				}
				t.Log(d)
				for _, d := range rep.AllDefects() {
					if (d.Code != code || d.Object != object) && !slices.Contains(also, d.Code) {
						t.Errorf("unexpected defect: %s", d)
					}
				}
			})
		}
	}
}

// hookStore runs fn once, on the first size lookup of key, before it.
type hookStore struct {
	store.Store
	key  string
	fn   func()
	done bool
}

func (h *hookStore) Stat(ctx context.Context, key string) (store.Info, error) {
	if key == h.key && !h.done {
		h.done = true
		h.fn()
	}
	return h.Store.Stat(ctx, key)
}

// TestIndexedLiveWrites: the sink writes while verify reads. Verify reads
// the open object's size, then its index's; between the two, a batch
// appends records (index entries first), fills the object, seals it and
// opens the next one. Entries past the data size verify read announce data
// it does not look at: no defect.
func TestIndexedLiveWrites(t *testing.T) {
	for _, s := range v2setups {
		t.Run(s.name, func(t *testing.T) {
			raw := memstore.New()
			w := v2fill(t, raw, s, true)
			l := v2layoutOf(t, raw)
			more := fixture.Records(topic, 0, 100, 30, s.binary())[23:]
			st := &hookStore{Store: raw, key: indexOf(l.open), fn: func() { w.Write(t, topic, 0, more) }}
			rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithPartitions(0), verify.WithChunkSize(32))
			if err != nil {
				t.Fatal(err)
			}
			if !st.done || len(rep.AllDefects()) != 0 {
				t.Fatalf("hook ran %v; defects %v", st.done, rep.AllDefects())
			}
			// The next run sees it all.
			rep, err = verify.Run(context.Background(), raw, verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithPartitions(0))
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.AllDefects()) != 0 || rep.Partitions[0].Records != 30 {
				t.Fatalf("after the batch: %d records, %v", rep.Partitions[0].Records, rep.AllDefects())
			}
		})
	}
}
