// Package kafkatest runs Kafka for tests: a kfake cluster (a Kafka protocol
// peer no one here wrote) and the real client (sarama) to produce to it,
// read it back and look at consumer groups, as an operator's tools would.
//
// Every helper takes a testing.TB and fails the test with what it was doing
// and what the cluster answered; a cluster is closed, and a producer closed,
// when the test ends. Reads wait for records that exist (up to the end
// offset asked for first), with a deadline only as a safety net. Clients
// speak Kafka 2.1 (sarama.V2_1_0_0), as the sink's own tools do; an Option
// changes the configuration (TLS, SASL, transactions).
package kafkatest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
)

// readTimeout is the safety net of a read: the records exist, so only a
// broken cluster or client waits this long for one.
const readTimeout = 30 * time.Second

// Option changes the client configuration of a helper.
type Option func(*sarama.Config)

// Transactional makes a producer transactional (idempotent, one request in
// flight) with the transaction id id.
func Transactional(id string) Option {
	return func(c *sarama.Config) {
		c.Producer.Idempotent = true
		c.Producer.RequiredAcks = sarama.WaitForAll
		c.Producer.Transaction.ID = id
		c.Net.MaxOpenRequests = 1
	}
}

// TLS makes the client speak TLS with cfg.
func TLS(cfg *tls.Config) Option {
	return func(c *sarama.Config) {
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = cfg
	}
}

