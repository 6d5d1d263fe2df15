package sinkctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
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
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "src", "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addrs := cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Produce.
	kcfg := sarama.NewConfig()
	kcfg.Version = sarama.V2_1_0_0
	kcfg.Producer.Return.Successes = true
	kcfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(addrs, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[int32][]lcRecord{}
	base := time.UnixMilli(1764000000000)
	for i := 0; i < parts*perPart; i++ {
		p := int32(i % parts)
		r := lcRecord{key: fmt.Sprintf("key-%d", i), value: fmt.Sprintf("value %d \"é\"", i), header: fmt.Sprintf("trace-%d", i), ts: base.Add(time.Duration(i) * time.Second).UnixMilli()}
		_, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "src", Partition: p, Key: sarama.StringEncoder(r.key),
			Value: sarama.StringEncoder(r.value), Headers: []sarama.RecordHeader{{Key: []byte("trace"), Value: []byte(r.header)}},
			Timestamp: time.UnixMilli(r.ts)})
		if err != nil {
			t.Fatal(err)
		}
		sent[p] = append(sent[p], r)
	}
	prod.Close()

	// Consume into a jsonl store, stopped midway and restarted.
	dir := filepath.Join(t.TempDir(), "oss-local")
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"SINK_FORMAT": "jsonl", "SINK_LOCAL_DIR": dir, "SINK_FLUSH_RECORDS": "50", "LOG_LEVEL": "warn"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := handler.New(cfg, io.Discard, handler.EnvCredentials(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	consumeUntil := func(stop func() bool) {
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- consume.Run(cctx, h, consume.Brokers(addrs...), consume.Group("backup"), consume.Topics("src"),
				consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(15), consume.TimeBasedWindow(100*time.Millisecond))
		}()
		for !stop() && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		ccancel()
		if err := <-done; err != nil {
			t.Fatalf("consume: %v", err)
		}
	}
	committed := func() int64 {
		adm, err := sarama.NewClusterAdmin(addrs, kcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close()
		resp, err := adm.ListConsumerGroupOffsets("backup", map[string][]int32{"src": {0, 1, 2}})
		if err != nil {
			return 0
		}
		var n int64
		for _, b := range resp.Blocks["src"] {
			n += max(b.Offset, 0)
		}
		return n
	}
	consumeUntil(func() bool { return committed() > 0 }) // stopped midway
	if c := committed(); c >= parts*perPart {
		t.Logf("the first run consumed everything (%d) before it was stopped", c)
	}
	consumeUntil(func() bool { return committed() >= parts*perPart }) // restarted: the rest

	// Verify: complete, nothing duplicated.
	st, err := localstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
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

	// Read dst and compare record by record.
	cons, err := sarama.NewConsumer(addrs, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for p := int32(0); p < parts; p++ {
		pc, err := cons.ConsumePartition("dst", p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range sent[p] {
			var m *sarama.ConsumerMessage
			select {
			case m = <-pc.Messages():
			case <-time.After(10 * time.Second):
				t.Fatalf("dst/%d: only %d of %d records", p, i, len(sent[p]))
			}
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
		select {
		case m := <-pc.Messages():
			t.Fatalf("dst/%d: an extra record (offset %d, value %q): duplicated", p, m.Offset, bytes.Clone(m.Value))
		case <-time.After(300 * time.Millisecond):
		}
		pc.Close()
	}
}
