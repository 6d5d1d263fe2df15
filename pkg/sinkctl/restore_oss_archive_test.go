package sinkctl_test

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// The tests in this file run sinkctl as a user does against an OSS bucket:
// the store built from the function's environment (OSS_BUCKET,
// OSS_ENDPOINT, ALIBABA_CLOUD_* credentials), the real SDK
// (pkg/store/ossstore) talking HTTP to the OSS test server, whose archived
// objects refuse reads until a restore finished, on a clock or by a
// completion the test controls.

const (
	arcSecret, arcToken = "archive-secret-value", "archive-sts-token"
	arcParts, arcPer    = 2, 12
)

// archivedBucket is a bucket holding a backup of topic "src" whose data
// objects were re-written final in an archive class.
type archivedBucket struct {
	srv  *osstest.Server
	st   *ossstore.Store
	env  map[string]string
	keys []string // the archived data objects
	want map[int32][]killRecord

	mu  sync.Mutex
	log []osstest.LogEntry
	// onLog, if set, is called with each request the server handled
	// (after its reply), outside mu.
	onLog func(osstest.LogEntry)
}

// setOnLog sets b.onLog.
func (b *archivedBucket) setOnLog(f func(osstest.LogEntry)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onLog = f
}

// gets returns how many GetObject requests of archived objects the server
// answered, and how many of them it refused as not restored.
func (b *archivedBucket) gets() (n, refused int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.log {
		if e.Op == osstest.OpGet && slices.Contains(b.keys, e.Key) {
			n++
			if e.Code == "InvalidObjectState" {
				refused++
			}
		}
	}
	return n, refused
}

// newArchivedBucket writes arcPer JSONL records with keys, headers and
// timestamps (a tombstone and a record without a timestamp among them) to
// each of arcParts partitions of "src" with the engine, through the SDK,
// objects of 4 records, then re-writes the data objects as the sink
// writes them final in class c (tags and user metadata) with PutObject.
func newArchivedBucket(t *testing.T, c store.StorageClass, opts ...osstest.Opt) *archivedBucket {
	t.Helper()
	return newArchivedBucketEnc(t, c, format.Encoder{Format: format.JSONL}, opts...)
}

// newArchivedBucketEnc is newArchivedBucket with objects of encoding enc.
func newArchivedBucketEnc(t *testing.T, c store.StorageClass, enc format.Encoder, opts ...osstest.Opt) *archivedBucket {
	t.Helper()
	b := &archivedBucket{}
	srv := osskit.NewServer(t, append([]osstest.Opt{osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", arcSecret, arcToken),
		osstest.WithRequestLog(func(e osstest.LogEntry) {
			b.mu.Lock()
			b.log = append(b.log, e)
			f := b.onLog
			b.mu.Unlock()
			if f != nil {
				f(e)
			}
		})}, opts...)...)
	st := ossStore(t, srv.Endpoint(), arcSecret, arcToken)
	keys, want := writeArchived(t, st, c, enc)
	for _, k := range keys {
		in, ok := srv.ObjectInfo("sink", k)
		if !ok || in.StorageClass != string(c) || in.Appendable || len(in.Tags) == 0 || len(in.Metadata) == 0 {
			t.Fatalf("%s after archiving: %+v", k, in)
		}
	}
	env := map[string]string{
		"OSS_BUCKET": "sink", "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": arcSecret, "ALIBABA_CLOUD_SECURITY_TOKEN": arcToken,
	}
	srv.ResetStats()
	b.mu.Lock()
	b.log = nil
	b.mu.Unlock()
	b.srv, b.st, b.env, b.keys, b.want = srv, st, env, keys, want
	return b
}

// writeArchived writes the backup newArchivedBucket describes to st and
// returns its data objects and the records each partition must hold.
func writeArchived(t *testing.T, st store.Store, c store.StorageClass, enc format.Encoder) ([]string, map[int32][]killRecord) {
	t.Helper()
	want := map[int32][]killRecord{}
	var recs []events.Record
	for o := range int64(arcPer) {
		for p := range int32(arcParts) {
			r := events.Record{Topic: "src", Partition: p, Offset: o, Timestamp: 1700000000000 + o*1000 + int64(p), ValueKind: events.ValueBytes,
				Key: fmt.Appendf(nil, "key-%d-%d", p, o), HasKey: true, Value: fmt.Appendf(nil, "value %d/%d \"é\"\n", p, o),
				Headers: fmt.Appendf(nil, `[{"key":"trace","value":"t-%d-%d"}]`, p, o)}
			w := killRecord{key: r.Key, value: r.Value, header: fmt.Sprintf("trace=t-%d-%d", p, o), ts: r.Timestamp}
			switch o {
			case 5:
				r.ValueKind, r.Value, w.value = events.ValueNull, nil, nil
			case 9:
				r.Timestamp, w.ts = 0, 0
			}
			recs = append(recs, r)
			want[p] = append(want[p], w)
		}
	}
	fixture.ByEngine(t, st, 6, recs, sink.WithPrefix("backup"), sink.WithEncoder(enc), sink.WithFlushRecords(4))
	keys := fixture.ArchiveAll(t, st, "backup", c)
	if len(keys) != arcParts*arcPer/4 {
		t.Fatalf("%d data objects: %v", len(keys), keys)
	}
	return keys, want
}

