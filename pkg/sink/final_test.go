package sink_test

// Tests of SINK_FINALIZE for raw, jsonl and csv (issue 10): objects staged
// and written whole when sealed, with the storage class, encryption, tags
// and metadata of the final PUT; the sink's own objects Standard; final
// objects archived (unreadable without a restore) met again by
// redeliveries and retries; SINK_FINALIZE switched on a live partition.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// optsStore records the write options of the write that created each key.
type optsStore struct {
	store.Store
	mu      sync.Mutex
	created map[string]store.WriteOptions
}

func (s *optsStore) note(key string, opts []store.WriteOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.created == nil {
		s.created = map[string]store.WriteOptions{}
	}
	if _, ok := s.created[key]; !ok {
		s.created[key] = store.ApplyWriteOptions(opts)
	}
}

func (s *optsStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	s.note(key, opts)
	return s.Store.Put(ctx, key, data, opts...)
}

func (s *optsStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	s.note(key, opts)
	return s.Store.PutReader(ctx, key, r, size, opts...)
}

func (s *optsStore) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if pos == 0 {
		s.note(key, opts)
	}
	return s.Store.Append(ctx, key, pos, data, opts...)
}

// noCRCStore hides the CRC-64 (a store or proxy that reports none), so
// that final objects are compared by size and metadata.
type noCRCStore struct{ store.Store }

func (s noCRCStore) Stat(ctx context.Context, key string) (store.Info, error) {
	info, err := s.Store.Stat(ctx, key)
	info.CRC64, info.HasCRC64 = 0, false
	return info, err
}

