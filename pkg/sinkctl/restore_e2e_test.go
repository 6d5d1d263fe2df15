package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
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
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "src", "dst", "range")).ListenAddrs()
	prod := kafkatest.NewProducer(t, addrs, kafkatest.Transactional("restore-e2e"))
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
			off := kafkatest.Send(t, prod, "src", kafkatest.Message{Partition: p, Value: v})[0]
			produced[p] = append(produced[p], sent{off, v})
		}
		if err := prod.CommitTxn(); err != nil {
			t.Fatal(err)
		}
	}
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
	h := handlertest.New(t, testkit.Env("SINK_FORMAT", "raw", "SINK_VALUE_ENCODING", "base64", "SINK_LOCAL_DIR", dir, "SINK_FLUSH_RECORDS", "6", "LOG_LEVEL", "warn"))
	err := testkit.RunUntil(t, time.Minute, "consume to commit everything", func(ctx context.Context) error {
		return consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group("e2e"), consume.Topics("src"),
			consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(4), consume.TimeBasedWindow(50*time.Millisecond))
	}, func() bool { return kafkatest.CommittedSum(t, addrs, "e2e", "src") >= want })
	if err != nil {
		t.Fatal(err)
	}

	check := func(topic string, p int32, ss []sent) {
		t.Helper()
		ms := kafkatest.ReadPartition(t, addrs, topic, p)
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
	// A dry run says it in the conditional.
	r := run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--dry-run")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "values only would be restored") || strings.Contains(r.stdout, " were restored") {
		t.Fatalf("restore --dry-run: %+v", r)
	}
	r = run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", "dst", "--brokers", brokers, "--chunk", "4")
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