// restores returns how many of b's archived objects have a restore
// running and how many are restored, by the server.
func (b *archivedBucket) restores(t *testing.T) (ongoing, done int) {
	t.Helper()
	for _, k := range b.keys {
		in, ok := b.srv.ObjectInfo("sink", k)
		if !ok {
			t.Fatalf("%s is gone", k)
		}
		switch in.Restore {
		case "ongoing":
			ongoing++
		case "done":
			done++
		}
	}
	return ongoing, done
}

// osEnv is b's environment for the sinkctl binary.
func (b *archivedBucket) osEnv() []string {
	var out []string
	for k, v := range b.env {
		out = append(out, k+"="+v)
	}
	return out
}

func restoreArgs(addrs []string, extra ...string) []string {
	return append([]string{"restore", "--topic", "src", "--target-topic", "dst", "--brokers", strings.Join(addrs, ","), "--chunk", "5"}, extra...)
}

// TestRestoreOSSArchivedNoWait: for each archive class, a first run with
// --no-wait requests a restore of every archived object once and exits 3;
// a second one requests nothing and exits 3; once the restores are done a
// third run restores every record exactly once, with its key, headers and
// timestamp.
func TestRestoreOSSArchivedNoWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		class store.StorageClass
		tier  string
	}{{store.Archive, "Standard"}, {store.ColdArchive, "Bulk"}, {store.DeepColdArchive, "Expedited"}} {
		t.Run(string(tc.class), func(t *testing.T) {
			t.Parallel()
			b := newArchivedBucket(t, tc.class, osstest.WithManualRestores())
			addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
			args := restoreArgs(addrs, "--no-wait", "--restore-tier", tc.tier, "--restore-days", "3")
			n := len(b.keys)

			r := run(b.env, false, args...)
			if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: %d, restoring: %d, ready: 0", n, n)) ||
				!strings.Contains(r.stdout, "oss://sink/backup/") || !strings.Contains(r.stdout, string(tc.class)) {
				t.Fatalf("first run: %+v", r)
			}
			if got := b.srv.Requests(osstest.OpRestore); got != n {
				t.Fatalf("first run: %d RestoreObject requests for %d archived objects", got, n)
			}
			if ongoing, _ := b.restores(t); ongoing != n {
				t.Fatalf("first run: %d of %d restores running", ongoing, n)
			}
			if got, _ := b.gets(); got != 0 {
				t.Fatalf("first run: %d GetObject requests of archived objects", got)
			}

			r = run(b.env, false, args...)
			if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: 0, restoring: %d, ready: 0", n)) {
				t.Fatalf("second run: %+v", r)
			}
			if got := b.srv.Requests(osstest.OpRestore); got != n {
				t.Fatalf("second run: %d RestoreObject requests in all, want %d", got, n)
			}
			if got := kafkatest.TopicLen(t, addrs, "dst"); got != 0 {
				t.Fatalf("%d records produced before the restores finished", got)
			}

			if got := b.srv.CompleteRestores(); got != n {
				t.Fatalf("completed %d restores, want %d", got, n)
			}
			r = run(b.env, false, args...)
			if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) ||
				!strings.Contains(r.stdout, fmt.Sprintf("%d objects read were archived: 0 restores requested by this run", n)) {
				t.Fatalf("third run: %+v", r)
			}
			if got := b.srv.Requests(osstest.OpRestore); got != n {
				t.Fatalf("third run: %d RestoreObject requests in all, want %d", got, n)
			}
			checkRestored(t, addrs, arcParts, b.want)
			if got, refused := b.gets(); got != n || refused != 0 {
				t.Fatalf("%d GetObject requests of %d archived objects, %d refused", got, n, refused)
			}
			if strings.Contains(r.stdout+r.stderr, arcSecret) || strings.Contains(r.stdout+r.stderr, arcToken) {
				t.Fatalf("output shows a secret")
			}
		})
	}
}

