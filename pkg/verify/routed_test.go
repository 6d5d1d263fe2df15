package verify_test

import (
	"context"
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// shanghai is from the zone database the sink embeds (route.LoadZone).
var shanghai = func() *time.Location {
	loc, err := route.LoadZone("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// routedStore is what routedFill wrote.
type routedStore struct {
	w       *fixture.Writer // nil: written by the engine
	tm      fixture.Template
	records map[string]int // by topic/partition
	invalid map[string]int
}

// routedFill writes partitions 0 and 1 of topic and 0 of "payments" with
// routing template tm (fixture.RoutedRecords: records across midnight in
// Shanghai, late ones, tenants, some without one), in batches of 6
// records, 3 records per object, folders closed past maxOpen (0: the
// engine's bound): by the engine with the real router, or with the
// fixture's Writer (for shapes the engine does not leave).
func routedFill(t *testing.T, st store.Store, s v2setup, tm fixture.Template, maxOpen int, engine bool) routedStore {
	t.Helper()
	rs := routedStore{tm: tm, records: map[string]int{}, invalid: map[string]int{}}
	parts := []fixture.Part{{Topic: topic, P: 0, N: 40}, {Topic: topic, P: 1, N: 30}, {Topic: "payments", P: 0, N: 23}}
	var written [][]events.Record
	if engine {
		opts := []sink.Option{sink.WithPrefix(prefix), sink.WithEncoder(s.enc), sink.WithFlushRecords(3)}
		if maxOpen > 0 {
			opts = append(opts, sink.WithMaxOpenFolders(maxOpen))
		}
		written = fixture.RoutedByEngine(t, st, tm, 100, 6, parts, opts...)
	} else {
		rs.w = &fixture.Writer{St: st, Prefix: prefix, Enc: s.enc, Flush: 3, Route: tm.Route, MaxOpen: maxOpen}
		for _, pt := range parts {
			recs := fixture.RoutedRecords(pt.Topic, pt.P, 100, pt.N, tm.Loc)
			for i := 0; i < len(recs); i += 6 {
				rs.w.Write(t, pt.Topic, pt.P, recs[i:min(i+6, len(recs))])
			}
			written = append(written, recs)
		}
	}
	for i, recs := range written {
		k := parts[i].Topic + "/" + string(rune('0'+parts[i].P))
		for _, r := range recs {
			if tm.Drop != nil && tm.Drop(&r) {
				continue
			}
			rs.records[k]++
			if _, invalid := tm.Dir(&r); invalid {
				rs.invalid[k]++
			}
		}
	}
	return rs
}

// objectsIn returns the data objects of partition p of topic in dir (a
// directory under the prefix), by name offset.
func objectsIn(t *testing.T, st store.Store, dir string, p int32) []string {
	t.Helper()
	var out []string
	for _, k := range keysUnder(t, st, dir, topic) {
		if _, isIndex := objindex.DataKey(k); !isIndex && path.Dir(k)+"/" == prefix+dir {
			if pp, _, _ := sink.ParseObjectName(path.Base(k)); pp == p {
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return int(nameOffset(a) - nameOffset(b)) })
	return out
}

// keysUnder lists the data and index keys of topic's objects under dir.
func keysUnder(t *testing.T, st store.Store, dir, tpc string) []string {
	t.Helper()
	infos, err := st.List(context.Background(), prefix+dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		data := in.Key
		if dk, ok := objindex.DataKey(in.Key); ok {
			data = dk
		}
		d, base := path.Split(strings.TrimPrefix(data, prefix))
		p, first, ok := sink.ParseObjectName(base)
		if ok && sink.ObjectKey(prefix, tpc, sink.FolderName(tpc, d), p, first, 0) == data {
			out = append(out, in.Key)
		}
	}
	return out
}

// TestRoutedClean: routed stores, read back clean: time folders across
// midnight (inside the topic's directory, or under tenant directories that
// topics share), invalidRuleData/, closed folders. Every run finds every
// record once, counts the invalid ones apart, and with a topic asked for
// counts the other topic's objects of the shared directories as others.
func TestRoutedClean(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tm      fixture.Template
		maxOpen int
	}{
		{"topic-day", fixture.Template{Loc: shanghai}, 0},
		{"tenant-day", fixture.Template{Shared: true, Loc: shanghai}, 0},
		{"tenant-day-closed", fixture.Template{Shared: true, Loc: shanghai}, 2},
	} {
		for _, s := range []v2setup{v2setups[0], v2setups[2]} {
			t.Run(tc.name+"/"+s.name, func(t *testing.T) {
				ctx := context.Background()
				st := memstore.New()
				rs := routedFill(t, st, s, tc.tm, tc.maxOpen, true)

				rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithChunkSize(64), verify.WithObjectDetails())
				if err != nil {
					t.Fatal(err)
				}
				if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Partitions != 3 || rep.OtherObjects != 0 {
					t.Fatalf("whole prefix: total %+v, others %d, defects %v", rep.Total, rep.OtherObjects, rep.AllDefects())
				}
				for _, p := range rep.Partitions {
					k := p.Topic + "/" + string(rune('0'+p.Partition))
					if p.Records != int64(rs.records[k]) || p.InvalidRecords != int64(rs.invalid[k]) || p.Folders < 2 || !p.ExactOffsets {
						t.Errorf("%s: records %d (want %d), invalid %d (want %d), folders %d", k, p.Records, rs.records[k],
							p.InvalidRecords, rs.invalid[k], p.Folders)
					}
				}
				if tc.tm.Shared && rep.Total.InvalidRecords == 0 {
					t.Errorf("no invalid records counted: %+v", rep.Total)
				}
				if tc.maxOpen > 0 && !closedThenNewer(rep) {
					t.Errorf("no closed object followed by a newer one in its folder")
				}

				// One topic: its own directories, and the template's.
				rep, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithTopics(topic),
					verify.WithDirFunc(func(tpc string, _ int32) []string { return []string{tc.tm.StaticDir(tpc)} }))
				if err != nil {
					t.Fatal(err)
				}
				others := 0
				for _, k := range keysUnder(t, st, "", "payments") {
					if !strings.HasPrefix(k, prefix+"payments/") && !strings.Contains(k, "/.oss_index_") {
						others++
					}
				}
				if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Partitions != 2 || rep.OtherObjects != others {
					t.Fatalf("topic %s: total %+v, others %d (want %d), dirs %q, defects %v", topic, rep.Total, rep.OtherObjects, others, rep.Dirs, rep.AllDefects())
				}
				if tc.tm.Shared && !slices.Equal(rep.Dirs, []string{topic + "/", "invalidRuleData/" + topic + "/", ""}) {
					t.Errorf("listed %q", rep.Dirs)
				}
			})
		}
	}
}

// closedThenNewer reports whether a partition of rep has a closed object
// (neither open nor sealed) followed by a newer one in its folder.
func closedThenNewer(rep *verify.Report) bool {
	for _, p := range rep.Partitions {
		for _, o := range p.ObjectList {
			if o.Open || o.Sealed {
				continue
			}
			if slices.ContainsFunc(p.ObjectList, func(n verify.ObjectReport) bool { return n.Folder == o.Folder && n.NameOffset > o.NameOffset }) {
				return true
			}
		}
	}
	return false
}

// TestRoutedClosedThenNewer: a folder closed past the bound (its object
// unsealed, no longer named by the meta object) that takes records again
// opens a newer object named by its offset: both are fine, no defect.
func TestRoutedClosedThenNewer(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	folders := []string{"dt=2026-11-24/", "/tenant-a/" + topic + "/"}
	var which []string
	w := &fixture.Writer{St: st, Prefix: prefix, Enc: v2setups[2].enc, Flush: 10,
		Route: func(r *events.Record) (string, bool) { return which[r.Offset%int64(len(which))], true }}
	recs := fixture.Records(topic, 0, 0, 30, false)
	which = folders
	w.Write(t, topic, 0, recs[:6])
	w.Close(t, topic, 0, folders[0])
	w.Write(t, topic, 0, recs[6:12])
	closed := w.Objects(topic, 0)[0]
	if w.Meta(topic, 0).Folders[folders[0]].Object == closed {
		t.Fatalf("the closed object %s is named again", closed)
	}
	rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithObjectDetails())
	if err != nil {
		t.Fatal(err)
	}
	p := partition(rep, topic, 0)
	if !rep.OK() || len(rep.AllDefects()) != 0 || p == nil || p.Objects != 3 || p.Records != 12 || p.Folders != 2 {
		t.Fatalf("total %+v, defects %v", rep.Total, rep.AllDefects())
	}
	for _, o := range p.ObjectList {
		if o.Key == closed && (o.Open || o.Sealed || o.Folder != folders[0]) {
			t.Errorf("closed object: %+v", o)
		}
	}
}

