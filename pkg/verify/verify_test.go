package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

var stores = []struct {
	name string
	new  func(t *testing.T) store.Store
}{
	{"memstore", func(*testing.T) store.Store { return memstore.New() }},
	{"localstore", func(t *testing.T) store.Store {
		st, err := localstore.New(t.TempDir(), localstore.WithoutFsync())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// TestClean runs the real engine in every format on every local store and
// expects a clean report with the right counts, read in small chunks so
// lines cross chunk boundaries.
func TestClean(t *testing.T) {
	for _, sk := range stores {
		for _, s := range setups {
			t.Run(sk.name+"/"+s.name, func(t *testing.T) {
				st := sk.new(t)
				w := fill(t, st, s)
				rep, err := verify.Run(context.Background(), st, verify.WithPrefix("backup"), verify.WithChunkSize(7), verify.WithObjectDetails())
				if err != nil {
					t.Fatal(err)
				}
				if !rep.OK() || len(rep.AllDefects()) != 0 {
					t.Fatalf("defects in a clean store: %v", rep.AllDefects())
				}
				if rep.Total.Partitions != 3 || rep.Total.Records != int64(w.records) {
					t.Errorf("total %+v, want 3 partitions, %d records", rep.Total, w.records)
				}
				ctx := context.Background()
				for p, offs := range w.offsets {
					pr := partition(rep, topic, p)
					if pr == nil {
						t.Fatalf("no report for partition %d", p)
					}
					infos, _ := st.List(ctx, fmt.Sprintf("%s%s/partition_%d_", prefix, topic, p))
					var size int64
					for _, in := range infos {
						size += in.Size
					}
					wantFormat := s.enc.Format.String()
					if pr.Objects != len(infos) || pr.Records != int64(len(offs)) || pr.Bytes != size || pr.Format != wantFormat ||
						pr.FirstOffset != offs[0] || pr.LastOffset != offs[len(offs)-1] || len(pr.ObjectList) != len(infos) {
						t.Errorf("partition %d: %d objects, %d records, %d bytes, %s, offsets %d-%d; want %d, %d, %d, %s, %d-%d",
							p, pr.Objects, pr.Records, pr.Bytes, pr.Format, pr.FirstOffset, pr.LastOffset,
							len(infos), len(offs), size, wantFormat, offs[0], offs[len(offs)-1])
					}
					if pr.ExactOffsets != (s.enc.Format == format.JSONL) {
						t.Errorf("partition %d: exact offsets %v", p, pr.ExactOffsets)
					}
					if pr.Meta == nil || pr.Meta.Committed != offs[len(offs)-1] || pr.Meta.RecordsWritten != int64(len(offs)) || len(pr.Meta.Open) != 1 {
						t.Errorf("partition %d: meta %+v", p, pr.Meta)
					}
				}
			})
		}
	}
}

// plant is one defect planted in a clean store.
type plant struct {
	name    string
	formats []string // setups it applies to; nil: all
	opts    []verify.Option
	// do plants the defect and returns the code and object expected, and
	// the other codes allowed as its consequences.
	do func(t *testing.T, st store.Store, l layout, s setup) (code verify.Code, object string, also []verify.Code)
}

func jsonlLine(s setup, off int64) []byte {
	r := events.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: 1_700_000_000_000 + off, Value: []byte("planted")}
	return s.enc.Append(nil, &r)
}

var plants = []plant{
	{name: "duplicate line", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte { return slices.Insert(ls, 2, ls[1]) })
			return verify.CodeDuplicateOffset, l.sealed[1], nil
		}},
	{name: "duplicate line across objects", formats: []string{"jsonl"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			first := bytes.SplitAfter(get(t, st, l.sealed[0]), []byte("\n"))[0]
			b := get(t, st, l.sealed[1])
			put(t, st, l.sealed[1], append(b, first...))
			return verify.CodeDuplicateOffset, l.sealed[1], nil
		}},
	// Without an index a raw duplicate looks like a value holding '\n':
	// a warning, never an error on data the sink may have written.
	{name: "duplicate line", formats: []string{"raw"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte { return slices.Insert(ls, 2, ls[1]) })
			return verify.CodeRawUnverifiable, sink.MetaKey(prefix, topic, 0), nil
		}},
	{name: "swap lines", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte { ls[1], ls[2] = ls[2], ls[1]; return ls })
			return verify.CodeOutOfOrder, l.sealed[1], nil
		}},
	{name: "name offset wrong", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			to := sink.ObjectKey(prefix, topic, "", 0, nameOffset(l.sealed[1])+1, 0)
			rename(t, st, l.sealed[1], to)
			return verify.CodeNameOffset, to, nil
		}},
	{name: "name inside the open object", formats: []string{"raw"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			to := sink.ObjectKey(prefix, topic, "", 0, l.meta.Folders[""].FirstOffset+1, 0)
			rename(t, st, l.sealed[1], to)
			return verify.CodeOverlap, to, nil
		}},
	{name: "meta deleted",
		do: func(t *testing.T, st store.Store, _ layout, _ setup) (verify.Code, string, []verify.Code) {
			del(t, st, sink.MetaKey(prefix, topic, 0))
			return verify.CodeMetaMissing, sink.MetaKey(prefix, topic, 0), nil
		}},
	{name: "meta corrupt",
		do: func(t *testing.T, st store.Store, _ layout, _ setup) (verify.Code, string, []verify.Code) {
			key := sink.MetaKey(prefix, topic, 0)
			b := get(t, st, key)
			put(t, st, key, b[:len(b)/2])
			return verify.CodeMetaInvalid, key, nil
		}},
	{name: "meta from another partition",
		do: func(t *testing.T, st store.Store, _ layout, _ setup) (verify.Code, string, []verify.Code) {
			key := sink.MetaKey(prefix, topic, 0)
			put(t, st, key, get(t, st, sink.MetaKey(prefix, topic, 1)))
			return verify.CodeMetaInvalid, key, nil
		}},
	{name: "truncated mid-line",
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.sealed[1])
			put(t, st, l.sealed[1], b[:len(b)-5])
			return verify.CodeTornTail, l.sealed[1], []verify.Code{verify.CodeRecordsMismatch}
		}},
	{name: "unrecorded whole line",
		do: func(t *testing.T, st store.Store, l layout, s setup) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.open)
			put(t, st, l.open, append(b, jsonlLine(s, l.meta.Committed+1)...))
			return verify.CodeUnrecordedTail, l.open, nil
		}},
	{name: "unrecorded object",
		do: func(t *testing.T, st store.Store, l layout, s setup) (verify.Code, string, []verify.Code) {
			off := l.meta.Committed + 5
			key := sink.ObjectKey(prefix, topic, "", 0, off, 0)
			put(t, st, key, jsonlLine(s, off))
			return verify.CodeUnrecordedObject, key, nil
		}},
	{name: "name suffix changed",
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			to := l.sealed[1][:len(l.sealed[1])-8] + "deadbeef"
			rename(t, st, l.sealed[1], to)
			return verify.CodeNameSuffix, to, nil
		}},
	{name: "open object deleted",
		do: func(t *testing.T, st store.Store, l layout, s setup) (verify.Code, string, []verify.Code) {
			del(t, st, l.open)
			return verify.CodeOpenObjectMissing, l.open, []verify.Code{verify.CodeRecordsMismatch, verify.CodeCommittedMismatch}
		}},
	{name: "open object cut short",
		do: func(t *testing.T, st store.Store, l layout, s setup) (verify.Code, string, []verify.Code) {
			b := get(t, st, l.open)
			i := bytes.IndexByte(b, '\n')
			put(t, st, l.open, b[:i+1])
			return verify.CodeOpenObjectSize, l.open, []verify.Code{verify.CodeRecordsMismatch, verify.CodeCommittedMismatch}
		}},
	{name: "bad record", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte { ls[1] = []byte(`{"topic":"orders","partition":0,`); return ls })
			return verify.CodeBadRecord, l.sealed[1], []verify.Code{verify.CodeRecordsMismatch}
		}},
	{name: "bad first line", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte { ls[0] = []byte("garbage"); return ls })
			return verify.CodeBadRecord, l.sealed[1], []verify.Code{verify.CodeRecordsMismatch, verify.CodeNameOffset}
		}},
	{name: "record of another partition", formats: []string{"jsonl", "jsonl-base64"},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte {
				ls[1] = bytes.Replace(ls[1], []byte(`"partition":0`), []byte(`"partition":1`), 1)
				return ls
			})
			return verify.CodeWrongPartition, l.sealed[1], []verify.Code{verify.CodeRecordsMismatch}
		}},
	{name: "value not base64", formats: []string{"jsonl-base64"}, opts: []verify.Option{verify.WithValueEncoding(verify.ValueBase64)},
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			editLines(t, st, l.sealed[1], func(ls [][]byte) [][]byte {
				i := bytes.Index(ls[1], []byte(`"value":"`)) + len(`"value":"`)
				copy(ls[1][i:], "!!!!")
				return ls
			})
			return verify.CodeBadValue, l.sealed[1], nil
		}},
	{name: "unreadable object",
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			st.(*failingStore).fail = l.sealed[1]
			return verify.CodeUnreadable, l.sealed[1], nil
		}},
	{name: "object gone after listing",
		do: func(t *testing.T, st store.Store, l layout, _ setup) (verify.Code, string, []verify.Code) {
			st.(*failingStore).vanish = l.sealed[1]
			return verify.CodeUnreadable, l.sealed[1], nil
		}},
}