// TestRestoreOSSArchivedWaits: a run without --no-wait requests the
// restores and polls until they are done, on the server's manual clock,
// which the test moves forward only once the server has every restore
// running; the run then restores every record exactly once and has said on
// stderr where the restores stood at each look.
func TestRestoreOSSArchivedWaits(t *testing.T) {
	t.Parallel()
	for _, class := range []store.StorageClass{store.Archive, store.ColdArchive, store.DeepColdArchive} {
		t.Run(string(class), func(t *testing.T) {
			t.Parallel()
			clock := osstest.NewManualClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
			b := newArchivedBucket(t, class, osstest.WithClock(clock.Now))
			addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
			n := len(b.keys)

			done := make(chan result, 1)
			go func() { done <- run(b.env, false, restoreArgs(addrs, "--restore-poll", "1ms")...) }()
			// Every restore running (the server says so), and the run
			// looking again at least once: only then does time move.
			var heads int
			testkit.WaitUntil(t, time.Minute, "the run to request every restore", func() error {
				select {
				case r := <-done:
					t.Fatalf("the run ended before its restores were done: %+v", r)
				default:
				}
				if ongoing, _ := b.restores(t); ongoing != n {
					return fmt.Errorf("%d of %d restores running", ongoing, n)
				}
				heads = b.srv.Requests(osstest.OpHead)
				return nil
			})
			testkit.WaitUntil(t, time.Minute, "the run to look again", func() error {
				if got := b.srv.Requests(osstest.OpHead); got < heads+n {
					return fmt.Errorf("%d HEAD requests, %d when every restore ran", got, heads)
				}
				return nil
			})
			if got := kafkatest.TopicLen(t, addrs, "dst"); got != 0 {
				t.Fatalf("%d records produced before the restores finished", got)
			}
			clock.Advance(osstest.DefaultRestoreDelay(string(class), osstest.TierStandard))
			var r result
			select {
			case r = <-done:
			case <-time.After(2 * time.Minute): // a safety net
				t.Fatal("the run did not end after the restores finished")
			}
			if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) ||
				!strings.Contains(r.stdout, fmt.Sprintf("%d objects read were archived: %d restores requested by this run", n, n)) {
				t.Fatalf("%+v", r)
			}
			if !strings.Contains(r.stderr, fmt.Sprintf("archived objects: %d archived objects to read (%d %s; ", n, n, class)) ||
				!strings.Contains(r.stderr, fmt.Sprintf("%d requested now, %d restoring, 0 ready; waited ", n, n)) ||
				!strings.Contains(r.stderr, "next look in ") || !strings.Contains(r.stderr, fmt.Sprintf("0 restoring, %d ready; all ready, readable until ", n)) {
				t.Fatalf("progress on stderr: %s", r.stderr)
			}
			if got := b.srv.Requests(osstest.OpRestore); got != n {
				t.Fatalf("%d RestoreObject requests for %d archived objects", got, n)
			}
			checkRestored(t, addrs, arcParts, b.want)
		})
	}
}

// TestVerifyOSSArchived: verify of the archived bucket reports every
// archived object (exit 0, warnings); --metadata-only passes, reading no
// data object; a tag altered through PutObjectTagging fails it with
// tag_mismatch, and so does user metadata that says something else.
func TestVerifyOSSArchived(t *testing.T) {
	t.Parallel()
	b := newArchivedBucket(t, store.ColdArchive, osstest.WithManualRestores())
	n := len(b.keys)
	r := run(b.env, false, "verify")
	if r.code != sinkctl.ExitOK || strings.Count(r.stdout, "warning archived") != n ||
		!strings.Contains(r.stdout, fmt.Sprintf("%d objects archived and not restored", n)) || !strings.Contains(r.stdout, "ColdArchive") {
		t.Fatalf("verify: %+v", r)
	}
	if got, refused := b.gets(); got != 0 || refused != 0 {
		t.Fatalf("verify: %d GetObject requests of archived objects, %d refused", got, refused)
	}
	b.srv.ResetStats()
	r = run(b.env, false, "verify", "--metadata-only")
	if r.code != sinkctl.ExitOK || strings.Contains(r.stdout, "DEFECTS") || !strings.Contains(r.stdout, "checked without reading their bytes") {
		t.Fatalf("--metadata-only: %+v", r)
	}
	for _, k := range b.keys {
		if strings.Contains(r.stdout, k) {
			t.Fatalf("--metadata-only names %s:\n%s", k, r.stdout)
		}
	}
	if got, _ := b.gets(); got != 0 {
		t.Fatalf("--metadata-only: %d GetObject requests of archived objects", got)
	}
	if got := b.srv.Requests(osstest.OpGetTagging); got != n {
		t.Fatalf("--metadata-only: %d GetObjectTagging requests for %d objects", got, n)
	}

	// A restored object is read and checked in full.
	if !b.srv.CompleteRestore("sink", b.keys[0]) {
		// Not requested yet: request it through the SDK first.
		if _, err := b.st.Restore(context.Background(), b.keys[0], 1, store.TierStandard); err != nil {
			t.Fatal(err)
		}
		if !b.srv.CompleteRestore("sink", b.keys[0]) {
			t.Fatal("no restore to complete")
		}
	}
	r = run(b.env, false, "verify")
	if r.code != sinkctl.ExitOK || strings.Count(r.stdout, "warning archived") != n-1 || strings.Contains(r.stdout, "archived "+b.keys[0]) {
		t.Fatalf("verify with one object restored: %+v", r)
	}

	// A tag that is not what the index says, set through the SDK.
	cl, err := oss.New(b.srv.Endpoint(), "STS.ak", arcSecret, oss.SecurityToken(arcToken))
	if err != nil {
		t.Fatal(err)
	}
	bkt, err := cl.Bucket("sink")
	if err != nil {
		t.Fatal(err)
	}
	res, err := bkt.GetObjectTagging(b.keys[1])
	if err != nil {
		t.Fatal(err)
	}
	tagging := oss.Tagging{}
	for _, tg := range res.Tags {
		if tg.Key == fixture.KeyLastOffset {
			tg.Value = "1000"
		}
		tagging.Tags = append(tagging.Tags, tg)
	}
	if err := bkt.PutObjectTagging(b.keys[1], tagging); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"verify", "--metadata-only"}, {"verify"}} {
		r = run(b.env, false, args...)
		if r.code != sinkctl.ExitFailed || !strings.Contains(r.stdout, "tag_mismatch") || !strings.Contains(r.stdout, `last-offset="1000"`) ||
			!strings.Contains(r.stdout, b.keys[1]) {
			t.Fatalf("%v with a wrong tag: %+v", args, r)
		}
	}
}

