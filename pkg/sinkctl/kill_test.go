package sinkctl_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// groupCommitted sums a group's committed offsets over a topic's partitions.
func groupCommitted(t *testing.T, addrs []string, group, topic string, parts int32) int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	adm, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ps := make([]int32, parts)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		return 0
	}
	var n int64
	for _, b := range resp.Blocks[topic] {
		n += max(b.Offset, 0)
	}
	return n
}

// TestConsumeProcessKilled runs the sinkctl binary's consume command and
// SIGKILLs it at random moments, mid-batch included, restarting it each time
// with the same group: what was stored but not committed is consumed again,
// and the store must hold every record exactly once.
func TestConsumeProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	const parts, n = 3, 600
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	addrs := cluster.ListenAddrs()

	kcfg := sarama.NewConfig()
	kcfg.Version = sarama.V2_1_0_0
	kcfg.Producer.Return.Successes = true
	kcfg.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(addrs, kcfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]int64{}
	for i := 0; i < n; i++ {
		p := int32(i % parts)
		_, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "events", Partition: p,
			Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder(fmt.Sprintf("record %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		want[p] = append(want[p], off)
	}
	prod.Close()

	bin := filepath.Join(t.TempDir(), "sinkctl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sinkctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "consume", "--brokers", strings.Join(addrs, ","), "--group", "backup", "--topic", "events",
			"--start", "earliest", "--batch-count", "7", "--batch-window", "50ms", "--dir", dir)
		cmd.Env = []string{"SINK_FORMAT=jsonl", "SINK_FLUSH_RECORDS=40", "LOG_LEVEL=warn"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	rng := rand.New(rand.NewPCG(9, 9))
	// waitFor polls the group's commits until cond holds.
	waitFor := func(what string, cond func(int64) bool) {
		deadline := time.Now().Add(45 * time.Second)
		for c := groupCommitted(t, addrs, "backup", "events", parts); !cond(c); c = groupCommitted(t, addrs, "backup", "events", parts) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: committed %d of %d", what, c, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Twice: start, let it commit something (a restarted member first waits
	// out the killed one's session), then SIGKILL it at a random moment,
	// mid-batch as likely as not.
	const kills = 2
	for k := 0; k < kills; k++ {
		before := groupCommitted(t, addrs, "backup", "events", parts)
		cmd, _ := start()
		waitFor("progress before the kill", func(c int64) bool { return c > before })
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	if c := groupCommitted(t, addrs, "backup", "events", parts); c >= n {
		t.Fatalf("everything was committed before the last kill (%d): the test lost its teeth", c)
	}
	cmd, stderr := start()
	waitFor("the run after the kills", func(c int64) bool { return c >= n })
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, stderr)
	}
	st, err := localstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := sinktest.Check(context.Background(), st, "", "events", sinktest.JSONLOffset, want); err != nil {
		t.Fatalf("after %d kills: %v", kills, err)
	}
	t.Logf("%d records over %d partitions exactly once after %d SIGKILLs", n, parts, kills)
}
