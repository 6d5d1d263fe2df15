package sinkctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

type lcRecord struct {
	key, value string
	header     string
	ts         int64
}

// TestLifeOfABackup is the whole round trip on a Kafka protocol peer no one
// here wrote (kfake) with the real sarama client: produce records with keys,
// headers and timestamps → consume them into a store, stopped and restarted
// midway → verify says complete, nothing duplicated → restore into a new
// topic, interrupted once and resumed → read the restored topic and compare
// record by record with what was produced.
func TestLifeOfABackup(t *testing.T) {
	const parts, perPart = 3, 80
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "src", "dst")).ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Produce.
	sent := map[int32][]lcRecord{}
	var msgs []kafkatest.Message
	base := time.UnixMilli(1764000000000)
	for i := 0; i < parts*perPart; i++ {
		p := int32(i % parts)
		r := lcRecord{key: fmt.Sprintf("key-%d", i), value: fmt.Sprintf("value %d \"é\"", i), header: fmt.Sprintf("trace-%d", i), ts: base.Add(time.Duration(i) * time.Second).UnixMilli()}
		msgs = append(msgs, kafkatest.Message{Partition: p, Key: []byte(r.key), Value: []byte(r.value),
			Headers: []sarama.RecordHeader{{Key: []byte("trace"), Value: []byte(r.header)}}, Timestamp: time.UnixMilli(r.ts)})
		sent[p] = append(sent[p], r)
	}
	kafkatest.Produce(t, addrs, "src", msgs)

	// Consume into a jsonl store, stopped midway and restarted.
	dir := filepath.Join(t.TempDir(), "oss-local")
	h := handlertest.New(t, testkit.Env("SINK_FORMAT", "jsonl", "SINK_LOCAL_DIR", dir, "SINK_FLUSH_RECORDS", "50", "LOG_LEVEL", "warn"))
	committed := func() int64 { return kafkatest.CommittedSum(t, addrs, "backup", "src") }
	consumeUntil := func(stop func() bool) {
		err := testkit.RunUntil(t, time.Minute, "consume", func(ctx context.Context) error {
			return consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group("backup"), consume.Topics("src"),
				consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(15), consume.TimeBasedWindow(100*time.Millisecond))
		}, stop)
		if err != nil {
			t.Fatalf("consume: %v", err)
		}
	}
	consumeUntil(func() bool { return committed() > 0 }) // stopped midway
	if c := committed(); c >= parts*perPart {
		t.Logf("the first run consumed everything (%d) before it was stopped", c)
	}
	consumeUntil(func() bool { return committed() >= parts*perPart }) // restarted: the rest

	// Verify: complete, nothing duplicated.
	st := fixture.Local(t, dir)
	rep, err := verify.Run(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range rep.Partitions {
		total += int(p.Records)
	}
	if !rep.OK() || total != parts*perPart {
		t.Fatalf("verify: ok=%v, %d records (want %d): %+v", rep.OK(), total, parts*perPart, rep.AllDefects())
	}

	// Restore into dst, interrupted after the first confirmed chunk, resumed.
	rctx, rcancel := context.WithCancel(ctx)
	_, err = restore.Run(rctx, st, restore.Kafka{Brokers: addrs}, restore.Topic("src"), restore.TargetTopic("dst"),
		restore.ChunkRecords(20), restore.OnProgress(func(restore.Progress) { rcancel() }))
	rcancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("first restore: %v", err)
	}
	sum, err := restore.Run(ctx, st, restore.Kafka{Brokers: addrs}, restore.Topic("src"), restore.TargetTopic("dst"), restore.ChunkRecords(20))
	if err != nil {
		t.Fatalf("resumed restore: %v", err)
	}
	if sum.Skipped == 0 {
		t.Fatalf("the resumed restore skipped nothing: the interruption did not take (summary %+v)", sum)
	}

	// Read dst and compare record by record: all of it, so that a
	// duplicate shows as an extra record.
	for p := int32(0); p < parts; p++ {
		ms := kafkatest.ReadPartition(t, addrs, "dst", p)
		for i, want := range sent[p] {
			if i >= len(ms) {
				t.Fatalf("dst/%d: only %d of %d records", p, len(ms), len(sent[p]))
			}
			m := ms[i]
			hdr := ""
			for _, h := range m.Headers {
				if string(h.Key) == "trace" {
					hdr = string(h.Value)
				}
			}
			if string(m.Key) != want.key || string(m.Value) != want.value || hdr != want.header || m.Timestamp.UnixMilli() != want.ts {
				t.Fatalf("dst/%d record %d: got key %q value %q header %q ts %d; want %+v", p, i, m.Key, m.Value, hdr, m.Timestamp.UnixMilli(), want)
			}
		}
		if len(ms) > len(sent[p]) {
			m := ms[len(sent[p])]
			t.Fatalf("dst/%d: an extra record (offset %d, value %q): duplicated", p, m.Offset, bytes.Clone(m.Value))
		}
	}
}
