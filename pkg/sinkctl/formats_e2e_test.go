package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestFormatsEndToEnd: records consumed by the handler in Parquet and
// CSV with selected fields and compression are checked by sinkctl verify
// against Kafka (records and contents) and restored by sinkctl restore,
// which says what the records lack and restores the rest exactly.
func TestFormatsEndToEnd(t *testing.T) {
	t.Parallel()
	const parts, n = 2, 30
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "src", "dst-parquet", "dst-csv")).ListenAddrs()
	var msgs []kafkatest.Message
	for i := range n {
		m := kafkatest.Message{Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i),
			Value: fmt.Appendf(nil, "value, \"%d\"\nline two é", i), Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: []byte("v")}}}
		if i%7 == 3 {
			m.Value = nil
		}
		msgs = append(msgs, m)
	}
	kafkatest.Produce(t, addrs, "src", msgs)
	brokers := strings.Join(addrs, ",")
	for _, tc := range []struct {
		name, format, fields, codec, lacks string
	}{
		{"parquet", "parquet", "offset,value", "snappy", "key, headers, timestamp"},
		{"csv", "csv", "value,key,timestamp", "zstd", "headers"},
	} {
		dir := filepath.Join(t.TempDir(), "store")
		group := "g-" + tc.name
		h := handlertest.New(t, testkit.Env("SINK_FORMAT", tc.format, "SINK_FIELDS", tc.fields, "SINK_COMPRESSION", tc.codec,
			"SINK_LOCAL_DIR", dir, "SINK_FLUSH_RECORDS", "4", "LOG_LEVEL", "warn"))
		err := testkit.RunUntil(t, time.Minute, "consume to commit everything", func(ctx context.Context) error {
			return consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group(group), consume.Topics("src"),
				consume.StartAt(consume.StartEarliest), consume.CountBasedWindow(5), consume.TimeBasedWindow(50*time.Millisecond))
		}, func() bool { return kafkatest.CommittedSum(t, addrs, group, "src") >= n })
		if err != nil {
			t.Fatal(err)
		}
		r := run(nil, false, "verify", "--dir", dir, "--brokers", brokers, "--group", group)
		if r.code != sinkctl.ExitOK || strings.Contains(r.stdout, "error") {
			t.Fatalf("%s: verify: %+v", tc.name, r)
		}
		dst := "dst-" + tc.name
		r = run(nil, false, "restore", "--dir", dir, "--topic", "src", "--target-topic", dst, "--brokers", brokers, "--chunk", "4")
		if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "without "+tc.lacks) {
			t.Fatalf("%s: restore: %+v", tc.name, r)
		}
		for p := range int32(parts) {
			got := kafkatest.ReadPartition(t, addrs, dst, p)
			if len(got) != n/parts {
				t.Fatalf("%s/%d: %d records", dst, p, len(got))
			}
			for i, m := range got {
				w := msgs[i*parts+int(p)]
				wantKey := w.Key
				if !strings.Contains(tc.fields, "key") {
					wantKey = nil
				}
				if !bytes.Equal(m.Value, w.Value) || (m.Value == nil) != (w.Value == nil) || !bytes.Equal(m.Key, wantKey) || (m.Key == nil) != (wantKey == nil) || len(m.Headers) != 0 {
					t.Fatalf("%s/%d record %d: key %q value %q headers %d", dst, p, i, m.Key, m.Value, len(m.Headers))
				}
			}
		}
	}
}
