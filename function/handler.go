package main

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

// handler is what one process serves every invocation with. It holds only
// configuration and caches that are safe for concurrent invocations.
type handler struct {
	cfg  config.Config
	sink *sink.Sink
	log  zerolog.Logger
	// storeFor returns the store for one invocation: OSS clients depend on
	// the invocation's (rotating) credentials.
	storeFor func(ctx context.Context) (store.Store, error)
}

// Response is the JSON an invocation returns.
type Response struct {
	RequestID string `json:"request_id,omitempty"`
	*sink.Summary
}

// credentialsFunc returns the OSS credentials of an invocation.
type credentialsFunc func(ctx context.Context) (ossstore.Credentials, error)

func newHandler(cfg config.Config, logOut io.Writer, creds credentialsFunc) (*handler, error) {
	log := zerolog.New(logOut).Level(cfg.LogLevel).With().Timestamp().Logger()
	sk, err := sink.New(append(cfg.SinkOptions(), sink.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, sink: sk, log: log}
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

// invoke handles one trigger payload.
func (h *handler) invoke(ctx context.Context, requestID string, payload []byte) (*Response, error) {
	start := time.Now()
	log := h.log.With().Str("request_id", requestID).Logger()
	ctx = log.WithContext(sink.WithRequestID(ctx, requestID))
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
		err = &WriteError{fmt.Errorf("open store: %w", err)}
		resp.Error = err.Error()
		log.Error().Err(err).Msg("invocation failed: nothing written")
		return resp, err
	}
	sum, err := h.sink.Write(ctx, st, recs)
	resp.Summary = sum
	ev := log.Info()
	if err != nil {
		err = classifyWrite(err)
		ev = log.Error().Err(err)
	}
	ev.Int("payload_bytes", len(payload)).Int("records", sum.Records).Int("written", sum.Written).
		Int("recovered", sum.Recovered).Int("duplicates", sum.Duplicates).Int("partitions", len(sum.Partitions)).
		Int64("bytes", sum.Bytes).Int("oss_requests", sum.Requests).Dur("took", time.Since(start)).Msg("invocation done")
	return resp, err
}
