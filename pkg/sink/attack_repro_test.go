package sink_test

// Findings of the adversarial review of the formats (issue 9), each a
// minimal reproduction. Those fixed in this branch pass; a design-level one
// is skipped with its reason (see its comment).

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// TestAttackStrayStageFormatChanged: the first batch of a partition in
// Parquet stages its records, and its meta PUT fails; SINK_FORMAT changes
// to jsonl before the redelivery. Without a meta object the redelivery
// looks for what the failed attempt left — but lists staging objects only
// when today's encoding is staged, so it misses the stage and writes the
// records again.
func TestAttackStrayStageFormatChanged(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 6)
	st := memstore.New()
	pq := atkSink(t, "parquet/text;fields=offset,value")
	if _, err := pq.Write(ctx, v2FailMeta(st, 0), all[:4]); err == nil {
		t.Fatal("the meta PUT did not fail")
	}
	js := atkSink(t, "jsonl/text;fields=offset,value")
	mustWrite(t, js, st, all[:4])
	mustWrite(t, js, st, all[4:])
	atkCheck(t, st, all)
}

// TestAttackStrayStageFormatChangedNewEpoch: the same in a new epoch
// (StartEpoch leaves no current object): chainStart's search for a stray
// object of the failed attempt misses the staging object.
func TestAttackStrayStageFormatChangedNewEpoch(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 6)
	st := memstore.New()
	mustWrite(t, atkSink(t, "raw/text"), st, recreated(all))
	if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
		t.Fatal(err)
	}
	pq := atkSink(t, "parquet/text;fields=offset,value")
	if _, err := pq.Write(ctx, v2FailMeta(st, 0), all[:4]); err == nil {
		t.Fatal("the meta PUT did not fail")
	}
	js := atkSink(t, "jsonl/text;fields=offset,value")
	mustWrite(t, js, st, all[:4])
	mustWrite(t, js, st, all[4:])
	atkCheck(t, st, all)
}

// TestAttackStartEpochAfterGivenUpBatch: with Parquet, StartEpoch seals
// the open staged object. A batch the trigger gave up on (ErrorsTolerance
// ALL) after its appends landed leaves the index longer than recorded, and
// then the topic is recreated: every batch fails with ErrOffsetsReset (so
// none can succeed and bring the state up to the index), and StartEpoch,
// sealing at the size the meta object records, refused with ErrConflict:
// the partition was stuck. StartEpoch now replays the index first, adopts
// what landed into the ended epoch and seals after it (more variants in
// epoch_replay_test.go).
func TestAttackStartEpochAfterGivenUpBatch(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	st := memstore.New()
	pq := atkSink(t, "parquet/text;fields=offset,value")
	mustWrite(t, pq, st, all[:4])
	if _, err := pq.Write(ctx, v2FailMeta(st, 0), all[4:6]); err == nil {
		t.Fatal("the meta PUT did not fail")
	}
	// The trigger gives up on all[4:6]; the topic is recreated.
	if _, err := pq.Write(ctx, st, recreated(all[:3])); !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("recreated topic: %v, want ErrOffsetsReset", err)
	}
	if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", rvBase); err != nil {
		t.Fatalf("StartEpoch: %v", err)
	}
	mustWrite(t, pq, st, recreated(all[:3]))
	su := setup{name: "parquet", enc: mustEnc("parquet/text;fields=offset,value"), offsetOf: rawOffset}
	atkCheckAll(t, su, st, recreated(all[:3]), rvOffsets(all[:6]), "new epoch")
}

// TestAttackParquetWithoutOffsetKilledAfterPut: SINK_FIELDS without
// offset. The invocation that seals a Parquet object is killed after its
// PUT, before the staging object is removed; the next batch finds the data
// object written and checks it holds the staged records — by their first
// and last offsets, which a file without an offset column does not have:
// it is taken for a foreign object (ErrConflict), left to finalize forever,
// and its staging object is never removed.
func TestAttackParquetWithoutOffsetKilledAfterPut(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	st := memstore.New()
	pq := atkSink(t, "parquet/text;fields=key,value", sink.WithFlushRecords(3))
	ch := &rvChaos{Store: st, faults: []rvFault{{"PutReader", 0, rvKillAfter}}}
	_, _ = pq.Write(ctx, ch, all[:4]) // killed: the trigger redelivers
	sum := mustWrite(t, pq, st, all[:4])
	if sum.Unfinalized != 0 || sum.Finalized != 1 {
		t.Fatalf("redelivery: finalized %d, unfinalized %d, want 1, 0", sum.Finalized, sum.Unfinalized)
	}
	mustWrite(t, pq, st, all[4:])
	atkCheck(t, st, all)
}