// failingStore fails reads of one key, or makes one key vanish after the
// listing.
type failingStore struct {
	store.Store
	fail, vanish string
}

var errInjected = errors.New("injected read failure")

func (f *failingStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	switch key {
	case f.fail:
		return nil, fmt.Errorf("get range %q: %w", key, errInjected)
	case f.vanish:
		return nil, fmt.Errorf("get range %q: %w", key, store.ErrNotFound)
	}
	return f.Store.GetRange(ctx, key, off, n)
}

// TestPlanted plants each defect in a clean store and expects exactly that
// defect (code and object), plus only the consequences the case names, and
// OK() false exactly when one of them is an error.
func TestPlanted(t *testing.T) {
	for _, s := range setups {
		for _, pl := range plants {
			if pl.formats != nil && !slices.Contains(pl.formats, s.name) {
				continue
			}
			t.Run(s.name+"/"+pl.name, func(t *testing.T) {
				st := &failingStore{Store: memstore.New()}
				fill(t, st, s)
				l := layoutOf(t, st)
				code, object, also := pl.do(t, st, l, s)
				opts := append([]verify.Option{verify.WithPrefix(prefix), verify.WithChunkSize(64)}, pl.opts...)
				rep, err := verify.Run(context.Background(), st, opts...)
				if err != nil {
					t.Fatal(err)
				}
				d, ok := find(rep, code, object)
				if !ok {
					t.Fatalf("want %s on %s, got %v", code, object, rep.AllDefects())
				}
				t.Logf("%s", d)
				wantOK := code.Severity() == verify.SeverityWarning
				for _, d := range rep.AllDefects() {
					if d.Code == code && d.Object == object {
						continue
					}
					if !slices.Contains(also, d.Code) {
						t.Errorf("unexpected defect: %s", d)
					}
					wantOK = wantOK && d.Severity == verify.SeverityWarning
				}
				if rep.OK() != wantOK {
					t.Errorf("OK() = %v, want %v", rep.OK(), wantOK)
				}
				if d.Topic != topic || d.Partition != 0 || d.Severity != code.Severity() || d.Count < 1 || d.Message == "" {
					t.Errorf("defect fields: %+v", d)
				}
				// Other partitions are untouched.
				for _, pr := range rep.Partitions {
					if (pr.Topic != topic || pr.Partition != 0) && len(pr.Defects) > 0 {
						t.Errorf("%s/%d: %v", pr.Topic, pr.Partition, pr.Defects)
					}
				}
			})
		}
	}
}

