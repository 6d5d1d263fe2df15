package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore/restoretest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestRestoreRawEndToEnd: records produced in transactions (their commit
// markers leave real offset gaps), with values holding newlines, binary
// bytes (0x0A among them) and tombstones, are consumed into raw objects by
// the handler (SINK_VALUE_ENCODING=base64, record indexes from the engine)
// and restored by sinkctl: every value and tombstone comes back, in order,
// and an offset range selects by the real offsets.
func TestRestoreRawEndToEnd(t *testing.T) {
	t.Parallel()
	const parts = 2
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "src", "dst", "range"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addrs := cluster.ListenAddrs()

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = "restore-e2e"
	prod, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		offset int64
		value  []byte
	}
	produced := map[int32][]sent{}
	for txn := range 8 {
		if err := prod.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			n := txn*5 + i
			p := int32(n % parts)
			v := fmt.Appendf(nil, "record %d\nsecond line", n)
			switch n % 6 {
			case 1:
				v = []byte{0x0a, byte(n), 0x00, 0xff, 0x0a}
			case 3:
				v = nil
			case 4:
				v = []byte{}
			}
			pm := &sarama.ProducerMessage{Topic: "src", Partition: p}
			if v != nil {
				pm.Value = sarama.ByteEncoder(v)
			}
			_, off, err := prod.SendMessage(pm)
			if err != nil {
				t.Fatal(err)
			}
			produced[p] = append(produced[p], sent{off, v})
		}
		if err := prod.CommitTxn(); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close()
	var want int64
	gaps := false
	for p := range int32(parts) {
		ss := produced[p]
		want += ss[len(ss)-1].offset + 1
		for i := 1; i < len(ss); i++ {
			gaps = gaps || ss[i].offset != ss[i-1].offset+1
		}
	}
	if !gaps {
		t.Fatal("the transactions left no offset gaps: the test lost its point")
	}

	dir := filepath.Join(t.TempDir(), "store")
	hcfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"SINK_FORMAT": "raw", "SINK_VALUE_ENCODING": "base64", "SINK_LOCAL_DIR": dir, "SINK_FLUSH_RECORDS": "6", "LOG_LEVEL": "warn"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := handler.New(hcfg, io.Discard, handler.EnvCredentials(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group("e2e"), consume.Topics("src"),
			consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(4), consume.TimeBasedWindow(50*time.Millisecond))
	}()
	deadline := time.Now().Add(60 * time.Second)
	for groupCommitted(t, addrs, "e2e", "src", parts) < want {
		if time.Now().After(deadline) {
			t.Fatalf("consume: committed %d of %d", groupCommitted(t, addrs, "e2e", "src", parts), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	check := func(topic string, p int32, ss []sent) {
		t.Helper()
		ms := restoretest.ReadPartition(t, addrs, topic, p)
		if len(ms) != len(ss) {
			t.Fatalf("%s/%d: %d records, want %d", topic, p, len(ms), len(ss))
		}
		for i, m := range ms {
			if (m.Value == nil) != (ss[i].value == nil) || !bytes.Equal(m.Value, ss[i].value) || m.Key != nil || len(m.Headers) != 0 {
				t.Fatalf("%s/%d record %d (source offset %d): value %q (nil %v), want %q (nil %v)",
					topic, p, i, ss[i].offset, m.Value, m.Value == nil, ss[i].value, ss[i].value == nil)
			}
		}
	}
	brokers := strings.Join(addrs, ",")
	r := run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", brokers, "--chunk", "4")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "values only were restored") {
		t.Fatalf("restore: %+v", r)
	}
	for p := range int32(parts) {
		check("dst", p, produced[p])
	}
	// An offset range across gaps: exactly the records whose offsets are in
	// it (from the one after record 1, a gap or record 2).
	ss := produced[0]
	r = run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "range", "--brokers", brokers,
		"--partition", "0", "--from-offset", fmt.Sprint(ss[1].offset+1), "--to-offset", fmt.Sprint(ss[len(ss)-3].offset))
	if r.code != sinkctl.ExitOK {
		t.Fatalf("range restore: %+v", r)
	}
	check("range", 0, ss[2:len(ss)-2])
}