// TestRestoreOSSArchivedFaults: RestoreObject requests that fail before
// or after taking effect, looks that fail past the SDK's retries, and
// reads that fail while records are produced: every archived object is
// restored with one restore each, and every record lands exactly once.
func TestRestoreOSSArchivedFaults(t *testing.T) {
	t.Parallel()
	b := newArchivedBucket(t, store.ColdArchive, osstest.WithManualRestores(), osstest.WithSeed(3))
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	args := restoreArgs(addrs, "--no-wait")
	n := len(b.keys)

	// The first request fails before effect: the SDK's retry absorbs it.
	b.srv.SetFault(osstest.OpRestore, osstest.Fault{Before: 1, Limit: 1})
	r := run(b.env, false, args...)
	if r.code != sinkctl.ExitPending {
		t.Fatalf("failure before effect: %+v", r)
	}
	b.srv.SetFault(osstest.OpRestore, osstest.Fault{})
	if ongoing, _ := b.restores(t); ongoing != n {
		t.Fatalf("%d of %d restores running", ongoing, n)
	}
	if got := b.srv.Requests(osstest.OpRestore); got != n+1 {
		t.Fatalf("%d RestoreObject requests, want %d (one retried)", got, n+1)
	}

	// Lost replies: on a bucket of its own.
	b2 := newArchivedBucket(t, store.ColdArchive, osstest.WithManualRestores(), osstest.WithSeed(4))
	b2.srv.SetFault(osstest.OpRestore, osstest.Fault{After: 1, Limit: 2})
	r = run(b2.env, false, args...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("restoring: %d, ready: 0", n)) {
		t.Fatalf("lost replies: %+v", r)
	}
	if ongoing, _ := b2.restores(t); ongoing != n {
		t.Fatalf("lost replies: %d of %d restores running", ongoing, n)
	}
	if got := b2.srv.Requests(osstest.OpRestore); got != n+2 {
		t.Fatalf("lost replies: %d RestoreObject requests, want %d (two retried, meeting the running restore)", got, n+2)
	}

	// Failures past the SDK's retries: counted, and the next run tries again.
	b3 := newArchivedBucket(t, store.ColdArchive, osstest.WithManualRestores(), osstest.WithSeed(5))
	b3.srv.SetFault(osstest.OpRestore, osstest.Fault{Before: 1, KeyPrefix: b3.keys[0]})
	r = run(b3.env, false, args...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, "failed (retried by the next run): 1") {
		t.Fatalf("a restore failing past retries: %+v", r)
	}
	if ongoing, _ := b3.restores(t); ongoing != n-1 {
		t.Fatalf("%d of %d restores running", ongoing, n)
	}
	b3.srv.SetFault(osstest.OpRestore, osstest.Fault{})
	before := b3.srv.Requests(osstest.OpRestore)
	r = run(b3.env, false, args...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: 1, restoring: %d", n)) {
		t.Fatalf("after the failure: %+v", r)
	}
	if got := b3.srv.Requests(osstest.OpRestore) - before; got != 1 {
		t.Fatalf("after the failure: %d RestoreObject requests, want 1", got)
	}

	// Reads that fail: truncated bodies (retried by the SDK), then a
	// failure past the retries (the run fails, produced records are
	// checkpointed), then a run that completes.
	b.srv.CompleteRestores()
	b.srv.SetFault(osstest.OpGet, osstest.Fault{After: 1, Skip: 1, Limit: 2, Reset: true, KeyPrefix: "backup/src/"})
	addrs2 := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	args2 := restoreArgs(addrs2, "--no-wait")
	r = run(b.env, false, args2...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) {
		t.Fatalf("reads retried: %+v", r)
	}
	checkRestored(t, addrs2, arcParts, b.want)

	addrs3 := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	args3 := restoreArgs(addrs3, "--no-wait")
	b.srv.SetFault(osstest.OpGet, osstest.Fault{Before: 1, Skip: 2, KeyPrefix: "backup/src/"})
	r = run(b.env, false, args3...)
	if r.code == sinkctl.ExitOK {
		t.Fatalf("every read failing: %+v", r)
	}
	b.srv.SetFault(osstest.OpGet, osstest.Fault{})
	r = run(b.env, false, args3...)
	if r.code != sinkctl.ExitOK {
		t.Fatalf("after the read failures: %+v", r)
	}
	checkRestored(t, addrs3, arcParts, b.want)
	if got := b.srv.Requests(osstest.OpRestore); got != n+1 {
		t.Fatalf("%d RestoreObject requests in all, want %d", got, n+1)
	}
}

