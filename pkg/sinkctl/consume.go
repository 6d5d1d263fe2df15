package sinkctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

const consumeUsage = `Usage: sinkctl consume --brokers host:9092[,..] --group G --topic T [flags]

Runs the function's handler behind a Kafka consumer group, as the FC Kafka
trigger would: records are batched per partition (--batch-count or
--batch-window, whichever comes first), each batch is passed to the handler
as a CloudEvents payload, and its offsets are committed only after it was
stored. Runs until SIGINT or SIGTERM; uncommitted records are redelivered on
the next run. The store and format come from the function's environment
(OSS_BUCKET, SINK_FORMAT, ...; --dir writes to a local directory instead).
Before joining the group it checks the store with one request, bounded by
--connect-timeout.

A transient failure is retried (--retries), then dead-lettered or stops
the command. Bad data (a record whose key, header or, with
SINK_VALUE_ENCODING=text, value is not valid UTF-8) is not retried: it goes
to --dead-letter-topic, or stops the command. A setup problem (configuration,
credentials, access denied, missing bucket) or a partition state conflict
stops the command at once and is never dead-lettered.

Exit codes: 0 stopped cleanly; 1 a batch failed for good (nothing skipped);
2 usage, configuration, credentials, permission, store or broker connection
error.

Flags:
`

type consumeFlags struct {
	brokers        listFlag
	group          string
	topics         listFlag
	batchCount     int
	batchWindow    time.Duration
	start          string
	retries        int
	deadLetter     string
	clientID       string
	sec            kafkaSecurity
	connectTimeout time.Duration
	dir            string
}

func runConsume(ctx context.Context, args []string, env Env) int {
	var f consumeFlags
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), consumeUsage)
		fs.PrintDefaults()
	}
	fs.Var(&f.brokers, "brokers", "bootstrap servers, host:port; repeatable or comma-separated (required)")
	fs.StringVar(&f.group, "group", "", "consumer group id, used by the sink alone (required)")
	fs.Var(&f.topics, "topic", "topic to consume; repeatable (required)")
	fs.IntVar(&f.batchCount, "batch-count", consume.DefaultBatchCount, "cut a batch at this many records (1..10000)")
	fs.DurationVar(&f.batchWindow, "batch-window", consume.DefaultBatchWindow, "cut a batch this long after its first record (0..15s)")
	fs.StringVar(&f.start, "start", "earliest", "where a new group starts: earliest or latest")
	fs.IntVar(&f.retries, "retries", consume.DefaultRetries, "retries of a failed batch, with exponential backoff")
	fs.StringVar(&f.deadLetter, "dead-letter-topic", "", "produce a batch that failed past its retries here and go on (default: stop)")
	fs.StringVar(&f.clientID, "client-id", consume.DefaultClientID, "Kafka client id")
	f.sec.register(fs)
	fs.DurationVar(&f.connectTimeout, "connect-timeout", consume.DefaultConnectTimeout, "bound on dialing a broker, on metadata requests and on the store check before consuming")
	fs.StringVar(&f.dir, "dir", "", "write to this local directory instead of the configured store")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	fail := func(code int, format string, a ...any) int {
		// One line: errors.Join puts one error per line.
		fmt.Fprintf(env.Stderr, "sinkctl consume: %s\n", strings.ReplaceAll(fmt.Sprintf(format, a...), "\n", "; "))
		return code
	}
	if fs.NArg() > 0 {
		return fail(ExitUsage, "unexpected argument %q (flags only; see sinkctl consume -h)", fs.Arg(0))
	}
	opts, err := f.options(env)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}

	getenv := env.Getenv
	if f.dir != "" {
		if err := os.MkdirAll(f.dir, 0o755); err != nil {
			return fail(ExitUsage, "--dir: %v", err)
		}
		getenv = func(k string) string {
			switch k {
			case config.EnvBucket:
				return ""
			case config.EnvLocalDir:
				return f.dir
			}
			return env.Getenv(k)
		}
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	if !cfg.UseOSS() {
		if err := os.MkdirAll(cfg.LocalDir, 0o755); err != nil {
			return fail(ExitUsage, "local store: %v", err)
		}
	}
	h, err := handler.New(cfg, env.Stderr, handler.EnvCredentials(env.Getenv))
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	log := zerolog.New(env.Stderr).Level(cfg.LogLevel).With().Timestamp().Str("component", "consume").Logger()
	opts = append(opts, consume.Logger(log))

	err = consume.Run(ctx, h, opts...)
	var be *consume.BatchError
	switch {
	case err == nil:
		return ExitOK
	case handler.SetupError(err):
		return fail(ExitUsage, "%v", err)
	case errors.As(err, &be):
		return fail(ExitFailed, "%v", err)
	default:
		return fail(ExitUsage, "%v", err)
	}
}

// options checks the flags and turns them into consume options.
func (f *consumeFlags) options(env Env) ([]consume.Option, error) {
	if len(f.brokers) == 0 {
		return nil, errors.New("--brokers is required")
	}
	if f.group == "" {
		return nil, errors.New("--group is required")
	}
	if len(f.topics) == 0 {
		return nil, errors.New("--topic is required")
	}
	opts := []consume.Option{
		consume.Brokers(f.brokers...), consume.Group(f.group), consume.Topics(f.topics...),
		consume.CountBasedWindow(f.batchCount), consume.TimeBasedWindow(f.batchWindow),
		consume.Retries(f.retries, 0, 0), consume.ClientID(f.clientID), consume.ConnectTimeout(f.connectTimeout),
	}
	switch strings.ToLower(f.start) {
	case "earliest":
		opts = append(opts, consume.StartAt(consume.StartEarliest))
	case "latest":
		opts = append(opts, consume.StartAt(consume.StartLatest))
	default:
		return nil, fmt.Errorf("--start %q: want earliest or latest", f.start)
	}
	if f.deadLetter != "" {
		opts = append(opts, consume.DeadLetterTopic(f.deadLetter))
	}
	pass, err := f.sec.password(env)
	if err != nil {
		return nil, err
	}
	if f.sec.mechanism != "" {
		opts = append(opts, consume.SASL(f.sec.mechanism, f.sec.user, pass))
	}
	if f.sec.tls {
		opts = append(opts, consume.TLS(f.sec.tlsCA))
	}
	return opts, nil
}
