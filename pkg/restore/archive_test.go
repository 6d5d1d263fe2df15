package restore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// archivedBackup backs up 24 records of topic src over the partitions
// (objects of 4 records) and re-writes every data object as the sink
// writes it final in class c; the store makes restores take polls looks.
func archivedBackup(t *testing.T, c store.StorageClass, polls int) (*fixture.SlowRestore, []msg, []string) {
	t.Helper()
	mem := memstore.New()
	var ms []msg
	for i := range 24 {
		p := int32(i % parts)
		ms = append(ms, msg{partition: p, offset: int64(i / parts), key: ptr("k"), value: ptr("value " + string(rune('a'+i))),
			ts: 1700000000000 + int64(i), headers: [][2]string{{"h", "x"}}})
	}
	backup(t, mem, "src", format.JSONL, ms)
	keys := fixture.ArchiveAll(t, mem, "bk", c)
	if len(keys) < 2*parts {
		t.Fatalf("%d data objects: want several per partition", len(keys))
	}
	return fixture.NewSlowRestore(mem, polls), ms, keys
}

func archiveOpts(target string, more ...restore.Option) []restore.Option {
	return append([]restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic(target),
		restore.RestorePoll(time.Millisecond), restore.ChunkRecords(3)}, more...)
}

// sameTopic checks that target holds exactly the records ms, each once,
// per partition in offset order.
func sameTopic(t *testing.T, addrs []string, target string, ms []msg) {
	t.Helper()
	got := readTopic(t, addrs, target)
	for p, want := range byPartition(ms) {
		sameOrder(t, target, got[p], want)
	}
}

// requestedOnce checks that every key had exactly one restore started,
// and calls Restore calls in all.
func requestedOnce(t *testing.T, st *fixture.SlowRestore, keys []string, calls int) {
	t.Helper()
	for _, k := range keys {
		if n, _ := st.Requests(k); n != 1 {
			t.Errorf("%s: %d restores started, want 1", k, n)
		}
	}
	if got := st.Requested(); !slices.Equal(got, keys) {
		t.Errorf("restores of %v, want %v", got, keys)
	}
	if n := st.Calls(); n != calls {
		t.Errorf("%d Restore calls, want %d", n, calls)
	}
}

// TestArchivedWaits: a restore of archived objects requests a restore of
// each (once), waits for all of them, reports where they stand, then
// produces every record exactly once; the estimate follows the class
// and tier.
func TestArchivedWaits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		class    store.StorageClass
		tier     store.RestoreTier
		polls    int
		estimate string
	}{
		{store.Archive, "", 0, "Archive: about a minute"},
		{store.ColdArchive, store.TierExpedited, 2, "ColdArchive, Expedited: within 1 h"},
		{store.ColdArchive, store.TierStandard, 3, "ColdArchive, Standard: 2-5 h"},
		{store.ColdArchive, store.TierBulk, 1, "ColdArchive, Bulk: 5-12 h"},
		{store.DeepColdArchive, store.TierStandard, 4, "DeepColdArchive, Standard: within 48 h"},
	} {
		t.Run(string(tc.class)+"/"+string(tc.tier), func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "dst")
			st, ms, keys := archivedBackup(t, tc.class, tc.polls)
			var mu sync.Mutex
			var reports []restore.ArchiveSummary
			opts := archiveOpts("dst", restore.OnArchive(func(a restore.ArchiveSummary) {
				mu.Lock()
				defer mu.Unlock()
				reports = append(reports, a)
			}))
			if tc.tier != "" {
				opts = append(opts, restore.RestoreTier(tc.tier))
			}
			sum, err := restore.Run(t.Context(), st, kafka(c), opts...)
			if err != nil {
				t.Fatal(err)
			}
			sameTopic(t, c.ListenAddrs(), "dst", ms)
			requestedOnce(t, st, keys, len(keys))
			a := sum.Archive
			if a == nil || a.Objects != len(keys) || a.Ready != len(keys) || a.Requested != len(keys) || a.Classes[tc.class] != len(keys) ||
				a.Polls != tc.polls+1 || a.Estimate != tc.estimate || a.Days != restore.DefaultRestoreDays {
				t.Fatalf("archive summary %+v", a)
			}
			// A look that requests, polls+1 that find the restores
			// running, then done.
			if len(reports) != tc.polls+2 {
				t.Fatalf("%d reports, want one per look (%d)", len(reports), tc.polls+2)
			}
			if r := reports[0]; r.Requested != len(keys) || r.Restoring != len(keys) || r.Ready != 0 || r.NextPoll != time.Millisecond {
				t.Fatalf("first report %+v", r)
			}
			if r := reports[len(reports)-1]; r.Ready != len(keys) || r.Pending() != 0 || r.NextPoll != 0 {
				t.Fatalf("last report %+v", r)
			}
			// A second run finds every copy restored: nothing requested.
			sum, err = restore.Run(t.Context(), st, kafka(c), archiveOpts("dst")...)
			if err != nil || sum.Records != 0 || sum.Skipped != int64(len(ms)) || sum.Archive.Requested != 0 || sum.Archive.Ready != len(keys) {
				t.Fatalf("second run: %+v, %v", sum, err)
			}
			requestedOnce(t, st, keys, len(keys))
		})
	}
}

