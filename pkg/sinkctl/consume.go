package sinkctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/cliflag"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const consumeUsage = `Usage: sinkctl consume --brokers host:9092[,..] --group G --topic T [flags]

Runs the function's handler behind a Kafka consumer group, as the FC Kafka
trigger would: records are batched per partition (--batch-count or
--batch-window, whichever comes first), each batch is passed to the handler
as a CloudEvents payload, and its offsets are committed only after it was
stored. Runs until SIGINT or SIGTERM, or with --until-caught-up until every
partition of the topics is stored up to the high watermark it had at start
(the store's committed offsets, read from its meta objects, count: what
other members or earlier runs stored is not consumed again to get there).
Uncommitted records are redelivered on the next run. The store and format
come from the function's environment (OSS_BUCKET, SINK_FORMAT, ...; --dir
writes to a local directory instead). Before joining the group it checks
the store with one request, bounded by --oss-timeout.

Progress (records and MB stored, rate, lag: records from the stored offset
to the high watermark) goes to stderr every --progress-interval, redrawn in
place every second on a terminal; at the end a summary (stdout; --json for
JSON). When joining the group takes long, it says it is waiting for the
group to rebalance: a previous member's session has not expired yet.

A new group (no committed offsets for any partition of the topics) starts
at --start-offset (earliest, latest or an offset) or at --start-time (the
first record at or after an RFC 3339 time). An offset or a time is refused
for a group with committed offsets: use a new --group.

A transient failure is retried (--retries), then dead-lettered or stops
the command. Bad data (a record whose key, header or, with
SINK_VALUE_ENCODING=text, value is not valid UTF-8) is not retried: it goes
to --dead-letter-topic, or stops the command. A setup problem (configuration,
credentials, access denied, missing bucket) or a partition state conflict
stops the command at once and is never dead-lettered.

