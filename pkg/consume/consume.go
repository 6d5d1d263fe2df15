// Package consume runs the sink's handler behind a Kafka consumer group: the
// Function Compute Kafka trigger, emulated locally (or on any host that
// reaches the brokers).
//
// Contract. Run joins a consumer group (sarama) on the given topics and, per
// partition claim, collects records into batches cut by a record count
// (CountBasedWindow, the trigger's batchWindow.CountBasedWindow, default 100)
// or a time window measured from the batch's first record
// (TimeBasedWindow, default 1s), whichever comes first. Each batch is
// rendered as the trigger's body — a JSON array of CloudEvents objects, the
// value a JSON string of the message (or its base64 when the handler's
// SINK_VALUE_ENCODING is base64), key a string or absent, timestamp in ms,
// headers as {"headers":[{"key":..,"value":..}],"isReadOnly":false} — and
// passed to (*handler.Handler).Invoke, exactly as an invocation by FC. Unlike
// the trigger, a batch holds records of one partition only; per-partition
// order is kept (one batch per partition in flight, the handler's one
// assumption).
//
// Offsets. A record's offset is marked and committed (manual, synchronous
// commit) only after Invoke succeeded for the batch holding it, or after the
// batch was produced to the dead-letter topic. Nothing else is ever
// committed: records of a batch still collecting, a batch being retried, a
// batch abandoned by a rebalance or by ctx cancellation stay uncommitted and
// are redelivered to the next member or run — the sink makes that
// redelivery exactly-once, even with other batch boundaries.
//
// Failures. A failed Invoke is retried with exponential backoff (Retries).
// BadEventError, StateConflictError and ConfigError are not retried (a
// retry cannot help). After the last attempt the batch goes to the
// dead-letter topic when one is configured (then its offsets are committed
// and consumption continues), otherwise Run stops and returns a *BatchError
// naming the batch; nothing is skipped.
//
// Stopping. Run returns nil when ctx is cancelled: a batch in flight is
// cancelled with it (the handler leaves consistent state), uncommitted
// records are redelivered on restart. Connection problems (no broker
// reachable, an unknown topic, rejected credentials) fail Run within the
// ConnectTimeout (at most twice it in all) with an error saying what to
// check; the topics must exist when Run starts (topics are never created).
// An error of the consumer group itself after the start (for instance the
// cluster unreachable for longer than sarama's retries) also ends Run with a
// *ConnectError; nothing uncommitted is lost by that.
package consume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/kafkasasl"
)

// invokeFunc is the handler call.
type invokeFunc func(ctx context.Context, requestID string, payload []byte) error

