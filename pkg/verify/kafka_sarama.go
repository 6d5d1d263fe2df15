package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/kafkasasl"
)

// KafkaConfig says how NewSaramaKafka connects.
type KafkaConfig struct {
	Brokers []string
	// Group is the sink's consumer group, whose committed offsets are read.
	Group    string
	ClientID string // default DefaultKafkaClientID
	// SASLMechanism is "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASLMechanism, SASLUser, SASLPassword string
	TLS                                   bool
	TLSCAFile                             string // PEM; "" means the system roots
	// Timeout bounds dialing and each request; connecting takes at most
	// twice as long. Default DefaultKafkaTimeout.
	Timeout time.Duration
	// IdleTimeout ends the listing of a range when Kafka returns no record
	// for this long (the range ends in offsets without records). Default
	// DefaultKafkaIdleTimeout.
	IdleTimeout time.Duration
}

// Defaults of KafkaConfig.
const (
	DefaultKafkaClientID    = "kafka-oss-sink-verify"
	DefaultKafkaTimeout     = 5 * time.Second
	DefaultKafkaIdleTimeout = 5 * time.Second
)

// SaramaKafka implements Kafka and KafkaRecords on a live cluster.
type SaramaKafka struct {
	cfg    KafkaConfig
	client sarama.Client
	admin  sarama.ClusterAdmin
}

var (
	_ Kafka             = (*SaramaKafka)(nil)
	_ KafkaRecords      = (*SaramaKafka)(nil)
	_ KafkaRecordReader = (*SaramaKafka)(nil)
)

func (k *KafkaConfig) sarama() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = k.ClientID
	c.Version = sarama.V2_1_0_0
	c.Net.DialTimeout = k.Timeout
	c.Net.ReadTimeout = max(k.Timeout, 10*time.Second)
	c.Net.WriteTimeout = k.Timeout
	c.Metadata.AllowAutoTopicCreation = false
	c.Metadata.Retry.Max = 1
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Metadata.Timeout = k.Timeout
	c.Admin.Timeout = k.Timeout
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.AutoCommit.Enable = false
	if err := kafkasasl.Apply(c, k.SASLMechanism, k.SASLUser, k.SASLPassword, k.TLS, k.TLSCAFile); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("client configuration: %w", err)
	}
	return c, nil
}

// NewSaramaKafka connects to the cluster, within twice cfg.Timeout. Close
// it when done.
func NewSaramaKafka(ctx context.Context, cfg KafkaConfig) (*SaramaKafka, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if cfg.Group == "" {
		return nil, errors.New("kafka: no consumer group")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultKafkaClientID
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultKafkaTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultKafkaIdleTimeout
	}
	sc, err := cfg.sarama()
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	type result struct {
		k   *SaramaKafka
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(cfg.Brokers, sc)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		a, err := sarama.NewClusterAdminFromClient(c)
		if err != nil {
			c.Close()
			ch <- result{nil, err}
			return
		}
		ch <- result{&SaramaKafka{cfg: cfg, client: c, admin: a}, nil}
	}()
	bound := 2 * cfg.Timeout
	limit := time.NewTimer(bound)
	defer limit.Stop()
	abandon := func() {
		go func() {
			if r := <-ch; r.k != nil {
				r.k.Close()
			}
		}()
	}
	brokers := strings.Join(cfg.Brokers, ",")
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("kafka: could not connect to %s (timeout %v; %s): %w", brokers, cfg.Timeout,
				kafkasasl.ConnectHint(r.err, cfg.TLS, cfg.TLSCAFile, cfg.SASLMechanism != ""), r.err)
		}
		return r.k, nil
	case <-ctx.Done():
		abandon()
		return nil, fmt.Errorf("kafka: interrupted while connecting to %s: %w", brokers, ctx.Err())
	case <-limit.C:
		abandon()
		return nil, fmt.Errorf("kafka: no answer from %s within %v (%s)", brokers, bound, kafkasasl.NoAnswerHint(cfg.TLS))
	}
}

// Close closes the connections.
func (k *SaramaKafka) Close() error {
	return k.admin.Close() // closes the client too
}

// bounded runs fn, giving up after the request timeout or when ctx is done.
func bounded[T any](ctx context.Context, d time.Duration, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	var zero T
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-t.C:
		return zero, fmt.Errorf("no answer within %v", d)
	}
}

// Partitions returns the partition numbers of topic.
func (k *SaramaKafka) Partitions(ctx context.Context, topic string) ([]int32, error) {
	return bounded(ctx, 3*k.cfg.Timeout, func() ([]int32, error) {
		if err := k.client.RefreshMetadata(topic); err != nil {
			return nil, err
		}
		return k.client.Partitions(topic)
	})
}

