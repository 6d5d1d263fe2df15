package restore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// readOnly is a bucket that refuses every write, as a read-only key or a
// WORM retention policy does.
type readOnly struct{ store.Store }

var errReadOnly = errors.New("403 AccessDenied: the bucket is read-only")

func (readOnly) Put(context.Context, string, []byte, ...store.WriteOption) error { return errReadOnly }
func (readOnly) PutReader(context.Context, string, io.ReaderAt, int64, ...store.WriteOption) error {
	return errReadOnly
}
func (readOnly) Append(context.Context, string, int64, []byte, ...store.WriteOption) (int64, error) {
	return 0, errReadOnly
}
func (readOnly) Delete(context.Context, string) error { return errReadOnly }

// failPut fails its Nth Put and every one after it (as a process killed
// at that moment would never write again).
type failPut struct {
	store.Store
	n    int64
	puts atomic.Int64
}

func (f *failPut) Put(ctx context.Context, key string, b []byte, opts ...store.WriteOption) error {
	if f.puts.Add(1) >= f.n {
		return errors.New("killed")
	}
	return f.Store.Put(ctx, key, b, opts...)
}

func (f *failPut) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	if f.puts.Add(1) >= f.n {
		return errors.New("killed")
	}
	return f.Store.PutReader(ctx, key, r, size, opts...)
}

func TestTargetTopicRules(t *testing.T) {
	t.Parallel()
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	backup(t, st, "src", format.JSONL, []msg{{partition: 0, offset: 0, value: ptr("v")}})
	for _, tc := range []struct {
		name string
		opts []restore.Option
		want string // "" succeeds
	}{
		{"no target", nil, "no target topic"},
		{"the source topic", []restore.Option{restore.TargetTopic("src")}, "--allow-source-topic"},
		{"the source topic, allowed", []restore.Option{restore.TargetTopic("src"), restore.AllowSourceTopic(true)}, ""},
		{"another topic", []restore.Option{restore.TargetTopic("dst")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.DryRun(true)}, tc.opts...)
			sum, err := restore.Run(t.Context(), st, restore.Kafka{}, opts...)
			switch {
			case tc.want == "" && (err != nil || sum.Records != 1):
				t.Fatalf("%+v, %v", sum, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || sum != nil):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestEpochs: objects of two epochs of a partition (the topic was
// recreated, offsets started again) are never mixed: without Epoch the
// restore is refused, naming the epochs; with it, only that epoch's
// records are produced, each epoch with its own checkpoint.
func TestEpochs(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	var e0, e1 []events.Record
	for o := range int64(6) {
		e0 = append(e0, record(0, o, []byte("k"), []byte("old life "+string(rune('a'+o))), 1700000000000+o))
	}
	for o := range int64(4) {
		e1 = append(e1, record(0, o, nil, []byte("new life "+string(rune('a'+o))), 1800000000000+o))
	}
	// Written by the engine: epoch 0, a new epoch (the topic recreated),
	// epoch 1, each in its own objects.
	jsonl := sink.WithEncoder(format.Encoder{Format: format.JSONL})
	fixture.ByEngine(t, st, 2, e0, sink.WithPrefix("bk"), jsonl, sink.WithFlushRecords(4))
	if _, err := sink.StartEpoch(t.Context(), st, "bk", "src", 0, "topic recreated", time.Now()); err != nil {
		t.Fatal(err)
	}
	fixture.ByEngine(t, st, 3, e1, sink.WithPrefix("bk"), jsonl, sink.WithFlushRecords(3))

	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")}
	_, err := restore.Run(t.Context(), st, kafka(c), common...)
	if !errors.Is(err, restore.ErrEpochs) || !strings.Contains(err.Error(), "partition 0 has objects of epochs 0, 1") || !strings.Contains(err.Error(), "--epoch") {
		t.Fatalf("err = %v", err)
	}
	if gs := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0); len(gs) != 0 {
		t.Fatalf("%d records produced", len(gs))
	}
	for _, tc := range []struct {
		epoch int64
		want  []events.Record
	}{{1, e1}, {0, e0}} {
		sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.Epoch(tc.epoch))...)
		if err != nil || sum.Records != int64(len(tc.want)) || sum.Partitions[0].Epoch != tc.epoch {
			t.Fatalf("epoch %d: %+v, %v", tc.epoch, sum, err)
		}
	}
	gs := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)
	want := append(append([]events.Record{}, e1...), e0...)
	if len(gs) != len(want) {
		t.Fatalf("%d records, want %d", len(gs), len(want))
	}
	for i, g := range gs {
		if string(g.Value) != string(want[i].Value) || string(g.Key) != string(want[i].Key) || g.Timestamp.UnixMilli() != want[i].Timestamp {
			t.Fatalf("record %d: %q %q %d, want %+v", i, g.Key, g.Value, g.Timestamp.UnixMilli(), want[i])
		}
	}
	sum, err := restore.Run(t.Context(), st, kafka(c), append(common, restore.Epoch(1))...)
	if err != nil || sum.Records != 0 || sum.Skipped != int64(len(e1)) {
		t.Fatalf("again: %+v, %v", sum, err)
	}
}