// BatchError is returned by Run when a batch failed past its retries and no
// dead-letter topic is configured.
type BatchError struct {
	Topic       string
	Partition   int32
	FirstOffset int64
	LastOffset  int64
	Attempts    int
	Err         error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("batch %s/%d offsets %d-%d failed after %d attempt(s), nothing committed from offset %d: %v",
		e.Topic, e.Partition, e.FirstOffset, e.LastOffset, e.Attempts, e.FirstOffset, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// ConnectError is returned by Run when the brokers cannot be used: none
// reachable, an unknown topic, TLS or SASL failures, invalid settings.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "kafka: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// Run consumes until ctx is cancelled (returns nil), a batch fails past its
// retries without a dead-letter topic (*BatchError), or the brokers cannot
// be used (*ConnectError).
func Run(ctx context.Context, h *handler.Handler, opts ...Option) error {
	if h == nil {
		return &ConnectError{errors.New("no handler")}
	}
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	enc := h.Config().Encoder.ValueEncoding
	if o.invoke == nil {
		o.invoke = func(ctx context.Context, id string, p []byte) error {
			_, err := h.Invoke(ctx, id, p)
			return err
		}
	}
	return run(ctx, o, enc)
}

func defaults() options {
	return options{
		clientID:       DefaultClientID,
		batchCount:     DefaultBatchCount,
		batchWindow:    DefaultBatchWindow,
		retries:        DefaultRetries,
		backoff:        DefaultBackoff,
		maxBackoff:     DefaultMaxBackoff,
		connectTimeout: DefaultConnectTimeout,
		log:            zerolog.Nop(),
	}
}

func (o *options) validate() error {
	switch {
	case len(o.brokers) == 0:
		return errors.New("no bootstrap servers")
	case o.group == "":
		return errors.New("no consumer group")
	case len(o.topics) == 0:
		return errors.New("no topic")
	case o.batchCount < 1 || o.batchCount > 10000:
		return fmt.Errorf("batch count %d: must be 1..10000", o.batchCount)
	case o.batchWindow < 0 || o.batchWindow > 15*time.Second:
		return fmt.Errorf("batch window %v: must be 0..15s", o.batchWindow)
	case o.retries < 0:
		return fmt.Errorf("retries %d: must not be negative", o.retries)
	case o.connectTimeout <= 0:
		return fmt.Errorf("connect timeout %v: must be positive", o.connectTimeout)
	}
	for _, b := range o.brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("bootstrap server %q: want host:port", b)
		}
	}
	for _, t := range o.topics {
		if t == o.deadLetter {
			return fmt.Errorf("topic %q is also the dead-letter topic", t)
		}
	}
	return nil
}

// saramaConfig builds the client configuration.
func (o *options) saramaConfig() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = o.clientID
	c.Version = sarama.V2_1_0_0
	c.Net.DialTimeout = o.connectTimeout
	c.Net.ReadTimeout = 30 * time.Second
	c.Net.WriteTimeout = o.connectTimeout
	c.Metadata.AllowAutoTopicCreation = false
	c.Metadata.Retry.Max = 2
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	c.Metadata.Timeout = o.connectTimeout
	c.Consumer.Offsets.AutoCommit.Enable = false
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	if o.start == StartLatest {
		c.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	c.Consumer.Return.Errors = false
	c.Consumer.Group.Rebalance.Timeout = 30 * time.Second
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = false
	c.Producer.Retry.Max = 3

	if err := kafkasasl.Apply(c, o.saslMechanism, o.saslUser, o.saslPassword, o.tls, o.tlsCAFile); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("client configuration: %w", err)
	}
	return c, nil
}

func run(ctx context.Context, o options, enc valueEncoding) error {
	if err := o.validate(); err != nil {
		return &ConnectError{err}
	}
	cfg, err := o.saramaConfig()
	if err != nil {
		return &ConnectError{err}
	}
	client, err := connect(ctx, o, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer client.Close()

	var dlq sarama.SyncProducer
	if o.deadLetter != "" {
		if _, err := client.Partitions(o.deadLetter); err != nil {
			return &ConnectError{fmt.Errorf("dead-letter topic %q: %w (it must exist)", o.deadLetter, err)}
		}
		dlq, err = sarama.NewSyncProducerFromClient(client)
		if err != nil {
			return &ConnectError{fmt.Errorf("dead-letter producer: %w", err)}
		}
		defer dlq.Close()
	}
	group, err := sarama.NewConsumerGroupFromClient(o.group, client)
	if err != nil {
		return &ConnectError{fmt.Errorf("consumer group %q: %w", o.group, err)}
	}
	defer group.Close()

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	gh := &groupHandler{o: &o, enc: enc, dlq: dlq, runCtx: runCtx, stop: stop}
	o.log.Info().Strs("brokers", o.brokers).Str("group", o.group).Strs("topics", o.topics).
		Int("batch_count", o.batchCount).Dur("batch_window", o.batchWindow).Msg("consuming")
	for {
		err := group.Consume(runCtx, o.topics, gh)
		if f := gh.fatalErr(); f != nil {
			return f
		}
		if ctx.Err() != nil {
			o.log.Info().Str("group", o.group).Msg("stopped: uncommitted records will be redelivered")
			return nil
		}
		if err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return nil
			}
			return &ConnectError{fmt.Errorf("consumer group %q: %w", o.group, err)}
		}
	}
}

