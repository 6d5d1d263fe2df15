package sinkctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

const verifyUsage = `Usage: sinkctl verify [flags]

Reads every meta, data and record index object under the prefix and
reports, per topic-partition and epoch, objects, records, first and last
offset and bytes, then every defect found (duplicated or missing records,
deleted objects with the offsets they held, changed bytes, torn objects,
meta objects that disagree with the data, ...). Objects with a record index
are checked exactly in every format; raw objects without one (written
before indexes existed) only by line counts, and a count that a value
holding a newline could explain is a warning (raw_unverifiable), never an
error.

Exit code 0 when no defect is an error (warnings, such as data pending
recovery, are allowed); 1 when one is; 2 when the check could not run, or
when a --topic or --partition matches nothing (no object in the store and,
with --brokers, no record Kafka holds below the group's committed offset).

Routed stores (SINK_FOLDER): a partition's folders are all checked, exactly
once across folders; records in invalidRuleData/{topic}/ are counted apart
(FOLDERS table), never an error. --folder gives the template (default
$SINK_FOLDER): its static leading directory is searched besides {topic}/
and invalidRuleData/{topic}/ (without --topic the whole prefix is listed).

With --brokers and --group it also compares each partition with the live
topic: the range Kafka still holds (log start offset .. high watermark) and
the group's committed offset. Every record Kafka holds below the committed
offset that the store lacks is an error (missing_in_store), named by offset
ranges, exactly for JSONL and indexed objects, by counts for raw objects
without an index; so is a partition Kafka has and the group committed that
the store lacks entirely. Offsets stored at or past the committed offset are
a warning (ahead_of_commit). Each stored record of the current epoch is
also compared with the one Kafka holds at its offset: key, value and
headers, as far as its format and SINK_FIELDS store them
(content_mismatch).

Every format and compression is read: names with extensions, compressed
appends decompressed member by member, CSV header rows, Parquet staging
objects and the Parquet objects built from them (checked against their
record index); staged records waiting for their Parquet object are a
warning (finalize_pending).

Archived objects (Archive, ColdArchive, DeepColdArchive) cannot be read
without a restore: each one not restored is a warning (archived) and is
checked without reading: its name, its size against its record index, and
its tags and user metadata (first and last offset, records, topic,
partition) against the index (tag_mismatch). Restored ones are read as any
object. --metadata-only checks every data object so, reading none (no GET
of data objects: cheap on archive classes, which bill reads and need
restores); CRCs and record contents are then not checked.
`

// listFlag collects a repeatable flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			return errors.New("empty value")
		}
		*l = append(*l, s)
	}
	return nil
}

type verifyFlags struct {
	store         storeFlags
	topics        listFlag
	partitions    listFlag
	format        string
	valueEncoding string
	concurrency   int
	json          bool
	objects       bool
	kafka         verifyKafkaFlags
	folder        folderFlag
	metadataOnly  bool
}

