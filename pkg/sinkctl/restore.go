package sinkctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
)

const restoreUsage = `Usage: sinkctl restore --topic SRC --brokers host:9092[,..] [flags]

Produces the records stored for topic SRC back to Kafka (--target-topic,
default SRC), per partition in offset order, to the partition of the same
number, with an idempotent producer. JSONL objects restore key, value,
headers and timestamp; raw objects hold values only. After every confirmed
chunk a checkpoint object ({prefix}{topic}/.restore_checkpoint_{target}_partition_{p})
is written, so a run interrupted (SIGINT) and started again resumes without
producing a record twice. --dry-run lists what would be produced without
connecting to Kafka.

Exit codes: 0 done, 1 interrupted or some partitions failed (run again to
resume), 2 usage, configuration, store or connection error.

Flags:
`

type restoreFlags struct {
	store          storeFlags
	topic          string
	target         string
	partitions     listFlag
	fromOffset     int64
	toOffset       int64
	fromTime       string
	toTime         string
	dryRun         bool
	valueEncoding  string
	chunk          int
	progressEvery  time.Duration
	json           bool
	brokers        listFlag
	clientID       string
	sec            kafkaSecurity
	kafkaConnectTO time.Duration
}

func runRestore(ctx context.Context, args []string, env Env) int {
	var f restoreFlags
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), restoreUsage)
		fs.PrintDefaults()
	}
	f.store.register(fs, env)
	fs.StringVar(&f.topic, "topic", "", "source topic whose stored records are restored (required)")
	fs.StringVar(&f.target, "target-topic", "", "topic to produce to (default: --topic); it must exist with the restored partitions")
	fs.Var(&f.partitions, "partition", "partition number to restore; repeatable (default: every partition stored)")
	fs.Int64Var(&f.fromOffset, "from-offset", -1, "restore offsets from this one (default: the first)")
	fs.Int64Var(&f.toOffset, "to-offset", -1, "restore offsets up to this one, inclusive (default: the last)")
	fs.StringVar(&f.fromTime, "from-time", "", "restore records with a timestamp at or after this RFC 3339 time (JSONL only)")
	fs.StringVar(&f.toTime, "to-time", "", "restore records with a timestamp at or before this RFC 3339 time (JSONL only)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list what would be produced; do not connect to Kafka")
	fs.StringVar(&f.valueEncoding, "value-encoding", "auto", "JSONL string values: auto (as the meta object says), text or base64")
	fs.IntVar(&f.chunk, "chunk", restore.DefaultChunkRecords, "records produced between checkpoints")
	fs.DurationVar(&f.progressEvery, "progress-interval", 10*time.Second, "when stderr is not a terminal, print progress this often (0: never)")
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON instead of a table")
	fs.Var(&f.brokers, "brokers", "bootstrap servers, host:port; repeatable or comma-separated (required unless --dry-run)")
	fs.StringVar(&f.clientID, "client-id", restore.DefaultClientID, "Kafka client id")
	f.sec.register(fs)
	fs.DurationVar(&f.kafkaConnectTO, "kafka-connect-timeout", consume.DefaultConnectTimeout, "bound on dialing a broker and on metadata requests")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl restore: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(ExitUsage, "unexpected argument %q (flags only; see sinkctl restore -h)", fs.Arg(0))
	}
	k, opts, err := f.options(env)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	o, err := f.store.open(ctx, env)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	log := zerolog.New(env.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Str("component", "restore").Logger()
	opts = append(opts, restore.Prefix(o.prefix), restore.Logger(log))
	pw := &restoreProgress{w: env.Stderr, terminal: env.Terminal, every: f.progressEvery}
	opts = append(opts, restore.OnProgress(pw.update))

	sum, err := restore.Run(ctx, o.st, k, opts...)
	pw.clear()
	if sum != nil {
		if f.json {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(sum); werr != nil {
				return fail(ExitUsage, "write summary: %v", werr)
			}
		} else {
			writeRestoreTable(env.Stdout, o.desc, sum)
		}
	}
	var ce *restore.ConnectError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return fail(ExitUsage, "%v", err)
	case sum != nil:
		return fail(ExitFailed, "%v", err)
	default:
		return fail(ExitUsage, "%s: %v", o.desc, err)
	}
}

