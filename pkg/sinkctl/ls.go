package sinkctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
)

const lsUsage = `Usage: sinkctl ls [--topic T] [--partition P] [flags] [PREFIX]

Lists the data objects the sink wrote: per object its key, first and last
offset, records (from its record index), size, storage class and format
(the encoding of its first append, e.g. jsonl/text;fields=...;z=gzip-1; "legacy" for an
object written before record indexes existed, whose last offset and records
are not known without reading it: "-"). Objects are those of the topic's
folder, invalidRuleData/{topic}/ and the static directory of --folder (the
sink's routing template, default $SINK_FOLDER); PREFIX keeps the keys that
start with it (relative to --prefix, e.g. orders/dt=2026-12-01/). Without
--topic, every topic with a meta object under the prefix (one listing of
the whole prefix). Meta, record index and staging objects are the sink's
own and are not listed. Each object's record index is read (a small GET
each).

Exit codes: 0 listed (even nothing); 2 usage or store error.
`

func runLs(ctx context.Context, args []string, env Env) int {
	var (
		sf         storeFlags
		topics     listFlag
		partitions listFlag
		folder     folderFlag
	)
	fs := newCmdFlags("ls", lsUsage,
		"sinkctl ls --dir ./oss-local --topic orders --partition 0",
		"sinkctl ls orders/dt=2026-12-01/ --json")
	fs.Var(&topics, "topic", "topic whose objects to list; repeatable (default: every topic with a meta object)")
	fs.Var(&partitions, "partition", "partition number; repeatable (default: every partition)")
	asJSON := fs.Bool("json", false, "print a JSON array of the objects")
	folder.register(fs.FlagSet, env)
	sf.register(fs, env)
	rest, code, ok := fs.parseArgs(args, env)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl ls: "+format+"\n", a...)
		return ExitUsage
	}
	if len(rest) > 1 {
		return fail("one PREFIX at most, got %d arguments (see sinkctl ls -h)", len(rest))
	}
	filter := ""
	if len(rest) == 1 {
		filter = rest[0]
	}
	parts, err := parsePartitions(partitions)
	if err != nil {
		return fail("%v", err)
	}
	for _, t := range topics {
		if err := events.CheckTopic(t); err != nil {
			return fail("--topic: %v", err)
		}
	}
	dirs, err := folder.dirs()
	if err != nil {
		return fail("%v", err)
	}
	o, err := sf.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	filter = strings.TrimPrefix(filter, o.prefix)
	if len(topics) == 0 {
		if topics, err = storedTopics(ctx, o); err != nil {
			return fail("%v", err)
		}
		// A PREFIX naming a topic folder needs only that topic.
		if t, _, ok := strings.Cut(filter, "/"); ok && slices.Contains(topics, t) {
			topics = []string{t}
		}
	}
	objs := []restore.ObjectInfo{}
	for _, t := range topics {
		// The static directory of the template, for every partition
		// (it does not depend on one when it names none).
		var extra []string
		for _, d := range dirs(t, 0) {
			if d != t+"/" && d != "" {
				extra = append(extra, d)
			}
		}
		list, err := restore.ListObjects(ctx, o.st, o.prefix, t, parts, extra...)
		if err != nil {
			return fail("%s: %v", o.desc, err)
		}
		for _, in := range list {
			if strings.HasPrefix(strings.TrimPrefix(in.Key, o.prefix), filter) {
				objs = append(objs, in)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(objs); err != nil {
			return fail("write: %v", err)
		}
		return ExitOK
	}
	writeLs(env.Stdout, objs)
	return ExitOK
}

func writeLs(w io.Writer, objs []restore.ObjectInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tFIRST\tLAST\tRECORDS\tSIZE\tCLASS\tFORMAT")
	var records, bytes int64
	for _, in := range objs {
		recs := "-"
		if in.Records >= 0 {
			recs = strconv.FormatInt(in.Records, 10)
			records += in.Records
		}
		bytes += in.Size
		note := ""
		switch {
		case in.IndexError != "":
			note = " (index: " + in.IndexError + ")"
		case in.Staged:
			note = " (staged)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s%s\n", in.Key, in.FirstOffset, offset(in.LastOffset, ""), recs, size(in.Size), in.StorageClass, in.Format, note)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%s, %s, %s\n", count(len(objs), "object"), count(int(records), "record"), size(bytes))
}

// parsePartitions parses --partition values.
func parsePartitions(l listFlag) ([]int32, error) {
	var parts []int32
	for _, s := range l {
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil || p < 0 {
			return nil, fmt.Errorf("--partition %q: want a partition number (0, 1, ...)", s)
		}
		parts = append(parts, int32(p))
	}
	return parts, nil
}
