package consume

import (
	"fmt"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
)

// TestRebalance: two consumers of one group, each with its own handler on
// the same store (two processes, as far as the sink can tell). B joins while
// A is consuming (a rebalance splits the partitions), then A leaves (another
// rebalance hands its partitions to B) while batches are in flight. Every
// record is stored exactly once: a partition changes owner only after the
// old owner's batch finished and its offsets were committed, or were not.
func TestRebalance(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 600)
	dir := t.TempDir()
	total := int64(0)
	for _, m := range recs {
		total += int64(len(m))
	}
	sum := func() int64 { return kafkatest.CommittedSum(t, addrs, "g-rb", testTopic) }
	waitSum := func(what string, cond func(int64) bool) {
		testkit.WaitUntil(t, 30*time.Second, what, func() error {
			if n := sum(); !cond(n) {
				return fmt.Errorf("%d of %d committed", n, total)
			}
			return nil
		})
	}

	stopA, _ := start(t, newHandler(t, dir), baseOpts(addrs, "g-rb", CountBasedWindow(5))...)
	waitSum("A starts", func(n int64) bool { return n > 0 })
	stopB, _ := start(t, newHandler(t, dir), baseOpts(addrs, "g-rb", CountBasedWindow(5))...)
	mid := sum()
	waitSum("after B joined", func(n int64) bool { return n > mid+20 })
	if err := stopA(); err != nil {
		t.Fatalf("A: %v", err)
	}
	if n := sum(); n >= total {
		t.Logf("everything was committed before A left (%d): the second rebalance moved no work", n)
	}
	waitSum("B finishes", func(n int64) bool { return n >= total })
	if err := stopB(); err != nil {
		t.Fatalf("B: %v", err)
	}
	checkStore(t, dir, recs)
}
