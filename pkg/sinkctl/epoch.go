package sinkctl

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

const newEpochUsage = `Usage: sinkctl new-epoch --topic TOPIC (--partition P ... | --all-partitions) [flags]

Starts a new epoch for partitions whose topic was deleted and recreated, so
that offsets started again below what the sink had stored. The sink then
refuses the partition (ErrOffsetsReset: nothing written, retrying cannot
help). After new-epoch, the trigger's next batch lands in new data objects,
named for the new epoch, beside the old ones; nothing stored is changed or
deleted, and the meta object keeps the ended epoch's offsets in its history.
Run it while the partition's batches fail (they write nothing) or with the
trigger disabled: it must not race with the sink writing the partition.

`

// runNewEpoch is `sinkctl new-epoch`.
func runNewEpoch(ctx context.Context, args []string, env Env) int {
	var sf storeFlags
	var partitions listFlag
	fs := newCmdFlags("new-epoch", newEpochUsage,
		"sinkctl new-epoch --dir ./oss-local --topic orders --partition 3 --dry-run",
		`sinkctl new-epoch --topic orders --all-partitions --reason "topic recreated 2026-12-01"`)
	sf.register(fs, env)
	topic := fs.String("topic", "", "the topic (required)")
	fs.Var(&partitions, "partition", "partition number; repeatable or comma-separated")
	all := fs.Bool("all-partitions", false, "every partition of the topic that has a meta object")
	reason := fs.String("reason", "offsets restarted (topic recreated)", "why, kept in the meta object's epoch history")
	dryRun := fs.Bool("dry-run", false, "show what would change, change nothing")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl new-epoch: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case *topic == "":
		return fail("--topic is required")
	case *all == (len(partitions) > 0):
		return fail("give --partition P (repeatable) or --all-partitions, not both and not neither")
	}
	if err := events.CheckTopic(*topic); err != nil {
		return fail("--topic: %v", err)
	}
	var parts []int32
	for _, s := range partitions {
		for _, f := range strings.Split(s, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
			if err != nil || p < 0 {
				return fail("--partition %q: not a partition number", f)
			}
			parts = append(parts, int32(p))
		}
	}
	o, err := sf.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	if *all {
		infos, err := o.st.List(ctx, o.prefix+*topic+"/.oss_meta_file_partition_")
		if err != nil {
			return fail("list the meta objects of %s: %v", *topic, err)
		}
		for _, info := range infos {
			p, err := strconv.ParseInt(strings.TrimPrefix(path.Base(info.Key), ".oss_meta_file_partition_"), 10, 32)
			if err == nil && p >= 0 && sink.MetaKey(o.prefix, *topic, int32(p)) == info.Key {
				parts = append(parts, int32(p))
			}
		}
		if len(parts) == 0 {
			return fail("no meta object of topic %q under %s: nothing to do (is --prefix or --topic right?)", *topic, o.desc)
		}
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)

	type result struct {
		Partition int32  `json:"partition"`
		Ended     int64  `json:"ended_epoch"`
		Committed int64  `json:"ended_committed_offset"`
		Records   int64  `json:"ended_records_written"`
		Epoch     int64  `json:"epoch"`
		Error     string `json:"error,omitempty"`
	}
	var results []result
	code := ExitOK
	for _, p := range parts {
		r := result{Partition: p}
		var m *sink.Meta
		var err error
		if *dryRun {
			m, err = readMeta(ctx, o, *topic, p)
			if err == nil {
				r.Ended, r.Committed, r.Records, r.Epoch = m.Epoch, m.Committed, m.Records, m.Epoch+1
			}
		} else {
			m, err = sink.StartEpoch(ctx, o.st, o.prefix, *topic, p, *reason, time.Now())
			if err == nil {
				e := m.Epochs[len(m.Epochs)-1]
				r.Ended, r.Committed, r.Records, r.Epoch = e.Epoch, e.Committed, e.Records, m.Epoch
			}
		}
		if err != nil {
			r.Error = err.Error()
			code = ExitUsage
		}
		results = append(results, r)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"topic": *topic, "store": o.desc, "dry_run": *dryRun, "partitions": results})
		return code
	}
	verb, ended := "started", "ended"
	if *dryRun {
		verb, ended = "would start", "would end"
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(env.Stderr, "sinkctl new-epoch: %s/%d: %s\n", *topic, r.Partition, r.Error)
			continue
		}
		fmt.Fprintf(env.Stdout, "%s/%d: %s epoch %d (epoch %d %s at committed offset %d, %d records, kept as they are)\n",
			*topic, r.Partition, verb, r.Epoch, r.Ended, ended, r.Committed, r.Records)
	}
	return code
}

// readMeta reads and checks a partition's meta object.
func readMeta(ctx context.Context, o *opened, topic string, p int32) (*sink.Meta, error) {
	key := sink.MetaKey(o.prefix, topic, p)
	data, err := o.st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return sink.DecodeMeta(data, o.prefix, topic, p)
}
