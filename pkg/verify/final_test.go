package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// finalSetups are raw, jsonl and csv encodings written final
// (SINK_FINALIZE): staged, then copied whole into their data objects.
var finalSetups = []fmtSetup{
	{"raw", "raw/text;final"},
	{"jsonl-gzip", "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1;final"},
	{"csv-zstd", "csv/text;fields=offset,timestamp,key,value,headers;z=zstd-1;final"},
}

// archiveFinal re-writes key in class c as the sink's final PUT left it:
// the same bytes, user metadata, tags and content headers.
func archiveFinal(t *testing.T, st store.Store, key string, c store.StorageClass) {
	t.Helper()
	ctx := context.Background()
	data, err := st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := st.Tags(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Metadata) == 0 {
		t.Fatalf("%s has no user metadata: not written final", key)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	opts := []store.WriteOption{store.WithStorageClass(c), store.WithMetadata(info.Metadata...), store.WithTags(tags...)}
	if info.ContentType != "" {
		opts = append(opts, store.WithContentType(info.ContentType))
	}
	if info.ContentEncoding != "" {
		opts = append(opts, store.WithContentEncoding(info.ContentEncoding))
	}
	if err := st.Put(ctx, key, data, opts...); err != nil {
		t.Fatal(err)
	}
}

// TestFinalCopied: raw, jsonl and csv objects written final by the engine
// (written ones, one still staged per partition) verify without defects,
// every record counted; each is read where its bytes are (a byte changed
// in a written object or in a staging object is a CRC mismatch there);
// an archived written object is reported archived, and checked unread.
func TestFinalCopied(t *testing.T) {
	t.Parallel()
	for _, s := range finalSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			enc := s.enc(t)
			if !enc.Staged() || enc.Built() {
				t.Fatalf("%s: not a copied final encoding", s.id)
			}
			st := memstore.New()
			recs := fmtFill(t, st, enc)
			written := objectsOf(t, st, "partition_", enc.Ext())
			stages := objectsOf(t, st, ".oss_stage_", enc.Ext()+".staged")
			if len(stages) != 2 || len(written) < 4 {
				t.Fatalf("written %v, staged %v: want several written and one staged per partition", written, stages)
			}
			rep := mustRun(t, st)
			if d := rep.AllDefects(); len(d) != 0 || rep.Total.Records != int64(len(recs)) {
				t.Fatalf("%d records (want %d), defects %v", rep.Total.Records, len(recs), d)
			}

			for _, key := range []string{written[1], stages[0]} {
				mem := memstore.New()
				fmtFill(t, mem, enc)
				flip(t, mem, key, 3)
				got := defectCounts(mustRun(t, mem))
				if got[verify.CodeCRCMismatch] == 0 {
					t.Fatalf("%s changed: %v", key, got)
				}
			}

			archiveFinal(t, st, written[0], store.Archive)
			rep = mustRun(t, st)
			got := defectCounts(rep)
			if rep.Total.Errors != 0 || got[verify.CodeArchived] != 1 || len(got) != 1 || rep.Total.Records != int64(len(recs)) {
				t.Fatalf("one archived: %d records, %v: %v", rep.Total.Records, got, rep.AllDefects())
			}
			for _, d := range rep.AllDefects() {
				if d.Object != written[0] || !strings.Contains(d.Message, string(store.Archive)) {
					t.Fatalf("%s", d)
				}
			}
			if rep := mustRun(t, st, verify.WithoutReading()); rep.Total.Errors != 0 || rep.Total.Records != int64(len(recs)) {
				t.Fatalf("without reading: %d records: %v", rep.Total.Records, rep.AllDefects())
			}

			isData := func(k string) bool { return strings.Contains(k, "/partition_") }
			t.Run("finalize-pending", func(t *testing.T) {
				// Writing the data objects fails: their records stay
				// staged, read from the staging objects.
				fs := &writeFaults{Store: memstore.New(), failPut: isData}
				fmtFill(t, fs, enc)
				fs.failPut = nil
				rep := mustRun(t, fs)
				if !rep.OK() || rep.Total.Records != int64(len(recs)) {
					t.Fatalf("%d records: %v", rep.Total.Records, rep.AllDefects())
				}
				if _, ok := find(rep, verify.CodeFinalizePending, written[0]); !ok {
					t.Fatalf("no finalize_pending for %s: %v", written[0], codes(rep))
				}
				onlyCodes(t, rep, verify.CodeFinalizePending)
			})
			t.Run("finalize-cut", func(t *testing.T) {
				// Removing the staging objects fails: both exist.
				fs := &writeFaults{Store: memstore.New(), failDelete: func(k string) bool { return strings.Contains(k, ".oss_stage_") }}
				fmtFill(t, fs, enc)
				rep := mustRun(t, fs)
				if !rep.OK() || rep.Total.Records != int64(len(recs)) {
					t.Fatalf("%d records: %v", rep.Total.Records, rep.AllDefects())
				}
				if _, ok := find(rep, verify.CodeFinalizePending, written[0]); !ok {
					t.Fatalf("no finalize_pending for %s: %v", written[0], codes(rep))
				}
				onlyCodes(t, rep, verify.CodeFinalizePending)
				// The data object is not the staged bytes.
				b, err := fs.Get(context.Background(), written[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := fs.Put(context.Background(), written[0], b[:len(b)-1]); err != nil {
					t.Fatal(err)
				}
				if _, ok := find(mustRun(t, fs), verify.CodeFinalMismatch, written[0]); !ok {
					t.Fatalf("no final_mismatch for %s", written[0])
				}
			})
		})
	}
}