// finalKeys returns the data objects of st written whole (normal objects
// beside an index), sorted.
func finalKeys(t *testing.T, st *memstore.Store) []string {
	t.Helper()
	var out []string
	for _, k := range st.Keys() {
		if strings.Contains(k, "/partition_") {
			info, err := st.Stat(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Appendable {
				out = append(out, k)
			}
		}
	}
	return out
}

// restoreAll restores every archived object of st, for the checks that
// read them back.
func restoreAll(t *testing.T, st *memstore.Store) {
	t.Helper()
	ctx := context.Background()
	for _, k := range st.Keys() {
		info, err := st.Stat(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if info.StorageClass.Archived() {
			if _, err := st.Restore(ctx, k, 1, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func metaValue(md []store.Tag, key string) string {
	for _, m := range md {
		if m.Key == key {
			return m.Value
		}
	}
	return ""
}

// TestFinalObjectAttributes: with finalize, each sealed object is written
// once, as a normal object holding exactly the staged bytes, with the
// configured class, encryption (customer key included), the sink's tags
// and SINK_TAGS, user metadata and the encoding's content headers; meta
// objects, indexes and staging objects are created Standard (explicitly:
// a bucket's default class may be an archive one), and staging objects
// get the encryption without the customer key.
func TestFinalObjectAttributes(t *testing.T) {
	ctx := context.Background()
	const id = "jsonl/text;fields=offset,key,value;z=gzip-1;final"
	mem := memstore.New()
	st := &optsStore{Store: mem}
	sk := atkSink(t, id, sink.WithFlushRecords(3), sink.WithStorageClass(store.IA), sink.WithSSE("KMS", "key-1"),
		sink.WithTags(store.Tag{Key: "team", Value: "data platform"}))
	all := stream(0, 8)
	mustWrite(t, sk, st, all[:4])
	sum := mustWrite(t, sk, st, all[4:])
	if sum.Finalized != 1 {
		t.Fatalf("finalized %d in the second batch, want 1", sum.Finalized)
	}
	atkCheck(t, mem, all)
	finals := finalKeys(t, mem)
	if len(finals) != 2 {
		t.Fatalf("final objects %v, want 2\nkeys: %v", finals, mem.Keys())
	}
	for i, k := range finals {
		info, err := mem.Stat(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		first, last := all[3*i].Offset, all[3*i+2].Offset
		if info.StorageClass != store.IA || info.SSE != "KMS" || info.SSEKeyID != "key-1" ||
			info.ContentType != "application/x-ndjson" || info.ContentEncoding != "gzip" {
			t.Errorf("%s: %+v", k, info)
		}
		for key, want := range map[string]string{"first-offset": fmt.Sprint(first), "last-offset": fmt.Sprint(last), "records": "3",
			"topic": topic, "partition": "0", "encoding": id} {
			if got := metaValue(info.Metadata, key); got != want {
				t.Errorf("%s: metadata %s = %q, want %q", k, key, got, want)
			}
		}
		tags, err := mem.Tags(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Tag{{Key: "compression", Value: "gzip"}, {Key: "first-offset", Value: fmt.Sprint(first)}, {Key: "format", Value: "jsonl"},
			{Key: "last-offset", Value: fmt.Sprint(last)}, {Key: "partition", Value: "0"}, {Key: "records", Value: "3"},
			{Key: "team", Value: "data platform"}, {Key: "topic", Value: topic}}
		if !slices.Equal(tags, want) {
			t.Errorf("%s: tags %v, want %v", k, tags, want)
		}
		if _, err := mem.Stat(ctx, sink.StageKey(k)); !store.IsNotFound(err) {
			t.Errorf("%s: staging object left: %v", k, err)
		}
	}
	for k, wo := range st.created {
		_, isStage := sink.StageData(k)
		_, isIndex := objindex.DataKey(k)
		switch {
		case strings.Contains(k, ".oss_meta_file_"), isIndex:
			if wo.StorageClass != store.Standard || wo.SSE != "" || len(wo.Tags) > 0 {
				t.Errorf("%s created with %+v, want Standard and nothing else", k, wo)
			}
		case isStage:
			if wo.StorageClass != store.Standard || wo.SSE != "KMS" || wo.SSEKeyID != "" || len(wo.Tags) > 0 {
				t.Errorf("staging object %s created with %+v, want Standard, KMS without a key id", k, wo)
			}
		default:
			if !wo.NoOverwrite || wo.StorageClass != store.IA {
				t.Errorf("data object %s created with %+v", k, wo)
			}
		}
	}
}

// TestAppendableClassAndSSE: without finalize, the class (IA, Archive) and
// the encryption go on the append that creates the data object, as OSS
// applies them; the index and meta object stay Standard.
func TestAppendableClassAndSSE(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	st := &optsStore{Store: mem}
	sk := atkSink(t, "csv/text;fields=offset,value", sink.WithFlushRecords(3), sink.WithStorageClass(store.IA), sink.WithSSE("SM4", ""))
	all := stream(0, 7)
	mustWrite(t, sk, st, all)
	atkCheck(t, mem, all)
	n := 0
	for k, wo := range st.created {
		if _, isIndex := objindex.DataKey(k); isIndex || strings.Contains(k, ".oss_meta_file_") {
			if wo.StorageClass != store.Standard {
				t.Errorf("%s created with %+v", k, wo)
			}
			continue
		}
		n++
		info, err := mem.Stat(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Appendable || info.StorageClass != store.IA || info.SSE != "SM4" || info.ContentType != "text/csv; charset=utf-8" {
			t.Errorf("%s: %+v", k, info)
		}
	}
	if n != 3 {
		t.Fatalf("%d data objects, want 3: %v", n, mem.Keys())
	}
}

// TestWriteOptionsRefused: the settings OSS would refuse are refused when
// the sink is built, with the reason.
func TestWriteOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sink.Option
		want string
	}{
		{"ColdArchive without finalize", []sink.Option{sink.WithStorageClass(store.ColdArchive)}, "needs finalize"},
		{"DeepColdArchive without finalize", []sink.Option{sink.WithStorageClass(store.DeepColdArchive)}, "needs finalize"},
		{"KMS key without finalize", []sink.Option{sink.WithSSE("KMS", "k")}, "customer KMS key needs finalize"},
		{"key without KMS", []sink.Option{sink.WithFinalize(true), sink.WithSSE("AES256", "k")}, "needs the encryption KMS"},
		{"unknown SSE", []sink.Option{sink.WithSSE("DES", "")}, "unknown server-side encryption"},
		{"too many tags", []sink.Option{sink.WithTags(store.Tag{Key: "a"}, store.Tag{Key: "b"}, store.Tag{Key: "c"}, store.Tag{Key: "d"})}, "leaves 3"},
		{"the sink's own tag", []sink.Option{sink.WithTags(store.Tag{Key: "records", Value: "1"})}, "one the sink sets itself"},
		{"bad tag value", []sink.Option{sink.WithTags(store.Tag{Key: "a", Value: "x;y"})}, "letters, digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.New(append([]sink.Option{sink.WithEncoder(mustEnc("raw/text"))}, tc.opts...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	for _, opts := range [][]sink.Option{
		{sink.WithFinalize(true), sink.WithStorageClass(store.ColdArchive), sink.WithSSE("KMS", "k")},
		{sink.WithEncoder(mustEnc("parquet/text;fields=offset")), sink.WithStorageClass(store.DeepColdArchive), sink.WithSSE("KMS", "k")},
		{sink.WithStorageClass(store.Archive), sink.WithSSE("KMS", "")},
	} {
		if _, err := sink.New(opts...); err != nil {
			t.Errorf("New: %v", err)
		}
	}
}

// TestArchivedFinalsRedelivered: final objects in an archive class (which
// memstore, like OSS, refuses to read until restored) are never read: a
// redelivery of their records is checked against the index, a retry after
// a kill between the final PUT and the stage's removal compares the object
// by its CRC-64 (or, without one, its size and metadata), and Parquet by
// its metadata. Every record is stored once.
func TestArchivedFinalsRedelivered(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 14)
	for _, tc := range []struct {
		name  string
		id    string
		class store.StorageClass
		noCRC bool
	}{
		{"jsonl/gzip/Archive", "jsonl/text;fields=offset,key,value;z=gzip-1;final", store.Archive, false},
		{"raw/ColdArchive/no-crc", "raw/text;final", store.ColdArchive, true},
		{"csv/zstd/DeepColdArchive", "csv/text;fields=offset,value;z=zstd-1;final", store.DeepColdArchive, false},
		{"parquet/ColdArchive", "parquet/text;fields=offset,key,value", store.ColdArchive, false},
		{"parquet/Archive/no-crc", "parquet/base64;fields=value", store.Archive, true},
		// Appendable objects in Archive: recovery and the duplicate
		// check fall back to the index too.
		{"appendable/jsonl/Archive", "jsonl/text;fields=offset,key,value", store.Archive, false},
		{"appendable/raw/gzip/Archive", "raw/text;z=gzip-1", store.Archive, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk := atkSink(t, tc.id, sink.WithFlushRecords(3), sink.WithStorageClass(tc.class))
			wrap := func(s store.Store) store.Store {
				if tc.noCRC {
					return noCRCStore{s}
				}
				return s
			}
			mem := memstore.New()
			st := wrap(mem)
			mustWrite(t, sk, st, all[:5])
			mustWrite(t, sk, st, all[5:9])
			// Redeliveries reaching back into archived objects: the same
			// batches, and one across both.
			for _, b := range [][2]int{{0, 5}, {5, 9}, {1, 8}} {
				sum := mustWrite(t, sk, st, all[b[0]:b[1]])
				if sum.Duplicates != b[1]-b[0] {
					t.Fatalf("redelivery %v: %+v", b, sum)
				}
			}
			// Kill at every request of a batch that finalizes, and retry.
			counter := &rvChaos{Store: st}
			mustWrite(t, sk, counter, all[9:12])
			for n := 0; n < counter.total; n++ {
				for _, kind := range []rvKind{rvFailAfter, rvKillAfter, rvKillBefore} {
					m2 := memstore.New()
					s2 := wrap(m2)
					mustWrite(t, sk, s2, all[:5])
					mustWrite(t, sk, s2, all[5:9])
					ch := &rvChaos{Store: s2, faults: []rvFault{{"", n, kind}}}
					if _, err := sk.Write(ctx, ch, all[9:12]); err != nil && !errors.Is(err, rvErrInjected) && !errors.Is(err, rvErrKilled) {
						t.Fatalf("%v at %d: %v", kind, n, err)
					}
					mustWrite(t, sk, s2, all[9:12])
					mustWrite(t, sk, s2, all[12:])
					mustWrite(t, sk, s2, all[3:13]) // duplicates across archived objects
					restoreAll(t, m2)
					atkCheck(t, m2, all)
				}
			}
			if !strings.HasPrefix(tc.name, "appendable") {
				for _, k := range finalKeys(t, mem) {
					info, _ := mem.Stat(ctx, k)
					if info.StorageClass != tc.class || info.Restore != store.RestoreNone {
						t.Fatalf("%s: %+v", k, info)
					}
				}
			}
		})
	}
}

// TestFinalizeSwitched: SINK_FINALIZE turned on and off on a live
// partition (and SINK_FORMAT with it) seals the open object and goes on in
// a new one: no object mixes staged and appended records, every data
// object is a normal object exactly when its records were staged, and
// every record is stored once — also when the switch meets an object
// announced (named) but empty, and under a fault in the batch that
// switches.
func TestFinalizeSwitched(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 20)
	ids := []string{"jsonl/text;fields=offset,value", "jsonl/text;fields=offset,value;final", "jsonl/text;fields=offset,value",
		"raw/text;final", "raw/text", "jsonl/text;fields=offset,value;final"}
	cuts := []int{0, 3, 6, 10, 13, 16, 20}
	for _, flush := range []int64{3, 0} {
		for fault := -1; fault < 12; fault++ {
			st := memstore.New()
			for i, id := range ids {
				opts := []sink.Option{}
				if flush > 0 {
					opts = append(opts, sink.WithFlushRecords(flush))
				}
				sk := atkSink(t, id, opts...)
				batch := all[cuts[i]:cuts[i+1]]
				if fault >= 0 && i == 1 {
					ch := &rvChaos{Store: st, faults: []rvFault{{"", fault, rvKind(fault % 4)}}}
					_, _ = sk.Write(ctx, ch, batch)
				}
				mustWrite(t, sk, st, batch)
			}
			mustWrite(t, atkSink(t, ids[len(ids)-1], sink.WithFlushRecords(1)), st, all[len(all)-1:])
			what := fmt.Sprintf("flush %d, fault %d", flush, fault)
			parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
			if err != nil {
				t.Fatalf("%s: %v\nkeys: %v", what, err, st.Keys())
			}
			if err := sinktest.Check(ctx, st, "backup", topic, rawOffset, offsets(all)); err != nil {
				t.Fatalf("%s: %v\nkeys: %v", what, err, st.Keys())
			}
			for _, o := range parts[0].Objects {
				encs := indexEncodings(t, st, o.Key)
				if len(encs) != 1 {
					t.Fatalf("%s: %s mixes encodings %v", what, o.Key, encs)
				}
				if o.Staged {
					continue
				}
				info, err := st.Stat(ctx, o.Key)
				if err != nil {
					t.Fatal(err)
				}
				if final := strings.HasSuffix(encs[0], ";final"); final == info.Appendable {
					t.Fatalf("%s: %s in %s is appendable: %v", what, o.Key, encs[0], info.Appendable)
				}
			}
		}
	}
}

// indexEncodings returns the distinct encodings of the appends key's index
// announces.
func indexEncodings(t *testing.T, st store.Store, key string) []string {
	t.Helper()
	b, err := st.Get(context.Background(), objindex.Key(key))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := objindex.ParseAll(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Append != nil && !slices.Contains(out, e.Append.Enc) {
			out = append(out, e.Append.Enc)
		}
	}
	return out
}

// TestFinalRacingInvocations: invocations racing on one partition
// (review_race_test.go) with raw, jsonl and csv staged and written whole
// (SINK_FINALIZE), with faults and stale meta PUTs landing late (one
// encoding per seed). A partition may stop
// (ErrConflict); no record may be lost or stored twice.
func TestFinalRacingInvocations(t *testing.T) {
	t.Run("final", func(t *testing.T) {
		encs := []format.Encoder{
			mustEnc("jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1;final"),
			mustEnc("csv/text;fields=offset,key,value;z=zstd-1;final"),
			mustEnc("raw/text;final"),
		}
		rvRunRace(t, rvRaceParams{faults: true, staleMeta: true, encs: encs}, rvN(200, 40))
	})
}

// TestFinalRebuiltWithoutMeta: the meta object lost (or the first batch
// given up on) with objects written whole, staged and appendable ones
// (SINK_FINALIZE switched): the state is rebuilt from their indexes, each
// read where its records are, and nothing is written twice.
func TestFinalRebuiltWithoutMeta(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 12)
	for _, ids := range [][2]string{
		{"jsonl/text;fields=offset,value;z=gzip-1;final", "jsonl/text;fields=offset,value;z=gzip-1;final"},
		{"jsonl/text;fields=offset,value;z=gzip-1", "jsonl/text;fields=offset,value;z=gzip-1;final"},
		{"raw/text;final", "raw/text"},
	} {
		st := memstore.New()
		mustWrite(t, atkSink(t, ids[0], sink.WithFlushRecords(3)), st, all[:5])
		if err := st.Delete(ctx, sink.MetaKey("backup/", topic, 0)); err != nil {
			t.Fatal(err)
		}
		sk := atkSink(t, ids[1], sink.WithFlushRecords(3))
		sum := mustWrite(t, sk, st, all[3:9])
		if sum.Duplicates != 2 {
			t.Fatalf("%v: %+v", ids, sum)
		}
		mustWrite(t, sk, st, all[9:])
		atkCheck(t, st, all)
	}
}

// smallReadStore streams PutReader bodies 100 bytes at a time (as an HTTP
// client reads a body in small pieces) and counts the ranged reads of
// staging objects meanwhile.
type smallReadStore struct {
	store.Store
	mu        sync.Mutex
	putting   bool
	stageGets int
}

func (s *smallReadStore) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	s.mu.Lock()
	if _, ok := sink.StageData(key); ok && s.putting {
		s.stageGets++
	}
	s.mu.Unlock()
	return s.Store.GetRange(ctx, key, off, n)
}

func (s *smallReadStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	s.mu.Lock()
	s.putting = true
	s.mu.Unlock()
	var buf strings.Builder
	_, err := io.CopyBuffer(&buf, io.NewSectionReader(r, 0, size), make([]byte, 100))
	s.mu.Lock()
	s.putting = false
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.Put(ctx, key, []byte(buf.String()), opts...)
}

// TestFinalCopyReadsChunks: the staged bytes are copied by ranged reads of
// a whole read chunk each, however little the store's body reader asks
// for at once: requests grow with the object's size over the chunk, not
// over the reader's buffer.
func TestFinalCopyReadsChunks(t *testing.T) {
	mem := memstore.New()
	st := &smallReadStore{Store: mem}
	const chunk = 1024
	sk := atkSink(t, "jsonl/text;fields=offset,key,value;final", sink.WithFlushRecords(60), sink.WithReadChunk(chunk))
	all := stream(0, 60)
	sum := mustWrite(t, sk, st, all)
	if sum.Finalized != 1 {
		t.Fatalf("%+v", sum)
	}
	atkCheck(t, mem, all)
	finals := finalKeys(t, mem)
	info, _ := mem.Stat(context.Background(), finals[0])
	if want := int(info.Size+chunk-1) / chunk; st.stageGets != want {
		t.Fatalf("%d ranged reads of the stage for %d bytes, want %d (chunks of %d)", st.stageGets, info.Size, want, chunk)
	}
}

// TestTinyRecordsCompressed: thousands of empty records compress into a
// member of a few dozen bytes, fewer than the records: the meta object
// that records such an object (open, or listed to finalize) must still
// be accepted by the next batch.
func TestTinyRecordsCompressed(t *testing.T) {
	for _, id := range []string{"raw/text;z=gzip-1", "raw/text;z=zstd-1;final", "csv/text;fields=value;z=gzip-1;final"} {
		st := memstore.New()
		var recs []events.Record
		for i := 0; i < 3000; i++ {
			recs = append(recs, events.Record{Topic: topic, Partition: 0, Offset: int64(i), Timestamp: 1, ValueKind: events.ValueNull})
		}
		sk := atkSink(t, id, sink.WithFlushRecords(2000))
		mustWrite(t, sk, st, recs[:2000])
		mustWrite(t, sk, st, recs[2000:])
		mustWrite(t, sk, st, recs[1500:2500]) // duplicates
		if err := sinktest.Check(context.Background(), st, "backup", topic, nil, offsets(recs)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}