// TestRoutedDefects: what goes wrong in a routed store is found, and
// named by folder: an offset stored in two folders, a deleted object in
// one folder (its offsets exactly, those of the other folders left out),
// a folder the run did not search.
func TestRoutedDefects(t *testing.T) {
	ctx := context.Background()
	tm := fixture.Template{Shared: true, Loc: shanghai}

	t.Run("duplicate-across-folders", func(t *testing.T) {
		st := memstore.New()
		rs := routedFill(t, st, v2setups[2], tm, 0, false)
		// A retry routed offset 120 elsewhere (the template changed in
		// between): it is stored twice, in two folders.
		r := fixture.RoutedRecords(topic, 0, 120, 1, shanghai)
		rs.w.Route = func(*events.Record) (string, bool) { return "/tenant-z/", true }
		rs.w.Write(t, topic, 0, r)
		rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		var dup *verify.Defect
		for _, d := range rep.AllDefects() {
			if d.Code == verify.CodeDuplicateOffset {
				dup = &d
			}
		}
		if rep.OK() || dup == nil || dup.Offset == nil || *dup.Offset != 120 || dup.Other == "" ||
			path.Dir(dup.Object) == path.Dir(dup.Other) || !strings.Contains(dup.Object+dup.Other, "/tenant-z/") {
			t.Fatalf("defects %v", rep.AllDefects())
		}
	})

	t.Run("deleted-object", func(t *testing.T) {
		st := memstore.New()
		routedFill(t, st, v2setups[0], tm, 0, true)
		// A sealed object of one folder, with its index, that the one
		// before it is sealed with.
		var gone string
		var held []int64
		for _, dir := range []string{"tenant-a/dt=2026-11-24/", "tenant-a/dt=2026-11-25/"} {
			if objs := objectsIn(t, st, dir, 0); gone == "" && len(objs) >= 3 {
				gone = objs[1]
			}
		}
		if gone == "" {
			t.Fatal("no folder of tenant-a with 3 objects")
		}
		for _, r := range fixture.RoutedRecords(topic, 0, 100, 40, shanghai) {
			if dir, _ := tm.Dir(&r); prefix+dir == path.Dir(gone)+"/" && r.Offset >= nameOffset(gone) {
				held = append(held, r.Offset)
			}
		}
		del(t, st, gone)
		del(t, st, objindex.Key(gone))
		rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		d, ok := find(rep, verify.CodeObjectMissing, gone)
		if !ok || rep.OK() {
			t.Fatalf("no object_missing for %s: %v", gone, codes(rep))
		}
		// The records of the next object of the folder come after the
		// range; those of other folders are left out of it.
		var got []int64
		for _, rg := range d.Ranges {
			for o := rg.First; o <= rg.Last; o++ {
				got = append(got, o)
			}
		}
		// A sealed object is full: 3 records.
		if len(held) < 3 || !slices.Equal(got, held[:3]) {
			t.Fatalf("object_missing ranges %v, want the first 3 offsets of %v", d.Ranges, held)
		}
		// The meta object's count locates the same records in the union
		// of the folders.
		rm, ok := find(rep, verify.CodeRecordsMismatch, sink.MetaKey(prefix, topic, 0))
		if !ok || !slices.Equal(rm.Ranges, d.Ranges) {
			t.Errorf("records_mismatch %+v, want ranges %v", rm, d.Ranges)
		}
		for _, x := range rep.AllDefects() {
			if x.Code != verify.CodeObjectMissing && x.Code != verify.CodeRecordsMismatch {
				t.Errorf("unexpected %s", x)
			}
		}
	})

	t.Run("folder-not-listed", func(t *testing.T) {
		st := memstore.New()
		routedFill(t, st, v2setups[2], tm, 0, true)
		rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithTopics(topic))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range rep.AllDefects() {
			if d.Code == verify.CodeFolderNotListed {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no folder_not_listed: %v", codes(rep))
		}
	})
}