// TestReadOnlyBackup: a backup that takes no writes fails each partition
// before anything is produced, pointing to Checkpoints; with checkpoints
// kept elsewhere the restore works, interrupted and resumed.
func TestReadOnlyBackup(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "src", "dst")
	ms := produceSrc(t, c.ListenAddrs(), "src", 45)
	dir := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	backup(t, dir, "src", format.JSONL, ms)
	ro := readOnly{dir}
	common := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(4)}

	sum, err := restore.Run(t.Context(), ro, kafka(c), common...)
	if !errors.Is(err, restore.ErrPartial) || !errors.Is(err, errReadOnly) || !strings.Contains(err.Error(), "--checkpoint-dir") || sum.Records != 0 {
		t.Fatalf("%+v, %v", sum, err)
	}
	for p := int32(0); p < parts; p++ {
		if gs := kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", p); len(gs) != 0 {
			t.Fatalf("dst/%d: %d records produced", p, len(gs))
		}
	}

	cdir := t.TempDir()
	cst := fixture.Local(t, cdir, localstore.WithoutFsync())
	elsewhere := restore.Checkpoints(cst, "", "dir:backup")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sum, err = restore.Run(ctx, ro, kafka(c), append(common, elsewhere, restore.OnProgress(func(restore.Progress) { cancel() }))...)
	if !errors.Is(err, context.Canceled) || sum.Records == 0 || sum.Records >= int64(len(ms)) {
		t.Fatalf("interrupted: %+v, %v", sum, err)
	}
	first := sum.Records
	sum, err = restore.Run(t.Context(), ro, kafka(c), append(common, elsewhere)...)
	if err != nil || sum.Records+first != int64(len(ms)) {
		t.Fatalf("resumed: %+v, %v (first run %d)", sum, err, first)
	}
	for _, p := range sum.Partitions {
		id := restore.CheckpointID{Source: "dir:backup", Topic: "src", Partition: p.Partition, ClusterID: "kfake", Target: "dst"}
		if _, err := cst.Get(t.Context(), restore.CheckpointKey("", id)); err != nil || p.Checkpoint != restore.CheckpointKey("", id) {
			t.Fatalf("partition %d: checkpoint %s: %v", p.Partition, p.Checkpoint, err)
		}
	}
	got, want := readTopic(t, c.ListenAddrs(), "dst"), byPartition(ms)
	for p := int32(0); p < parts; p++ {
		sameOrder(t, "dst", got[p], want[p])
	}
}

// resumeFixture is one partition of 10 JSONL records with keys, headers
// and timestamps, restored in chunks of 4.
func resumeFixture(t *testing.T) (store.Store, []msg) {
	t.Helper()
	st := fixture.Local(t, t.TempDir(), localstore.WithoutFsync())
	var ms []msg
	for o := range int64(10) {
		m := msg{partition: 0, offset: o, key: ptr("k"), value: ptr("value " + string(rune('a'+o))), ts: 1700000000000 + o,
			headers: [][2]string{{"h", "x"}}}
		if o == 6 {
			m.value = nil
		}
		ms = append(ms, m)
	}
	backup(t, st, "src", format.JSONL, ms)
	return st, ms
}

func producer(t *testing.T, c *kfake.Cluster) sarama.SyncProducer {
	t.Helper()
	return kafkatest.NewProducer(t, c.ListenAddrs())
}

// produceMsgs produces ms to partition 0 of topic.
func produceMsgs(t *testing.T, p sarama.SyncProducer, topic string, ms []msg) {
	t.Helper()
	kms := messages(ms)
	for i := range kms {
		kms[i].Partition = 0
	}
	kafkatest.Send(t, p, topic, kms...)
}