// TestArchivedNoWait: --no-wait requests the restores and returns
// (ErrRestoresPending, nothing produced); a run while they are running
// requests nothing; a run once they are done restores.
func TestArchivedNoWait(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms, keys := archivedBackup(t, store.ColdArchive, 1)
	opts := archiveOpts("dst", restore.NoWait(true), restore.RestoreTier(store.TierBulk), restore.RestoreDays(3))

	sum, err := restore.Run(t.Context(), st, kafka(c), opts...)
	if !errors.Is(err, restore.ErrRestoresPending) || !strings.Contains(err.Error(), "run again later") || !strings.Contains(err.Error(), "5-12 h") {
		t.Fatalf("first run: err = %v", err)
	}
	if a := sum.Archive; a == nil || a.Requested != len(keys) || a.Restoring != len(keys) || a.Ready != 0 || a.Tier != store.TierBulk || a.Days != 3 || a.Polls != 0 {
		t.Fatalf("first run: %+v", sum.Archive)
	}
	if n := len(kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)); n != 0 || sum.Records != 0 {
		t.Fatalf("first run produced %d records", n)
	}
	requestedOnce(t, st, keys, len(keys))

	// Still running: looked at, not requested again.
	sum, err = restore.Run(t.Context(), st, kafka(c), opts...)
	if !errors.Is(err, restore.ErrRestoresPending) || sum.Archive.Requested != 0 || sum.Archive.Restoring != len(keys) {
		t.Fatalf("second run: %+v, %v", sum.Archive, err)
	}
	requestedOnce(t, st, keys, len(keys))

	// Done: restored, without waiting.
	sum, err = restore.Run(t.Context(), st, kafka(c), opts...)
	if err != nil || sum.Records != int64(len(ms)) || sum.Archive.Ready != len(keys) || sum.Archive.Requested != 0 {
		t.Fatalf("third run: %+v, %v", sum, err)
	}
	sameTopic(t, c.ListenAddrs(), "dst", ms)
	requestedOnce(t, st, keys, len(keys))
}

// TestArchivedFaults: a RestoreObject that fails before taking effect is
// made again at the next look; one that took effect and then failed is
// not (the look finds it running); a permanent refusal fails the run
// with nothing produced, and the run after it restores.
func TestArchivedFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault fixture.Fault
		calls int // Restore calls of the faulty object
	}{
		{"before effect", fixture.FailBefore, 2},
		{"after effect", fixture.FailAfter, 1},
		{"denied", fixture.FailDenied, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "dst")
			st, ms, keys := archivedBackup(t, store.ColdArchive, 2)
			faulty := keys[1]
			var mu sync.Mutex
			failed := false
			st.Fail = func(key string) fixture.Fault {
				mu.Lock()
				defer mu.Unlock()
				if key != faulty || failed {
					return fixture.NoFault
				}
				failed = true
				return tc.fault
			}
			sum, err := restore.Run(t.Context(), st, kafka(c), archiveOpts("dst")...)
			if tc.fault == fixture.FailDenied {
				if !errors.Is(err, store.ErrAccessDenied) || !strings.Contains(err.Error(), faulty) || !strings.Contains(err.Error(), "nothing was produced") {
					t.Fatalf("err = %v", err)
				}
				if n := len(kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)); n != 0 {
					t.Fatalf("%d records produced", n)
				}
				if sum, err = restore.Run(t.Context(), st, kafka(c), archiveOpts("dst")...); err != nil {
					t.Fatal(err)
				}
				tc.calls = 2
			} else if err != nil {
				t.Fatal(err)
			}
			if sum.Records != int64(len(ms)) {
				t.Fatalf("%+v", sum)
			}
			sameTopic(t, c.ListenAddrs(), "dst", ms)
			if n, calls := st.Requests(faulty); n != 1 || calls != tc.calls {
				t.Fatalf("%s: %d restores started in %d calls, want 1 in %d", faulty, n, calls, tc.calls)
			}
			requestedOnce(t, st, keys, len(keys)-1+tc.calls)
		})
	}
}