// Config returns the configuration every helper starts from: Kafka 2.1, a
// synchronous producer that reports successes and writes to the partition
// each message names; then opts.
func Config(opts ...Option) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_1_0_0
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewManualPartitioner
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewCluster starts a kfake cluster of one broker with opts (its topics:
// kfake.SeedTopics), closed when the test ends.
func NewCluster(tb testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	tb.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		tb.Fatalf("start a kfake cluster: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// NewProducer returns a synchronous producer to addrs (see Config), closed
// when the test ends.
func NewProducer(tb testing.TB, addrs []string, opts ...Option) sarama.SyncProducer {
	tb.Helper()
	p, err := sarama.NewSyncProducer(addrs, Config(opts...))
	if err != nil {
		tb.Fatalf("producer to %v: %v", addrs, err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// Message is a record to produce.
type Message struct {
	Partition int32
	Key       []byte // nil: no key
	Value     []byte // nil: a tombstone
	Headers   []sarama.RecordHeader
	Timestamp time.Time // zero: the producer's clock
}

// Send produces msgs to topic with p, in order, and returns the offsets
// Kafka gave them.
func Send(tb testing.TB, p sarama.SyncProducer, topic string, msgs ...Message) []int64 {
	tb.Helper()
	offs := make([]int64, len(msgs))
	for i, m := range msgs {
		pm := &sarama.ProducerMessage{Topic: topic, Partition: m.Partition, Headers: m.Headers, Timestamp: m.Timestamp}
		if m.Key != nil {
			pm.Key = sarama.ByteEncoder(m.Key)
		}
		if m.Value != nil {
			pm.Value = sarama.ByteEncoder(m.Value)
		}
		part, off, err := p.SendMessage(pm)
		if err != nil {
			tb.Fatalf("produce message %d to %s/%d: %v", i, topic, m.Partition, err)
		}
		if part != m.Partition {
			tb.Fatalf("message %d for %s/%d went to partition %d", i, topic, m.Partition, part)
		}
		offs[i] = off
	}
	return offs
}

// Produce produces msgs to topic with a producer of its own and returns
// the offsets Kafka gave them.
func Produce(tb testing.TB, addrs []string, topic string, msgs []Message, opts ...Option) []int64 {
	tb.Helper()
	p, err := sarama.NewSyncProducer(addrs, Config(opts...))
	if err != nil {
		tb.Fatalf("producer to %v: %v", addrs, err)
	}
	defer p.Close()
	return Send(tb, p, topic, msgs...)
}

// client returns a client to addrs, closed when the test ends.
func client(tb testing.TB, addrs []string, opts []Option) sarama.Client {
	tb.Helper()
	c, err := sarama.NewClient(addrs, Config(opts...))
	if err != nil {
		tb.Fatalf("client to %v: %v", addrs, err)
	}
	return c
}

// partitions returns topic's partitions.
func partitions(tb testing.TB, c sarama.Client, topic string) []int32 {
	tb.Helper()
	ps, err := c.Partitions(topic)
	if err != nil {
		tb.Fatalf("partitions of %s: %v", topic, err)
	}
	return ps
}

// EndOffsets returns the end offset (high watermark) of each partition of
// topic.
func EndOffsets(tb testing.TB, addrs []string, topic string, opts ...Option) map[int32]int64 {
	tb.Helper()
	c := client(tb, addrs, opts)
	defer c.Close()
	out := map[int32]int64{}
	for _, p := range partitions(tb, c, topic) {
		o, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			tb.Fatalf("end offset of %s/%d: %v", topic, p, err)
		}
		out[p] = o
	}
	return out
}

// TopicLen returns the sum of topic's end offsets: how many records it
// holds, when nothing was deleted and no transaction wrote to it.
func TopicLen(tb testing.TB, addrs []string, topic string, opts ...Option) int64 {
	tb.Helper()
	var n int64
	for _, o := range EndOffsets(tb, addrs, topic, opts...) {
		n += o
	}
	return n
}

// ReadPartition reads every record of topic/p, up to the end offset it
// finds first. The last offset before it must hold a record (no
// transaction marker ends the partition).
func ReadPartition(tb testing.TB, addrs []string, topic string, p int32, opts ...Option) []*sarama.ConsumerMessage {
	tb.Helper()
	c := client(tb, addrs, opts)
	defer c.Close()
	return readPartition(tb, c, topic, p)
}

func readPartition(tb testing.TB, c sarama.Client, topic string, p int32) []*sarama.ConsumerMessage {
	tb.Helper()
	end, err := c.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		tb.Fatalf("end offset of %s/%d: %v", topic, p, err)
	}
	if end == 0 {
		return nil
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		tb.Fatalf("consumer of %s/%d: %v", topic, p, err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
	if err != nil {
		tb.Fatalf("consume %s/%d: %v", topic, p, err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
			if m.Offset >= end-1 {
				return out
			}
		case <-time.After(readTimeout): // a safety net: the records exist
			tb.Fatalf("%s/%d: %d records read in %v, end offset %d", topic, p, len(out), readTimeout, end)
		}
	}
}

// ReadTopic reads every partition of topic as ReadPartition does.
func ReadTopic(tb testing.TB, addrs []string, topic string, opts ...Option) map[int32][]*sarama.ConsumerMessage {
	tb.Helper()
	c := client(tb, addrs, opts)
	defer c.Close()
	out := map[int32][]*sarama.ConsumerMessage{}
	for _, p := range partitions(tb, c, topic) {
		out[p] = readPartition(tb, c, topic, p)
	}
	return out
}

// ReadAll reads every record of topic as ReadTopic does, partition after
// partition.
func ReadAll(tb testing.TB, addrs []string, topic string, opts ...Option) []*sarama.ConsumerMessage {
	tb.Helper()
	c := client(tb, addrs, opts)
	defer c.Close()
	var out []*sarama.ConsumerMessage
	for _, p := range partitions(tb, c, topic) {
		out = append(out, readPartition(tb, c, topic, p)...)
	}
	return out
}

// Committed returns group's committed next offsets of each partition of
// topic (-1: none), or none at all while the group does not exist.
func Committed(tb testing.TB, addrs []string, group, topic string, opts ...Option) map[int32]int64 {
	tb.Helper()
	c := client(tb, addrs, opts)
	adm, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		c.Close()
		tb.Fatalf("admin client to %v: %v", addrs, err)
	}
	defer adm.Close() // closes c
	out := map[int32]int64{}
	resp, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions(tb, c, topic)})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return out
	}
	if err != nil {
		tb.Fatalf("offsets group %s committed for %s: %v", group, topic, err)
	}
	for p, b := range resp.Blocks[topic] {
		if !errors.Is(b.Err, sarama.ErrNoError) {
			tb.Fatalf("offset group %s committed for %s/%d: %v", group, topic, p, b.Err)
		}
		out[p] = b.Offset
	}
	return out
}

// CommittedSum returns the sum of group's committed next offsets over
// topic's partitions (those without one count 0): how many records it
// consumed, when offsets start at 0 without gaps.
func CommittedSum(tb testing.TB, addrs []string, group, topic string, opts ...Option) int64 {
	tb.Helper()
	var n int64
	for _, o := range Committed(tb, addrs, group, topic, opts...) {
		n += max(o, 0)
	}
	return n
}

// WaitCommitted polls until group's committed offset of each partition of
// want reaches want's (next offsets), failing the test after timeout (a
// safety net).
func WaitCommitted(tb testing.TB, addrs []string, group, topic string, want map[int32]int64, timeout time.Duration, opts ...Option) {
	tb.Helper()
	what := fmt.Sprintf("group %s to commit %v of %s", group, want, topic)
	testkit.WaitUntil(tb, timeout, what, func() error {
		got := Committed(tb, addrs, group, topic, opts...)
		for p, w := range want {
			if got[p] < w {
				return fmt.Errorf("committed %v", got)
			}
		}
		return nil
	})
}

// CommitGroup commits offsets of topic's partitions for group, as a
// consumer outside any generation does.
func CommitGroup(tb testing.TB, addrs []string, group, topic string, offsets map[int32]int64, opts ...Option) {
	tb.Helper()
	c := client(tb, addrs, opts)
	defer c.Close()
	coord, err := c.Coordinator(group)
	if err != nil {
		tb.Fatalf("coordinator of group %s: %v", group, err)
	}
	req := &sarama.OffsetCommitRequest{Version: 2, ConsumerGroup: group, ConsumerGroupGeneration: -1, RetentionTime: -1}
	for p, off := range offsets {
		req.AddBlock(topic, p, off, 0, "")
	}
	resp, err := coord.CommitOffset(req)
	if err != nil {
		tb.Fatalf("commit %v of %s for group %s: %v", offsets, topic, group, err)
	}
	for p, e := range resp.Errors[topic] {
		if e != sarama.ErrNoError {
			tb.Fatalf("commit %s/%d for group %s: %v", topic, p, group, e)
		}
	}
}

// admin returns an admin client to addrs.
func admin(tb testing.TB, addrs []string, opts []Option) sarama.ClusterAdmin {
	tb.Helper()
	adm, err := sarama.NewClusterAdmin(addrs, Config(opts...))
	if err != nil {
		tb.Fatalf("admin client to %v: %v", addrs, err)
	}
	return adm
}

// CreateTopic creates topic with partitions partitions.
func CreateTopic(tb testing.TB, addrs []string, topic string, partitions int32, opts ...Option) {
	tb.Helper()
	adm := admin(tb, addrs, opts)
	defer adm.Close()
	if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
}

// DeleteTopic deletes topic.
func DeleteTopic(tb testing.TB, addrs []string, topic string, opts ...Option) {
	tb.Helper()
	adm := admin(tb, addrs, opts)
	defer adm.Close()
	if err := adm.DeleteTopic(topic); err != nil {
		tb.Fatalf("delete topic %s: %v", topic, err)
	}
}