// TestRestoreOSSArchivedKilled SIGKILLs the sinkctl binary while it waits
// for restores, runs it again with --no-wait (no restore requested again,
// exit 3), completes the restores, and runs it to the end: every record
// exactly once.
func TestRestoreOSSArchivedKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	t.Parallel()
	bin := bintest.Build(t, "./cmd/sinkctl")
	b := newArchivedBucket(t, store.DeepColdArchive, osstest.WithManualRestores())
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	n := len(b.keys)
	cmd := func(extra ...string) *exec.Cmd {
		c := exec.Command(bin, restoreArgs(addrs, extra...)...)
		c.Env = b.osEnv()
		return c
	}

	p := bintest.Start(t, cmd("--restore-poll", "1ms"))
	var heads int
	testkit.WaitUntil(t, time.Minute, "the run to request every restore", func() error {
		if ongoing, _ := b.restores(t); ongoing != n {
			return fmt.Errorf("%d of %d restores running", ongoing, n)
		}
		heads = b.srv.Requests(osstest.OpHead)
		return nil
	})
	testkit.WaitUntil(t, time.Minute, "the run to look again", func() error {
		if got := b.srv.Requests(osstest.OpHead); got < heads+n {
			return fmt.Errorf("%d HEAD requests, %d when every restore ran", got, heads)
		}
		return nil
	})
	if !p.Kill(t) {
		t.Fatalf("the run ended by itself: %v\n%s", p.Err(), p.Stderr)
	}
	if !strings.Contains(p.Stderr.String(), "next look in") {
		t.Fatalf("no progress before the kill: %s", p.Stderr)
	}

	r := bintest.Run(t, time.Minute, cmd("--no-wait"))
	if r.Code != sinkctl.ExitPending || !strings.Contains(r.Stdout, fmt.Sprintf("requested now: 0, restoring: %d, ready: 0", n)) {
		t.Fatalf("after the kill: %+v", r)
	}
	if got := b.srv.Requests(osstest.OpRestore); got != n {
		t.Fatalf("%d RestoreObject requests, want %d", got, n)
	}
	b.srv.CompleteRestores()
	r = bintest.Run(t, time.Minute, cmd("--restore-poll", "1ms"))
	if r.Code != sinkctl.ExitOK || !strings.Contains(r.Stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) {
		t.Fatalf("last run: %+v", r)
	}
	if got := b.srv.Requests(osstest.OpRestore); got != n {
		t.Fatalf("%d RestoreObject requests, want %d", got, n)
	}
	checkRestored(t, addrs, arcParts, b.want)
}

// TestRestoreOSSDeepColdBulk: OSS has no Bulk tier for DeepColdArchive
// objects (400 InvalidArgument): --restore-tier bulk requests them with
// Standard, says so, and restores the ColdArchive objects of the same run
// with Bulk.
func TestRestoreOSSDeepColdBulk(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	tiers := map[string]int{}
	b := newArchivedBucket(t, store.DeepColdArchive, osstest.WithRestoreDelay(func(class, tier string) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		tiers[class+"/"+tier]++
		return osstest.ManualRestore
	}))
	// Partition 1's objects in ColdArchive instead, as another lifecycle
	// rule would leave them.
	cold := 0
	for _, k := range b.keys {
		if strings.Contains(k, "partition_1_") {
			if err := b.srv.SetStorageClassDirect("sink", k, osstest.ClassColdArchive); err != nil {
				t.Fatal(err)
			}
			cold++
		}
	}
	n := len(b.keys)
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	args := restoreArgs(addrs, "--no-wait", "--restore-tier", "bulk")
	r := run(b.env, false, args...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: %d, restoring: %d, ready: 0", n, n)) ||
		!strings.Contains(r.stdout, "DeepColdArchive, Standard (it has no Bulk tier): within 48 h") || !strings.Contains(r.stdout, "ColdArchive, Bulk: 5-12 h") ||
		!strings.Contains(r.stderr, "no Bulk restore tier for DeepColdArchive objects") {
		t.Fatalf("first run: %+v", r)
	}
	mu.Lock()
	if tiers[osstest.ClassDeepColdArchive+"/"+osstest.TierStandard] != n-cold || tiers[osstest.ClassColdArchive+"/"+osstest.TierBulk] != cold || len(tiers) != 2 {
		t.Errorf("restores started: %v", tiers)
	}
	mu.Unlock()
	b.srv.CompleteRestores()
	if r = run(b.env, false, args...); r.code != sinkctl.ExitOK {
		t.Fatalf("second run: %+v", r)
	}
	checkRestored(t, addrs, arcParts, b.want)
}