// TestArchivedKilled: a run killed while waiting for the restores, and
// one killed while producing, are run again: the restores requested are
// not requested again and every record lands once. A restored copy that
// expired in between is requested again (and only it).
func TestArchivedKilled(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms, keys := archivedBackup(t, store.DeepColdArchive, 3)

	// Killed while waiting: at the second look.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	looks := 0
	st.OnStat(func(string) {
		mu.Lock()
		defer mu.Unlock()
		if looks++; looks == 2*len(keys) {
			cancel()
		}
	})
	_, err := restore.Run(ctx, st, kafka(c), archiveOpts("dst")...)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting") || !strings.Contains(err.Error(), "not requested again") {
		t.Fatalf("killed while waiting: err = %v", err)
	}
	st.OnStat(nil)
	requestedOnce(t, st, keys, len(keys))

	// Killed while producing: the third checkpoint write fails for good.
	ck := &failPut{Store: st, n: 5}
	if _, err := restore.Run(t.Context(), ck, kafka(c), archiveOpts("dst")...); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("killed while producing: err = %v", err)
	}
	requestedOnce(t, st, keys, len(keys))
	produced := 0
	for _, ms := range readTopic(t, c.ListenAddrs(), "dst") {
		produced += len(ms)
	}
	if produced == 0 || produced == len(ms) {
		t.Fatalf("%d records produced before the kill: want some, not all", produced)
	}

	// One copy expired meanwhile: requested again, and waited for.
	st.Expire(keys[0])
	sum, err := restore.Run(t.Context(), st, kafka(c), archiveOpts("dst")...)
	if err != nil {
		t.Fatal(err)
	}
	if a := sum.Archive; a.Requested != 1 || a.Ready != len(keys) {
		t.Fatalf("archive summary %+v", a)
	}
	if n, _ := st.Requests(keys[0]); n != 2 {
		t.Fatalf("expired %s: %d restores, want 2", keys[0], n)
	}
	for _, k := range keys[1:] {
		if n, _ := st.Requests(k); n != 1 {
			t.Fatalf("%s: %d restores, want 1", k, n)
		}
	}
	sameTopic(t, c.ListenAddrs(), "dst", ms)
}

// TestArchivedOnlyNeeded: only the objects the restore reads are
// requested: those of the partitions and offsets asked for, and, on a
// later run, the one holding the checkpoint's last record.
func TestArchivedOnlyNeeded(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms, keys := archivedBackup(t, store.ColdArchive, 0)
	var p1 []string
	for _, k := range keys {
		if strings.Contains(k, "partition_1_") {
			p1 = append(p1, k)
		}
	}
	// Partition 1, offsets 0..3: its first object (offsets 0..3) only.
	sum, err := restore.Run(t.Context(), st, kafka(c), archiveOpts("dst", restore.Partitions(1), restore.OffsetRange(0, 3))...)
	if err != nil || sum.Records != 4 {
		t.Fatalf("%+v, %v", sum, err)
	}
	if got := st.Requested(); !slices.Equal(got, p1[:1]) {
		t.Fatalf("requested %v, want %v", got, p1[:1])
	}
	// Offsets 4.. of partition 1: its other objects (the first holds
	// the checkpoint's last record, already restored).
	sum, err = restore.Run(t.Context(), st, kafka(c), archiveOpts("dst", restore.Partitions(1), restore.OffsetRange(4, -1))...)
	if err != nil || sum.Archive.Objects != len(p1) || sum.Archive.Requested != len(p1)-1 {
		t.Fatalf("%+v, %v", sum.Archive, err)
	}
	if got := st.Requested(); !slices.Equal(got, p1) {
		t.Fatalf("requested %v, want %v", got, p1)
	}
	var want []msg
	for _, m := range ms {
		if m.partition == 1 {
			want = append(want, m)
		}
	}
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[1], want)
}

