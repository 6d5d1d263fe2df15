package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/kafkasasl"
)

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// saramaConfig builds the idempotent, ordered producer's configuration.
func (k *Kafka) saramaConfig() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = k.ClientID
	c.Version = sarama.V2_1_0_0
	c.Net.DialTimeout = k.ConnectTimeout
	c.Net.ReadTimeout = 30 * time.Second
	c.Net.WriteTimeout = k.ConnectTimeout
	c.Net.MaxOpenRequests = 1
	c.Metadata.AllowAutoTopicCreation = false
	c.Metadata.Retry.Max = 2
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Metadata.Timeout = k.ConnectTimeout
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Producer.Retry.Max = 5
	c.Producer.Retry.Backoff = 200 * time.Millisecond
	c.Producer.Partitioner = sarama.NewManualPartitioner
	// The consumer reads the target partition back to learn what an
	// interrupted run produced: records known to exist, so fetches need
	// not wait for more (and a long poll would hold up the producer, which
	// shares the broker connections, one request in flight).
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 10 * time.Millisecond
	if err := kafkasasl.Apply(c, k.SASLMechanism, k.SASLUser, k.SASLPassword, k.TLS, k.TLSCAFile); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("client configuration: %w", err)
	}
	return c, nil
}

// connect makes the client, checks that the target topic has every
// partition to restore and asks for the cluster id ("" if the cluster
// reports none), bounded in time.
func connect(ctx context.Context, k Kafka, target string, jobs []*partJob) (sarama.Client, string, error) {
	if len(k.Brokers) == 0 {
		return nil, "", &ConnectError{errors.New("no brokers")}
	}
	if k.ClientID == "" {
		k.ClientID = DefaultClientID
	}
	if k.ConnectTimeout <= 0 {
		k.ConnectTimeout = DefaultConnectTimeout
	}
	cfg, err := k.saramaConfig()
	if err != nil {
		return nil, "", &ConnectError{err}
	}
	type result struct {
		c   sarama.Client
		id  string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(k.Brokers, cfg)
		if err != nil {
			ch <- result{nil, "", err}
			return
		}
		ps, err := c.Partitions(target)
		if err != nil {
			c.Close()
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				err = fmt.Errorf("target topic %q does not exist (or this client may not describe it): %w", target, err)
			}
			ch <- result{nil, "", err}
			return
		}
		for _, j := range jobs {
			if !slices.Contains(ps, j.p) {
				c.Close()
				ch <- result{nil, "", fmt.Errorf("target topic %q has no partition %d (it has %d partitions)", target, j.p, len(ps))}
				return
			}
		}
		id, err := clusterID(c, cfg, target)
		if err != nil {
			c.Close()
			ch <- result{nil, "", err}
			return
		}
		ch <- result{c, id, nil}
	}()
	bound := 2 * k.ConnectTimeout
	limit := time.NewTimer(bound)
	defer limit.Stop()
	abandon := func() {
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
	}
	select {
	case r := <-ch:
		if r.err != nil {
			if errors.Is(r.err, sarama.ErrOutOfBrokers) {
				hint := kafkasasl.ConnectHint(r.err, k.TLS, k.TLSCAFile, k.SASLMechanism != "")
				r.err = fmt.Errorf("could not connect to any broker of %s (dial timeout %v; %s): %w", strings.Join(k.Brokers, ","), k.ConnectTimeout, hint, r.err)
			}
			return nil, "", &ConnectError{r.err}
		}
		return r.c, r.id, nil
	case <-ctx.Done():
		abandon()
		return nil, "", &ConnectError{fmt.Errorf("interrupted while connecting: %w", ctx.Err())}
	case <-limit.C:
		abandon()
		return nil, "", &ConnectError{fmt.Errorf("no answer from %s within %v (%s)", strings.Join(k.Brokers, ","), bound, kafkasasl.NoAnswerHint(k.TLS))}
	}
}

// clusterID asks a broker for the cluster id (Metadata v2 and later).
func clusterID(c sarama.Client, cfg *sarama.Config, topic string) (string, error) {
	b := c.LeastLoadedBroker()
	if b == nil {
		return "", errors.New("cluster id: no broker available")
	}
	resp, err := b.GetMetadata(sarama.NewMetadataRequest(cfg.Version, []string{topic}))
	if err != nil {
		return "", fmt.Errorf("cluster id: metadata request to %s: %w", b.Addr(), err)
	}
	if resp.ClusterID == nil {
		return "", nil
	}
	return *resp.ClusterID, nil
}

// target is the partitions restored into, as the resumption reads them.
type target struct {
	client sarama.Client
	cons   sarama.Consumer
	topic  string
	id     string // cluster id
}

// offsets returns a target partition's log start and end offsets.
func (t *target) offsets(p int32) (start, end int64, err error) {
	if end, err = t.client.GetOffset(t.topic, p, sarama.OffsetNewest); err != nil {
		return 0, 0, fmt.Errorf("end offset of %s/%d: %w", t.topic, p, err)
	}
	if start, err = t.client.GetOffset(t.topic, p, sarama.OffsetOldest); err != nil {
		return 0, 0, fmt.Errorf("start offset of %s/%d: %w", t.topic, p, err)
	}
	return start, end, nil
}

// readWait bounds the wait for records known to exist; only a broken
// cluster makes it matter.
const readWait = time.Minute

// read returns the records of target partition p with offsets in
// [from, to), which the caller knows are below the end offset. Offsets
// that retention or compaction removed are missing from the result.
func (t *target) read(ctx context.Context, p int32, from, to int64) ([]*sarama.ConsumerMessage, error) {
	if from >= to {
		return nil, nil
	}
	pc, err := t.cons.ConsumePartition(t.topic, p, from)
	if err != nil {
		return nil, fmt.Errorf("read %s/%d from offset %d: %w", t.topic, p, from, err)
	}
	defer func() {
		// Close waits until the partition can be consumed again (the
		// resumption may read it twice); messages fetched ahead are dropped.
		go func() {
			for range pc.Messages() {
			}
		}()
		_ = pc.Close()
	}()
	var out []*sarama.ConsumerMessage
	limit := time.NewTimer(readWait)
	defer limit.Stop()
	for {
		select {
		case m, ok := <-pc.Messages():
			if !ok {
				return nil, fmt.Errorf("read %s/%d: consumer closed", t.topic, p)
			}
			if m.Offset >= to {
				return out, nil
			}
			out = append(out, m)
			if m.Offset == to-1 {
				return out, nil
			}
		case err := <-pc.Errors():
			return nil, fmt.Errorf("read %s/%d offsets %d..%d: %w", t.topic, p, from, to-1, err)
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-limit.C:
			return nil, fmt.Errorf("read %s/%d offsets %d..%d: no record after offset %d within %v although the end offset is %d (a retry may help)",
				t.topic, p, from, to-1, lastOffset(out, from-1), readWait, to)
		}
	}
}

func lastOffset(ms []*sarama.ConsumerMessage, none int64) int64 {
	if len(ms) == 0 {
		return none
	}
	return ms[len(ms)-1].Offset
}
