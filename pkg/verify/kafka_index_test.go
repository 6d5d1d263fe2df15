package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// kafkaSource is a kfake cluster holding topic "orders" (2 partitions)
// and "quiet" (1 partition, never consumed), with perPart records produced
// to each partition of orders (offsets 0..perPart-1, values holding '\n')
// and the group "backup" committed at perPart.
func kafkaSource(t *testing.T, perPart int) (addrs []string, recs map[int32][]events.Record) {
	t.Helper()
	addrs = newCluster(t, map[string]int32{topic: 2, "quiet": 1})
	recs = produce(t, addrs, topic, 2, perPart, func(p int32, i int) string { return fmt.Sprintf("VALUE %d\nof partition %d\n", i, p) })
	kafkatest.CommitGroup(t, addrs, "backup", topic, map[int32]int64{0: int64(perPart), 1: int64(perPart)})
	return addrs, recs
}

// TestKafkaIndexed compares indexed raw objects (values holding '\n') with
// the live topic on kfake: a clean store has no defect; a deleted object
// (data and index) is named by Kafka as the exact range of records the
// store lacks, and by the store side as the range its neighbours' seal
// leaves; a partition the group committed but the store lacks entirely is
// an error; a --topic that matches nothing exits 2.
func TestKafkaIndexed(t *testing.T) {
	const perPart = 30
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	addrs, recs := kafkaSource(t, perPart)
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	// Written by the engine, in batches of 4 records, 7 records per object.
	for p := range int32(2) {
		fixture.ByEngine(t, st, 4, recs[p], sink.WithPrefix(prefix), sink.WithFlushRecords(7))
	}
	k, err := verify.NewSaramaKafka(ctx, verify.KafkaConfig{Brokers: addrs, Group: "backup", IdleTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	run := func(opts ...verify.Option) *verify.Report {
		t.Helper()
		rep, err := verify.Run(ctx, st, append([]verify.Option{verify.WithPrefix(prefix), verify.WithKafka(k)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	rep := run()
	if !rep.OK() || len(rep.AllDefects()) != 0 || len(rep.Partitions) != 2 {
		t.Fatalf("complete store: %v", rep.AllDefects())
	}
	for _, p := range rep.Partitions {
		if !p.ExactOffsets || p.Format != "raw" || p.Records != perPart || p.Kafka == nil || p.Kafka.Committed != perPart {
			t.Fatalf("partition %d: %+v", p.Partition, p)
		}
	}

	// Delete object offset 7..13 of partition 1, data and index.
	gone := sink.ObjectKey(prefix, topic, "", 1, 7, 0)
	del(t, st, gone)
	del(t, st, indexOf(gone))
	rep = run()
	want := verify.Range{First: 7, Last: 13}
	var kafkaMiss, storeMiss bool
	for _, d := range rep.AllDefects() {
		t.Log(d)
		switch {
		case d.Code == verify.CodeMissingInStore:
			kafkaMiss = d.Partition == 1 && d.Count == 7 && len(d.Ranges) == 1 && d.Ranges[0] == want &&
				!strings.Contains(d.Message, "approximate") && strings.Contains(d.Message, "offsets 7-13")
		case d.Code == verify.CodeObjectMissing:
			storeMiss = d.Object == gone && len(d.Ranges) == 1 && d.Ranges[0] == want
		case d.Code == verify.CodeRecordsMismatch:
		default:
			t.Errorf("unexpected defect %s", d)
		}
	}
	if !kafkaMiss || !storeMiss || rep.OK() {
		t.Fatalf("deleted object %s: want missing_in_store and object_missing of %v", gone, want)
	}

	// The store lacks partition 1 entirely.
	infos, err := st.List(ctx, prefix+topic+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if strings.Contains(in.Key, "partition_1_") || strings.HasSuffix(in.Key, "_partition_1") {
			del(t, st, in.Key)
		}
	}
	rep = run()
	p1 := partition(rep, topic, 1)
	if p1 == nil || p1.Objects != 0 || p1.Errors != 1 || len(p1.Defects) != 1 || p1.Defects[0].Code != verify.CodeMissingInStore ||
		len(p1.Defects[0].Ranges) != 1 || p1.Defects[0].Ranges[0] != (verify.Range{First: 0, Last: perPart - 1}) || rep.OK() {
		t.Fatalf("partition the store lacks: %+v", p1)
	}
	t.Log(p1.Defects[0])
	if p0 := partition(rep, topic, 0); p0 == nil || len(p0.Defects) != 0 {
		t.Fatalf("partition 0: %+v", p0)
	}

	// Through the command: exit 1 on the partition the store lacks; a
	// topic that matches nothing, in the store or in what Kafka holds,
	// exits 2.
	brokers := strings.Join(addrs, ",")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--brokers", brokers, "--group", "backup"}, sinkctl.ExitFailed, "missing_in_store orders/1"},
		{[]string{"--brokers", brokers, "--group", "backup", "--topic", topic, "--partition", "1"}, sinkctl.ExitFailed, "the store holds nothing of this partition"},
		{[]string{"--brokers", brokers, "--group", "backup", "--partition", "1"}, sinkctl.ExitFailed, "the store holds nothing of this partition"},
		{[]string{"--brokers", brokers, "--group", "backup", "--topic", "quiet"}, sinkctl.ExitUsage, "--topic quiet matches nothing"},
		{[]string{"--topic", "nope"}, sinkctl.ExitUsage, "--topic nope matches nothing"},
		{[]string{"--partition", "1"}, sinkctl.ExitUsage, "--partition 1 matches nothing"},
		{[]string{"--brokers", brokers, "--group", "backup", "--topic", "nope"}, sinkctl.ExitUsage, `partitions of topic "nope"`},
	} {
		var out, errb bytes.Buffer
		code := sinkctl.Main(ctx, append([]string{"verify", "--dir", dir, "--prefix", prefix}, tc.args...), sinkctl.Env{Stdout: &out, Stderr: &errb})
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("verify %v: exit %d, want %d and %q\n%s%s", tc.args, code, tc.code, tc.want, out.String(), errb.String())
		}
	}
}