// TestAttackClosedStagedFolderVoidAnnouncement: routed Parquet with one
// open folder. A batch announces an append to folder m=1/'s staged object
// (the index entry lands, its reply is lost) and the trigger gives up on
// it. The next batch has no record for m=1/ and closes it: settle replays
// the index, gives the announcement up and records the index length before
// it — and sealClosed then writes the seal at that length, finds the
// announcement there, and refuses (ErrConflict) in every later batch: the
// object is never written and its stage never removed.
func TestAttackClosedStagedFolderVoidAnnouncement(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 16)
	su := setup{name: "routed", enc: mustEnc("parquet/text;fields=offset,key,value;z=zstd-1"), offsetOf: rawOffset,
		opts: []sink.Option{sink.WithRouter(modRouter{}), sink.WithFilter(routedKeep), sink.WithMaxOpenFolders(1)}, stored: routedKeep}
	sk := newSink(t, su)
	st := memstore.New()
	mustWrite(t, sk, st, all[:4]) // m=1/ is open, with offset 13
	ch := &rvChaos{Store: st, faults: []rvFault{{"Append", 0, rvFailAfter}}}
	if _, err := sk.Write(ctx, ch, all[4:12]); !errors.Is(err, rvErrInjected) || !strings.Contains(ch.trace[2], "m=1/.oss_index_") {
		t.Fatalf("%v %v", err, ch.trace)
	}
	// Given up on; the next batches have no record for m=1/ until 31.
	mustWrite(t, sk, st, all[12:15])
	mustWrite(t, sk, st, all[15:])
	mustWrite(t, sk, st, all[15:])
	atkCheckGivenUp(t, su, st, all, map[int64]bool{16: true, 17: true, 18: true, 19: true, 20: true, 23: true, 24: true, 25: true}, "")
}

// TestAttackFinalizedStageTransientLookupConflict: a redelivery repeats
// records of a Parquet object already written (its stage removed). The
// duplicate check reads the stage, finds it missing, and looks the data
// object up; when that lookup fails (a 5xx, a timeout), it went on to
// diagnose the missing stage as deleted behind the sink's back: ErrConflict,
// a permanent stop, for a transient failure (dupcheck.go, sameInAppends).
func TestAttackFinalizedStageTransientLookupConflict(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 6)
	st := memstore.New()
	pq := atkSink(t, "parquet/base64;fields=key,value", sink.WithFlushRecords(2))
	mustWrite(t, pq, st, all[:4]) // two objects written, the third named
	if keys := atkKeys(st, ".oss_stage_"); len(keys) != 0 {
		t.Fatalf("stages left: %v", keys)
	}
	// The redelivery's third Stat is the data object's, after the stage
	// was found missing (the first two are the indexes').
	ch := &rvChaos{Store: st, faults: []rvFault{{"Stat", 2, rvFailBefore}}}
	if _, err := pq.Write(ctx, ch, all[:5]); !errors.Is(err, rvErrInjected) || errors.Is(err, sink.ErrConflict) || !strings.HasPrefix(ch.trace[8], "Stat backup/orders/partition_0_offset_10_") {
		t.Fatalf("got %v, want the injected (transient) failure\nrequests: %v", err, ch.trace)
	}
	mustWrite(t, pq, st, all[:5])
	mustWrite(t, pq, st, all[5:])
	atkCheck(t, st, all)
}

