package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// archivedFill writes setup s and re-writes every data object as the sink
// writes it final in class c (tags and metadata from its index).
func archivedFill(t *testing.T, s setup, c store.StorageClass) (*memstore.Store, []string) {
	t.Helper()
	st := memstore.New()
	fill(t, st, s)
	return st, fixture.ArchiveAll(t, st, prefix, c)
}

func defectCounts(rep *verify.Report) map[verify.Code]int {
	out := map[verify.Code]int{}
	for _, d := range rep.AllDefects() {
		out[d.Code] += d.Count
	}
	return out
}

// TestArchivedObjects: archived objects not restored are reported one by
// one (archived, a warning) and checked without reading; restored ones are
// read as ever; WithoutReading checks every object from names, sizes,
// indexes and tags, and passes on a good backup.
func TestArchivedObjects(t *testing.T) {
	t.Parallel()
	for _, s := range setups[1:] {
		for _, c := range []store.StorageClass{store.Archive, store.ColdArchive, store.DeepColdArchive} {
			t.Run(s.name+"/"+string(c), func(t *testing.T) {
				t.Parallel()
				st, keys := archivedFill(t, s, c)
				rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				got := defectCounts(rep)
				if rep.Total.Errors != 0 || got[verify.CodeArchived] != len(keys) || rep.Total.Archived != len(keys) || rep.Total.Unread != len(keys) {
					t.Fatalf("not restored: %v, totals %+v: %v", got, rep.Total, rep.AllDefects())
				}
				for _, d := range rep.AllDefects() {
					if d.Code == verify.CodeArchived && (!strings.Contains(d.Message, string(c)) || !strings.Contains(d.Message, "sinkctl restore")) {
						t.Fatalf("%s", d)
					}
				}
				if rep.Total.Records == 0 {
					t.Fatal("no records counted from the indexes")
				}
				records := rep.Total.Records

				nr, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithoutReading())
				if err != nil {
					t.Fatal(err)
				}
				if nr.Total.Errors != 0 || nr.Total.Warnings != 0 || nr.Total.Unread != len(keys) || nr.Total.Records != records {
					t.Fatalf("without reading: totals %+v: %v", nr.Total, nr.AllDefects())
				}

				// Restored: read and checked as any object.
				for _, k := range keys {
					if _, err := st.Restore(context.Background(), k, 1, ""); err != nil {
						t.Fatal(err)
					}
				}
				rep, err = verify.Run(context.Background(), st, verify.WithPrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				if rep.Total.Errors != 0 || rep.Total.Warnings != 0 || rep.Total.Unread != 0 || rep.Total.Records != records {
					t.Fatalf("restored: totals %+v: %v", rep.Total, rep.AllDefects())
				}
			})
		}
	}
}

// TestWithoutReadingCatches: a tag or metadata entry that is not what the
// index says, and an object whose size does not fit its index, are found
// without reading.
func TestWithoutReadingCatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(tags []store.Tag, data []byte) ([]store.Tag, []byte)
		want verify.Code
		msg  string
	}{
		{"records tag", func(tags []store.Tag, data []byte) ([]store.Tag, []byte) {
			return setTag(tags, fixture.KeyRecords, "99"), data
		}, verify.CodeTagMismatch, "records"},
		{"last offset tag", func(tags []store.Tag, data []byte) ([]store.Tag, []byte) {
			return setTag(tags, fixture.KeyLastOffset, "1"), data
		}, verify.CodeTagMismatch, "last offset"},
		{"partition tag", func(tags []store.Tag, data []byte) ([]store.Tag, []byte) {
			return setTag(tags, fixture.KeyPartition, "7"), data
		}, verify.CodeTagMismatch, "partition"},
		{"shorter", func(tags []store.Tag, data []byte) ([]store.Tag, []byte) {
			return tags, data[:len(data)-3]
		}, verify.CodeIndexInconsistent, "does not resolve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, keys := archivedFill(t, setups[1], store.ColdArchive)
			key := keys[0]
			ctx := context.Background()
			in, err := st.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Restore(ctx, key, 1, ""); err != nil {
				t.Fatal(err)
			}
			data, err := st.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			tags, data := tc.edit(in.Metadata, data)
			if err := st.Put(ctx, key, data, store.WithStorageClass(store.ColdArchive), store.WithMetadata(tags...), store.WithTags(tags...)); err != nil {
				t.Fatal(err)
			}
			rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithoutReading())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range rep.AllDefects() {
				if d.Code == tc.want && d.Object == key && strings.Contains(d.Message, tc.msg) {
					found = true
				} else if d.Severity == verify.SeverityError && d.Code != verify.CodeTagMismatch && tc.want == verify.CodeTagMismatch {
					t.Errorf("unexpected %s", d)
				}
			}
			if !found || rep.Total.Errors == 0 {
				t.Fatalf("want %s on %s: %v", tc.want, key, rep.AllDefects())
			}
		})
	}
}

func setTag(tags []store.Tag, key, value string) []store.Tag {
	out := make([]store.Tag, 0, len(tags))
	for _, t := range tags {
		if t.Key == key {
			t.Value = value
		}
		out = append(out, t)
	}
	return out
}