// TestPositions checks the byte and line positions and the offsets of line
// defects, and that findings of one code in one object are counted
// together.
func TestPositions(t *testing.T) {
	s := setups[1] // jsonl
	st := memstore.New()
	fill(t, st, s)
	l := layoutOf(t, st)
	b := get(t, st, l.sealed[1])
	lines := bytes.SplitAfter(b, []byte("\n"))
	// Duplicate every line: lines 2, 4, 6, ... repeat lines 1, 3, 5, ...
	var dup []byte
	for _, ln := range lines[:len(lines)-1] {
		dup = append(append(dup, ln...), ln...)
	}
	put(t, st, l.sealed[1], dup)
	rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithPartitions(0))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := find(rep, verify.CodeDuplicateOffset, l.sealed[1])
	if !ok {
		t.Fatalf("no duplicate: %v", codes(rep))
	}
	first := nameOffset(l.sealed[1])
	if d.Count != len(lines)-1 || d.Pos == nil || d.Pos.Line != 2 || d.Pos.Byte != int64(len(lines[0])) || d.Offset == nil || *d.Offset != first {
		t.Errorf("defect %+v (pos %+v), want %d duplicates, the first at line 2, byte %d, offset %d", d, d.Pos, len(lines)-1, len(lines[0]), first)
	}
	if len(rep.Partitions) != 1 || len(rep.AllDefects()) != 1 {
		t.Errorf("want one partition with one defect, got %v", codes(rep))
	}
}

