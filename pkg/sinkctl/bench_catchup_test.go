package sinkctl_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// BenchmarkConsumeUntilCaughtUp: a backfill of 40000 records over 4
// partitions (jsonl, gzip, batches of 100) into a local directory, each
// iteration a new group and a new directory; reports records/s.
//
//	go test ./pkg/sinkctl/ -run '^$' -bench ConsumeUntilCaughtUp -benchtime 3x
func BenchmarkConsumeUntilCaughtUp(b *testing.B) {
	const parts, n = 4, 40000
	addrs := kafkatest.NewCluster(b, kfake.SeedTopics(parts, "orders")).ListenAddrs()
	var msgs []kafkatest.Message
	for i := range n {
		msgs = append(msgs, kafkatest.Message{Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, `{"order":%d}`, i)})
	}
	kafkatest.Produce(b, addrs, "orders", msgs)
	env := testkit.Env("SINK_FORMAT", "jsonl", "SINK_COMPRESSION", "gzip", "SINK_FLUSH_RECORDS", "4000", "LOG_LEVEL", "warn")
	b.ResetTimer()
	for i := range b.N {
		var out, errb strings.Builder
		code := sinkctl.Main(context.Background(), []string{"consume", "--brokers", strings.Join(addrs, ","), "--group", fmt.Sprint("bench-", i),
			"--topic", "orders", "--dir", b.TempDir(), "--until-caught-up", "--progress-interval", "0"}, sinkctl.Env{Stdout: &out, Stderr: &errb, Getenv: env})
		if code != sinkctl.ExitOK || !strings.HasPrefix(out.String(), "caught up") {
			b.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
