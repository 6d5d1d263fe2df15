package restore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// finalSetups are raw, jsonl and csv encodings written final
// (SINK_FINALIZE): staged, then copied whole into their data objects.
var finalSetups = []struct{ name, id string }{
	{"raw", "raw/text;final"},
	{"jsonl-gzip", "jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1;final"},
	{"csv-zstd", "csv/text;fields=offset,timestamp,key,value,headers;z=zstd-1;final"},
}

// finalShape checks that the engine left, per partition, written data
// objects and one object still staged, and returns the written ones.
func finalShape(t *testing.T, st *memstore.Store) []string {
	t.Helper()
	var written []string
	stages := 0
	for _, k := range st.Keys() {
		base := k[strings.LastIndexByte(k, '/')+1:]
		switch {
		case strings.HasPrefix(base, ".oss_stage_"):
			stages++
		case strings.HasPrefix(base, "partition_"):
			written = append(written, k)
		}
	}
	if stages != parts || len(written) < 2*parts {
		t.Fatalf("%d staging objects, %d written: want one staged and several written per partition (%v)", stages, len(written), st.Keys())
	}
	return written
}

// archiveAs re-writes key in class c as the sink's final PUT left it: the
// same bytes, metadata, tags and content headers.
func archiveAs(t *testing.T, st store.Store, key string, c store.StorageClass) {
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

// TestFormatsFinal: raw, jsonl and csv objects written final are restored
// from their data objects once written and from their staging objects
// until then, each record exactly once; an archived written object is
// restored (requested) first.
func TestFormatsFinal(t *testing.T) {
	t.Parallel()
	var topics []string
	for _, s := range finalSetups {
		topics = append(topics, "dst-"+s.name, "arc-"+s.name, "pending-"+s.name, "cut-"+s.name)
	}
	c := newCluster(t, append([]string{"src"}, topics...)...)
	addrs := c.ListenAddrs()
	ms := produceRich(t, addrs, "src", 45)
	for _, s := range finalSetups {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			enc := encOf(t, s.id)
			if !enc.Staged() || enc.Built() {
				t.Fatalf("%s: not a copied final encoding", s.id)
			}
			st := memstore.New()
			backupWith(t, st, "src", enc, ms)
			written := finalShape(t, st)
			common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.ChunkRecords(4), restore.RestorePoll(time.Millisecond)}

			sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.TargetTopic("dst-"+s.name))...)
			if err != nil || sum.Records != int64(len(ms)) {
				t.Fatalf("restore: %+v, %v", sum, err)
			}
			sameRestored(t, addrs, "dst-"+s.name, enc, ms)

			archiveAs(t, st, written[0], store.Archive)
			sum, err = restore.Run(t.Context(), st, kafka(c), append(common, restore.TargetTopic("arc-"+s.name))...)
			if err != nil || sum.Records != int64(len(ms)) {
				t.Fatalf("restore with %s archived: %+v, %v", written[0], sum, err)
			}
			if a := sum.Archive; a == nil || a.Objects != 1 || a.Requested != 1 || a.Ready != 1 {
				t.Fatalf("archive summary %+v", sum.Archive)
			}
			sameRestored(t, addrs, "arc-"+s.name, enc, ms)

			// Finalizing failed (records staged, sealed) or was cut short
			// (staging and data object both exist).
			for _, fs := range []struct {
				dst string
				st  *writeFaults
			}{
				{"pending-" + s.name, &writeFaults{Store: memstore.New(), failPut: func(k string) bool { return strings.Contains(k, "/partition_") }}},
				{"cut-" + s.name, &writeFaults{Store: memstore.New(), failDelete: func(k string) bool { return strings.Contains(k, ".oss_stage_") }}},
			} {
				backupWith(t, fs.st, "src", enc, ms)
				sum, err := restore.Run(t.Context(), fs.st, kafka(c), append(common, restore.TargetTopic(fs.dst))...)
				if err != nil || sum.Records != int64(len(ms)) {
					t.Fatalf("%s: %+v, %v", fs.dst, sum, err)
				}
				sameRestored(t, addrs, fs.dst, enc, ms)
			}
		})
	}
}
