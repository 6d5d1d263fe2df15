// Package handler is the sink's invocation path, shared by every way of
// running it: Function Compute (package function's fc.Start loop), the local
// invoke command, and tools that feed it batches themselves. One Handler
// serves any number of concurrent invocations: decode the trigger payload
// (in place: the payload is the handler's to overwrite), write it with
// package sink to the configured store, and answer with a JSON summary or a
// typed error that says whether a retry can help (errors.go).
//
// Errors. Invoke and Check fail with exactly one of the types of errors.go,
// outermost in the chain (Function Compute shows its name as errorType):
// *WriteError is the only transient one (Retryable); *BadEventError is
// permanent for the batch (*TimerPayloadError for a timer invocation,
// timer.go), *StateConflictError for its partition; and
// *ConfigError, *AccessDeniedError, *NoSuchBucketError and *InvalidKeyError
// are permanent for every batch until the setup is fixed (SetupError): runners stop on them
// instead of retrying or dead-lettering. A batch whose partitions fail in
// different ways gets the most permanent type.
package handler

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// Handler is what one process serves every invocation with. It holds only
// configuration and caches that are safe for concurrent invocations.
type Handler struct {
	cfg  config.Config
	sink *sink.Sink
	log  zerolog.Logger
	// storeFor returns the store for one invocation: OSS clients depend on
	// the invocation's (rotating) credentials.
	storeFor func(ctx context.Context) (store.Store, error)
}

// Response is the JSON an invocation returns: the sink's summary and the
// request id; for a timer invocation (see timer.go) SealIdle instead of
// the summary.
type Response struct {
	RequestID string `json:"request_id,omitempty"`
	*sink.Summary
	SealIdle *SealIdleResponse `json:"seal_idle,omitempty"`
}

// CredentialsFunc returns the OSS credentials of an invocation. When there
// are none its error wraps ErrNoCredentials (the invocation then fails with
// a *ConfigError); any other error is taken as transient.
type CredentialsFunc func(ctx context.Context) (ossstore.Credentials, error)

// New returns a Handler for cfg: the local directory store unless cfg
// selects OSS, whose clients are made per set of credentials creds returns.
// extra options apply to the sink after cfg's (the runner's own, such as
// a buffer cache bounded by the instance's memory).
func New(cfg config.Config, logOut io.Writer, creds CredentialsFunc, extra ...sink.Option) (*Handler, error) {
	log := zerolog.New(logOut).Level(cfg.LogLevel).With().Timestamp().Logger()
	sk, err := sink.New(append(append(cfg.SinkOptions(), sink.WithLogger(log)), extra...)...)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, sink: sk, log: log}
	if !cfg.UseOSS() {
		ls, err := localstore.New(cfg.LocalDir)
		if err != nil {
			return nil, fmt.Errorf("local store: %w", err)
		}
		h.storeFor = func(context.Context) (store.Store, error) { return ls, nil }
		return h, nil
	}
	pool, err := ossstore.NewPool(ossstore.Config{Endpoint: cfg.Endpoint, Bucket: cfg.Bucket}, ossstore.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("oss store: %w", err)
	}
	h.storeFor = func(ctx context.Context) (store.Store, error) {
		c, err := creds(ctx)
		if err != nil {
			return nil, err
		}
		return pool.Store(c)
	}
	return h, nil
}

// Invoke handles one trigger payload. It may overwrite payload.
func (h *Handler) Invoke(ctx context.Context, requestID string, payload []byte) (*Response, error) {
	start := time.Now()
	log := h.log.With().Str("request_id", requestID).Logger()
	ctx = log.WithContext(sink.WithRequestID(ctx, requestID))
	if tm, ok, err := ParseTimer(payload); ok {
		if err != nil {
			log.Error().Err(err).Int("payload_bytes", len(payload)).Msg("timer invocation failed: nothing done")
			return &Response{RequestID: requestID, SealIdle: &SealIdleResponse{Message: err.Error()}}, err
		}
		return h.invokeTimer(ctx, log, requestID, tm, start)
	}
	resp := &Response{RequestID: requestID, Summary: &sink.Summary{Partitions: []sink.PartitionSummary{}}}

	// The payload is ours and is not used again: decoding in place saves a
	// copy of the batch.
	recs, err := events.Decode(payload, events.WithValueEncoding(h.cfg.Encoder.ValueEncoding), events.InPlace())
	if err != nil {
		err = &BadEventError{err}
		resp.Error = err.Error()
		log.Error().Err(err).Int("payload_bytes", len(payload)).Msg("invocation failed: nothing written")
		return resp, err
	}
	st, err := h.storeFor(ctx)
	if err != nil {
		err = h.classifyStore(err)
		resp.Error = err.Error()
		log.Error().Err(err).Msg("invocation failed: nothing written")
		return resp, err
	}
	sum, err := h.sink.Write(ctx, st, recs)
	resp.Summary = sum
	ev := log.Info()
	if err != nil {
		err = h.classifyWrite(err)
		ev = log.Error().Err(err)
	}
	ev.Int("payload_bytes", len(payload)).Int("records", sum.Records).Int("written", sum.Written).
		Int("recovered", sum.Recovered).Int("adopted", sum.Adopted).Int("skipped", sum.Skipped).Int("duplicates", sum.Duplicates).
		Int("filtered", sum.Filtered).Int("invalid", sum.Invalid).Int("invalid_dropped", sum.InvalidDropped).Int("separator_values", sum.SeparatorValues).Int("partitions", len(sum.Partitions)).
		Int64("bytes", sum.Bytes).Int("oss_requests", sum.Requests).Dur("took_ms", time.Since(start)).Msg("invocation done")
	return resp, err
}

// checkKey is what Check lists: a prefix no object has, so that the answer
// is one short page. The role's policy allows listing under the prefix only.
const checkKey = ".kafka-oss-sink-store-check/"

// Check makes one cheap request (a listing under the prefix that matches
// nothing) with the credentials an invocation would use, so that a runner
// finds a bad endpoint, bucket, credentials or policy before it takes
// batches. ctx bounds it. Its errors are those of Invoke: a *ConfigError,
// *AccessDeniedError or *NoSuchBucketError (SetupError), or a *WriteError
// (unreachable, no answer before ctx ended).
func (h *Handler) Check(ctx context.Context) error {
	st, err := h.storeFor(ctx)
	if err != nil {
		return h.classifyStore(err)
	}
	if _, err := st.List(ctx, h.cfg.Prefix+checkKey); err != nil {
		return h.classifyWrite(err)
	}
	return nil
}

// Config returns the configuration the Handler was made with.
func (h *Handler) Config() config.Config { return h.cfg }

// EnvCredentials reads OSS credentials from the environment, as FC 3.0
// also provides them.
func EnvCredentials(getenv func(string) string) CredentialsFunc {
	return func(context.Context) (ossstore.Credentials, error) {
		c := ossstore.Credentials{
			AccessKeyID:     getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
			AccessKeySecret: getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
			SecurityToken:   getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
		}
		if c.AccessKeyID == "" || c.AccessKeySecret == "" {
			return c, fmt.Errorf("%w: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials)", ErrNoCredentials)
		}
		return c, nil
	}
}
