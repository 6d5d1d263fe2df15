package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

func TestConsumeCommand(t *testing.T) {
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(2, "t")).ListenAddrs()
	var msgs []kafkatest.Message
	for i := range 20 {
		msgs = append(msgs, kafkatest.Message{Partition: int32(i % 2), Key: fmt.Append(nil, i), Value: fmt.Appendf(nil, "secret-value-%d", i)})
	}
	kafkatest.Produce(t, addrs, "t", msgs)

	dir := t.TempDir()
	var stderr testkit.SyncBuffer
	env := sinkctl.Env{Stderr: &stderr, Getenv: func(k string) string {
		return map[string]string{"SINK_FORMAT": "jsonl", "KPASS": "pw"}[k]
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- sinkctl.Main(ctx, []string{"consume", "--brokers", strings.Join(addrs, ","), "--group", "g",
			"--topic", "t", "--batch-count", "5", "--batch-window", "100ms", "--dir", dir}, env)
	}()
	testkit.WaitFor(t, 15*time.Second, "4 invocations logged", func() bool { return strings.Count(stderr.String(), `"invocation done"`) >= 4 })
	cancel()
	if code := <-done; code != sinkctl.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, `"invocation done"`) || strings.Contains(out, "secret-value") {
		t.Fatalf("log:\n%s", out)
	}

	var vout bytes.Buffer
	if code := sinkctl.Main(t.Context(), []string{"verify", "--dir", dir}, sinkctl.Env{Stdout: &vout, Stderr: &vout}); code != sinkctl.ExitOK {
		t.Fatalf("verify exit %d:\n%s", code, vout.String())
	}
	if !strings.Contains(vout.String(), "20") {
		t.Fatalf("verify:\n%s", vout.String())
	}
}

func TestConsumeCommandErrors(t *testing.T) {
	env := sinkctl.Env{Getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{"consume"},
		{"consume", "--brokers", "127.0.0.1:1", "--topic", "t"},
		{"consume", "--brokers", "127.0.0.1:1", "--group", "g", "--topic", "t", "--start", "middle"},
		{"consume", "--brokers", "127.0.0.1:1", "--group", "g", "--topic", "t", "--sasl-mechanism", "PLAIN", "--sasl-user", "u", "--sasl-password-env", "NOPE"},
		{"consume", "--brokers", "127.0.0.1:1", "--group", "g", "--topic", "t", "--dir", t.TempDir(), "--kafka-timeout", "1s"},
	} {
		var stderr bytes.Buffer
		env.Stderr = &stderr
		if code := sinkctl.Main(t.Context(), args, env); code != sinkctl.ExitUsage || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}
