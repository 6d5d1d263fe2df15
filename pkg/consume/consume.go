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
// Failures. What a failed batch leads to depends on what failed (package
// handler's error types):
//
//   - A transient failure (*handler.WriteError: OSS unreachable, throttled)
//     is retried with exponential backoff (Retries). After the last attempt
//     the batch goes to the dead-letter topic when one is configured (then
//     its offsets are committed and consumption continues), otherwise Run
//     stops and returns a *BatchError naming the batch; nothing is skipped.
//   - Bad data is not retried: a record the trigger could not carry either
//     (see Records below) and a batch the handler refuses
//     (*handler.BadEventError). That is what a dead-letter topic is for: the
//     record (or batch) goes there, with a header saying why, and a warning
//     is logged; without one, Run stops with a *BatchError.
//   - A setup problem (handler.SetupError: configuration, missing
//     credentials, access denied, missing bucket, invalid keys; also expired
//     STS credentials, which nothing renews here, unlike on FC) and a partition state
//     conflict (*handler.StateConflictError) are neither retried nor
//     dead-lettered: every later batch would fail the same way, so the
//     dead-letter topic would only drain the topic. Run stops with a
//     *BatchError wrapping the handler's error; nothing of the batch is
//     committed.
//
// Records. The trigger carries keys and header keys and values as JSON
// strings, and values as strings too with SINK_VALUE_ENCODING=text: such a
// field must be valid UTF-8, or it would be stored altered (U+FFFD). A
// record with a field that is not is refused, never stored lossily: a
// *RecordError names its topic, partition and offset and the setting that
// stores it exactly (SINK_VALUE_ENCODING=base64 for binary values; keys and
// headers have none). The records before it in its batch are stored first.
// A null value (a tombstone) is rendered as JSON null and a null key as no
// key, so the handler stores them as such.
//
// Store check. Before it joins the group, Run makes one request to the
// handler's store (handler.Check), bounded by the ConnectTimeout: a setup
// problem, or an endpoint that does not answer in time, ends Run with a
// *StoreError before anything is consumed.
//
// Progress and catching up (progress.go). Before joining, Run reads every
// partition's log start offset and high watermark, and with a StoredFunc
// the store's committed offsets; OnProgress reports records and bytes
// stored, the lag (records from the stored offset to the high watermark)
// and whether the member has joined the group, at an interval and at the
// end. UntilCaughtUp makes Run return nil once every partition is stored
// up to its high watermark at start. StartAtOffset and StartAtTime place a
// new group (no committed offsets) by committing its start offsets before
// it joins; a group with commits gets a *StartError.
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
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// invokeFunc is the handler call.
type invokeFunc func(ctx context.Context, requestID string, payload []byte) error

// BatchError is returned by Run when a batch failed for good: past its
// retries, or bad data, without a dead-letter topic; or at once, with or
// without one, for a setup problem or a state conflict (see the package
// doc). Nothing was committed from FirstOffset on.
type BatchError struct {
	Topic       string
	Partition   int32
	FirstOffset int64
	LastOffset  int64
	Attempts    int
	Err         error
}

func (e *BatchError) Error() string {
	why := fmt.Sprintf("failed after %d attempt(s)", e.Attempts)
	var (
		sc *handler.StateConflictError
		re *RecordError
	)
	switch {
	case errors.As(e.Err, &re):
		why = "refused (bad data: not retried, no dead-letter topic)"
	case handler.SetupError(e.Err):
		why = "failed for a setup problem, not retried nor dead-lettered (every batch would fail the same way)"
	case errors.As(e.Err, &sc):
		why = "failed for a partition state conflict, not retried nor dead-lettered (the partition's later batches would fail the same way)"
	}
	return fmt.Sprintf("batch %s/%d offsets %d-%d %s, nothing committed from offset %d: %v",
		e.Topic, e.Partition, e.FirstOffset, e.LastOffset, why, e.FirstOffset, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// ConnectError is returned by Run when the brokers cannot be used: none
// reachable, an unknown topic, TLS or SASL failures, invalid settings.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "kafka: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// StoreError is returned by Run when the store check before consuming
// failed; nothing was consumed. Its Err is the handler's error (see
// handler.SetupError), with what to check.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "store check failed, nothing consumed: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// RecordError says why a record cannot be handed to the handler without
// loss. It names the record and the field, never their content.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Field     string // "value", "key", "header 2 key", "header 2 value"
	Hint      string // the setting that stores it exactly, or why none does
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("record %s/%d offset %d: its %s is not valid UTF-8 and would be stored altered; %s",
		e.Topic, e.Partition, e.Offset, e.Field, e.Hint)
}

// Run consumes until ctx is cancelled (returns nil), the store check fails
// (*StoreError), a batch fails for good (*BatchError), or the brokers cannot
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
	if err := o.validate(); err != nil {
		return &ConnectError{err}
	}
	storeTimeout := o.storeTimeout
	if storeTimeout <= 0 {
		storeTimeout = o.connectTimeout
	}
	if err := probeStore(ctx, h, storeTimeout); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	return run(ctx, o, enc)
}

