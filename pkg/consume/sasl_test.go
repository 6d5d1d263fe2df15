package consume

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
)

func TestSASL(t *testing.T) {
	t.Parallel()
	c := kafkatest.NewCluster(t, kfake.SeedTopics(1, testTopic), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain", "pw-plain"),
		kfake.Superuser("SCRAM-SHA-256", "s256", "pw-256"),
		kfake.Superuser("SCRAM-SHA-512", "s512", "pw-512"))
	addrs := c.ListenAddrs()
	kafkatest.Produce(t, addrs, testTopic, []kafkatest.Message{{Value: []byte("v")}}, func(c *sarama.Config) {
		c.Net.SASL.Enable, c.Net.SASL.Mechanism = true, sarama.SASLTypePlaintext
		c.Net.SASL.User, c.Net.SASL.Password = "plain", "pw-plain"
	})

	h := newHandler(t, t.TempDir())
	for _, tc := range []struct{ mech, user, pass string }{
		{SASLPlain, "plain", "pw-plain"},
		{SASLSCRAMSHA256, "s256", "pw-256"},
		{SASLSCRAMSHA512, "s512", "pw-512"},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			var got atomic.Int32
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			count := func(ctx context.Context, id string, p []byte) error {
				got.Add(1)
				cancel()
				return nil
			}
			err := Run(ctx, h, Brokers(addrs...), Group("g-"+tc.user), Topics(testTopic), ConnectTimeout(3*time.Second),
				TimeBasedWindow(10*time.Millisecond), SASL(tc.mech, tc.user, tc.pass), withInvoke(count))
			if err != nil || got.Load() == 0 {
				t.Fatalf("Run = %v, %d batches", err, got.Load())
			}

			begin := time.Now()
			err = Run(t.Context(), h, Brokers(addrs...), Group("g-"+tc.user), Topics(testTopic), ConnectTimeout(3*time.Second),
				SASL(tc.mech, tc.user, "wrong"))
			var ce *ConnectError
			if !errors.As(err, &ce) || time.Since(begin) > 15*time.Second {
				t.Fatalf("wrong password: %v after %v", err, time.Since(begin))
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("error shows the password: %v", err)
			}
			t.Log(err)
		})
	}
}