// options checks the flags and turns them into the Kafka settings and
// restore options. The SASL password is read from the named variable.
func (f *restoreFlags) options(env Env) (restore.Kafka, []restore.Option, error) {
	var k restore.Kafka
	if f.topic == "" {
		return k, nil, errors.New("--topic is required")
	}
	for _, t := range []string{f.topic, f.target} {
		if strings.Contains(t, "/") {
			return k, nil, fmt.Errorf("topic %q: a topic name has no '/'", t)
		}
	}
	if len(f.brokers) == 0 && !f.dryRun {
		return k, nil, errors.New("--brokers is required (or --dry-run)")
	}
	if f.chunk < 1 {
		return k, nil, fmt.Errorf("--chunk %d: must be at least 1", f.chunk)
	}
	opts := []restore.Option{restore.Topic(f.topic), restore.TargetTopic(f.target), restore.DryRun(f.dryRun),
		restore.ChunkRecords(f.chunk), restore.OffsetRange(f.fromOffset, f.toOffset)}
	for _, s := range f.partitions {
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil || p < 0 {
			return k, nil, fmt.Errorf("--partition %q: want a partition number (0, 1, ...)", s)
		}
		opts = append(opts, restore.Partitions(int32(p)))
	}
	var from, to time.Time
	for _, x := range []struct {
		name, v string
		t       *time.Time
	}{{"--from-time", f.fromTime, &from}, {"--to-time", f.toTime, &to}} {
		if x.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, x.v)
		if err != nil {
			return k, nil, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-25T01:02:03Z", x.name, x.v)
		}
		*x.t = t
	}
	if !from.IsZero() || !to.IsZero() {
		opts = append(opts, restore.TimeRange(from, to))
	}
	switch strings.ToLower(f.valueEncoding) {
	case "auto", "":
	case "text":
		opts = append(opts, restore.ValueEncoding(events.Text))
	case "base64":
		opts = append(opts, restore.ValueEncoding(events.Base64))
	default:
		return k, nil, fmt.Errorf("--value-encoding %q: want auto, text or base64", f.valueEncoding)
	}
	if f.kafkaConnectTO <= 0 {
		return k, nil, fmt.Errorf("--kafka-connect-timeout %v: must be positive", f.kafkaConnectTO)
	}
	pass, err := f.sec.password(env)
	if err != nil {
		return k, nil, err
	}
	k = restore.Kafka{Brokers: f.brokers, ClientID: f.clientID, TLS: f.sec.tls, TLSCAFile: f.sec.tlsCA, ConnectTimeout: f.kafkaConnectTO,
		SASLMechanism: f.sec.mechanism, SASLUser: f.sec.user, SASLPassword: pass}
	return k, opts, nil
}

// restoreProgress draws progress on a terminal line (at most ten times a
// second) or prints a line every interval otherwise.
type restoreProgress struct {
	w        io.Writer
	terminal bool
	every    time.Duration
	mu       sync.Mutex
	last     time.Time
	drawn    bool
}

func (p *restoreProgress) update(pr restore.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.last.IsZero() {
		p.last = now
		if !p.terminal {
			return
		}
	}
	line := fmt.Sprintf("restoring: %d records, %s of %s, %.0f records/s", pr.Records, size(pr.Bytes), size(pr.TotalBytes), pr.Rate)
	if pr.ETA > 0 {
		line += ", ETA " + pr.ETA.Round(time.Second).String()
	}
	switch {
	case p.terminal:
		if now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.drawn = true
	case p.every > 0 && now.Sub(p.last) >= p.every:
		fmt.Fprintln(p.w, line)
	default:
		return
	}
	p.last = now
}

func (p *restoreProgress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// writeRestoreTable prints a restore summary for humans.
func writeRestoreTable(w io.Writer, where string, s *restore.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verb := "restored"
	if s.DryRun {
		verb = "would restore (dry run)"
	}
	fmt.Fprintf(tw, "store: %s\nsource topic: %s -> target topic: %s\n\n", where, s.Topic, s.Target)
	if len(s.Partitions) > 0 {
		fmt.Fprintln(tw, "PARTITION\tOBJECTS\tRECORDS\tFIRST\tLAST\tSKIPPED(CHECKPOINT)\tFILTERED\tERROR")
	}
	for _, p := range s.Partitions {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%d\t%d\t%s\n", p.Partition, p.Objects, p.Records,
			offset(p.FirstOffset, ""), offset(p.LastOffset, ""), p.Skipped, p.Filtered, orDash(p.Error))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s %s (%s read), %d skipped as already produced, in %v\n", verb, count(int(s.Records), "record"),
		size(s.Bytes), s.Skipped, s.Elapsed.Round(time.Millisecond))
	if s.ValuesOnly {
		fmt.Fprintf(w, "note: %s in the raw format: values only were restored (no key, headers or original timestamp)\n", count(s.RawObjects, "object"))
	}
	if len(s.Partitions) == 0 {
		fmt.Fprintln(w, "nothing stored for this topic under the prefix")
	}
}
