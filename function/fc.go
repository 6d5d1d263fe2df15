package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcruntime"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// instance is one FC instance: configuration read and checked once, then
// any number of invocations, concurrently when the function's instance
// concurrency allows.
type instance struct {
	h      *handler.Handler
	err    error // a bad configuration: every invocation fails with it
	log    zerolog.Logger
	stop   context.Context // cancelled by PreStop
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	stopping bool           // set by PreStop; no invocation starts after it
	busy     sync.WaitGroup // invocations in flight
}

func newInstance(getenv func(string) string, logOut *os.File) *instance {
	inst := &instance{log: zerolog.New(logOut).With().Timestamp().Logger()}
	inst.stop, inst.cancel = context.WithCancelCause(context.Background())
	cfg, err := config.FromEnv(getenv)
	if err == nil {
		inst.h, err = handler.New(cfg, logOut, fcCredentials(getenv), bufferCache(getenv)...)
	}
	if err != nil {
		// Failing every invocation with the same message beats a crash loop
		// that shows nothing but restarts.
		inst.err = &handler.ConfigError{Err: err}
		inst.log.Error().Err(inst.err).Msg("configuration invalid")
	}
	return inst
}

// initialize runs once per instance, before its first invocation (when the
// function has an initializer configured). The configuration was read when
// the process started; this only reports it.
func (inst *instance) initialize(ctx context.Context) {
	if inst.err != nil {
		inst.log.Error().Err(inst.err).Msg("initializer: configuration invalid; invocations will fail")
		return
	}
	c := inst.h.Config()
	inst.log.Info().Bool("oss", c.UseOSS()).Str("bucket", c.Bucket).Str("endpoint", c.Endpoint).Str("prefix", c.Prefix).
		Str("format", c.Encoder.Format.String()).Str("encoding", c.Encoder.ID()).Int64("flush_bytes", c.FlushBytes).Int64("flush_records", c.FlushRecords).
		Dur("flush_interval_ms", c.FlushInterval).Dur("flush_idle_ms", c.FlushIdle).Str("folder", c.Folder()).Str("timezone", timezone(c)).Bool("filter", c.Filter != nil).
		// finalize: objects are staged and written whole when sealed
		// (SINK_FINALIZE=true, and always for parquet).
		Bool("finalize", c.Encoder.Staged()).Str("storage_class", string(c.StorageClass)).Str("sse", c.SSE).Bool("sse_kms_key", c.SSEKeyID != "").
		Int("tags", len(c.Tags)).
		Msg("initializer: ready")
	for _, w := range c.Warnings {
		inst.log.Warn().Msg("configuration: " + w)
	}
}

// errStopping is the cause given to invocations still running at PreStop.
var errStopping = errors.New("instance stopping (PreStop)")

// preStop runs before FC stops the instance. Invocations still running are
// told to stop starting OSS requests (their state stays consistent and the
// trigger redelivers their batches), and waited for until ctx's deadline.
func (inst *instance) preStop(ctx context.Context) {
	// No Add may race with the Wait below (a WaitGroup forbids it).
	inst.mu.Lock()
	inst.stopping = true
	inst.mu.Unlock()
	inst.cancel(errStopping)
	done := make(chan struct{})
	go func() { inst.busy.Wait(); close(done) }()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	select {
	case <-done:
		// The handlers have returned; give the runtime loop a moment to post their
		// answers, so that FC reports them rather than a lost instance.
		time.Sleep(min(200*time.Millisecond, wait))
		inst.log.Info().Msg("prestop: no invocation in flight")
	case <-time.After(wait):
		inst.log.Warn().Msg("prestop: invocations still running at the deadline")
	}
}

// handle serves one invocation with the raw body of the trigger.
func (inst *instance) handle(ctx context.Context, payload []byte) (*handler.Response, error) {
	if inst.err != nil {
		return nil, inst.err
	}
	inst.mu.Lock()
	if inst.stopping {
		inst.mu.Unlock()
		return nil, &handler.WriteError{Err: errStopping}
	}
	inst.busy.Add(1)
	inst.mu.Unlock()
	defer inst.busy.Done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopWatch := context.AfterFunc(inst.stop, func() { cancel(errStopping) })
	defer stopWatch()

	reqID := ""
	if fctx, ok := fccontext.FromContext(ctx); ok {
		reqID = fctx.RequestID
	}
	return inst.h.Invoke(ctx, reqID, payload)
}

// fcCredentials takes the temporary credentials FC passes with each
// invocation (they rotate), falling back to the environment.
func fcCredentials(getenv func(string) string) handler.CredentialsFunc {
	env := handler.EnvCredentials(getenv)
	return func(ctx context.Context) (ossstore.Credentials, error) {
		if fctx, ok := fccontext.FromContext(ctx); ok && fctx.Credentials.AccessKeyId != "" {
			return ossstore.Credentials{
				AccessKeyID:     fctx.Credentials.AccessKeyId,
				AccessKeySecret: fctx.Credentials.AccessKeySecret,
				SecurityToken:   fctx.Credentials.SecurityToken,
			}, nil
		}
		c, err := env(ctx)
		if err != nil {
			return c, fmt.Errorf("FC passed no credentials with the invocation (give the function a role: SinkRole in template.yaml, roleArn in s.yaml), and %w", err)
		}
		return c, nil
	}
}

func timezone(c config.Config) string {
	if c.Router == nil {
		return "UTC"
	}
	return c.Router.Location().String()
}

// bufferCache bounds the encoding buffers the sink keeps from one
// invocation to the next by the instance's memory (FC_FUNCTION_MEMORY_SIZE):
// at most 2/5 of the Go memory limit fcruntime sets (38 MiB at 128 MB, the
// sink's default 64 MiB from 192 MB up), so that they and the body buffers
// fcruntime keeps (up to 34 MiB) leave room for the next batch's decoding.
// Without a memory size, the sink's default.
func bufferCache(getenv func(string) string) []sink.Option {
	mb, err := strconv.Atoi(getenv(fcruntime.EnvMemorySize))
	if err != nil || mb <= 0 {
		return nil
	}
	return []sink.Option{sink.WithBufferCache(int(min(sink.DefaultBufferCache, fcruntime.MemoryLimit(mb)*2/5)))}
}