// TestAttackCheckBuiltReadsBounded: every recovery read is at most the
// read chunk (WithReadChunk), but the check of an already written Parquet
// object (finalExists, after a kill between its PUT and the stage's
// removal) read whatever the Parquet reader asked for at once: the
// footer, the offset column's pages (finalize.go, checkBuilt; now a blockReaderAt).
func TestAttackCheckBuiltReadsBounded(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 40)
	st := memstore.New()
	pq := atkSink(t, atkPQ, sink.WithFlushRecords(30), sink.WithReadChunk(64))
	ch := &rvChaos{Store: st, faults: []rvFault{{"PutReader", 0, rvKillAfter}}}
	_, _ = pq.Write(ctx, ch, all[:35])
	mr := &v2MaxRead{Store: st}
	sum := mustWrite(t, pq, mr, all[:35])
	if sum.Finalized != 1 || mr.max > 64 {
		t.Fatalf("finalized %d; largest ranged read %d bytes, read chunk 64", sum.Finalized, mr.max)
	}
	mustWrite(t, pq, st, all[35:])
	atkCheck(t, st, all)
}

// TestAttackClosedFolderUnreadNextObjectFormatChanged: routed, one open
// folder, one record per object. An attempt stores offset 10 in k=a/'s
// object, seals it, stores 11 in the next (k=a/…_11.csv) and is killed. A
// shorter redelivery (only 10), with SINK_FORMAT changed, replays k=a/'s
// index, follows the seal to …_11.csv and stops there, its batch done:
// the folder counts as complete although nothing of …_11.csv's index was
// read, and closeFolders closes it. Offset 11 then opens a new object,
// …_11.jsonl.gz — another name than the stored one, so no fence catches
// it — and 11 is stored twice. (Without the format change the name is the
// same and the fence reveals the stored record.) partition.go, touched;
// replay.go, the seal followed.
func TestAttackClosedFolderUnreadNextObjectFormatChanged(t *testing.T) {
	ctx := context.Background()
	var all []events.Record
	for i, k := range []string{"a", "a", "b"} {
		r := rec(0, int64(10+i))
		r.Key = []byte(k)
		all = append(all, r)
	}
	routed := func(enc string) *sink.Sink {
		return atkSink(t, enc, sink.WithRouter(keyRouter{}), sink.WithMaxOpenFolders(1), sink.WithFlushRecords(1))
	}
	st := memstore.New()
	ch := &rvChaos{Store: st, faults: []rvFault{{"Append", 4, rvKillAfter}}}
	if _, err := routed("csv/text;fields=offset,value").Write(ctx, ch, all); !errors.Is(err, rvErrKilled) ||
		!strings.HasSuffix(ch.trace[len(ch.trace)-1], "k=a/partition_0_offset_11_5b3cbadc.csv [kill-after]") {
		t.Fatalf("%v %v", err, ch.trace)
	}
	js := routed("jsonl/text;fields=offset,value;z=gzip-1")
	mustWrite(t, js, st, all[:1])
	mustWrite(t, js, st, all[1:])
	v2AtMostOnceInOrder(t, st, "backup", topic, rvOffsets(all))
}

// TestAttackSealCycleFormatSwappedBack: an object with no records yet is
// sealed at 0 when it is named for another format, naming the object of
// the same offset in today's format. SINK_FORMAT changed, and changed back
// while the batch keeps failing, makes two such objects name each other:
// the Parquet object for offset 11 is sealed toward its jsonl twin, whose
// attempt fails, and the next attempt (Parquet again) seals the jsonl one
// back toward the Parquet one. Every later attempt follows the two seals
// round and round until its deadline: the partition never moves again
// (folder.go, step/seal; replay.go follows any seal to an object of the
// same offset and another name).
func TestAttackSealCycleFormatSwappedBack(t *testing.T) {
	all := stream(0, 4)
	st := memstore.New()
	pq := atkSink(t, atkPQ, sink.WithFlushRecords(1))
	js := atkSink(t, "jsonl/text;fields=offset,value", sink.WithFlushRecords(1))
	mustWrite(t, pq, st, all[:1]) // sealed when full: the next object, for 11, is named
	ctx := context.Background()
	// jsonl: the Parquet object for 11 is sealed at 0 toward …_11.jsonl,
	// whose first entry fails.
	ch := &rvChaos{Store: st, faults: []rvFault{{"Append", 1, rvFailBefore}}}
	if _, err := js.Write(ctx, ch, all[1:2]); !errors.Is(err, rvErrInjected) {
		t.Fatalf("%v %v", err, ch.trace)
	}
	for _, sk := range []*sink.Sink{pq, js, pq} {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := sk.Write(ctx, st, all[1:])
		cancel()
		if err != nil {
			t.Fatalf("redelivery: %v", err)
		}
	}
	atkCheck(t, st, all)
}