Exit codes: 0 stopped cleanly or caught up; 1 a batch failed for good
(nothing skipped); 2 usage, configuration, credentials, permission, store or
broker connection error, or a start position for a group with commits.
`

type consumeFlags struct {
	brokers       listFlag
	group         string
	topics        listFlag
	batchCount    int
	batchWindow   time.Duration
	startOffset   string
	startTime     string
	retries       int
	deadLetter    string
	clientID      string
	sec           kafkaSecurity
	kafkaTimeout  time.Duration
	ossTimeout    time.Duration
	dir           string
	until         bool
	progressEvery time.Duration
	json          bool
}

func runConsume(ctx context.Context, args []string, env Env) int {
	var f consumeFlags
	fs := newCmdFlags("consume", consumeUsage,
		"sinkctl consume --brokers kafka:9092 --group oss-sink --topic orders --dir ./oss-local",
		"sinkctl consume --brokers kafka:9092 --group backfill-1 --topic orders --start-time 2026-12-01T00:00:00Z --until-caught-up")
	fs.Var(&f.brokers, "brokers", "bootstrap servers, host:port; repeatable or comma-separated (required)")
	fs.StringVar(&f.group, "group", "", "consumer group id, used by the sink alone (required)")
	fs.Var(&f.topics, "topic", "topic to consume; repeatable (required)")
	fs.IntVar(&f.batchCount, "batch-count", consume.DefaultBatchCount, "cut a batch at this many records (1..10000)")
	fs.DurationVar(&f.batchWindow, "batch-window", consume.DefaultBatchWindow, "cut a batch this long after its first record (0..15s)")
	fs.StringVar(&f.startOffset, "start-offset", "earliest", "where a new group starts: earliest, latest, or an offset (an offset is refused for a group with commits)")
	cliflag.Deprecated(fs.FlagSet, "start", "start-offset", env.Stderr, "sinkctl consume: ")
	fs.StringVar(&f.startTime, "start-time", "", "a new group starts at the first record at or after this RFC 3339 time (refused for a group with commits)")
	fs.BoolVar(&f.until, "until-caught-up", false, "exit 0 once every partition is stored up to the high watermark it had at start")
	fs.DurationVar(&f.progressEvery, "progress-interval", 10*time.Second, "print a progress line on stderr this often (0: none; a terminal is redrawn every second)")
	fs.BoolVar(&f.json, "json", false, "print the final summary as JSON")
	fs.IntVar(&f.retries, "retries", consume.DefaultRetries, "retries of a failed batch, with exponential backoff")
	fs.StringVar(&f.deadLetter, "dead-letter-topic", "", "produce a batch that failed past its retries here and go on (default: stop)")
	fs.StringVar(&f.clientID, "client-id", consume.DefaultClientID, "Kafka client id")
	f.sec.register(fs.FlagSet)
	fs.DurationVar(&f.kafkaTimeout, "kafka-timeout", consume.DefaultConnectTimeout, "bound on dialing a broker and on metadata requests")
	fs.DurationVar(&f.ossTimeout, "oss-timeout", consume.DefaultConnectTimeout, "bound on the store check before consuming")
	fs.StringVar(&f.dir, "dir", "", "write to this local directory instead of the configured store")
	fs.timeoutFlags(env)
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		// One line: errors.Join puts one error per line.
		fmt.Fprintf(env.Stderr, "sinkctl consume: %s\n", strings.ReplaceAll(fmt.Sprintf(format, a...), "\n", "; "))
		return code
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

	// The store's committed offsets, read as status does, for the lag and
	// for --until-caught-up.
	sf := storeFlags{dir: cfg.LocalDir, prefix: cfg.Prefix, connectTimeout: f.ossTimeout}
	if cfg.UseOSS() {
		sf.dir = ""
	}
	// Opened at the first read, after consume's own store check: a bad
	// setup is reported once, by the handler, which knows it best.
	var (
		o     *opened
		oerr  error
		oOnce sync.Once
	)
	stored := func(ctx context.Context, topic string, p int32) (int64, error) {
		oOnce.Do(func() { o, oerr = sf.open(ctx, Env{Getenv: getenv, store: env.store}) })
		if oerr != nil {
			return 0, oerr
		}
		m, err := readMeta(ctx, o, topic, p)
		if errors.Is(err, store.ErrNotFound) {
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
		return m.Committed, nil
	}
	if f.until {
		opts = append(opts, consume.UntilCaughtUp(stored))
	} else {
		opts = append(opts, consume.StoredOffsets(stored))
	}
	pl := &consumeProgress{w: env.Stderr, terminal: env.Terminal}
	every := f.progressEvery
	if env.Terminal && every > 0 {
		every = time.Second
	}
	var final consume.Progress
	opts = append(opts, consume.OnProgress(every, func(p consume.Progress) {
		if p.Final {
			final = p
			pl.clear()
			return
		}
		pl.update(p)
	}))

	err = consume.Run(ctx, h, opts...)
	var (
		be *consume.BatchError
		se *consume.StartError
	)
	switch {
	case err == nil:
		if final.Partitions != nil || final.Records > 0 {
			writeConsumeSummary(env.Stdout, final, f.until, f.json)
		}
		return ExitOK
	case handler.SetupError(err):
		return fail(ExitUsage, "%v", err)
	case errors.As(err, &be):
		return fail(ExitFailed, "%v", err)
	case errors.As(err, &se):
		return fail(ExitUsage, "%v", err)
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
	if f.kafkaTimeout <= 0 {
		return nil, fmt.Errorf("--kafka-timeout %v: must be positive", f.kafkaTimeout)
	}
	if f.ossTimeout <= 0 {
		return nil, fmt.Errorf("--oss-timeout %v: must be positive", f.ossTimeout)
	}
	if f.progressEvery < 0 {
		return nil, fmt.Errorf("--progress-interval %v: must not be negative", f.progressEvery)
	}
	opts := []consume.Option{
		consume.Brokers(f.brokers...), consume.Group(f.group), consume.Topics(f.topics...),
		consume.CountBasedWindow(f.batchCount), consume.TimeBasedWindow(f.batchWindow),
		consume.Retries(f.retries, 0, 0), consume.ClientID(f.clientID), consume.ConnectTimeout(f.kafkaTimeout),
		consume.StoreTimeout(f.ossTimeout),
	}
	switch s := strings.ToLower(f.startOffset); s {
	case "earliest":
		opts = append(opts, consume.StartAt(consume.StartEarliest))
	case "latest":
		opts = append(opts, consume.StartAt(consume.StartLatest))
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--start-offset %q: want earliest, latest or an offset (0, 1, ...)", f.startOffset)
		}
		if f.startTime != "" {
			return nil, errors.New("--start-offset N and --start-time: give one")
		}
		opts = append(opts, consume.StartAtOffset(n))
	}
	if f.startTime != "" {
		t, err := time.Parse(time.RFC3339, f.startTime)
		if err != nil {
			return nil, fmt.Errorf("--start-time %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z", f.startTime)
		}
		opts = append(opts, consume.StartAtTime(t))
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