// connect makes the client and checks the topics, bounded in time.
func connect(ctx context.Context, o options, cfg *sarama.Config) (sarama.Client, error) {
	type result struct {
		c   sarama.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(o.brokers, cfg)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		for _, t := range o.topics {
			if _, err := c.Partitions(t); err != nil {
				c.Close()
				if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					err = fmt.Errorf("topic %q does not exist (or this client may not describe it): %w", t, err)
				}
				ch <- result{nil, err}
				return
			}
		}
		ch <- result{c, nil}
	}()
	// The client's own timeouts bound it; this bound is the backstop.
	bound := 2 * o.connectTimeout
	limit := time.NewTimer(bound)
	defer limit.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, &ConnectError{explain(o, r.err)}
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	case <-limit.C:
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, &ConnectError{fmt.Errorf("no answer from %s within %v (a TLS listener does not answer plaintext: check --tls, the addresses and the network)", strings.Join(o.brokers, ","), bound)}
	}
}

func explain(o options, err error) error {
	if errors.Is(err, sarama.ErrOutOfBrokers) {
		hint := "check the addresses, the network and whether the listener wants TLS"
		if o.saslMechanism != "" {
			hint += " and the SASL mechanism and credentials"
		}
		return fmt.Errorf("could not connect to any broker of %s (dial timeout %v; %s): %w", strings.Join(o.brokers, ","), o.connectTimeout, hint, err)
	}
	return err
}

// groupHandler is the sarama.ConsumerGroupHandler.
type groupHandler struct {
	o      *options
	enc    valueEncoding
	dlq    sarama.SyncProducer
	runCtx context.Context
	stop   context.CancelCauseFunc

	mu    sync.Mutex
	fatal error
}

func (g *groupHandler) fatalErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fatal
}

func (g *groupHandler) setFatal(err error) {
	g.mu.Lock()
	if g.fatal == nil {
		g.fatal = err
	}
	g.mu.Unlock()
	g.stop(err)
}