// TestResumeInterruptedChunk: a run that stops between producing a chunk
// and writing the checkpoint (killed, or the write failed) leaves a chunk
// announced; the next run reads the target partition to tell how much of
// it landed (none, part, all) and produces the rest: exactly once. Records
// of another producer where the chunk should be are refused, never guessed.
func TestResumeInterruptedChunk(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst", "none", "part", "foreign")
	st, ms := resumeFixture(t)
	ck := &failPut{Store: st, n: 3} // resume, announce chunk 1, [announce chunk 2: killed]
	opts := func(target string) []restore.Option {
		return []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic(target), restore.Partitions(0), restore.ChunkRecords(4)}
	}
	_, err := restore.Run(t.Context(), ck, kafka(c), opts("dst")...)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("err = %v", err)
	}
	// The whole chunk landed before the kill.
	id := restore.CheckpointID{Topic: "src", Partition: 0, ClusterID: "kfake", Target: "dst"}
	b, err := st.Get(t.Context(), restore.CheckpointKey("bk", id))
	if err != nil {
		t.Fatal(err)
	}
	var saved restore.Checkpoint
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Pending == nil || saved.Pending.Records != 4 || saved.Anchor != nil {
		t.Fatalf("saved checkpoint %s", b)
	}
	sum, err := restore.Run(t.Context(), st, kafka(c), opts("dst")...)
	if err != nil || sum.Partitions[0].Landed != 4 || sum.Records != 6 {
		t.Fatalf("resumed: %+v, %v", sum, err)
	}
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], ms)

	// The same announced chunk against targets holding none of it, its
	// first two records, or a record of another producer.
	prod := producer(t, c)
	for _, tc := range []struct {
		target  string
		before  []msg
		landed  int64
		refused bool
	}{
		{"none", nil, 0, false},
		{"part", ms[:2], 2, false},
		{"foreign", []msg{ms[0], {value: ptr("not from the backup")}}, 0, true},
	} {
		t.Run(tc.target, func(t *testing.T) {
			produceMsgs(t, prod, tc.target, tc.before)
			cp := saved
			cp.ID.Target = tc.target
			b, err := json.Marshal(cp)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(t.Context(), restore.CheckpointKey("bk", cp.ID), b); err != nil {
				t.Fatal(err)
			}
			sum, err := restore.Run(t.Context(), st, kafka(c), opts(tc.target)...)
			if tc.refused {
				if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), "another producer") {
					t.Fatalf("err = %v", err)
				}
				if n := len(kafkatest.ReadPartition(t, c.ListenAddrs(), tc.target, 0)); n != len(tc.before) {
					t.Fatalf("%d records in the target, want the %d there before", n, len(tc.before))
				}
				return
			}
			if err != nil || sum.Partitions[0].Landed != tc.landed || sum.Records != int64(len(ms))-tc.landed {
				t.Fatalf("%+v, %v", sum, err)
			}
			sameOrder(t, tc.target, readTopic(t, c.ListenAddrs(), tc.target)[0], ms)
		})
	}
}

// TestRecreatedTarget: a target partition that is not the one a checkpoint
// describes: empty (the checkpoint is started over, everything produced),
// shorter than the checkpoint says, or as long but holding other records
// (refused, pointing to ResetCheckpoint).
func TestRecreatedTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		other   int // records of another producer in the recreated topic
		refused string
	}{
		{"empty", 0, ""},
		{"shorter", 3, "ends at offset 3"},
		{"as long", 10, "is not source offset 9"},
		{"longer", 12, "is not source offset 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "dst")
			st, ms := resumeFixture(t)
			opts := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.Partitions(0)}
			if _, err := restore.Run(t.Context(), st, kafka(c), opts...); err != nil {
				t.Fatal(err)
			}
			kafkatest.DeleteTopic(t, c.ListenAddrs(), "dst")
			kafkatest.CreateTopic(t, c.ListenAddrs(), "dst", parts)
			var other []msg
			for range tc.other {
				other = append(other, msg{value: ptr("someone else's")})
			}
			produceMsgs(t, producer(t, c), "dst", other)
			sum, err := restore.Run(t.Context(), st, kafka(c), opts...)
			if tc.refused != "" {
				if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), "--reset-checkpoint") {
					t.Fatalf("err = %v", err)
				}
				sum, err = restore.Run(t.Context(), st, kafka(c), append(opts, restore.ResetCheckpoint(true))...)
				if err != nil || !sum.Partitions[0].Reset || sum.Records != int64(len(ms)) {
					t.Fatalf("reset: %+v, %v", sum, err)
				}
				sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0][tc.other:], ms)
				return
			}
			if err != nil || !sum.Partitions[0].Reset || sum.Records != int64(len(ms)) {
				t.Fatalf("%+v, %v", sum, err)
			}
			sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], ms)
		})
	}
}

