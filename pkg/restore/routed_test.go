package restore_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

var shanghai = time.FixedZone("CST", 8*3600)

// routedBackup writes partitions 0 and 1 of "src" and 0 of "other" with
// the engine and the real router of template tm (fixture.RoutedRecords:
// across midnight, late records, tenants, records without one), in
// batches of 6, 3 records per object, and returns the records of src by
// partition.
func routedBackup(t *testing.T, st store.Store, enc format.Encoder, tm fixture.Template) map[int32][]events.Record {
	t.Helper()
	recs := fixture.RoutedByEngine(t, st, tm, 10, 6, []fixture.Part{{Topic: "src", P: 0, N: 45}, {Topic: "src", P: 1, N: 20}, {Topic: "other", P: 0, N: 30}},
		sink.WithPrefix("bk"), sink.WithEncoder(enc), sink.WithFlushRecords(3))
	return map[int32][]events.Record{0: recs[0], 1: recs[1]}
}

// sameRecords fails unless got holds exactly want, in order: values (nil
// for tombstones) and, unless raw, keys and headers.
func sameRecords(t *testing.T, what string, got []*sarama.ConsumerMessage, want []events.Record, raw bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d (duplicates or gaps)", what, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		ok := (g.Value == nil) == (w.Value == nil) && bytes.Equal(g.Value, w.Value)
		if !raw {
			tenant, has := fixture.Tenant(&w)
			gt := ""
			for _, h := range g.Headers {
				if string(h.Key) == "tenant" {
					gt = string(h.Value)
				}
			}
			ok = ok && bytes.Equal(g.Key, w.Key) && (gt != "") == has && gt == tenant && g.Timestamp.UnixMilli() == w.Timestamp
		}
		if !ok {
			t.Fatalf("%s record %d: key %q value %q; want offset %d key %q value %q", what, i, g.Key, g.Value, w.Offset, w.Key, w.Value)
		}
	}
}

// valid returns the records of recs that the template can place.
func valid(tm fixture.Template, recs []events.Record) (ok, invalid []events.Record) {
	for _, r := range recs {
		if _, bad := tm.Dir(&r); bad {
			invalid = append(invalid, r)
		} else {
			ok = append(ok, r)
		}
	}
	return ok, invalid
}

// TestRoutedMerge: a partition's records spread over time folders across
// midnight, tenant directories another topic shares, and
// invalidRuleData/, come back merged into offset order, exactly once; the
// other topic's objects in the shared directories are left alone.
func TestRoutedMerge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		enc  format.Encoder
		tm   fixture.Template
	}{
		{"jsonl/tenant-day", format.Encoder{Format: format.JSONL}, fixture.Template{Shared: true, Loc: shanghai}},
		{"raw/tenant-day", format.Encoder{Format: format.Raw, ValueEncoding: events.Base64}, fixture.Template{Shared: true, Loc: shanghai}},
		{"jsonl/topic-day", format.Encoder{Format: format.JSONL}, fixture.Template{Loc: shanghai}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "dst")
			st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
			want := routedBackup(t, st, tc.enc, tc.tm)
			sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"),
				restore.ChunkRecords(7), restore.Dirs(tc.tm.StaticDir("src")))
			if err != nil {
				t.Fatalf("%+v: %v", sum, err)
			}
			_, inv0 := valid(tc.tm, want[0])
			_, inv1 := valid(tc.tm, want[1])
			if sum.Records != 65 || sum.InvalidRecords != int64(len(inv0)+len(inv1)) || len(sum.Partitions) != 2 || sum.Partitions[0].Folders < 2 {
				t.Fatalf("summary %+v", sum)
			}
			if tc.tm.Shared && sum.OtherObjects == 0 {
				t.Errorf("the other topic's objects in the shared directories were not counted: %+v", sum)
			}
			raw := tc.enc.Format == format.Raw
			for p := range int32(2) {
				sameRecords(t, "dst/"+string(rune('0'+p)), kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", p), want[p], raw)
			}
		})
	}
}

