package consume

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// A store that fails requests before and after they take effect, a kill
// midway, and a restart on the same group: every record exactly once.
func TestRestartWithFailingOSS(t *testing.T) {
	t.Parallel()
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "sk", ""), osstest.WithSeed(7))
	h := handlertest.New(t, testkit.Env(config.EnvBucket, "sink", config.EnvEndpoint, srv.Endpoint(), "SINK_FORMAT", "jsonl",
		"SINK_FLUSH_RECORDS", "13", "LOG_LEVEL", "error",
		"ALIBABA_CLOUD_ACCESS_KEY_ID", "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sk"))

	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 200)

	for _, op := range []osstest.Op{osstest.OpAppend, osstest.OpPut, osstest.OpGet} {
		srv.SetFault(op, osstest.Fault{Before: 0.15, After: 0.15})
	}
	var ok atomic.Int32
	count := func(ctx context.Context, id string, p []byte) error {
		_, err := h.Invoke(ctx, id, p)
		if err == nil {
			ok.Add(1)
		}
		return err
	}
	opts := baseOpts(addrs, "g-oss", withInvoke(count), Retries(100, 5*time.Millisecond, 20*time.Millisecond))
	stop, _ := start(t, h, opts...)
	testkit.WaitFor(t, 15*time.Second, "6 batches stored", func() bool { return ok.Load() >= 6 })
	if err := stop(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	t.Logf("first run: %d batches stored, committed %v, OSS stats %+v", ok.Load(), kafkatest.Committed(t, addrs, "g-oss", testTopic), srv.Stats())

	stop, _ = start(t, h, append(opts, CountBasedWindow(9))...)
	time.Sleep(500 * time.Millisecond)
	srv.ClearFaults()
	kafkatest.WaitCommitted(t, addrs, "g-oss", testTopic, nextOffsets(recs), 20*time.Second)
	if err := stop(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	checkRecords(t, osskit.Store(t, srv.Endpoint(), "sink", ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}), recs)
}