// Offsets returns the log start offset, the high watermark and the group's
// committed offset of one topic-partition.
func (k *SaramaKafka) Offsets(ctx context.Context, topic string, partition int32) (KafkaOffsets, error) {
	return bounded(ctx, 3*k.cfg.Timeout, func() (KafkaOffsets, error) {
		var o KafkaOffsets
		var err error
		if o.LogStart, err = k.client.GetOffset(topic, partition, sarama.OffsetOldest); err != nil {
			return o, fmt.Errorf("log start offset: %w", err)
		}
		if o.HighWatermark, err = k.client.GetOffset(topic, partition, sarama.OffsetNewest); err != nil {
			return o, fmt.Errorf("high watermark: %w", err)
		}
		resp, err := k.admin.ListConsumerGroupOffsets(k.cfg.Group, map[string][]int32{topic: {partition}})
		if err != nil {
			return o, fmt.Errorf("committed offset of group %q: %w", k.cfg.Group, err)
		}
		if resp.Err != sarama.ErrNoError {
			return o, fmt.Errorf("committed offset of group %q: %w", k.cfg.Group, resp.Err)
		}
		o.Committed = -1
		if b := resp.GetBlock(topic, partition); b != nil {
			if b.Err != sarama.ErrNoError {
				return o, fmt.Errorf("committed offset of group %q: %w", k.cfg.Group, b.Err)
			}
			o.Committed = b.Offset
		}
		return o, nil
	})
}

// Records consumes [from, to) and calls fn with each record's offset. It
// ends early, without error, when Kafka returns nothing for the idle
// timeout (the range ends in offsets that hold no record).
func (k *SaramaKafka) Records(ctx context.Context, topic string, partition int32, from, to int64, fn func(int64)) error {
	return k.consume(ctx, topic, partition, from, to, func(m *sarama.ConsumerMessage) { fn(m.Offset) })
}

// ReadRecords consumes [from, to) as Records does and calls fn with each
// record, as the trigger would deliver it (see WithExpected).
func (k *SaramaKafka) ReadRecords(ctx context.Context, topic string, partition int32, from, to int64, fn func(*events.Record)) error {
	var r events.Record
	return k.consume(ctx, topic, partition, from, to, func(m *sarama.ConsumerMessage) {
		triggerRecord(&r, m)
		fn(&r)
	})
}

// triggerRecord fills r with m as the trigger delivers a record: the value
// as bytes (a tombstone as null), headers as a JSON array of
// {"key":..,"value":..} with string values.
func triggerRecord(r *events.Record, m *sarama.ConsumerMessage) {
	*r = events.Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Headers: r.Headers[:0]}
	if !m.Timestamp.IsZero() {
		r.Timestamp = m.Timestamp.UnixMilli()
	}
	if m.Key != nil {
		r.Key, r.HasKey = m.Key, true
	}
	if m.Value == nil {
		r.ValueKind = events.ValueNull
	} else {
		r.Value, r.ValueKind = m.Value, events.ValueBytes
	}
	type header struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	}
	hs := make([]header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		x := header{Key: string(h.Key)}
		if h.Value != nil {
			v := string(h.Value)
			x.Value = &v
		}
		hs = append(hs, x)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hs); err == nil {
		r.Headers = append(r.Headers, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
	}
}

// consume calls fn with each record of [from, to), ending early when Kafka
// returns nothing for the idle timeout.
func (k *SaramaKafka) consume(ctx context.Context, topic string, partition int32, from, to int64, fn func(*sarama.ConsumerMessage)) error {
	if from >= to {
		return nil
	}
	cons, err := sarama.NewConsumerFromClient(k.client)
	if err != nil {
		return err
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, partition, from)
	if err != nil {
		return err
	}
	defer pc.Close()
	idle := time.NewTimer(k.cfg.IdleTimeout)
	defer idle.Stop()
	for {
		select {
		case m, ok := <-pc.Messages():
			if !ok {
				return errors.New("partition consumer closed")
			}
			if m.Offset >= to {
				return nil
			}
			if m.Offset >= from {
				fn(m)
			}
			if m.Offset >= to-1 {
				return nil
			}
			idle.Reset(k.cfg.IdleTimeout)
		case err := <-pc.Errors():
			if err != nil {
				return err
			}
		case <-idle.C:
			// Nothing for a while: the rest of the range holds no record
			// (transaction markers, compacted away) or lies past what
			// Kafka holds now.
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
