package sinkctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

const statusUsage = `Usage: sinkctl status [--topic T] [--brokers host:9092 --group G] [flags]

Shows, per partition, where the backup stands: the store's committed offset
(STORED: the largest offset stored, from the partition's meta object), the
records stored in its current epoch, its open object (the newest one
records were appended to: name, size, records, age since it was opened),
and with --brokers and --group the Kafka side: the high watermark (the
offset the next record will get), the group's committed offset (GROUP: the
next offset the group will read, Kafka's convention) and the lag: records
Kafka holds past STORED, and how old the first of them is (LAG TIME, from
its timestamp). Then totals. Without Kafka flags, the store side alone.

Without --topic, every topic with a meta object under the prefix is shown
(one listing of the whole prefix). --watch redraws it every --interval until
interrupted.

Exit codes: 0 shown; 2 usage, store or Kafka error, or a --topic with
nothing stored and no partition in Kafka.
`

type statusFlags struct {
	store    storeFlags
	topics   listFlag
	kafka    verifyKafkaFlags
	watch    bool
	interval time.Duration
	json     bool
}

// statusPartition is one row of status; pointers are absent when the side
// that knows them (Kafka, the store) was not asked or has nothing.
type statusPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Kafka's side (with --brokers).
	LogStart       *int64 `json:"log_start_offset,omitempty"`
	HighWatermark  *int64 `json:"high_watermark,omitempty"`
	GroupCommitted *int64 `json:"group_committed_offset,omitempty"` // next offset to read; -1: none
	// The store's side, from the meta object.
	StoreCommitted int64       `json:"store_committed_offset"` // largest offset stored; -1: none
	StoreRecords   int64       `json:"store_records"`
	Epoch          int64       `json:"epoch"`
	OpenObjects    int         `json:"open_objects"`
	Open           *openObject `json:"open_object,omitempty"`
	MetaUpdatedAt  *time.Time  `json:"meta_updated_at,omitempty"`
	MetaError      string      `json:"meta_error,omitempty"`
	// Lag (with --brokers): records Kafka holds past StoreCommitted, and
	// the age of the first of them.
	LagRecords *int64 `json:"lag_records,omitempty"`
	LagMS      *int64 `json:"lag_ms,omitempty"`
}

type openObject struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	Records     int64     `json:"records"`
	FirstOffset int64     `json:"first_offset"`
	LastOffset  int64     `json:"last_offset"`
	OpenedAt    time.Time `json:"opened_at"`
	AgeMS       int64     `json:"age_ms"` // since OpenedAt; -1: not known
}

type statusReport struct {
	Store      string            `json:"store"`
	At         time.Time         `json:"at"`
	Partitions []statusPartition `json:"partitions"`
	Total      statusTotal       `json:"total"`
	// Notes say what could not be shown (a stored topic Kafka does not
	// know).
	Notes []string `json:"notes,omitempty"`
}

type statusTotal struct {
	Partitions   int    `json:"partitions"`
	StoreRecords int64  `json:"store_records"`
	LagRecords   *int64 `json:"lag_records,omitempty"`
	MaxLagMS     *int64 `json:"max_lag_ms,omitempty"`
}

func runStatus(ctx context.Context, args []string, env Env) int {
	var f statusFlags
	fs := newCmdFlags("status", statusUsage,
		"sinkctl status --dir ./oss-local",
		"sinkctl status --topic orders --brokers kafka:9092 --group oss-sink --watch")
	fs.Var(&f.topics, "topic", "topic to show; repeatable (default: every topic with a meta object under the prefix)")
	fs.BoolVar(&f.watch, "watch", false, "redraw every --interval until interrupted")
	fs.DurationVar(&f.interval, "interval", 5*time.Second, "time between two redraws with --watch")
	fs.BoolVar(&f.json, "json", false, "print JSON (one object per refresh)")
	f.kafka.register(fs, "show the Kafka side from this cluster")
	f.store.register(fs, env)
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl status: "+format+"\n", a...)
		return ExitUsage
	}
	if f.watch && f.interval <= 0 {
		return fail("--interval %v: must be positive", f.interval)
	}
	for _, t := range f.topics {
		if err := events.CheckTopic(t); err != nil {
			return fail("--topic: %v", err)
		}
	}
	if _, _, err := f.kafka.config(env); err != nil {
		return fail("%v", err)
	}
	o, err := f.store.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	var k *verify.SaramaKafka
	if cfg, ok, _ := f.kafka.config(env); ok {
		// LAG TIME reads the first record not stored; an offset holding
		// none (a transaction marker) must not hold status up for long.
		cfg.IdleTimeout = time.Second
		if k, err = verify.NewSaramaKafka(ctx, cfg); err != nil {
			return fail("%v", err)
		}
		defer k.Close()
	}
	for first := true; ; first = false {
		rep, err := status(ctx, o, k, f.topics)
		if err != nil {
			if ctx.Err() != nil && !first {
				return ExitOK
			}
			return fail("%v", err)
		}
		if f.watch && env.Terminal && !f.json {
			fmt.Fprint(env.Stdout, "\033[H\033[2J")
		} else if !first && !f.json {
			fmt.Fprintln(env.Stdout)
		}
		if f.json {
			enc := json.NewEncoder(env.Stdout)
			if !f.watch {
				enc.SetIndent("", "  ")
			}
			if err := enc.Encode(rep); err != nil {
				return fail("write: %v", err)
			}
		} else {
			writeStatus(env.Stdout, rep)
		}
		if !f.watch {
			return ExitOK
		}
		select {
		case <-ctx.Done():
			return ExitOK
		case <-time.After(f.interval):
		}
	}
}