func runVerify(ctx context.Context, args []string, env Env) int {
	var f verifyFlags
	fs := newCmdFlags("verify", verifyUsage,
		"sinkctl verify --dir ./oss-local",
		"sinkctl verify --topic orders --brokers kafka:9092 --group oss-sink --json")
	fs.Var(&f.topics, "topic", "topic to check; repeatable (default: every topic under the prefix)")
	fs.Var(&f.partitions, "partition", "partition number to check; repeatable (default: every partition)")
	fs.StringVar(&f.format, "format", "auto", "how to read data objects without a record index: auto, raw or jsonl (indexed objects are read as their index says)")
	fs.StringVar(&f.valueEncoding, "value-encoding", "auto", "JSONL string values of the legacy envelope: auto (as the index or meta object says), text, or base64 (checked)")
	fs.IntVar(&f.concurrency, "concurrency", verify.DefaultConcurrency, "partitions checked at once")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&f.objects, "objects", false, "with --json, list every data object")
	fs.BoolVar(&f.metadataOnly, "metadata-only", false, "read no data object: check names, sizes against the record indexes, and tags and metadata (for archived backups; CRCs and records are not checked)")
	f.folder.register(fs.FlagSet, env)
	f.kafka.register(fs, "compare with this Kafka cluster")
	f.store.register(fs, env)
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl verify: "+format+"\n", a...)
		return ExitUsage
	}
	opts, err := f.options()
	if err != nil {
		return fail("%v", err)
	}
	if exp, err := f.folder.expected(env); err != nil {
		return fail("%v", err)
	} else if exp != nil {
		opts = append(opts, verify.WithExpected(exp))
	}
	if _, _, err := f.kafka.config(env); err != nil {
		return fail("%v", err)
	}
	o, err := f.store.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	kopt, kclose, err := f.kafka.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	defer kclose()
	opts = append(opts, kopt)
	opts = append(opts, verify.WithPrefix(o.prefix))
	var prog *progressLine
	if env.Terminal {
		prog = &progressLine{w: env.Stderr}
		opts = append(opts, verify.WithProgress(prog.update))
	}
	rep, err := verify.Run(ctx, o.st, opts...)
	if prog != nil {
		prog.clear()
	}
	if err != nil {
		return fail("%s: %v", o.desc, err)
	}
	if f.json {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail("write report: %v", err)
		}
	} else if err := writeTable(env.Stdout, o.desc, rep); err != nil {
		return fail("write report: %v", err)
	} else if err := writeEpochTable(env.Stdout, rep); err != nil {
		return fail("write report: %v", err)
	} else if err := writeFolderTable(env.Stdout, rep); err != nil {
		return fail("write report: %v", err)
	} else if err := writeKafkaTable(env.Stdout, rep); err != nil {
		return fail("write report: %v", err)
	} else {
		writeLegacyNote(env.Stdout, rep)
	}
	if len(rep.Unmatched) > 0 {
		// Asked for something that is not there: a selection or prefix
		// problem, not a verdict on the data.
		also := ""
		if f.kafka.asked() {
			also = ", and Kafka holds no record below the group's committed offset for it"
		}
		for _, s := range rep.Unmatched {
			fmt.Fprintf(env.Stderr, "sinkctl verify: %s matches nothing: no meta, data or index object under %s%s (check the prefix, the topic name and the partition)\n",
				s, o.desc, also)
		}
		return ExitUsage
	}
	if !rep.OK() {
		return ExitFailed
	}
	return ExitOK
}

// options turns the flags into verify options.
func (f *verifyFlags) options() ([]verify.Option, error) {
	format, err := verify.ParseFormat(f.format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	ve, err := verify.ParseValueEncoding(f.valueEncoding)
	if err != nil {
		return nil, fmt.Errorf("--value-encoding: %w", err)
	}
	if f.concurrency < 1 {
		return nil, fmt.Errorf("--concurrency %d: must be at least 1", f.concurrency)
	}
	for _, t := range f.topics {
		if strings.Contains(t, "/") {
			return nil, fmt.Errorf("--topic %q: a topic name has no '/'", t)
		}
	}
	var parts []int32
	for _, s := range f.partitions {
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("--partition %q: want a partition number (0, 1, ...)", s)
		}
		parts = append(parts, int32(p))
	}
	dirs, err := f.folder.dirs()
	if err != nil {
		return nil, err
	}
	opts := []verify.Option{verify.WithFormat(format), verify.WithValueEncoding(ve), verify.WithConcurrency(f.concurrency), verify.WithDirFunc(dirs)}
	if len(f.topics) > 0 {
		opts = append(opts, verify.WithTopics(f.topics...))
	}
	if len(parts) > 0 {
		opts = append(opts, verify.WithPartitions(parts...))
	}
	if f.objects {
		opts = append(opts, verify.WithObjectDetails())
	}
	if f.metadataOnly {
		opts = append(opts, verify.WithoutReading())
	}
	return opts, nil
}
