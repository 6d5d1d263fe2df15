package sinkctl_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// kafkaWithBacklog returns a cluster whose topic "t" (2 partitions) holds
// 20 records, and an empty topic "dlq".
func kafkaWithBacklog(t *testing.T) []string {
	t.Helper()
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(2, "t", "dlq")).ListenAddrs()
	var msgs []kafkatest.Message
	for i := range 20 {
		msgs = append(msgs, kafkatest.Message{Partition: int32(i % 2), Value: fmt.Appendf(nil, "v%d", i)})
	}
	kafkatest.Produce(t, addrs, "t", msgs)
	return addrs
}

// TestConsumeCommandSetupErrors runs the sinkctl binary with a dead-letter
// topic against stores it cannot use: it exits 2 with one line saying why,
// before consuming anything or (when only writes are denied) at the first
// batch; the dead-letter topic stays empty, no offset is committed, and no
// output shows a secret.
func TestConsumeCommandSetupErrors(t *testing.T) {
	bin := bintest.Build(t, "./cmd/sinkctl")
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "right-secret", ""))
	silent := osskit.NewServer(t, osstest.WithBucket("sink")) // accepts connections, never answers
	silent.SetUnresponsive(true)
	const pw = "endpoint-Pa55word"
	base := []string{"OSS_BUCKET=sink", "OSS_ENDPOINT=" + srv.Endpoint(), "SINK_FORMAT=jsonl", "ALIBABA_CLOUD_ACCESS_KEY_ID=ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=right-secret"}
	tests := []struct {
		name  string
		env   []string
		deny  bool // the policy allows listing (the check passes) but not writing
		words []string
	}{
		{"wrong secret", []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET=guess"}, false, []string{"OSS denied access", "SignatureDoesNotMatch", "template.yaml"}},
		{"no such bucket", []string{"OSS_BUCKET=nope"}, false, []string{`bucket "nope" does not exist`, "OSS_BUCKET"}},
		{"no credentials", []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=", "ALIBABA_CLOUD_ACCESS_KEY_SECRET="}, false, []string{"no OSS credentials"}},
		{"silent endpoint", []string{"OSS_ENDPOINT=" + silent.Endpoint()}, false, []string{"did not answer within 1s", "OSS_ENDPOINT"}},
		{"password in the endpoint", []string{"OSS_ENDPOINT=http://admin:" + pw + "@" + strings.TrimPrefix(srv.Endpoint(), "http://")}, false,
			[]string{"OSS_ENDPOINT", "must not contain a user name or password"}},
		{"policy denies writes", nil, true, []string{"batch t/", "OSS denied access", "not retried nor dead-lettered"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.deny {
				srv.SetDenies(osstest.Deny{Ops: []osstest.Op{osstest.OpPut, osstest.OpAppend}})
				defer srv.SetDenies()
			}
			addrs := kafkaWithBacklog(t)
			cmd := exec.Command(bin, "consume", "--brokers", strings.Join(addrs, ","), "--group", "g", "--topic", "t",
				"--dead-letter-topic", "dlq", "--kafka-timeout", "1s", "--oss-timeout", "1s")
			cmd.Env = append(append([]string{}, base...), tt.env...)
			r := bintest.Run(t, time.Minute, cmd) // the deadline is only a safety net against a consume that does not stop
			if r.Code != sinkctl.ExitUsage {
				t.Fatalf("exit %d; want %d\n%s", r.Code, sinkctl.ExitUsage, r.Stderr)
			}
			// Failing the store check, the command says nothing else;
			// failing a batch, its last line says why it stopped.
			out := r.Stderr
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			last := lines[len(lines)-1]
			if (!tt.deny && len(lines) != 1) || !strings.HasPrefix(last, "sinkctl consume: ") {
				t.Fatalf("want one line on stderr (the last, after a batch), got:\n%s", out)
			}
			for _, w := range tt.words {
				if !strings.Contains(last, w) {
					t.Errorf("the line does not mention %q: %s", w, last)
				}
			}
			for _, secret := range []string{"right-secret", "guess", pw} {
				if strings.Contains(r.Stdout+out, secret) {
					t.Fatalf("the output shows %q: %s", secret, out)
				}
			}
			if n := kafkatest.TopicLen(t, addrs, "dlq"); n != 0 {
				t.Fatalf("%d dead letters", n)
			}
			if n := kafkatest.CommittedSum(t, addrs, "g", "t"); n != 0 {
				t.Fatalf("committed %d", n)
			}
		})
	}
}