func TestFormatHint(t *testing.T) {
	ctx := context.Background()
	raw, jsonl := memstore.New(), memstore.New()
	fill(t, raw, setups[0])
	fill(t, jsonl, setups[1])

	// Raw lines read as JSONL are no records.
	rep, err := verify.Run(ctx, raw, verify.WithPrefix(prefix), verify.WithFormat(verify.FormatJSONL))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Partitions[0].Format != "jsonl" {
		t.Errorf("raw data forced to jsonl passed: %v", codes(rep))
	}
	if _, ok := find(rep, verify.CodeBadRecord, layoutOf(t, raw).sealed[0]); !ok {
		t.Errorf("no bad_record: %v", codes(rep))
	}
	// JSONL read as raw still counts right, without exact offsets.
	rep, err = verify.Run(ctx, jsonl, verify.WithPrefix(prefix), verify.WithFormat(verify.FormatRaw))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Partitions[0].Format != "raw" || rep.Partitions[0].ExactOffsets {
		t.Errorf("jsonl read as raw: %+v", rep.Partitions[0])
	}
	// A mixed partition: the format changed between objects.
	l := layoutOf(t, raw)
	editLines(t, raw, l.sealed[0], func(ls [][]byte) [][]byte {
		for i := range ls {
			ls[i] = jsonlLine(setups[1], nameOffset(l.sealed[0])+int64(i))
			ls[i] = ls[i][:len(ls[i])-1]
		}
		return ls
	})
	rep, err = verify.Run(ctx, raw, verify.WithPrefix(prefix), verify.WithPartitions(0), verify.WithTopics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Partitions[0].Format != "mixed" {
		t.Errorf("mixed partition: %s %v", rep.Partitions[0].Format, codes(rep))
	}
}

func TestFiltersAndStrays(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	fill(t, st, setups[0])
	for key, data := range map[string]string{
		prefix + topic + "/notes.txt":     "hello\n",
		prefix + "other-app/state.json":   "{}",
		prefix + "loose-file":             "x",
		prefix + topic + "/x/.oss_meta_1": "{}",
	} {
		if err := st.Put(ctx, key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Ignored != 2 || rep.Total.Partitions != 3 || rep.Total.Warnings != 2 {
		t.Errorf("ignored %d, total %+v, defects %v", rep.Ignored, rep.Total, codes(rep))
	}
	for _, key := range []string{prefix + topic + "/notes.txt", prefix + topic + "/x/.oss_meta_1"} {
		if _, ok := find(rep, verify.CodeStrayObject, key); !ok {
			t.Errorf("no stray_object for %s: %v", key, codes(rep))
		}
	}

	rep, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithTopics(topic, "missing"), verify.WithPartitions(1, 7))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pr := range rep.Partitions {
		got = append(got, fmt.Sprintf("%s/%d", pr.Topic, pr.Partition))
	}
	if !slices.Equal(got, []string{topic + "/1"}) {
		t.Errorf("partitions %v, want %s/1", got, topic)
	}
	var noData []string
	for _, d := range rep.Defects {
		if d.Code == verify.CodeNoData {
			noData = append(noData, fmt.Sprintf("%s/%d", d.Topic, d.Partition))
		}
	}
	if !slices.Equal(noData, []string{"missing/1", "missing/7", topic + "/7"}) {
		t.Errorf("no_data for %v", noData)
	}

	rep, err = verify.Run(ctx, st, verify.WithPrefix("elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Partitions) != 0 || len(rep.Defects) != 1 || rep.Defects[0].Code != verify.CodeNoData || !rep.OK() {
		t.Errorf("empty prefix: %+v", rep)
	}
}

func TestProgressAndCancel(t *testing.T) {
	st := memstore.New()
	fill(t, st, setups[1])
	var calls, inside atomic.Int32
	var last verify.Progress
	rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithConcurrency(3), verify.WithChunkSize(50),
		verify.WithProgress(func(p verify.Progress) {
			if inside.Add(1) != 1 {
				t.Error("progress calls overlap")
			}
			calls.Add(1)
			last = p
			inside.Add(-1)
		}))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 || last.BytesDone != last.BytesTotal || last.BytesTotal != rep.Total.Bytes ||
		last.ObjectsDone != rep.Total.Objects || last.PartitionsDone != 3 || last.PartitionsTotal != 3 {
		t.Errorf("last progress %+v after %d calls, total %+v", last, calls.Load(), rep.Total)
	}

	ctx, cancel := context.WithCancel(context.Background())
	_, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithProgress(func(verify.Progress) { cancel() }))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []verify.Option{
		verify.WithFormat("xml"), verify.WithValueEncoding("utf16"), verify.WithConcurrency(0),
		verify.WithChunkSize(0), verify.WithTopics("a/b"), verify.WithPartitions(-1), verify.WithPrefix("/abs"),
	} {
		if _, err := verify.Run(context.Background(), memstore.New(), o); err == nil {
			t.Errorf("option accepted")
		}
	}
	if f, err := verify.ParseFormat(" JSONL "); err != nil || f != verify.FormatJSONL {
		t.Errorf("ParseFormat: %v %v", f, err)
	}
	if v, err := verify.ParseValueEncoding("binary"); err != nil || v != verify.ValueBase64 {
		t.Errorf("ParseValueEncoding: %v %v", v, err)
	}
	for _, c := range verify.Codes() {
		if c.Severity() != verify.SeverityError && c.Severity() != verify.SeverityWarning {
			t.Errorf("%s: severity %q", c, c.Severity())
		}
	}
}

// TestLiveWrites: objects that grew, and an object opened, after the listing
// are read at their current size, so a partition written to while it is
// checked shows no error.
func TestLiveWrites(t *testing.T) {
	st := &listFreezer{Store: memstore.New()}
	s := setups[1]
	fill(t, st, s)
	// Freeze the listing, then let the sink write two more records: the
	// open object grows by one and is sealed, the next one opens. (An
	// object opened and sealed after the listing is the race the package
	// doc admits.)
	infos, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	st.frozen = infos
	sk, err := sink.New(sink.WithPrefix(prefix), sink.WithEncoder(s.enc), sink.WithFlushBytes(400))
	if err != nil {
		t.Fatal(err)
	}
	more := records(topic, 0, 16)[14:]
	if _, err := sk.Write(context.Background(), st, more); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithPartitions(0))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Partitions[0].Objects != 6 || rep.Partitions[0].Records != 16 {
		t.Errorf("partition written after the listing: %+v", rep.Partitions[0])
	}
}

type listFreezer struct {
	store.Store
	frozen []store.Info
}

func (l *listFreezer) List(ctx context.Context, p string) ([]store.Info, error) {
	if l.frozen == nil {
		return l.Store.List(ctx, p)
	}
	var out []store.Info
	for _, in := range l.frozen {
		if strings.HasPrefix(in.Key, p) {
			out = append(out, in)
		}
	}
	return out, nil
}
