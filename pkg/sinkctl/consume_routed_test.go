package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestConsumeRouted: consume applies SINK_FOLDER, SINK_TIMEZONE,
// SINK_FILTER and SINK_INVALID as the function does: records land in time
// and header folders (Asia/Shanghai), filtered ones nowhere, unroutable ones
// in invalidRuleData/.
func TestConsumeRouted(t *testing.T) {
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(1, "t")).ListenAddrs()
	base := time.Date(2026, 11, 24, 15, 59, 0, 0, time.UTC) // 23:59 in Shanghai
	var msgs []kafkatest.Message
	want := map[int64]string{}
	var stored []int64
	for i := range 15 { // the last, 14, is filtered
		m := kafkatest.Message{Value: fmt.Appendf(nil, "value-%d", i), Timestamp: base.Add(time.Duration(i) * 30 * time.Second)}
		if i%4 != 3 {
			m.Headers = []sarama.RecordHeader{{Key: []byte("tenant"), Value: []byte("acme")}}
		}
		if i%5 == 4 {
			m.Value = fmt.Appendf(nil, "heartbeat-%d", i)
		}
		msgs = append(msgs, m)
		off := int64(i)
		switch {
		case i%5 == 4:
			continue // filtered
		case i%4 == 3:
			want[off] = "/invalidRuleData/t/"
		default:
			day := "2026-11-24/hh=23"
			if !m.Timestamp.Before(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)) {
				day = "2026-11-25/hh=00"
			}
			want[off] = "/acme/t/dt=" + day + "/"
		}
		stored = append(stored, off)
	}
	kafkatest.Produce(t, addrs, "t", msgs)

	dir := t.TempDir()
	var stderr testkit.SyncBuffer
	vars := map[string]string{"SINK_FORMAT": "jsonl", "SINK_FOLDER": "{header:tenant}/{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/",
		"SINK_TIMEZONE": "Asia/Shanghai", "SINK_FILTER": `drop value contains "heartbeat"`}
	env := sinkctl.Env{Stderr: &stderr, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- sinkctl.Main(ctx, []string{"consume", "--brokers", strings.Join(addrs, ","), "--group", "g",
			"--topic", "t", "--batch-count", "5", "--batch-window", "100ms", "--dir", dir}, env)
	}()
	st := fixture.Local(t, dir)
	committed := func() bool {
		b, err := st.Get(context.Background(), sink.MetaKey("", "t", 0))
		if err != nil {
			return false
		}
		m, err := sink.DecodeMeta(b, "", "t", 0)
		return err == nil && m.Committed == 14
	}
	testkit.WaitFor(t, 15*time.Second, "offset 14 committed in the store", committed)
	cancel()
	if code := <-done; code != sinkctl.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	w := sinktest.Want{Offsets: map[int32][]int64{0: stored}, Committed: map[int32]int64{0: 14}, Dirs: []string{"acme/"},
		Folders: map[int32]map[int64]string{0: want}}
	if err := sinktest.CheckWith(context.Background(), st, "", "t", sinktest.JSONLOffset, w); err != nil {
		t.Fatal(err)
	}

	// verify, with the same settings in its environment, finds the routed
	// folders and does not call the filtered records missing — neither
	// after the last stored one (the committed offset is a filtered
	// record's) nor against Kafka.
	for _, args := range [][]string{
		{"verify", "--dir", dir, "--topic", "t"},
		{"verify", "--dir", dir, "--topic", "t", "--brokers", strings.Join(addrs, ","), "--group", "g"},
	} {
		var out bytes.Buffer
		code := sinkctl.Main(t.Context(), append(args, "--json"), sinkctl.Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string { return vars[k] }})
		if code != sinkctl.ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, out.String())
		}
		if len(args) > 5 && !strings.Contains(out.String(), `"filtered": 3`) {
			t.Fatalf("%v: the filtered records are not counted:\n%s", args, out.String())
		}
	}
}