// status reads the store (and Kafka, when k is not nil) once.
func status(ctx context.Context, o *opened, k *verify.SaramaKafka, topics []string) (*statusReport, error) {
	now := time.Now()
	rep := &statusReport{Store: o.desc, At: now.UTC(), Partitions: []statusPartition{}}
	if len(topics) == 0 {
		var err error
		if topics, err = storedTopics(ctx, o); err != nil {
			return nil, err
		}
	}
	for _, t := range topics {
		parts, err := storedPartitions(ctx, o, t)
		if err != nil {
			return nil, err
		}
		kt := k
		if k != nil {
			kp, err := k.Partitions(ctx, t)
			switch {
			case err != nil && len(parts) == 0:
				return nil, fmt.Errorf("topic %q: nothing stored under %s, and Kafka: %w", t, o.desc, err)
			case err != nil:
				// Stored, but Kafka does not describe it (deleted?):
				// the store side alone.
				kt = nil
				rep.Notes = append(rep.Notes, fmt.Sprintf("topic %q: Kafka's side not shown: %v", t, err))
			}
			parts = append(parts, kp...)
		}
		slices.Sort(parts)
		parts = slices.Compact(parts)
		if len(parts) == 0 {
			return nil, fmt.Errorf("topic %q: no meta object under %s (check --prefix and the topic name)", t, o.desc)
		}
		for _, p := range parts {
			sp, err := partitionStatus(ctx, o, kt, t, p, now)
			if err != nil {
				return nil, err
			}
			rep.Partitions = append(rep.Partitions, sp)
		}
	}
	rep.Total.Partitions = len(rep.Partitions)
	for _, p := range rep.Partitions {
		rep.Total.StoreRecords += p.StoreRecords
		if p.LagRecords != nil {
			rep.Total.LagRecords = ptr64(deref(rep.Total.LagRecords) + *p.LagRecords)
		}
		if p.LagMS != nil && *p.LagMS > deref(rep.Total.MaxLagMS) {
			rep.Total.MaxLagMS = ptr64(*p.LagMS)
		}
	}
	return rep, nil
}

func partitionStatus(ctx context.Context, o *opened, k *verify.SaramaKafka, topic string, p int32, now time.Time) (statusPartition, error) {
	sp := statusPartition{Topic: topic, Partition: p, StoreCommitted: -1}
	m, err := readMeta(ctx, o, topic, p)
	switch {
	case err == nil:
		sp.StoreCommitted, sp.StoreRecords, sp.Epoch = m.Committed, m.Records, m.Epoch
		at := m.UpdatedAt
		sp.MetaUpdatedAt = &at
		var newest *sink.Folder
		for _, fo := range m.Folders {
			if fo.Records == 0 {
				continue // announced, nothing in it yet
			}
			sp.OpenObjects++
			if newest == nil || fo.AppendedAt.After(newest.AppendedAt) || fo.AppendedAt.Equal(newest.AppendedAt) && fo.LastOffset > newest.LastOffset {
				newest = fo
			}
		}
		if newest != nil {
			sp.Open = &openObject{Key: newest.Object, Size: newest.Size, Records: newest.Records, FirstOffset: newest.FirstOffset,
				LastOffset: newest.LastOffset, OpenedAt: newest.OpenedAt, AgeMS: -1}
			if !newest.OpenedAt.IsZero() { // zero: a meta object from before the field
				sp.Open.AgeMS = max(now.Sub(newest.OpenedAt).Milliseconds(), 0)
			}
		}
	case errors.Is(err, store.ErrNotFound):
	default:
		sp.MetaError = err.Error()
	}
	if k == nil {
		return sp, nil
	}
	ko, err := k.Offsets(ctx, topic, p)
	if err != nil {
		return sp, fmt.Errorf("kafka %s/%d: %w", topic, p, err)
	}
	sp.LogStart, sp.HighWatermark, sp.GroupCommitted = ptr64(ko.LogStart), ptr64(ko.HighWatermark), ptr64(ko.Committed)
	next := max(sp.StoreCommitted+1, ko.LogStart)
	lag := max(ko.HighWatermark-next, 0)
	sp.LagRecords = ptr64(lag)
	sp.LagMS = ptr64(0)
	if lag > 0 {
		// The age of the first record not stored.
		sp.LagMS = nil
		err := k.ReadRecords(ctx, topic, p, next, next+1, func(r *events.Record) {
			if r.Timestamp > 0 {
				sp.LagMS = ptr64(max(now.UnixMilli()-r.Timestamp, 0))
			}
		})
		if err != nil && ctx.Err() != nil {
			return sp, ctx.Err()
		}
	}
	return sp, nil
}

