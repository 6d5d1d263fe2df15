package sinkctl_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
)

// TestConsumeProcessKilled runs the sinkctl binary's consume command and
// SIGKILLs it at random moments, mid-batch included, restarting it each time
// with the same group: what was stored but not committed is consumed again,
// and the store must hold every record exactly once.
func TestConsumeProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	const parts, n = 3, 600
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "events")).ListenAddrs()
	msgs := make([]kafkatest.Message, n)
	for i := range msgs {
		msgs[i] = kafkatest.Message{Partition: int32(i % parts), Key: fmt.Append(nil, i), Value: fmt.Appendf(nil, "record %d", i)}
	}
	want := map[int32][]int64{}
	for i, off := range kafkatest.Produce(t, addrs, "events", msgs) {
		want[msgs[i].Partition] = append(want[msgs[i].Partition], off)
	}

	bin := bintest.Build(t, "./cmd/sinkctl")
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func() *bintest.Proc {
		cmd := exec.Command(bin, "consume", "--brokers", strings.Join(addrs, ","), "--group", "backup", "--topic", "events",
			"--start", "earliest", "--batch-count", "7", "--batch-window", "50ms", "--dir", dir)
		cmd.Env = []string{"SINK_FORMAT=jsonl", "SINK_FLUSH_RECORDS=40", "LOG_LEVEL=warn"}
		return bintest.Start(t, cmd)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	committed := func() int64 { return kafkatest.CommittedSum(t, addrs, "backup", "events") }
	// waitFor polls the group's commits until cond holds.
	waitFor := func(what string, cond func(int64) bool) {
		testkit.WaitUntil(t, 45*time.Second, what, func() error {
			if c := committed(); !cond(c) {
				return fmt.Errorf("committed %d of %d", c, n)
			}
			return nil
		})
	}
	// Twice: start, let it commit something (a restarted member first waits
	// out the killed one's session), then SIGKILL it at a random moment,
	// mid-batch as likely as not.
	const kills = 2
	for k := 0; k < kills; k++ {
		before := committed()
		proc := start()
		waitFor("progress before the kill", func(c int64) bool { return c > before })
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond) // a random moment to kill at, not a synchronization
		proc.Kill(t)
	}
	if c := committed(); c >= n {
		t.Fatalf("everything was committed before the last kill (%d): the test lost its teeth", c)
	}
	proc := start()
	waitFor("the run after the kills", func(c int64) bool { return c >= n })
	if err := proc.Interrupt(t, time.Minute); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, proc.Stderr)
	}
	st := fixture.Local(t, dir)
	if err := sinktest.Check(context.Background(), st, "", "events", sinktest.JSONLOffset, want); err != nil {
		t.Fatalf("after %d kills: %v", kills, err)
	}
	t.Logf("%d records over %d partitions exactly once after %d SIGKILLs", n, parts, kills)
}
