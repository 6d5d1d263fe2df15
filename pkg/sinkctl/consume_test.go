package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// syncBuffer is a bytes.Buffer safe for the command's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestConsumeCommand(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder(fmt.Sprint(i)),
			Value: sarama.StringEncoder(fmt.Sprintf("secret-value-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()

	dir := t.TempDir()
	var stderr syncBuffer
	env := sinkctl.Env{Stderr: &stderr, Getenv: func(k string) string {
		return map[string]string{"SINK_FORMAT": "jsonl", "KPASS": "pw"}[k]
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- sinkctl.Main(ctx, []string{"consume", "--brokers", strings.Join(addrs, ","), "--group", "g",
			"--topic", "t", "--batch-count", "5", "--batch-window", "100ms", "--dir", dir}, env)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(stderr.String(), `"invocation done"`) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
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
		{"consume", "--brokers", "127.0.0.1:1", "--group", "g", "--topic", "t", "--dir", t.TempDir(), "--connect-timeout", "1s"},
	} {
		var stderr bytes.Buffer
		env.Stderr = &stderr
		if code := sinkctl.Main(t.Context(), args, env); code != sinkctl.ExitUsage || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}