// TestRestoreOSSCopyExpiresMidRun: the restored copies expire (the
// server's clock jumps two days at the first read of an archived object)
// while the run reads them: it fails saying to run again, having
// produced nothing twice; the next run with --no-wait requests the
// restores again (exit 3), and once they are done a run completes, every
// record exactly once.
func TestRestoreOSSCopyExpiresMidRun(t *testing.T) {
	t.Parallel()
	clock := osstest.NewManualClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	b := newArchivedBucket(t, store.ColdArchive, osstest.WithClock(clock.Now),
		osstest.WithRestoreDelay(func(string, string) time.Duration { return osstest.ManualRestore }))
	n := len(b.keys)
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	args := restoreArgs(addrs, "--restore-days", "1", "--no-wait")
	if r := run(b.env, false, args...); r.code != sinkctl.ExitPending {
		t.Fatalf("first run: %+v", r)
	}
	b.srv.CompleteRestores()
	var once sync.Once
	b.setOnLog(func(e osstest.LogEntry) {
		if e.Op == osstest.OpGet && e.Status == 200 && slices.Contains(b.keys, e.Key) {
			once.Do(func() { clock.Advance(49 * time.Hour) })
		}
	})
	r := run(b.env, false, args...)
	b.setOnLog(nil)
	if r.code != sinkctl.ExitFailed || !strings.Contains(r.stderr, "must be restored before it can be read") || !strings.Contains(r.stderr, "run sinkctl restore again") {
		t.Fatalf("copies expiring: %+v", r)
	}
	if _, refused := b.gets(); refused == 0 {
		t.Fatal("no read refused: the test lost its point")
	}
	if got := b.srv.Requests(osstest.OpRestore); got != n {
		t.Fatalf("%d RestoreObject requests, want %d", got, n)
	}
	r = run(b.env, false, args...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: %d, restoring: %d, ready: 0", n, n)) {
		t.Fatalf("after the expiry: %+v", r)
	}
	if got := b.srv.Requests(osstest.OpRestore); got != 2*n {
		t.Fatalf("%d RestoreObject requests, want %d", got, 2*n)
	}
	b.srv.CompleteRestores()
	if r = run(b.env, false, args...); r.code != sinkctl.ExitOK {
		t.Fatalf("last run: %+v", r)
	}
	checkRestored(t, addrs, arcParts, b.want)
}

// TestRestoreOSSRestoreDenied: a key without oss:RestoreObject stops the
// run before it reads anything; the summary says where the restores
// stand, not that nothing is stored.
func TestRestoreOSSRestoreDenied(t *testing.T) {
	t.Parallel()
	b := newArchivedBucket(t, store.Archive, osstest.WithManualRestores(), osstest.WithDeny(osstest.Deny{Ops: []osstest.Op{osstest.OpRestore}}))
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	for _, extra := range [][]string{nil, {"--no-wait"}} {
		r := run(b.env, false, restoreArgs(addrs, extra...)...)
		if r.code != sinkctl.ExitFailed || !strings.Contains(r.stderr, "AccessDenied") || !strings.Contains(r.stdout, fmt.Sprintf("archived objects to read: %d", len(b.keys))) ||
			!strings.Contains(r.stdout, "nothing produced: stopped before reading") || strings.Contains(r.stdout, "nothing stored") {
			t.Fatalf("%v: %+v", extra, r)
		}
	}
	if got := kafkatest.TopicLen(t, addrs, "dst"); got != 0 {
		t.Fatalf("%d records produced", got)
	}
}

// TestRestoreOSSLifecycleArchivedIndexes: a lifecycle rule on the prefix
// moves the index objects (appendable: to Archive at most) along with
// the data objects: the restore requests both, waits for both, and
// restores every record exactly once, for JSONL objects named with an
// extension (whose encodings are read from their indexes) and gzip ones.
func TestRestoreOSSLifecycleArchivedIndexes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		enc  format.Encoder
	}{
		{"jsonl", format.Encoder{Format: format.JSONL, Fields: format.AllFields()}},
		{"jsonl.gz", format.Encoder{Format: format.JSONL, Fields: format.AllFields(), Codec: format.Gzip}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newArchivedBucketEnc(t, store.Archive, tc.enc, osstest.WithManualRestores())
			var indexes []string
			for _, k := range b.srv.Keys("sink", "backup/src/.oss_index_") {
				if err := b.srv.SetStorageClassDirect("sink", k, osstest.ClassArchive); err != nil {
					t.Fatal(err)
				}
				indexes = append(indexes, k)
			}
			if len(indexes) != len(b.keys) || !strings.HasSuffix(b.keys[0], tc.enc.Ext()) {
				t.Fatalf("index objects %v, data objects %v", indexes, b.keys)
			}
			all := len(b.keys) + len(indexes)
			addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
			args := restoreArgs(addrs, "--no-wait")
			r := run(b.env, false, args...)
			if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: %d, restoring: %d, ready: 0", all, all)) {
				t.Fatalf("first run: %+v", r)
			}
			for _, k := range indexes {
				if in, _ := b.srv.ObjectInfo("sink", k); in.Restore != "ongoing" {
					t.Fatalf("index object %s: restore %q", k, in.Restore)
				}
			}
			b.srv.CompleteRestores()
			r = run(b.env, false, args...)
			if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) {
				t.Fatalf("second run: %+v", r)
			}
			if got := b.srv.Requests(osstest.OpRestore); got != all {
				t.Fatalf("%d RestoreObject requests, want %d", got, all)
			}
			checkRestored(t, addrs, arcParts, b.want)
		})
	}
}