// TestForeignRecordsBetweenRuns: records another producer wrote after a
// restore run are left alone; the next run continues after them.
func TestForeignRecordsBetweenRuns(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms := resumeFixture(t)
	opts := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst"), restore.Partitions(0)}
	if _, err := restore.Run(t.Context(), st, kafka(c), append(opts, restore.OffsetRange(0, 4))...); err != nil {
		t.Fatal(err)
	}
	other := []msg{{value: ptr("someone else's")}, {value: ptr("and another")}}
	produceMsgs(t, producer(t, c), "dst", other)
	sum, err := restore.Run(t.Context(), st, kafka(c), opts...)
	if err != nil || sum.Records != 5 || sum.Partitions[0].Foreign != 2 {
		t.Fatalf("%+v, %v", sum, err)
	}
	want := append(append(append([]msg{}, ms[:5]...), other...), ms[5:]...)
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], want)
}

// TestResetCheckpoint: ResetCheckpoint starts over and produces every
// record again, as documented.
func TestResetCheckpoint(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms := resumeFixture(t)
	opts := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")}
	for _, reset := range []bool{false, true, false} {
		if _, err := restore.Run(t.Context(), st, kafka(c), append(opts, restore.ResetCheckpoint(reset))...); err != nil {
			t.Fatal(err)
		}
	}
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], append(append([]msg{}, ms...), ms...))
}

// TestDryRunCheckpoints: a dry run with brokers consults the checkpoints
// (and writes nothing); without brokers it cannot and says so.
func TestDryRunCheckpoints(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst")
	st, ms := resumeFixture(t)
	opts := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")}
	if _, err := restore.Run(t.Context(), st, kafka(c), append(opts, restore.OffsetRange(0, 3))...); err != nil {
		t.Fatal(err)
	}
	sum, err := restore.Run(t.Context(), st, kafka(c), append(opts, restore.DryRun(true))...)
	if err != nil || !sum.Checkpoints || sum.Records != 6 || sum.Skipped != 4 {
		t.Fatalf("with brokers: %+v, %v", sum, err)
	}
	sum, err = restore.Run(t.Context(), st, restore.Kafka{}, append(opts, restore.DryRun(true))...)
	if err != nil || sum.Checkpoints || sum.Records != 10 {
		t.Fatalf("without brokers: %+v, %v", sum, err)
	}
	if n := len(kafkatest.ReadPartition(t, c.ListenAddrs(), "dst", 0)); n != 4 {
		t.Fatalf("%d records in the target after dry runs", n)
	}
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], ms[:4])
}

// TestEarlierVersionCheckpoint: a checkpoint of the earlier format (a
// high-water mark keyed by target topic name) is never followed: it is
// refused while the target holds records, until ResetCheckpoint.
func TestEarlierVersionCheckpoint(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "dst", "other")
	st, ms := resumeFixture(t)
	if err := st.Put(t.Context(), "bk/src/.restore_checkpoint_dst_partition_0", []byte(`{"last_offset_produced":4}`)); err != nil {
		t.Fatal(err)
	}
	opts := []restore.Option{restore.Prefix("bk"), restore.Topic("src"), restore.TargetTopic("dst")}
	// An empty target cannot hold what it describes.
	sum, err := restore.Run(t.Context(), st, kafka(c), append(opts, restore.OffsetRange(0, 4))...)
	if err != nil || sum.Records != 5 {
		t.Fatalf("%+v, %v", sum, err)
	}
	// A new checkpoint exists now: the old one no longer matters.
	sum, err = restore.Run(t.Context(), st, kafka(c), opts...)
	if err != nil || sum.Records != 5 {
		t.Fatalf("%+v, %v", sum, err)
	}
	sameOrder(t, "dst", readTopic(t, c.ListenAddrs(), "dst")[0], ms)

	// Into a non-empty target without a new checkpoint: refused.
	produceMsgs(t, producer(t, c), "other", []msg{{value: ptr("x")}})
	if err := st.Put(t.Context(), "bk/src/.restore_checkpoint_other_partition_0", []byte(`{"last_offset_produced":4}`)); err != nil {
		t.Fatal(err)
	}
	opts[2] = restore.TargetTopic("other")
	_, err = restore.Run(t.Context(), st, kafka(c), opts...)
	if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), "earlier sinkctl version") {
		t.Fatalf("err = %v", err)
	}
	sum, err = restore.Run(t.Context(), st, kafka(c), append(opts, restore.ResetCheckpoint(true))...)
	if err != nil || sum.Records != 10 {
		t.Fatalf("reset: %+v, %v", sum, err)
	}
}
