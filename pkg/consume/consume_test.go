package consume

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const testTopic = "t"

func newCluster(t *testing.T, topics ...string) *kfake.Cluster {
	t.Helper()
	return kafkatest.NewCluster(t, kfake.SeedTopics(4, topics...))
}

type produced struct {
	key, value string
	ts         int64
	header     string
}

// produce writes n records with keys, headers and timestamps spread over
// the partitions and returns them by partition and offset.
func produce(t *testing.T, addrs []string, topic string, n int) map[int32]map[int64]produced {
	t.Helper()
	base := time.UnixMilli(1700000000000)
	prs := make([]produced, n)
	msgs := make([]kafkatest.Message, n)
	for i := range n {
		prs[i] = produced{
			key:    fmt.Sprintf("k%d", i),
			value:  fmt.Sprintf("value %d \"quoted\" <&>", i),
			ts:     base.Add(time.Duration(i) * time.Millisecond).UnixMilli(),
			header: fmt.Sprintf("h%d", i),
		}
		msgs[i] = prs[i].message(int32(i % 4))
	}
	return byOffset(msgs, prs, kafkatest.Produce(t, addrs, topic, msgs))
}

// message is pr to produce to partition p.
func (pr produced) message(p int32) kafkatest.Message {
	return kafkatest.Message{Partition: p, Key: []byte(pr.key), Value: []byte(pr.value), Timestamp: time.UnixMilli(pr.ts),
		Headers: []sarama.RecordHeader{{Key: []byte("trace"), Value: []byte(pr.header)}}}
}

// byOffset files prs, produced as msgs at offsets offs, by partition and
// offset.
func byOffset(msgs []kafkatest.Message, prs []produced, offs []int64) map[int32]map[int64]produced {
	out := map[int32]map[int64]produced{}
	for i, m := range msgs {
		if out[m.Partition] == nil {
			out[m.Partition] = map[int64]produced{}
		}
		out[m.Partition][offs[i]] = prs[i]
	}
	return out
}

func newHandler(t *testing.T, dir string) *handler.Handler {
	t.Helper()
	return handlertest.New(t, testkit.Env(config.EnvLocalDir, dir, "SINK_FORMAT", "jsonl", "LOG_LEVEL", "warn"))
}

func nextOffsets(recs map[int32]map[int64]produced) map[int32]int64 {
	want := map[int32]int64{}
	for p, m := range recs {
		for o := range m {
			want[p] = max(want[p], o+1)
		}
	}
	return want
}

func wantOffsets(recs map[int32]map[int64]produced) map[int32][]int64 {
	want := map[int32][]int64{}
	for p, m := range recs {
		for o := range int64(len(m)) {
			if _, ok := m[o]; !ok {
				panic("gap")
			}
			want[p] = append(want[p], o)
		}
	}
	return want
}

// start runs Run in a goroutine; the returned func cancels it and returns
// Run's error.
func start(t *testing.T, h *handler.Handler, opts ...Option) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- Run(ctx, h, opts...) }()
	var res error
	var got bool
	return func() error {
		cancel()
		if !got {
			select {
			case res = <-ch:
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			got = true
		}
		return res
	}, ch
}

// runUntilCommitted runs Run until group committed want (next offsets) of
// testTopic, failing after timeout (a safety net), then stops it: Run must
// end without an error.
func runUntilCommitted(t *testing.T, h *handler.Handler, addrs []string, group string, want map[int32]int64, timeout time.Duration, opts ...Option) {
	t.Helper()
	stop, _ := start(t, h, opts...)
	kafkatest.WaitCommitted(t, addrs, group, testTopic, want, timeout)
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func baseOpts(addrs []string, group string, extra ...Option) []Option {
	return append([]Option{Brokers(addrs...), Group(group), Topics(testTopic),
		CountBasedWindow(7), TimeBasedWindow(50 * time.Millisecond), ConnectTimeout(3 * time.Second),
		Retries(3, 10*time.Millisecond, 50*time.Millisecond)}, extra...)
}

type line struct {
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       *string         `json:"key"`
	Value     string          `json:"value"`
	Headers   json.RawMessage `json:"headers"`
}

// checkStore checks exactly once and compares every record's content.
func checkStore(t *testing.T, dir string, recs map[int32]map[int64]produced) {
	t.Helper()
	st := fixture.Local(t, dir)
	checkRecords(t, st, recs)
}

func checkRecords(t *testing.T, st store.Store, recs map[int32]map[int64]produced) {
	t.Helper()
	if err := sinktest.Check(t.Context(), st, "", testTopic, sinktest.JSONLOffset, wantOffsets(recs)); err != nil {
		t.Fatal(err)
	}
	parts, err := sinktest.Read(t.Context(), st, "", testTopic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range parts {
		for _, o := range p.Objects {
			sc := bufio.NewScanner(bytes.NewReader(o.Data))
			for sc.Scan() {
				var l line
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				w := recs[l.Partition][l.Offset]
				if l.Key == nil || *l.Key != w.key || l.Value != w.value || l.Timestamp != w.ts ||
					!strings.Contains(string(l.Headers), `"`+w.header+`"`) {
					t.Fatalf("record %d/%d: got %s, want %+v", l.Partition, l.Offset, sc.Bytes(), w)
				}
				n++
			}
		}
	}
	total := 0
	for _, m := range recs {
		total += len(m)
	}
	if n != total {
		t.Fatalf("read %d records, want %d", n, total)
	}
}

func TestConsumeAll(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 200)
	dir := t.TempDir()
	runUntilCommitted(t, newHandler(t, dir), addrs, "g1", nextOffsets(recs), 15*time.Second, baseOpts(addrs, "g1")...)
	checkStore(t, dir, recs)
}

func TestRestartMidway(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 300)
	dir := t.TempDir()
	h := newHandler(t, dir)

	// First run: stop after a few batches.
	var calls atomic.Int32
	slow := func(ctx context.Context, id string, p []byte) error {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond)
		_, err := h.Invoke(ctx, id, p)
		return err
	}
	stop, _ := start(t, h, baseOpts(addrs, "g2", withInvoke(slow))...)
	testkit.WaitFor(t, 15*time.Second, "5 invocations", func() bool { return calls.Load() >= 5 })
	if err := stop(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	mid := kafkatest.Committed(t, addrs, "g2", testTopic)
	t.Logf("committed after the first run: %v", mid)

	// Second run: the first attempts fail (retried with backoff), and the
	// batch boundaries differ. (TestRestartWithFailingOSS has a store that
	// fails before and after requests take effect.)
	var fails atomic.Int32
	flaky := func(ctx context.Context, id string, p []byte) error {
		if fails.Add(1) <= 4 {
			return &handler.WriteError{Err: errors.New("injected store failure")}
		}
		_, err := h.Invoke(ctx, id, p)
		return err
	}
	runUntilCommitted(t, h, addrs, "g2", nextOffsets(recs), 20*time.Second, append(baseOpts(addrs, "g2", withInvoke(flaky)), CountBasedWindow(11))...)
	checkStore(t, dir, recs)
}

