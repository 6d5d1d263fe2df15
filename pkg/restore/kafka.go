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
	if err := kafkasasl.Apply(c, k.SASLMechanism, k.SASLUser, k.SASLPassword, k.TLS, k.TLSCAFile); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("client configuration: %w", err)
	}
	return c, nil
}

// connect makes the client and checks that the target topic has every
// partition to restore, bounded in time.
func connect(ctx context.Context, k Kafka, target string, jobs []*partJob) (sarama.Client, error) {
	if len(k.Brokers) == 0 {
		return nil, &ConnectError{errors.New("no brokers")}
	}
	if k.ClientID == "" {
		k.ClientID = DefaultClientID
	}
	if k.ConnectTimeout <= 0 {
		k.ConnectTimeout = DefaultConnectTimeout
	}
	cfg, err := k.saramaConfig()
	if err != nil {
		return nil, &ConnectError{err}
	}
	type result struct {
		c   sarama.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(k.Brokers, cfg)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		ps, err := c.Partitions(target)
		if err != nil {
			c.Close()
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				err = fmt.Errorf("target topic %q does not exist (or this client may not describe it): %w", target, err)
			}
			ch <- result{nil, err}
			return
		}
		for _, j := range jobs {
			if !slices.Contains(ps, j.p) {
				c.Close()
				ch <- result{nil, fmt.Errorf("target topic %q has no partition %d (it has %d partitions)", target, j.p, len(ps))}
				return
			}
		}
		ch <- result{c, nil}
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
				hint := "check the addresses, the network and whether the listener wants TLS"
				if k.SASLMechanism != "" {
					hint += " and the SASL mechanism and credentials"
				}
				r.err = fmt.Errorf("could not connect to any broker of %s (dial timeout %v; %s): %w", strings.Join(k.Brokers, ","), k.ConnectTimeout, hint, r.err)
			}
			return nil, &ConnectError{r.err}
		}
		return r.c, nil
	case <-ctx.Done():
		abandon()
		return nil, &ConnectError{fmt.Errorf("interrupted while connecting: %w", ctx.Err())}
	case <-limit.C:
		abandon()
		return nil, &ConnectError{fmt.Errorf("no answer from %s within %v (a TLS listener does not answer plaintext: check --tls, the addresses and the network)", strings.Join(k.Brokers, ","), bound)}
	}
}