// probeStore runs the handler's store check within timeout and explains a
// failure.
func probeStore(ctx context.Context, h *handler.Handler, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := expiredForGood(h.Check(cctx))
	switch {
	case err == nil:
		return nil
	case handler.SetupError(err):
		return &StoreError{err}
	}
	c := h.Config()
	where := fmt.Sprintf("directory %s", c.LocalDir)
	if c.UseOSS() {
		where = fmt.Sprintf("OSS bucket %q at %s", c.Bucket, c.Endpoint)
	}
	if cctx.Err() != nil && ctx.Err() == nil {
		return &StoreError{fmt.Errorf("%s did not answer within %v (the store timeout): check OSS_ENDPOINT "+
			"(an -internal endpoint answers only inside its region) and the network: %w", where, timeout, err)}
	}
	return &StoreError{fmt.Errorf("cannot use %s: %w", where, err)}
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

	tr, err := newTracker(ctx, &o, client)
	if err != nil {
		var se *StoreError
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &se):
			return se
		}
		return &ConnectError{err}
	}
	if o.progress != nil {
		defer func() { o.progress(tr.snapshot(true)) }()
	}
	// A start position for a group with commits is refused even when
	// there is nothing to consume: the command line is wrong either way.
	if err := applyStart(&o, client, tr); err != nil {
		var se *StartError
		if errors.As(err, &se) {
			return se
		}
		return &ConnectError{err}
	}
	if tr.isCaughtUp() {
		o.log.Info().Str("group", o.group).Strs("topics", o.topics).Msg("caught up already: the store holds every partition up to its high watermark")
		return nil
	}

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
	gh := &groupHandler{o: &o, enc: enc, dlq: dlq, runCtx: runCtx, stop: stop, tr: tr}
	tr.mu.Lock()
	tr.onCaughtUp = func() { stop(errCaughtUp) }
	tr.mu.Unlock()
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		tr.report(runCtx, client)
	}()
	// Before the final report (deferred earlier, so run later): the
	// reports never overlap.
	defer func() {
		stop(nil)
		<-reported
	}()
	o.log.Info().Strs("brokers", o.brokers).Str("group", o.group).Strs("topics", o.topics).
		Int("batch_count", o.batchCount).Dur("batch_window_ms", o.batchWindow).Msg("consuming")
	for {
		err := group.Consume(runCtx, o.topics, gh)
		if f := gh.fatalErr(); f != nil {
			return f
		}
		if tr.isCaughtUp() {
			o.log.Info().Str("group", o.group).Strs("topics", o.topics).Msg("caught up: every partition is stored up to its high watermark at start")
			return nil
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
		return nil, &ConnectError{fmt.Errorf("no answer from %s within %v (%s)", strings.Join(o.brokers, ","), bound, kafkasasl.NoAnswerHint(o.tls))}
	}
}

func explain(o options, err error) error {
	if errors.Is(err, sarama.ErrOutOfBrokers) {
		hint := kafkasasl.ConnectHint(err, o.tls, o.tlsCAFile, o.saslMechanism != "")
		return fmt.Errorf("could not connect to any broker of %s (dial timeout %v; %s): %w", strings.Join(o.brokers, ","), o.connectTimeout, hint, err)
	}
	return err
}

// errCaughtUp is the cause of the run's end with UntilCaughtUp.
var errCaughtUp = errors.New("caught up")