// TestRoutedKafkaExpected: records a filter dropped are stored nowhere;
// compared with Kafka they are missing unless WithExpected says the sink
// was configured not to store them: then they are counted as filtered,
// and the routed store (shared tenant folders, invalidRuleData/) is clean.
func TestRoutedKafkaExpected(t *testing.T) {
	const perPart = 30
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	addrs := newCluster(t, map[string]int32{topic: 2})
	drop := func(r *events.Record) bool { return r.Offset%4 == 3 }
	tm := fixture.Template{Shared: true, Loc: shanghai, Drop: drop}
	var msgs []kafkatest.Message
	var recs []events.Record
	for p := range int32(2) {
		for _, r := range fixture.RoutedRecords(topic, p, 0, perPart, shanghai) {
			// Kafka holds the records the sink stores, headers included
			// (verify compares them).
			m := kafkatest.Message{Partition: p, Key: r.Key, Value: r.Value, Timestamp: time.UnixMilli(r.Timestamp), Headers: saramaHeaders(t, r.Headers)}
			msgs = append(msgs, m)
			recs = append(recs, r)
		}
	}
	for i, off := range kafkatest.Produce(t, addrs, topic, msgs) {
		if off != recs[i].Offset {
			t.Fatalf("record %d got offset %d in Kafka, want %d", i, off, recs[i].Offset)
		}
	}
	kafkatest.CommitGroup(t, addrs, "backup", topic, map[int32]int64{0: perPart, 1: perPart})
	st := memstore.New()
	for p := range 2 {
		fixture.ByEngine(t, st, 5, recs[p*perPart:(p+1)*perPart],
			append([]sink.Option{sink.WithPrefix(prefix), sink.WithEncoder(v2setups[2].enc), sink.WithFlushRecords(4)}, tm.Engine(t)...)...)
	}
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup", IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// The predicate sees the record as the trigger delivers it: the
	// tenant header in the trigger's JSON shape.
	headers := 0
	expected := func(r *events.Record) bool {
		if _, ok := fixture.Tenant(r); ok {
			headers++
		}
		return !drop(r)
	}

	rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithKafka(k), verify.WithExpected(expected), verify.WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Filtered != 2*(perPart/4) || rep.Total.InvalidRecords == 0 || headers == 0 {
		t.Fatalf("with the filter: total %+v, headers seen %d, defects %v", rep.Total, headers, rep.AllDefects())
	}

	rep, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithKafka(k))
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		var missing []int64
		for _, d := range partition(rep, topic, p).Defects {
			if d.Code == verify.CodeMissingInStore {
				for _, rg := range d.Ranges {
					for o := rg.First; o <= rg.Last; o++ {
						missing = append(missing, o)
					}
				}
			}
		}
		var want []int64
		for o := int64(3); o < perPart; o += 4 {
			want = append(want, o)
		}
		if !slices.Equal(missing, want) || rep.OK() {
			t.Errorf("without the filter, partition %d: missing %v, want %v", p, missing, want)
		}
	}
}