// storedTopics lists the whole prefix for the topics with a meta object.
func storedTopics(ctx context.Context, o *opened) ([]string, error) {
	infos, err := o.st.List(ctx, o.prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", o.desc, err)
	}
	var topics []string
	for _, in := range infos {
		dir, base := path.Split(strings.TrimPrefix(in.Key, o.prefix))
		if strings.HasPrefix(base, ".oss_meta_file_partition_") && strings.Count(dir, "/") == 1 {
			topics = append(topics, strings.TrimSuffix(dir, "/"))
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil
}

// storedPartitions lists the topic's meta objects (and nothing else).
func storedPartitions(ctx context.Context, o *opened, topic string) ([]int32, error) {
	pre := strings.TrimSuffix(sink.MetaKey(o.prefix, topic, 0), "0")
	infos, err := o.st.List(ctx, pre)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", pre, err)
	}
	var ps []int32
	for _, in := range infos {
		n, err := strconv.ParseInt(strings.TrimPrefix(in.Key, pre), 10, 32)
		if err == nil && n >= 0 && sink.MetaKey(o.prefix, topic, int32(n)) == in.Key {
			ps = append(ps, int32(n))
		}
	}
	return ps, nil
}

func writeStatus(w io.Writer, rep *statusReport) {
	fmt.Fprintf(w, "store: %s, at %s\n\n", rep.Store, rep.At.Format(time.RFC3339))
	kafka := slices.ContainsFunc(rep.Partitions, func(p statusPartition) bool { return p.HighWatermark != nil })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if kafka {
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tHIGH WATERMARK\tGROUP\tSTORED\tLAG\tLAG TIME\tRECORDS\tOPEN OBJECT\tSIZE\tOBJ RECORDS\tAGE")
	} else {
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tSTORED\tRECORDS\tOPEN OBJECT\tSIZE\tOBJ RECORDS\tAGE")
	}
	for _, p := range rep.Partitions {
		fmt.Fprintf(tw, "%s\t%d\t", p.Topic, p.Partition)
		if kafka {
			fmt.Fprintf(tw, "%s\t%s\t", optOffset(p.HighWatermark), optOffset(p.GroupCommitted))
		}
		fmt.Fprintf(tw, "%s\t", offset(p.StoreCommitted, ""))
		if kafka {
			fmt.Fprintf(tw, "%s\t%s\t", optOffset(p.LagRecords), optMS(p.LagMS))
		}
		fmt.Fprintf(tw, "%d\t", p.StoreRecords)
		switch {
		case p.MetaError != "":
			fmt.Fprintf(tw, "meta object unusable: %s\t\t\t\n", p.MetaError)
		case p.Open == nil:
			fmt.Fprintf(tw, "-\t-\t-\t-\n")
		default:
			name := path.Base(p.Open.Key)
			if p.OpenObjects > 1 {
				name += fmt.Sprintf(" (+%d more folders)", p.OpenObjects-1)
			}
			age := "-"
			if p.Open.AgeMS >= 0 {
				age = (time.Duration(p.Open.AgeMS) * time.Millisecond).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", name, size(p.Open.Size), p.Open.Records, age)
		}
	}
	_ = tw.Flush()
	t := rep.Total
	fmt.Fprintf(w, "\n%s, %s stored", count(t.Partitions, "partition"), count(int(t.StoreRecords), "record"))
	if t.LagRecords != nil {
		fmt.Fprintf(w, ", lag %s", count(int(*t.LagRecords), "record"))
		if t.MaxLagMS != nil && *t.LagRecords > 0 {
			fmt.Fprintf(w, " (the oldest %s behind)", (time.Duration(*t.MaxLagMS) * time.Millisecond).Round(time.Second))
		}
	}
	fmt.Fprintln(w)
	if kafka {
		fmt.Fprintln(w, "(STORED: the largest offset stored; GROUP: the next offset the group reads; LAG: records Kafka holds past STORED)")
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func ptr64(v int64) *int64 { return &v }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func optOffset(p *int64) string {
	if p == nil || *p < 0 {
		return "-"
	}
	return strconv.FormatInt(*p, 10)
}

func optMS(p *int64) string {
	if p == nil {
		return "-"
	}
	return (time.Duration(*p) * time.Millisecond).Round(time.Second).String()
}