// TestArchivedDryRun: a dry run requests nothing and says what a restore
// would request.
func TestArchivedDryRun(t *testing.T) {
	t.Parallel()
	st, _, keys := archivedBackup(t, store.Archive, 0)
	sum, err := restore.Run(t.Context(), st, restore.Kafka{}, archiveOpts("dst", restore.DryRun(true))...)
	if !errors.Is(err, restore.ErrRestoresPending) || !strings.Contains(err.Error(), "dry run requests no restore") {
		t.Fatalf("err = %v", err)
	}
	if a := sum.Archive; a.Unrequested != len(keys) || a.Requested != 0 || st.Calls() != 0 {
		t.Fatalf("%+v, %d Restore calls", a, st.Calls())
	}
}

// TestArchivedReadRefused: an object whose copy expires between the
// restore and the read fails its partition with what to do.
func TestArchivedReadRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, _, keys := archivedBackup(t, store.Archive, 0)
	opts := archiveOpts("dst", restore.OnArchive(func(a restore.ArchiveSummary) {
		if a.Pending() == 0 {
			st.Expire(keys[0])
		}
	}))
	_, err := restore.Run(t.Context(), st, kafka(c), opts...)
	if !errors.Is(err, store.ErrNotRestored) || !strings.Contains(err.Error(), "run sinkctl restore again") || !strings.Contains(err.Error(), keys[0]) {
		t.Fatalf("err = %v", err)
	}
}

// TestArchivedOptions: the restore options are checked before anything.
func TestArchivedOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt  restore.Option
		want string
	}{
		{restore.RestoreTier("Fast"), `restore tier "Fast"`},
		{restore.RestoreDays(0), "restore days 0"},
		{restore.RestoreDays(366), "restore days 366"},
		{restore.RestorePoll(0), "poll interval"},
	} {
		_, err := restore.Run(t.Context(), memstore.New(), restore.Kafka{}, archiveOpts("dst", restore.DryRun(true), tc.opt)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

// TestArchivedNoWaitWithoutBrokers: NoWait needs no Kafka: the restores
// are requested before the target cluster exists (ErrRestoresPending,
// nothing produced); once they are done, the run without brokers says so
// (ErrNeedBrokers), requesting nothing; with brokers it restores.
func TestArchivedNoWaitWithoutBrokers(t *testing.T) {
	t.Parallel()
	st, ms, keys := archivedBackup(t, store.ColdArchive, 1)
	opts := archiveOpts("dst", restore.NoWait(true))
	sum, err := restore.Run(t.Context(), st, restore.Kafka{}, opts...)
	if !errors.Is(err, restore.ErrRestoresPending) || sum.Archive == nil || sum.Archive.Requested != len(keys) {
		t.Fatalf("first run without brokers: %+v, %v", sum, err)
	}
	requestedOnce(t, st, keys, len(keys))
	// Still running, then done (fixture.SlowRestore finishes after its
	// looks): looked at, never requested again.
	for range 10 {
		if sum, err = restore.Run(t.Context(), st, restore.Kafka{}, opts...); !errors.Is(err, restore.ErrRestoresPending) {
			break
		}
	}
	if !errors.Is(err, restore.ErrNeedBrokers) || sum.Archive.Ready != len(keys) || sum.Records != 0 {
		t.Fatalf("run without brokers once ready: %+v, %v", sum, err)
	}
	requestedOnce(t, st, keys, len(keys))
	c := newCluster(t, "dst")
	if sum, err = restore.Run(t.Context(), st, kafka(c), opts...); err != nil || sum.Records != int64(len(ms)) {
		t.Fatalf("run with brokers: %+v, %v", sum, err)
	}
	sameTopic(t, c.ListenAddrs(), "dst", ms)
	requestedOnce(t, st, keys, len(keys))
}