// TestAttackFinalizedParquetRecreatedTopicTakenForDuplicates: a recreated
// topic whose records have the sizes and timestamps of the old ones
// (fixed-width values, event times kept by a replaying producer) meets
// records in a Parquet object already written, whose stage is gone. The
// duplicate check once compared only staged sizes and the append's
// timestamps there, and dropped such records as duplicates; it now compares
// them with the rows of the Parquet object (dupcheck.go, sameInBuilt), as
// raw, jsonl and csv objects are compared byte for byte: ErrOffsetsReset
// for all. (TestBuiltDuplicatesComparedByContent covers the encodings.)
func TestAttackFinalizedParquetRecreatedTopicTakenForDuplicates(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 9)
	again := make([]events.Record, len(all))
	for i, r := range all {
		r.Value = []byte(strings.Replace(string(r.Value), "p0-", "q0-", 1)) // same length
		again[i] = r
	}
	for _, enc := range []string{"raw/text", "csv/text;fields=offset,value", atkPQ} {
		st := memstore.New()
		sk := atkSink(t, enc, sink.WithFlushRecords(3))
		mustWrite(t, sk, st, all)
		if _, err := sk.Write(ctx, st, again[:6]); !errors.Is(err, sink.ErrOffsetsReset) {
			t.Errorf("%s: a recreated topic's records at stored offsets: %v, want ErrOffsetsReset", enc, err)
		}
	}
}

// TestAttackRoutedParquetHourNeverWritten: Parquet objects become readable
// when sealed, and a routed folder's object is sealed by its own records
// only (full, or a later record SINK_FLUSH_INTERVAL newer) or when the
// folder is closed past MaxOpenFolders. With an hourly template the hour's
// folder gets no later record: its object stays staged (invisible to
// engines) until 100 more folders opened, 100 hours later, though its
// records are far older than SINK_FLUSH_INTERVAL. Design-level (record-time
// age, by design never the clock; route.go, closeFolders).
func TestAttackRoutedParquetHourNeverWritten(t *testing.T) {
	t.Skip("design-level: a routed folder's staged object is sealed only by its own records or the folder bound; see the comment")
	router, err := route.New("{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	sk := atkSink(t, atkPQ, sink.WithRouter(router), sink.WithFlushInterval(10*time.Minute))
	st := memstore.New()
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var all []events.Record
	for i := 0; i < 4*12; i++ { // four hours, one record per 5 minutes
		r := rec(0, int64(10+i))
		r.Timestamp = base.Add(time.Duration(i) * 5 * time.Minute).UnixMilli()
		all = append(all, r)
	}
	for i := 0; i < len(all); i += 6 {
		mustWrite(t, sk, st, all[i:i+6])
	}
	// Three hours later, the first hour's records are not in a Parquet
	// object yet.
	if stages := atkKeys(st, "hh=00/.oss_stage_"); len(stages) > 0 {
		t.Fatalf("three hours on, records of hh=00 are still staged, in no Parquet object: %v", stages)
	}
}

// TestAttackListingBetweenFinalizeSteps: the duplicate check lists a
// folder's data objects, then its staging objects. An invocation racing on
// the partition (a timed-out one still running) that writes a Parquet
// object and removes its stage between the two listings makes the object
// invisible to both: its records are "not stored, before every data
// object" and the batch fails with ErrOffsetsReset, a permanent stop,
// although nothing is wrong (folder.go, listData: staging objects must be
// listed first, since a data object is written before its stage goes).
func TestAttackListingBetweenFinalizeSteps(t *testing.T) {
	ctx := context.Background()
	var all []events.Record // offsets of one digit: the listing has one round
	for off := int64(0); off < 8; off++ {
		all = append(all, rec(0, off))
	}
	st := memstore.New()
	sk := atkSink(t, atkPQ, sink.WithFlushRecords(3))
	mustWrite(t, sk, st, all[:2])
	ready, resume, done := make(chan struct{}), make(chan struct{}), make(chan error)
	// A seals the object (3 records) and is held before its PUT.
	a := &rvChaos{Store: st}
	a.hook = func(method, _ string) {
		if method == "PutReader" {
			close(ready)
			<-resume
		}
	}
	go func() { _, err := sk.Write(ctx, a, all[2:4]); done <- err }()
	<-ready
	// B redelivers all[:4] (A's meta object is written): its check of the
	// repeated records lists the folder; A finishes between the listings.
	lists := 0
	b := &rvChaos{Store: st}
	b.hook = func(method, _ string) {
		if method == "List" {
			if lists++; lists == 2 {
				close(resume)
				if err := <-done; err != nil {
					t.Errorf("A: %v", err)
				}
			}
		}
	}
	if _, err := sk.Write(ctx, b, all[:4]); err != nil {
		t.Fatalf("B: %v\nrequests: %v", err, b.trace)
	}
	if lists < 2 {
		t.Fatalf("B listed %d times: %v", lists, b.trace)
	}
	mustWrite(t, sk, st, all[4:])
	atkCheck(t, st, all)
}

// TestAttackStaleMetaReplaysWrittenParquet: a meta PUT of an earlier
// invocation lands late (package doc, "The assumption"), so the state is
// behind the index of a Parquet object that has since been sealed, written
// and its stage removed. The next batch replays that index and reads the
// staged bytes of the appends it finds — from a stage that is gone: it
// failed with the store's not-found, every time (replay.go, land; the
// data object was built from those bytes and checked when written).
func TestAttackStaleMetaReplaysWrittenParquet(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 10)
	st := memstore.New()
	sk := atkSink(t, atkPQ, sink.WithFlushRecords(3))
	mustWrite(t, sk, st, all[:2])
	metaKey := sink.MetaKey("backup/", topic, 0)
	stale, _ := st.Object(metaKey)
	mustWrite(t, sk, st, all[2:5]) // the object of all[:3] is written
	if err := st.Put(ctx, metaKey, stale); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, sk, st, all[4:8])
	mustWrite(t, sk, st, all[8:])
	atkCheck(t, st, all)
}