func TestBadConnection(t *testing.T) {
	t.Parallel()
	h := newHandler(t, t.TempDir())
	begin := time.Now()
	err := Run(t.Context(), h, Brokers("127.0.0.1:1"), Group("g"), Topics("t"), ConnectTimeout(2*time.Second))
	var ce *ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "could not connect to any broker") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(begin); d > 15*time.Second {
		t.Fatalf("took %v", d)
	}
	t.Log(err)

	c := newCluster(t, testTopic)
	err = Run(t.Context(), h, Brokers(c.ListenAddrs()...), Group("g"), Topics("nope"), ConnectTimeout(2*time.Second))
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `topic "nope" does not exist`) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)

	err = Run(t.Context(), h, Brokers("localhost"), Group("g"), Topics("t"))
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryLimit(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic, "dlq")
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 40)
	dir := t.TempDir()
	h := newHandler(t, dir)
	// Partition 2's batch starting at offset 0 always fails.
	poison := func(ctx context.Context, id string, p []byte) error {
		if strings.HasPrefix(id, "consume-t-2-0-") {
			return &handler.WriteError{Err: errors.New("injected")}
		}
		_, err := h.Invoke(ctx, id, p)
		return err
	}

	// Without a dead-letter topic: Run stops and names the batch.
	_, done := start(t, h, baseOpts(addrs, "g3", withInvoke(poison))...)
	select {
	case err := <-done:
		var be *BatchError
		if !errors.As(err, &be) || be.Topic != testTopic || be.Partition != 2 || be.FirstOffset != 0 || be.Attempts != 4 {
			t.Fatalf("err = %v", err)
		}
		t.Log(err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop")
	}
	if got := kafkatest.Committed(t, addrs, "g3", testTopic)[2]; got > 0 {
		t.Fatalf("partition 2 committed at %d", got)
	}

	// With one: the batch lands there, the rest goes on.
	runUntilCommitted(t, h, addrs, "g3", nextOffsets(recs), 15*time.Second, baseOpts(addrs, "g3", withInvoke(poison), DeadLetterTopic("dlq"))...)
	// The dead letters: partition 2's first batch.
	dead := kafkatest.ReadAll(t, addrs, "dlq")
	// Normally 7 (the count window); fewer if the time window cut first.
	if len(dead) == 0 || len(dead) > 7 {
		t.Fatalf("%d dead letters, want 1..7", len(dead))
	}
	for _, m := range dead {
		var src, off string
		for _, hd := range m.Headers {
			switch string(hd.Key) {
			case deadLetterPrefix + "topic":
				src = string(hd.Value)
			case deadLetterPrefix + "offset":
				off = string(hd.Value)
			}
		}
		var o int64
		fmt.Sscan(off, &o)
		if src != testTopic || o >= int64(len(dead)) || string(m.Value) != recs[2][o].value {
			t.Fatalf("dead letter %s/%s: %q", src, off, m.Value)
		}
	}
}

// A listener that accepts connections and never answers: Run must not hang.
func TestSilentBroker(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	begin := time.Now()
	err = Run(t.Context(), newHandler(t, t.TempDir()), Brokers(ln.Addr().String()), Group("g"), Topics("t"), ConnectTimeout(time.Second))
	var ce *ConnectError
	if !errors.As(err, &ce) || time.Since(begin) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(begin))
	}
	t.Logf("%v after %v", err, time.Since(begin).Round(time.Millisecond))
}

func TestZeroWindow(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 40)
	dir := t.TempDir()
	runUntilCommitted(t, newHandler(t, dir), addrs, "g0", nextOffsets(recs), 15*time.Second, append(baseOpts(addrs, "g0"), TimeBasedWindow(0))...)
	checkStore(t, dir, recs)
}