// TestVerifyOSSLifecycleArchived: a lifecycle rule moved everything under
// the prefix to Archive, meta and index objects included: verify reports
// each as archived (warnings, exit 0), not as a read error, with and
// without --metadata-only; once the restore has restored the data and
// index objects it reads (not the meta objects, which it does without),
// every record is restored and verify reads them all.
func TestVerifyOSSLifecycleArchived(t *testing.T) {
	t.Parallel()
	b := newArchivedBucketEnc(t, store.Archive, format.Encoder{Format: format.JSONL, Fields: format.AllFields()}, osstest.WithManualRestores())
	metas := 0
	for _, k := range b.srv.Keys("sink", "backup/src/.oss_") {
		if err := b.srv.SetStorageClassDirect("sink", k, osstest.ClassArchive); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(k, ".oss_meta_file_") {
			metas++
		}
	}
	n := len(b.keys)
	if metas != arcParts {
		t.Fatalf("%d meta objects", metas)
	}
	for _, args := range [][]string{{"verify"}, {"verify", "--metadata-only"}} {
		r := run(b.env, false, args...)
		want := 2*n + metas // data (not with --metadata-only), index and meta objects
		if len(args) == 2 {
			want = n + metas
		}
		if r.code != sinkctl.ExitOK || strings.Count(r.stdout, "warning archived") != want || strings.Contains(r.stdout, "unreadable") {
			t.Fatalf("%v: want %d archived warnings: %+v", args, want, r)
		}
	}
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	r := run(b.env, false, restoreArgs(addrs, "--no-wait")...)
	if r.code != sinkctl.ExitPending || !strings.Contains(r.stdout, fmt.Sprintf("requested now: %d, restoring: %d", 2*n, 2*n)) {
		t.Fatalf("restore: %+v", r)
	}
	b.srv.CompleteRestores()
	if r = run(b.env, false, restoreArgs(addrs, "--no-wait")...); r.code != sinkctl.ExitOK {
		t.Fatalf("restore: %+v", r)
	}
	checkRestored(t, addrs, arcParts, b.want)
	r = run(b.env, false, "verify")
	if r.code != sinkctl.ExitOK || strings.Count(r.stdout, "warning archived") != metas || !strings.Contains(r.stdout, fmt.Sprintf("%d records", arcParts*arcPer)) {
		t.Fatalf("verify once restored: %+v", r)
	}
}

// TestRestoreOSSServerCommand runs both commands as processes, as a user
// trying the restore out does: osstest-server with -restore-delay 0 and
// -storage-class IA (the class of what is written without one), and the
// sinkctl binary, configured from the environment, waiting for the
// restores of the ColdArchive data objects.
func TestRestoreOSSServerCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the osstest-server and sinkctl binaries")
	}
	t.Parallel()
	server := bintest.Build(t, "../osstest/cmd/osstest-server")
	bin := bintest.Build(t, "./cmd/sinkctl")
	srv := bintest.Start(t, exec.Command(server, "-addr", "127.0.0.1:0", "-bucket", "sink", "-access-key-id", "STS.ak",
		"-access-key-secret", arcSecret, "-security-token", arcToken, "-restore-delay", "0", "-storage-class", "IA"))
	var endpoint string
	testkit.WaitUntil(t, time.Minute, "osstest-server to start", func() error {
		select {
		case <-srv.Done():
			t.Fatalf("osstest-server ended: %v\n%s", srv.Err(), srv.Stderr)
		default:
		}
		_, rest, ok := strings.Cut(srv.Stderr.String(), "osstest-server: endpoint ")
		if !ok {
			return fmt.Errorf("stderr %q", srv.Stderr)
		}
		endpoint, _, _ = strings.Cut(rest, ",")
		return nil
	})
	st := ossStore(t, endpoint, arcSecret, arcToken)
	keys, want := writeArchived(t, st, store.ColdArchive, format.Encoder{Format: format.JSONL, Fields: format.AllFields()})
	infos, err := st.List(context.Background(), "backup/")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		// The data objects archived, the others appended in the bucket's
		// class (IA); the sink creates its own (meta, index, staging
		// objects) Standard explicitly.
		wantClass := map[bool]store.StorageClass{true: store.ColdArchive, false: store.IA}[slices.Contains(keys, in.Key)]
		if strings.HasPrefix(in.Key[strings.LastIndexByte(in.Key, '/')+1:], ".oss_") {
			wantClass = store.Standard
		}
		if in.StorageClass != wantClass {
			t.Fatalf("%s listed as %s, want %s", in.Key, in.StorageClass, wantClass)
		}
	}
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	cmd := exec.Command(bin, restoreArgs(addrs, "--restore-poll", "1ms")...)
	cmd.Env = []string{"OSS_BUCKET=sink", "OSS_ENDPOINT=" + endpoint, "OSS_PREFIX=backup",
		"ALIBABA_CLOUD_ACCESS_KEY_ID=STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + arcSecret, "ALIBABA_CLOUD_SECURITY_TOKEN=" + arcToken}
	r := bintest.Run(t, time.Minute, cmd)
	if r.Code != sinkctl.ExitOK || !strings.Contains(r.Stdout, fmt.Sprintf("restored %d records", arcParts*arcPer)) || !strings.Contains(r.Stderr, "all ready") {
		t.Fatalf("restore: %+v", r)
	}
	checkRestored(t, addrs, arcParts, want)
	if got := strings.Count(srv.Stderr.String(), "RestoreObject "); got != len(keys) {
		t.Fatalf("osstest-server logged %d RestoreObject requests, want %d:\n%s", got, len(keys), srv.Stderr)
	}
	if err := srv.Interrupt(t, time.Minute); err != nil {
		t.Fatalf("osstest-server on SIGINT: %v", err)
	}
}