// TestRoutedAdoptedPastCommitted: a routed sink commits partition-wide, and
// a folder's open object can hold records it adopted past the committed
// offset (a shorter redelivery of a batch an attempt had stored): not a
// committed_mismatch while they are within the folders' recorded last
// offsets; a closed object holding offsets past all of them is.
func TestRoutedAdoptedPastCommitted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		close bool // close folder b, which holds offset 5
		ok    bool
	}{
		{"within-folder", false, true},
		{"past-every-folder", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			w := &fixture.Writer{St: st, Prefix: prefix, Enc: v2setups[2].enc, Flush: 10,
				Route: func(r *events.Record) (string, bool) { return []string{"a/", "b/"}[r.Offset%2], true }}
			recs := fixture.Records(topic, 0, 0, 6, false)
			for i := range recs {
				recs[i].Offset = int64(i)
			}
			w.Write(t, topic, 0, recs)
			w.Meta(topic, 0).Committed = 4
			w.PutMeta(t, topic, 0)
			if tc.close {
				w.Close(t, topic, 0, "b/")
			}
			rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			_, mismatch := find(rep, verify.CodeCommittedMismatch, sink.MetaKey(prefix, topic, 0))
			if mismatch == tc.ok || (tc.ok && len(rep.AllDefects()) != 0) {
				t.Fatalf("committed_mismatch %v, want %v: %v", mismatch, !tc.ok, rep.AllDefects())
			}
		})
	}
}

// saramaHeaders returns the headers of the trigger's JSON array text.
func saramaHeaders(t *testing.T, b []byte) []sarama.RecordHeader {
	t.Helper()
	var hs []struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, &hs); err != nil {
		t.Fatalf("headers %s: %v", b, err)
	}
	var out []sarama.RecordHeader
	for _, h := range hs {
		x := sarama.RecordHeader{Key: []byte(h.Key)}
		if h.Value != nil {
			x.Value = []byte(*h.Value)
		}
		out = append(out, x)
	}
	return out
}
