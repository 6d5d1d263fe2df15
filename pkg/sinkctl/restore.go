package sinkctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

const restoreUsage = `Usage: sinkctl restore --topic SRC --target-topic DST --brokers host:9092[,..] [flags]

Produces the records stored for topic SRC to topic DST, per partition in
offset order, to the partition of the same number, with an idempotent
producer. Every format and compression is read (SINK_FORMAT, SINK_FIELDS,
SINK_COMPRESSION): JSONL, CSV and Parquet objects restore key, value,
headers and timestamp as far as SINK_FIELDS stored them (the summary says
what records lack; objects without values are refused, naming them); raw
objects hold values only (no key, no headers, the producer's timestamp).
Restoring into SRC itself needs --allow-source-topic.

Routed stores (SINK_FOLDER): each partition's records are merged from all
its folders back into offset order; --folder gives the template (default
$SINK_FOLDER), whose static leading directory is searched besides {topic}/
and invalidRuleData/{topic}/. Records in invalidRuleData/{topic}/ are
restored too unless --exclude-invalid.

Resumable, exactly: before producing each chunk the restore writes a
checkpoint announcing it, per source partition, epoch, target cluster (its
cluster id), target topic and partition; a run started again after an
interruption (SIGINT, or a kill at any instant) reads the target partition
(end offset, last records) to learn what landed and produces the rest,
nothing twice and nothing missed. Checkpoints are kept next to the data
({prefix}{topic}/.restore_checkpoint_*) unless --checkpoint-dir (a local
directory, for read-only or WORM backups) or --checkpoint-prefix says
otherwise. --reset-checkpoint starts over and produces every selected record
again. --dry-run lists what would be produced (with --brokers it consults the
checkpoints; nothing is produced or written).

Archived objects (Archive, ColdArchive, DeepColdArchive: SINK_STORAGE_CLASS
or a lifecycle rule) cannot be read before OSS restored them. Before
reading anything the restore finds the archived data objects it needs (of
the partitions and offsets asked for, no others), asks OSS where each one's
restore stands, requests a restore (RestoreObject) of those without one,
--restore-tier and --restore-days, and never of those restored or being
restored; then it prints on stderr how many are requested, restoring and
ready, with OSS's estimate (Archive: about a minute; ColdArchive:
Expedited within 1 h, Standard 2-5 h, Bulk 5-12 h; DeepColdArchive:
Expedited within 12 h, Standard 48 h; it has no Bulk tier, so Bulk
requests Standard for it), and looks again every
--restore-poll, doubling up to 15 minutes, until all are ready; then it
restores. Interrupted while waiting, it is run again and waits on. With
--no-wait it requests the restores and exits 3 unless all are ready
already; run it again later (the same command): it requests only what is
missing (a copy that expired is requested again) and restores once all
are ready. A dry run requests nothing and exits 3 if some are not ready.
Each day a restored copy is kept is billed; OSS keeps Archive copies at
most 7 days.

Exit codes: 0 done, 1 interrupted or some partitions failed (the message says
whether running again helps), 2 usage, configuration, store or connection
error (nothing produced), 3 archived objects are not restored yet
(--no-wait, --dry-run; nothing produced: run again later).

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
	allowSource    bool
	epoch          int64
	reset          bool
	ckDir          string
	ckPrefix       string
	ckPrefixSet    bool
	excludeInvalid bool
	folder         folderFlag
	restoreTier    string
	restoreDays    int
	restorePoll    time.Duration
	noWait         bool
}

func runRestore(ctx context.Context, args []string, env Env) int {
	var f restoreFlags
	fs := newCmdFlags("restore", restoreUsage,
		"sinkctl restore --dir ./oss-local --topic orders --target-topic orders-restored --dry-run",
		"sinkctl restore --topic orders --target-topic orders-restored --brokers kafka:9092 --partition 0 --from-time 2026-12-01T00:00:00Z")
	fs.StringVar(&f.topic, "topic", "", "source topic whose stored records are restored (required)")
	fs.StringVar(&f.target, "target-topic", "", "topic to produce to (required); it must exist with the restored partitions")
	fs.BoolVar(&f.allowSource, "allow-source-topic", false, "allow --target-topic to be --topic itself (the backup does not say which cluster it came from)")
	fs.Int64Var(&f.epoch, "epoch", -1, "restore the objects of this epoch (a recreated topic starts a new one; default: the only epoch stored)")
	fs.BoolVar(&f.reset, "reset-checkpoint", false, "ignore the checkpoints and start over: every selected record is produced again")
	fs.StringVar(&f.ckDir, "checkpoint-dir", "", "keep the checkpoints in this local directory instead of next to the data (for read-only or WORM backups)")
	fs.Func("checkpoint-prefix", "keep the checkpoints under this prefix of the same store instead of next to the data", func(s string) error {
		f.ckPrefix, f.ckPrefixSet = s, true
		return nil
	})
	f.folder.register(fs.FlagSet, env)
	fs.BoolVar(&f.excludeInvalid, "exclude-invalid", false, "leave out the records in invalidRuleData/{topic}/, those whose folder the routing template could not compute (default: restored with the others, in offset order)")
	fs.StringVar(&f.restoreTier, "restore-tier", string(store.TierStandard), "tier of the restores requested for ColdArchive and DeepColdArchive objects: Expedited, Standard or Bulk (faster costs more; Archive objects have none; DeepColdArchive objects have no Bulk and get Standard)")
	fs.IntVar(&f.restoreDays, "restore-days", restore.DefaultRestoreDays, "days a restored copy of an archived object stays readable, 1-365 (Archive: at most 7); each day is billed")
	fs.DurationVar(&f.restorePoll, "restore-poll", restore.DefaultRestorePoll, "first wait between two looks at the restores of archived objects; doubles up to 15m")
	fs.BoolVar(&f.noWait, "no-wait", false, "request the restores of the archived objects needed and exit (3) instead of waiting, unless all are ready; run again later to restore")
	fs.Var(&f.partitions, "partition", "partition number to restore; repeatable (default: every partition stored)")
	fs.Int64Var(&f.fromOffset, "from-offset", -1, "restore offsets from this one (default: the first)")
	fs.Int64Var(&f.toOffset, "to-offset", -1, "restore offsets up to this one, inclusive (default: the last)")
	fs.StringVar(&f.fromTime, "from-time", "", "restore records with a timestamp at or after this RFC 3339 time (records stored with their timestamp only)")
	fs.StringVar(&f.toTime, "to-time", "", "restore records with a timestamp at or before this RFC 3339 time (records stored with their timestamp only)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list what would be produced, produce and write nothing (with --brokers it consults the checkpoints, reading the target)")
	fs.StringVar(&f.valueEncoding, "value-encoding", "auto", "JSONL string values of objects without a record index: auto (as the meta object says), text or base64")
	fs.IntVar(&f.chunk, "chunk", restore.DefaultChunkRecords, "records produced between checkpoints")
	fs.DurationVar(&f.progressEvery, "progress-interval", 10*time.Second, "when stderr is not a terminal, print progress this often (0: never)")
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON instead of a table")
	fs.Var(&f.brokers, "brokers", "bootstrap servers, host:port; repeatable or comma-separated (required unless --dry-run)")
	fs.StringVar(&f.clientID, "client-id", restore.DefaultClientID, "Kafka client id")
	f.sec.register(fs.FlagSet)
	fs.DurationVar(&f.kafkaConnectTO, "kafka-timeout", consume.DefaultConnectTimeout, "bound on dialing a broker and on metadata requests")
	f.store.register(fs, env)
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl restore: "+format+"\n", a...)
		return code
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
	where := "next to the data"
	switch {
	case f.ckDir != "":
		cst, err := checkpointDir(f.ckDir)
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		opts = append(opts, restore.Checkpoints(cst, "", f.backupID(env, o.prefix)))
		where = "in directory " + cst.Dir()
	case f.ckPrefixSet:
		p := sink.NormalizePrefix(f.ckPrefix)
		if p == o.prefix {
			return fail(ExitUsage, "--checkpoint-prefix %q is the backup's prefix: that is the default", f.ckPrefix)
		}
		opts = append(opts, restore.Checkpoints(o.st, p, "prefix:"+o.prefix))
		where = fmt.Sprintf("under prefix %q", p)
	}
	pw := &restoreProgress{w: env.Stderr, terminal: env.Terminal, every: f.progressEvery}
	opts = append(opts, restore.OnProgress(pw.update), restore.OnArchive(func(a restore.ArchiveSummary) { archiveLine(env.Stderr, a) }))

	sum, err := restore.Run(ctx, o.st, k, opts...)
	pw.clear()
	if errors.Is(err, restore.ErrNeedBrokers) {
		// --no-wait without brokers: nothing left to request.
		fmt.Fprintf(env.Stdout, "%v\n", err)
		return ExitOK
	}
	if err != nil && sum != nil && sum.Archive != nil && len(sum.Partitions) == 0 {
		// Stopped before reading anything, at the archived objects: not
		// restored yet (--no-wait, --dry-run), interrupted while waiting,
		// or a restore request OSS refused. Say where the restores stand,
		// not that nothing was stored.
		if f.json {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(sum); werr != nil {
				return fail(ExitUsage, "write summary: %v", werr)
			}
		} else {
			writeArchivePending(env.Stdout, o.desc, sum, errors.Is(err, restore.ErrRestoresPending))
		}
		if errors.Is(err, restore.ErrRestoresPending) {
			return fail(ExitPending, "%v", err)
		}
		return fail(ExitFailed, "%v", err)
	}
	if sum != nil {
		if f.json {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if werr := enc.Encode(sum); werr != nil {
				return fail(ExitUsage, "write summary: %v", werr)
			}
		} else {
			writeRestoreTable(env.Stdout, o.desc, where, sum)
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
	if f.target == "" {
		return k, nil, errors.New("--target-topic is required (the topic to produce to; --allow-source-topic to restore into --topic itself)")
	}
	if f.target == f.topic && !f.allowSource {
		return k, nil, fmt.Errorf("--target-topic %q is the source topic: the backup does not say which cluster it came from, so this may produce its records again into the topic they were backed up from; pass --allow-source-topic if that is what you want", f.target)
	}
	if f.epoch < -1 {
		return k, nil, fmt.Errorf("--epoch %d: want an epoch number (0, 1, ...)", f.epoch)
	}
	if f.ckDir != "" && f.ckPrefixSet {
		return k, nil, errors.New("--checkpoint-dir and --checkpoint-prefix: choose one")
	}
	for _, t := range []string{f.topic, f.target} {
		if strings.Contains(t, "/") {
			return k, nil, fmt.Errorf("topic %q: a topic name has no '/'", t)
		}
	}
	if len(f.brokers) == 0 && !f.dryRun && !f.noWait {
		return k, nil, errors.New("--brokers is required (or --dry-run, or --no-wait to only request the restores of archived objects)")
	}
	if f.chunk < 1 {
		return k, nil, fmt.Errorf("--chunk %d: must be at least 1", f.chunk)
	}
	dirs, err := f.folder.dirs()
	if err != nil {
		return k, nil, err
	}
	opts := []restore.Option{restore.DirFunc(dirs), restore.Topic(f.topic), restore.TargetTopic(f.target), restore.DryRun(f.dryRun),
		restore.ChunkRecords(f.chunk), restore.OffsetRange(f.fromOffset, f.toOffset), restore.AllowSourceTopic(f.allowSource),
		restore.Epoch(f.epoch), restore.ResetCheckpoint(f.reset), restore.ExcludeInvalid(f.excludeInvalid)}
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
	tier, err := parseTier(f.restoreTier)
	if err != nil {
		return k, nil, err
	}
	if f.restoreDays < 1 || f.restoreDays > 365 {
		return k, nil, fmt.Errorf("--restore-days %d: OSS keeps a restored copy 1 to 365 days (Archive objects at most 7)", f.restoreDays)
	}
	if f.restorePoll <= 0 {
		return k, nil, fmt.Errorf("--restore-poll %v: must be positive", f.restorePoll)
	}
	opts = append(opts, restore.RestoreTier(tier), restore.RestoreDays(f.restoreDays), restore.RestorePoll(f.restorePoll), restore.NoWait(f.noWait))
	if f.kafkaConnectTO <= 0 {
		return k, nil, fmt.Errorf("--kafka-timeout %v: must be positive", f.kafkaConnectTO)
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

// parseTier reads --restore-tier, in any letter case.
func parseTier(s string) (store.RestoreTier, error) {
	for _, t := range []store.RestoreTier{store.TierExpedited, store.TierStandard, store.TierBulk} {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("--restore-tier %q: want Expedited, Standard or Bulk", s)
}

// archiveLine prints where the restores of archived objects stand: once
// after the first look, then after each poll (at most every
// --restore-poll, so a line each time, terminal or not).
func archiveLine(w io.Writer, a restore.ArchiveSummary) {
	line := "archived objects: " + a.String()
	switch {
	case a.Pending() == 0:
		line += "; all ready"
		if !a.Expiry.IsZero() {
			line += ", readable until " + a.Expiry.UTC().Format(time.RFC3339)
		}
	case a.NextPoll > 0:
		line += fmt.Sprintf("; waited %v, next look in %v", a.Waited.Round(time.Second), a.NextPoll)
	}
	fmt.Fprintln(w, line)
}

// writeArchivePending prints, for a run that stopped at the archived
// objects before reading anything, where the restores stand and, when it
// did not wait for them (pending), what to do; otherwise the error says
// why it stopped.
func writeArchivePending(w io.Writer, where string, s *restore.Summary, pending bool) {
	a := s.Archive
	fmt.Fprintf(w, "store: %s\nsource topic: %s -> target topic: %s\n\n", where, s.Topic, s.Target)
	fmt.Fprintf(w, "archived objects to read: %d (%s)\n", a.Objects, size(a.Bytes))
	for _, c := range store.StorageClasses {
		if n := a.Classes[c]; n > 0 {
			_, est := restore.EstimateRestore(c, a.Tier)
			fmt.Fprintf(w, "  %-16s %d  (%s)\n", c, n, est)
		}
	}
	fmt.Fprintf(w, "requested now: %d, restoring: %d, ready: %d", a.Requested, a.Restoring, a.Ready)
	if a.Unrequested > 0 {
		fmt.Fprintf(w, ", not requested (dry run): %d", a.Unrequested)
	}
	if a.Failed > 0 {
		fmt.Fprintf(w, ", failed (retried by the next run): %d", a.Failed)
	}
	fmt.Fprintf(w, "\nrestore tier %s, copies kept %s\n", a.Tier, count(a.Days, "day"))
	if !pending {
		fmt.Fprintln(w, "nothing produced: stopped before reading (see the error)")
		return
	}
	if s.DryRun {
		fmt.Fprintln(w, "nothing produced: a dry run requests no restore; run without --dry-run (--no-wait to only request)")
		return
	}
	fmt.Fprintln(w, "nothing produced yet: run the same command again later; it requests only what is missing and restores once all are ready")
}

// checkpointDir opens (creating it if needed) a local checkpoint directory.
func checkpointDir(dir string) (*localstore.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--checkpoint-dir: %w", err)
	}
	st, err := localstore.New(dir)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint-dir %q: %w", dir, err)
	}
	return st, nil
}

// backupID names the backup in checkpoints kept outside it: the bucket or
// the directory, and the prefix; never the endpoint, which may change
// between runs (internal and public endpoints of one bucket).
func (f *restoreFlags) backupID(env Env, prefix string) string {
	dir := f.store.dir
	if dir == "" {
		cfg, err := config.FromEnv(env.Getenv)
		if err == nil && cfg.UseOSS() {
			return "oss://" + cfg.Bucket + "/" + prefix
		}
		if err == nil {
			dir = cfg.LocalDir
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return "dir:" + filepath.ToSlash(dir) + "/" + prefix
}

// writeRestoreTable prints a restore summary for humans.
func writeRestoreTable(w io.Writer, where, checkpoints string, s *restore.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verb := "restored"
	if s.DryRun {
		verb = "would restore (dry run)"
	}
	fmt.Fprintf(tw, "store: %s\nsource topic: %s -> target topic: %s", where, s.Topic, s.Target)
	if s.ClusterID != "" {
		fmt.Fprintf(tw, " (cluster %s)", s.ClusterID)
	}
	if s.Checkpoints {
		fmt.Fprintf(tw, "\ncheckpoints: %s\n\n", checkpoints)
	} else {
		fmt.Fprint(tw, "\ncheckpoints: not consulted (a dry run without --brokers cannot tell the target cluster)\n\n")
	}
	if len(s.Partitions) > 0 {
		fmt.Fprintln(tw, "PARTITION\tEPOCH\tOBJECTS\tRECORDS\tFIRST\tLAST\tSKIPPED(CHECKPOINT)\tFILTERED\tERROR")
	}
	var landed, foreign int64
	var reset []string
	folders := 0
	for _, p := range s.Partitions {
		folders = max(folders, p.Folders)
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%s\n", p.Partition, p.Epoch, p.Objects, p.Records,
			offset(p.FirstOffset, ""), offset(p.LastOffset, ""), p.Skipped, p.Filtered, orDash(p.Error))
		landed += p.Landed
		foreign += p.Foreign
		if p.Reset {
			reset = append(reset, strconv.Itoa(int(p.Partition)))
		}
	}
	tw.Flush()
	// A dry run says what would happen, in that tense.
	were, restored := "were", "were restored"
	if s.DryRun {
		were, restored = "would be", "would be restored"
	}
	fmt.Fprintf(w, "\n%s %s (%s read), %d skipped as already produced, in %v\n", verb, count(int(s.Records), "record"),
		size(s.Bytes), s.Skipped, s.Elapsed.Round(time.Millisecond))
	if landed > 0 {
		fmt.Fprintf(w, "note: %s of an interrupted run had landed in the target: counted as produced, not produced again\n", count(int(landed), "record"))
	}
	if len(reset) > 0 {
		fmt.Fprintf(w, "note: checkpoints started over for partitions %s\n", strings.Join(reset, ","))
	}
	if foreign > 0 {
		fmt.Fprintf(w, "note: %s written by another producer are among the restored records in the target\n", count(int(foreign), "record"))
	}
	if len(s.Lacking) > 0 {
		fmt.Fprintf(w, "note: %s written with SINK_FIELDS without %s: their records %s without it (a producer timestamp for a missing timestamp)\n",
			count(s.LackingObjects, "object"), strings.Join(s.Lacking, ", "), restored)
	}
	if s.ValuesOnly {
		fmt.Fprintf(w, "note: %s in the raw format: values only %s (no key, headers or original timestamp)\n", count(s.RawObjects, "object"), restored)
	}
	if folders > 1 {
		fmt.Fprintf(w, "note: each partition's records %s merged into offset order from its folders (up to %d)\n", were, folders)
	}
	switch {
	case s.ExcludeInvalid:
		fmt.Fprintf(w, "note: the records in invalidRuleData/ %s left out (--exclude-invalid); a run without it produces them\n", were)
	case s.InvalidRecords > 0:
		fmt.Fprintf(w, "note: of them, %s from invalidRuleData/ (their folder could not be computed), in offset order with the others (--exclude-invalid leaves them out)\n",
			count(int(s.InvalidRecords), "record"))
	}
	if s.OtherObjects > 0 {
		fmt.Fprintf(w, "note: %s of other topics in the directories searched left alone\n", count(s.OtherObjects, "object"))
	}
	if a := s.Archive; a != nil {
		fmt.Fprintf(w, "note: %s read were archived: %d restores requested by this run, waited %v\n",
			count(a.Objects, "object"), a.Requested, a.Waited.Round(time.Second))
	}
	if len(s.Partitions) == 0 {
		fmt.Fprintln(w, "nothing stored for this topic under the prefix")
	}
}