func (g *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (g *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim collects batches of one partition and hands each to the
// handler; it returns when the claim ends (rebalance, stop) or a batch fails
// for good. Records not yet in a successful batch are left unmarked.
func (g *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	batch := make([]*sarama.ConsumerMessage, 0, g.o.batchCount)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var window <-chan time.Time
	flush := func() bool {
		window = nil
		timer.Stop()
		if len(batch) == 0 {
			return true
		}
		ok := g.process(sess, batch)
		batch = batch[:0]
		return ok
	}
	for {
		select {
		case <-sess.Context().Done():
			return nil // the pending batch is abandoned: redelivered later
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch = append(batch, msg)
			if g.o.batchWindow == 0 {
				batch = drain(claim.Messages(), batch, g.o.batchCount)
				if !flush() {
					return nil
				}
				continue
			}
			if len(batch) == 1 {
				timer.Reset(g.o.batchWindow)
				window = timer.C
			}
			if len(batch) >= g.o.batchCount {
				if !flush() {
					return nil
				}
			}
		case <-window:
			if !flush() {
				return nil
			}
		}
	}
}

// drain appends the messages already waiting, up to n in the batch.
func drain(ch <-chan *sarama.ConsumerMessage, batch []*sarama.ConsumerMessage, n int) []*sarama.ConsumerMessage {
	for len(batch) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// process invokes the handler for one batch with retries, then marks and
// commits it, or dead-letters it, or stops Run. It reports whether
// consumption of the claim may go on.
func (g *groupHandler) process(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) bool {
	first, last := batch[0], batch[len(batch)-1]
	log := g.o.log.With().Str("topic", first.Topic).Int32("partition", first.Partition).
		Int64("first_offset", first.Offset).Int64("last_offset", last.Offset).Int("records", len(batch)).Logger()
	attempts := 0
	delay := g.o.backoff
	var err error
	for {
		attempts++
		payload := render(batch, g.enc) // Invoke may overwrite it: render per attempt
		id := fmt.Sprintf("consume-%s-%d-%d-%d", first.Topic, first.Partition, first.Offset, attempts)
		err = g.o.invoke(g.runCtx, id, payload)
		if err == nil {
			break
		}
		if g.runCtx.Err() != nil {
			return false // stopping: not marked, redelivered
		}
		if !retryable(err) || attempts > g.o.retries {
			break
		}
		log.Warn().Err(err).Int("attempt", attempts).Dur("backoff", delay).Msg("batch failed, retrying")
		select {
		case <-time.After(delay):
		case <-sess.Context().Done():
			return false // claim gone: abandoned unmarked
		}
		delay = min(2*delay, g.o.maxBackoff)
	}
	if err != nil {
		if g.dlq == nil {
			be := &BatchError{Topic: first.Topic, Partition: first.Partition, FirstOffset: first.Offset,
				LastOffset: last.Offset, Attempts: attempts, Err: err}
			log.Error().Err(err).Int("attempts", attempts).Msg("batch failed past its retries: stopping")
			g.setFatal(be)
			return false
		}
		if derr := g.deadLetter(batch, err); derr != nil {
			be := &BatchError{Topic: first.Topic, Partition: first.Partition, FirstOffset: first.Offset,
				LastOffset: last.Offset, Attempts: attempts,
				Err: fmt.Errorf("%w; and producing it to dead-letter topic %q failed: %v", err, g.o.deadLetter, derr)}
			log.Error().Err(be).Msg("dead letter failed: stopping")
			g.setFatal(be)
			return false
		}
		log.Warn().Err(err).Int("attempts", attempts).Str("dead_letter_topic", g.o.deadLetter).Msg("batch sent to the dead-letter topic")
	}
	sess.MarkMessage(last, "")
	sess.Commit()
	return true
}

// retryable reports whether another attempt may help.
func retryable(err error) bool {
	var (
		be *handler.BadEventError
		se *handler.StateConflictError
		ce *handler.ConfigError
	)
	return !errors.As(err, &be) && !errors.As(err, &se) && !errors.As(err, &ce)
}

// deadLetter produces the batch's records to the dead-letter topic.
func (g *groupHandler) deadLetter(batch []*sarama.ConsumerMessage, cause error) error {
	reason := cause.Error()
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	msgs := make([]*sarama.ProducerMessage, 0, len(batch))
	for _, m := range batch {
		pm := &sarama.ProducerMessage{Topic: g.o.deadLetter, Timestamp: m.Timestamp}
		if m.Key != nil {
			pm.Key = sarama.ByteEncoder(m.Key)
		}
		if m.Value != nil {
			pm.Value = sarama.ByteEncoder(m.Value)
		}
		for _, h := range m.Headers {
			if h != nil {
				pm.Headers = append(pm.Headers, *h)
			}
		}
		pm.Headers = append(pm.Headers,
			sarama.RecordHeader{Key: []byte(deadLetterPrefix + "topic"), Value: []byte(m.Topic)},
			sarama.RecordHeader{Key: []byte(deadLetterPrefix + "partition"), Value: fmt.Appendf(nil, "%d", m.Partition)},
			sarama.RecordHeader{Key: []byte(deadLetterPrefix + "offset"), Value: fmt.Appendf(nil, "%d", m.Offset)},
			sarama.RecordHeader{Key: []byte(deadLetterPrefix + "error"), Value: []byte(reason)})
		msgs = append(msgs, pm)
	}
	if err := g.dlq.SendMessages(msgs); err != nil {
		return fmt.Errorf("produce %d record(s): %w", len(msgs), err)
	}
	return nil
}