// groupHandler is the sarama.ConsumerGroupHandler.
type groupHandler struct {
	o      *options
	tr     *tracker
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

func (g *groupHandler) Setup(sarama.ConsumerGroupSession) error {
	g.tr.joined()
	return nil
}

func (g *groupHandler) Cleanup(sarama.ConsumerGroupSession) error {
	g.tr.left()
	return nil
}

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

// process hands a batch to the handler, cut before each record that cannot
// be rendered without loss; such a record is refused on its own. It
// reports whether consumption of the claim may go on.
func (g *groupHandler) process(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) bool {
	for len(batch) > 0 {
		i, rerr := firstUnrenderable(batch, g.enc)
		if rerr == nil {
			return g.invoke(sess, batch)
		}
		if i > 0 && !g.invoke(sess, batch[:i]) {
			return false
		}
		if !g.fail(sess, batch[i:i+1], 0, rerr) {
			return false
		}
		batch = batch[i+1:]
	}
	return true
}

// invoke invokes the handler for one batch with retries, then marks and
// commits it, or hands it to fail. It reports whether consumption of the
// claim may go on.
func (g *groupHandler) invoke(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) bool {
	first := batch[0]
	attempts := 0
	delay := g.o.backoff
	for {
		attempts++
		payload := render(batch, g.enc) // Invoke may overwrite it: render per attempt
		id := fmt.Sprintf("consume-%s-%d-%d-%d", first.Topic, first.Partition, first.Offset, attempts)
		err := expiredForGood(g.o.invoke(g.runCtx, id, payload))
		if err == nil {
			break
		}
		if g.runCtx.Err() != nil {
			return false // stopping: not marked, redelivered
		}
		if !retryable(err) || attempts > g.o.retries {
			return g.fail(sess, batch, attempts, err)
		}
		g.o.log.Warn().Err(err).Str("topic", first.Topic).Int32("partition", first.Partition).Int64("first_offset", first.Offset).
			Int("attempt", attempts).Dur("backoff_ms", delay).Msg("batch failed, retrying")
		select {
		case <-time.After(delay):
		case <-sess.Context().Done():
			return false // claim gone: abandoned unmarked
		}
		delay = min(2*delay, g.o.maxBackoff)
	}
	last := batch[len(batch)-1]
	sess.MarkMessage(last, "")
	sess.Commit()
	var n int64
	for _, m := range batch {
		n += int64(len(m.Key) + len(m.Value))
	}
	g.tr.batchStored(first.Topic, first.Partition, last.Offset, len(batch), n)
	return true
}

// fail deals with a batch that failed for good: it stops Run, or (for bad
// data and exhausted retries, when there is one) produces the batch to the
// dead-letter topic and commits it. It reports whether consumption of the
// claim may go on.
func (g *groupHandler) fail(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage, attempts int, err error) bool {
	first, last := batch[0], batch[len(batch)-1]
	log := g.o.log.With().Str("topic", first.Topic).Int32("partition", first.Partition).
		Int64("first_offset", first.Offset).Int64("last_offset", last.Offset).Int("records", len(batch)).Logger()
	be := &BatchError{Topic: first.Topic, Partition: first.Partition, FirstOffset: first.Offset,
		LastOffset: last.Offset, Attempts: attempts, Err: err}
	if g.dlq == nil || !deadLetterable(err) {
		log.Error().Err(err).Int("attempts", attempts).Msg("batch failed for good: stopping")
		g.setFatal(be)
		return false
	}
	if derr := g.deadLetter(batch, err); derr != nil {
		be.Err = fmt.Errorf("%w; and producing it to dead-letter topic %q failed: %v", err, g.o.deadLetter, derr)
		log.Error().Err(be).Msg("dead letter failed: stopping")
		g.setFatal(be)
		return false
	}
	log.Warn().Err(err).Int("attempts", attempts).Str("dead_letter_topic", g.o.deadLetter).Msg("batch sent to the dead-letter topic")
	sess.MarkMessage(last, "")
	sess.Commit()
	// Dead-lettered records are handled, though the store never holds
	// them: catching up must not wait for them.
	g.tr.setStored(tpKey{first.Topic, first.Partition}, last.Offset)
	g.tr.check()
	return true
}

// expiredForGood turns an expired STS token into a setup problem. Under FC
// it is transient (the next invocation brings fresh credentials), but the
// handler here signs with the credentials of the environment, which nothing
// renews.
func expiredForGood(err error) error {
	if err != nil && errors.Is(err, store.ErrCredentialsExpired) && !handler.SetupError(err) {
		return &handler.ConfigError{Err: fmt.Errorf("the STS credentials in ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and "+
			"ALIBABA_CLOUD_SECURITY_TOKEN expired, and nothing renews them here: set fresh ones and start again: %w", err)}
	}
	return err
}

// retryable reports whether another attempt may help: not for bad data, a
// setup problem or a state conflict. Errors of no handler type (a custom
// invoke) are taken as transient.
func retryable(err error) bool {
	var (
		be *handler.BadEventError
		ue *handler.UnroutableError
		se *handler.StateConflictError
		re *RecordError
	)
	return !errors.As(err, &be) && !errors.As(err, &ue) && !errors.As(err, &se) && !errors.As(err, &re) && !handler.SetupError(err)
}

// deadLetterable reports whether a batch that failed for good with err
// belongs in the dead-letter topic: bad data or exhausted retries do; a
// setup problem or a state conflict, which every later batch would hit
// too, do not.
func deadLetterable(err error) bool {
	var se *handler.StateConflictError
	return !errors.As(err, &se) && !handler.SetupError(err)
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