// TestRestoreOSSFlaky restores archived objects through a flaky server:
// every operation fails before or after taking effect now and then, a
// restore request's reply is lost, and five reads in a row fail (beyond
// the SDK's retries); the user runs the same command until it succeeds:
// every record lands exactly once, and every object's restore was
// started once.
func TestRestoreOSSFlaky(t *testing.T) {
	t.Parallel()
	var started atomic.Int64
	b := newArchivedBucket(t, store.ColdArchive, osstest.WithRestoreDelay(func(string, string) time.Duration {
		started.Add(1) // asked only when a restore starts
		return 0
	}), osstest.WithSeed(11))
	for _, op := range osstest.Ops() {
		b.srv.SetFault(op, osstest.Fault{Before: 0.1, After: 0.1})
	}
	b.srv.SetFault(osstest.OpRestore, osstest.Fault{After: 1, Skip: 1, Limit: 1})
	b.srv.SetFault(osstest.OpGet, osstest.Fault{Before: 1, Skip: 3, Limit: 5})
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(arcParts, "dst")).ListenAddrs()
	var r result
	runs := 0
	for ; runs < 20; runs++ {
		if r = run(b.env, false, restoreArgs(addrs, "--restore-poll", "1ms", "--chunk", "3")...); r.code == sinkctl.ExitOK {
			break
		}
	}
	if r.code != sinkctl.ExitOK {
		t.Fatalf("%d runs failed: %+v", runs, r)
	}
	st := b.srv.Stats()
	t.Logf("%d runs failed before one completed; %d requests, faults %v", runs, st.Total(), st.Faults)
	b.srv.ClearFaults()
	checkRestored(t, addrs, arcParts, b.want)
	for _, k := range b.keys {
		if in, _ := b.srv.ObjectInfo("sink", k); in.Restore != "done" {
			t.Fatalf("%s: restore %q", k, in.Restore)
		}
	}
	if got := started.Load(); got != int64(len(b.keys)) {
		t.Fatalf("%d restores started for %d archived objects", got, len(b.keys))
	}
}

// TestRestoreOSSArchivedKilledProducing SIGKILLs the sinkctl binary at
// random moments while it produces records of restored ColdArchive
// objects, checkpointing into the bucket through the SDK, and resumes it
// each time: every record exactly once, and no restore requested again.
func TestRestoreOSSArchivedKilledProducing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	t.Parallel()
	const parts, perPart = 3, 300
	bin := bintest.Build(t, "./cmd/sinkctl")
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", arcSecret, arcToken), osstest.WithManualRestores())
	st := ossStore(t, srv.Endpoint(), arcSecret, arcToken)
	want := killJSONL(t, st, parts, perPart)
	keys := fixture.ArchiveAll(t, st, "bk", store.ColdArchive)
	env := []string{"OSS_BUCKET=sink", "OSS_ENDPOINT=" + srv.Endpoint(), "OSS_PREFIX=bk",
		"ALIBABA_CLOUD_ACCESS_KEY_ID=STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + arcSecret, "ALIBABA_CLOUD_SECURITY_TOKEN=" + arcToken}
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "dst")).ListenAddrs()
	args := []string{"restore", "--topic", "src", "--target-topic", "dst", "--brokers", strings.Join(addrs, ","), "--chunk", "25", "--json", "--no-wait"}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if r := bintest.Run(t, time.Minute, cmd); r.Code != sinkctl.ExitPending {
		t.Fatalf("first run: %+v", r)
	}
	if got := srv.CompleteRestores(); got != len(keys) {
		t.Fatalf("%d restores completed, want %d", got, len(keys))
	}
	killAndResumeEnv(t, bin, env, addrs, parts*perPart, 21, args...)
	checkRestored(t, addrs, parts, want)
	if got := srv.Requests(osstest.OpRestore); got != len(keys) {
		t.Fatalf("%d RestoreObject requests for %d archived objects", got, len(keys))
	}
}