// TestRoutedExcludeInvalid: --exclude-invalid leaves the records of
// invalidRuleData/ out; a later run without it produces exactly those,
// nothing twice.
func TestRoutedExcludeInvalid(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	tm := fixture.Template{Shared: true, Loc: shanghai}
	all := routedBackup(t, st, format.Encoder{Format: format.JSONL}, tm)
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.Partitions(0),
		restore.ChunkRecords(4), restore.Dirs("")}
	ok, invalid := valid(tm, all[0])
	sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.ExcludeInvalid(true))...)
	if err != nil || sum.Records != int64(len(ok)) || sum.InvalidRecords != 0 || !sum.ExcludeInvalid {
		t.Fatalf("excluded: %+v, %v", sum, err)
	}
	sameRecords(t, "dst/0 without invalid", kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0), ok, false)

	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != int64(len(invalid)) || sum.InvalidRecords != int64(len(invalid)) || sum.Skipped != int64(len(ok)) {
		t.Fatalf("then included: %+v, %v", sum, err)
	}
	sameRecords(t, "dst/0", kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0), append(ok, invalid...), false)

	sum, err = restore.Run(t.Context(), st, kafka(c), common...)
	if err != nil || sum.Records != 0 || sum.Skipped != int64(len(all[0])) {
		t.Fatalf("again: %+v, %v", sum, err)
	}
}

// TestRoutedDuplicateAcrossFolders: an offset stored in two folders fails
// the partition, naming both objects; what came before it is produced
// once, nothing twice, and a run after the copy is removed resumes.
func TestRoutedDuplicateAcrossFolders(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	tm := fixture.Template{Shared: true, Loc: shanghai}
	w := &fixture.Writer{St: st, Prefix: "bk", Enc: format.Encoder{Format: format.JSONL}, Flush: 3, Route: tm.Route}
	recs := fixture.RoutedRecords("src", 0, 0, 40, shanghai)
	for i := 0; i < len(recs); i += 6 {
		w.Write(t, "src", 0, recs[i:min(i+6, len(recs))])
	}
	// A retry that routed offset 25 elsewhere (the template changed).
	w.Route = func(*events.Record) (string, bool) { return "/tenant-z/", true }
	w.Write(t, "src", 0, recs[25:26])
	dupKey := w.Objects("src", 0)[len(w.Objects("src", 0))-1]

	// A chunk of one record: each is produced as soon as the merge hands
	// it out, so neither copy of offset 25 may be handed out.
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(1), restore.Dirs("")}
	sum, err := restore.Run(t.Context(), st, kafka(c), common...)
	if !errors.Is(err, restore.ErrPartial) || !errors.Is(sum.Partitions[0].Err(), restore.ErrRefused) ||
		!strings.Contains(err.Error(), "offset 25 is stored twice") || !strings.Contains(err.Error(), dupKey) {
		t.Fatalf("duplicate: %+v, %v", sum, err)
	}
	sameRecords(t, "dst/0 before the duplicate", kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0), recs[:25], false)

	if err := st.Delete(t.Context(), dupKey); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(t.Context(), objindex.Key(dupKey)); err != nil {
		t.Fatal(err)
	}
	if sum, err = restore.Run(t.Context(), st, kafka(c), common...); err != nil {
		t.Fatalf("after removing the copy: %+v, %v", sum, err)
	}
	sameRecords(t, "dst/0", kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0), recs, false)
}

// TestRoutedOSS: the merge through the SDK against the OSS test server;
// the listing of the shared directories holds the other topic's objects
// too.
func TestRoutedOSS(t *testing.T) {
	t.Parallel()
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "sk", ""))
	st := osskit.Store(t, srv.Endpoint(), "sink", ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"})
	c := newCluster(t, "dst")
	tm := fixture.Template{Shared: true, Loc: shanghai}
	want := routedBackup(t, st, format.Encoder{Format: format.JSONL}, tm)
	sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"),
		restore.ChunkRecords(10), restore.Dirs(""))
	if err != nil || sum.Records != 65 || sum.OtherObjects == 0 {
		t.Fatalf("%+v: %v", sum, err)
	}
	for p := range int32(2) {
		sameRecords(t, "dst/"+string(rune('0'+p)), kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", p), want[p], false)
	}
}

// TestRoutedFoldersNotSearched: a routed backup restored without the
// sink's template (folders outside the topic's directory not searched) is
// refused, naming a folder the meta object has there, before anything is
// produced: never a partial restore that looks complete.
func TestRoutedFoldersNotSearched(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	tm := fixture.Template{Shared: true, Loc: shanghai}
	routedBackup(t, st, format.Encoder{Format: format.JSONL}, tm)
	sum, err := restore.Run(t.Context(), st, kafka(c), restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"))
	if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), "--folder") || !strings.Contains(err.Error(), "bk/") {
		t.Fatalf("err = %v (summary %+v)", err, sum)
	}
	for p := range int32(2) {
		if got := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", p); len(got) != 0 {
			t.Fatalf("partition %d: %d records produced", p, len(got))
		}
	}
}