// TestAttackRacingFirstAppendResurrectsStage: a limit of racing
// invocations (package doc, "The assumption") that only staged objects
// have. B announces the first append of a Parquet object and stalls before
// the append; A, on the same partition, finds the announcement not landed,
// writes its own, seals, writes the Parquet object and removes the stage;
// then B's append at 0 lands — creating the stage again (a removed object
// has no length to fence on) — and B's meta PUT regresses the state. The
// records are in the written object, and nothing is silently wrong: the
// next batch that reaches the object stops with ErrConflict. (A raw
// object's data fences B's append: B replays and goes on.)
func TestAttackRacingFirstAppendResurrectsStage(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 10)
	st := memstore.New()
	sk := atkSink(t, atkPQ, sink.WithFlushRecords(3))
	held, release, bdone := make(chan struct{}), make(chan struct{}), make(chan error)
	b := &rvChaos{Store: st}
	b.hook = func(method, key string) {
		if method == "Append" && strings.Contains(key, ".oss_stage_") {
			close(held)
			<-release
		}
	}
	go func() { _, err := sk.Write(ctx, b, all[:1]); bdone <- err }()
	<-held
	if sum, err := sk.Write(ctx, st, all[:5]); err != nil || sum.Finalized != 1 {
		t.Fatalf("A: %v, finalized %d", err, sum.Finalized)
	}
	close(release)
	if err := <-bdone; err != nil {
		t.Fatalf("B: %v", err)
	}
	obj := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0) + ".parquet"
	if _, ok := st.Object(sink.StageKey(obj)); !ok {
		t.Fatal("the stage was not created again: the limit is gone (update this test)")
	}
	if _, err := sk.Write(ctx, st, all[:6]); !errors.Is(err, sink.ErrConflict) {
		t.Fatalf("next batch: %v, want ErrConflict", err)
	}
}
