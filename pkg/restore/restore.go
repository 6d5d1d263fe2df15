package restore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Summary is the outcome of a Run.
type Summary struct {
	Topic      string             `json:"topic"`
	Target     string             `json:"target_topic"`
	DryRun     bool               `json:"dry_run"`
	Records    int64              `json:"records"` // produced (dry run: would be)
	Skipped    int64              `json:"skipped_by_checkpoint"`
	Bytes      int64              `json:"bytes"` // object bytes read
	RawObjects int                `json:"raw_objects"`
	ValuesOnly bool               `json:"values_only"` // raw objects were restored: values only
	Elapsed    time.Duration      `json:"elapsed_ns"`
	Partitions []PartitionSummary `json:"partitions"`
}

// PartitionSummary is the outcome for one partition.
type PartitionSummary struct {
	Partition   int32  `json:"partition"`
	Objects     int    `json:"objects"`
	RawObjects  int    `json:"raw_objects"`
	Records     int64  `json:"records"`               // produced (dry run: would be)
	Skipped     int64  `json:"skipped_by_checkpoint"` // at or below the checkpoint
	Filtered    int64  `json:"filtered"`              // outside the offset or time range
	FirstOffset int64  `json:"first_offset"`          // of the records produced; -1: none
	LastOffset  int64  `json:"last_offset"`           // of the records produced; -1: none
	Checkpoint  int64  `json:"checkpoint"`            // last_offset_produced at the start; -1: none
	Error       string `json:"error,omitempty"`
	err         error
}

// Err returns the partition's error, if it failed.
func (p *PartitionSummary) Err() error { return p.err }

// ConnectError reports a configuration or connection problem with Kafka:
// nothing was produced.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "kafka: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// ErrPartial is wrapped by the error Run returns when some partitions failed
// (their summaries carry the reason; the others completed).
var ErrPartial = errors.New("some partitions failed")

// Checkpoint is the content of a checkpoint object.
type Checkpoint struct {
	LastOffsetProduced int64 `json:"last_offset_produced"`
}

// CheckpointKey returns the key of the checkpoint object of a restore of
// topic's partition p into target.
func CheckpointKey(prefix, topic, target string, p int32) string {
	return sink.NormalizePrefix(prefix) + topic + "/.restore_checkpoint_" + target + "_partition_" + strconv.FormatInt(int64(p), 10)
}

type object struct {
	key       string
	partition int32
	first     int64
	size      int64
}

type partJob struct {
	p      int32
	objs   []object
	enc    events.ValueEncoding
	ckpt   int64
	result PartitionSummary
}

// Run restores the records stored for one topic; see the package doc. The
// summary is returned also with an error, when any work was done.
func Run(ctx context.Context, st store.Store, k Kafka, opts ...Option) (*Summary, error) {
	start := time.Now()
	o := options{fromOffset: -1, toOffset: -1, chunk: DefaultChunkRecords, log: zerolog.Nop()}
	for _, opt := range opts {
		opt(&o)
	}
	o.prefix = sink.NormalizePrefix(o.prefix)
	if o.target == "" {
		o.target = o.topic
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	jobs, total, err := plan(ctx, st, &o)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Topic: o.topic, Target: o.target, DryRun: o.dryRun}

	var producer sarama.SyncProducer
	if !o.dryRun && len(jobs) > 0 {
		client, err := connect(ctx, k, o.target, jobs)
		if err != nil {
			return nil, err
		}
		defer client.Close()
		producer, err = sarama.NewSyncProducerFromClient(client)
		if err != nil {
			return nil, &ConnectError{fmt.Errorf("producer: %w", err)}
		}
		defer producer.Close()
	}
	o.log.Info().Str("topic", o.topic).Str("target", o.target).Int("partitions", len(jobs)).
		Int64("bytes", total).Bool("dry_run", o.dryRun).Msg("restore starting")

	pr := &progress{total: total, start: start, f: o.progress}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.result = runPartition(ctx, st, producer, &o, j, pr)
		}()
	}
	wg.Wait()
	pr.report(0, 0, true)

	var failed []string
	var firstErr error
	for _, j := range jobs {
		r := j.result
		sum.Partitions = append(sum.Partitions, r)
		sum.Records += r.Records
		sum.Skipped += r.Skipped
		sum.RawObjects += r.RawObjects
		if r.err != nil {
			failed = append(failed, strconv.Itoa(int(r.Partition)))
			if firstErr == nil || errors.Is(firstErr, context.Canceled) {
				firstErr = r.err
			}
		}
	}
	sum.Bytes = pr.bytesDone()
	sum.ValuesOnly = sum.RawObjects > 0
	sum.Elapsed = time.Since(start)
	if sum.ValuesOnly {
		o.log.Warn().Int("raw_objects", sum.RawObjects).Msg("raw objects hold values only: restored without key, headers or original timestamp")
	}
	o.log.Info().Int64("records", sum.Records).Int64("skipped_by_checkpoint", sum.Skipped).
		Dur("elapsed", sum.Elapsed).Int("failed_partitions", len(failed)).Msg("restore finished")
	if ctx.Err() != nil {
		return sum, fmt.Errorf("restore interrupted (run again to resume from the checkpoints): %w", context.Cause(ctx))
	}
	if len(failed) > 0 {
		return sum, fmt.Errorf("%w: partitions %s: %w", ErrPartial, strings.Join(failed, ","), firstErr)
	}
	return sum, nil
}

func (o *options) validate() error {
	var errs []error
	if o.topic == "" {
		errs = append(errs, errors.New("restore: no source topic"))
	}
	if o.chunk <= 0 {
		errs = append(errs, fmt.Errorf("restore: chunk size %d: must be positive", o.chunk))
	}
	if o.fromOffset >= 0 && o.toOffset >= 0 && o.fromOffset > o.toOffset {
		errs = append(errs, fmt.Errorf("restore: offset range %d..%d is empty", o.fromOffset, o.toOffset))
	}
	if !o.fromTime.IsZero() && !o.toTime.IsZero() && o.fromTime.After(o.toTime) {
		errs = append(errs, fmt.Errorf("restore: time range %s..%s is empty", o.fromTime.Format(time.RFC3339), o.toTime.Format(time.RFC3339)))
	}
	for _, p := range o.partitions {
		if p < 0 {
			errs = append(errs, fmt.Errorf("restore: partition %d: must not be negative", p))
		}
	}
	return errors.Join(errs...)
}

// plan lists the objects, selects them and reads the checkpoints.
func plan(ctx context.Context, st store.Store, o *options) ([]*partJob, int64, error) {
	dir := o.prefix + o.topic + "/"
	infos, err := st.List(ctx, dir)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", dir, err)
	}
	byPart := map[int32][]object{}
	for _, in := range infos {
		p, first, ok := sink.ParseObjectName(path.Base(in.Key))
		if !ok {
			continue
		}
		if len(o.partitions) > 0 && !slices.Contains(o.partitions, p) {
			continue
		}
		byPart[p] = append(byPart[p], object{key: in.Key, partition: p, first: first, size: in.Size})
	}
	var jobs []*partJob
	var total int64
	for _, p := range slices.Sorted(mapKeys(byPart)) {
		objs := byPart[p]
		slices.SortFunc(objs, func(a, b object) int { return cmp.Or(cmp.Compare(a.first, b.first), strings.Compare(a.key, b.key)) })
		var sel []object
		for i, ob := range objs {
			if o.toOffset >= 0 && ob.first > o.toOffset {
				break
			}
			// Records of ob are below the next object's first offset.
			if o.fromOffset >= 0 && i+1 < len(objs) && objs[i+1].first <= o.fromOffset {
				continue
			}
			sel = append(sel, ob)
			total += ob.size
		}
		j := &partJob{p: p, objs: sel, enc: o.valueEnc, ckpt: -1}
		if !o.encSet {
			j.enc = metaEncoding(ctx, st, o.prefix, o.topic, p)
		}
		ck, err := readCheckpoint(ctx, st, CheckpointKey(o.prefix, o.topic, o.target, p))
		if err != nil {
			return nil, 0, err
		}
		j.ckpt = ck
		jobs = append(jobs, j)
	}
	for _, p := range o.partitions {
		if _, ok := byPart[p]; !ok {
			o.log.Warn().Int32("partition", p).Msg("no data objects for this partition")
		}
	}
	return jobs, total, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// metaEncoding reads the value encoding the meta object records (text when
// it cannot tell).
func metaEncoding(ctx context.Context, st store.Store, prefix, topic string, p int32) events.ValueEncoding {
	b, err := st.Get(ctx, sink.MetaKey(prefix, topic, p))
	if err != nil {
		return events.Text
	}
	var m struct {
		Folders map[string]struct {
			Encoding string `json:"encoding"`
		} `json:"folders"`
	}
	if json.Unmarshal(b, &m) != nil {
		return events.Text
	}
	for _, f := range m.Folders {
		if strings.HasSuffix(f.Encoding, "/base64") {
			return events.Base64
		}
	}
	return events.Text
}

func readCheckpoint(ctx context.Context, st store.Store, key string) (int64, error) {
	b, err := st.Get(ctx, key)
	if store.IsNotFound(err) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint %s: %w", key, err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", key, err)
	}
	return c.LastOffsetProduced, nil
}

// record is one decoded stored record.
type record struct {
	offset  int64
	ts      int64
	key     []byte
	value   []byte
	headers []sarama.RecordHeader
	size    int64 // bytes of its line
}

func runPartition(ctx context.Context, st store.Store, prod sarama.SyncProducer, o *options, j *partJob, pr *progress) PartitionSummary {
	r := PartitionSummary{Partition: j.p, Objects: len(j.objs), FirstOffset: -1, LastOffset: -1, Checkpoint: j.ckpt}
	last := int64(-1) // largest offset seen, to drop repeats across objects
	var chunk []record
	var pendingBytes int64
	flush := func() error {
		if len(chunk) == 0 {
			pr.report(0, pendingBytes, false)
			pendingBytes = 0
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !o.dryRun {
			msgs := make([]*sarama.ProducerMessage, len(chunk))
			for i, rec := range chunk {
				m := &sarama.ProducerMessage{Topic: o.target, Partition: j.p, Headers: rec.headers}
				if rec.key != nil {
					m.Key = sarama.ByteEncoder(rec.key)
				}
				if rec.value != nil {
					m.Value = sarama.ByteEncoder(rec.value)
				}
				if rec.ts > 0 {
					m.Timestamp = time.UnixMilli(rec.ts)
				}
				msgs[i] = m
			}
			if err := prod.SendMessages(msgs); err != nil {
				return fmt.Errorf("produce offsets %d..%d to %s/%d: %w", chunk[0].offset, chunk[len(chunk)-1].offset, o.target, j.p, err)
			}
			end := chunk[len(chunk)-1].offset
			b, _ := json.Marshal(Checkpoint{LastOffsetProduced: end})
			key := CheckpointKey(o.prefix, o.topic, o.target, j.p)
			// The chunk is produced: record it even if the run is being
			// cancelled, or the next run would produce it again.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err := st.Put(pctx, key, b)
			cancel()
			if err != nil {
				return fmt.Errorf("write checkpoint %s after offset %d: %w", key, end, err)
			}
		}
		if r.FirstOffset < 0 {
			r.FirstOffset = chunk[0].offset
		}
		r.LastOffset = chunk[len(chunk)-1].offset
		r.Records += int64(len(chunk))
		pr.report(int64(len(chunk)), pendingBytes, false)
		chunk, pendingBytes = chunk[:0], 0
		return nil
	}
	fail := func(err error) PartitionSummary {
		r.err = err
		r.Error = err.Error()
		return r
	}
	timed := !o.fromTime.IsZero() || !o.toTime.IsZero()
	fromMS, toMS := o.fromTime.UnixMilli(), o.toTime.UnixMilli()
objects:
	for _, ob := range j.objs {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		data, err := st.Get(ctx, ob.key)
		if err != nil {
			return fail(fmt.Errorf("read %s: %w", ob.key, err))
		}
		recs, raw, err := decodeObject(ob, data, j.enc)
		if err != nil {
			return fail(err)
		}
		if raw {
			r.RawObjects++
			if timed {
				return fail(fmt.Errorf("%s is a raw object: raw records carry no timestamp, a time range cannot select them", ob.key))
			}
		}
		for _, rec := range recs {
			pendingBytes += rec.size
			switch {
			case rec.offset <= last:
				r.Filtered++ // repeated offset: already handled
				continue
			case o.toOffset >= 0 && rec.offset > o.toOffset:
				break objects
			case o.fromOffset >= 0 && rec.offset < o.fromOffset,
				timed && !o.fromTime.IsZero() && rec.ts < fromMS,
				timed && !o.toTime.IsZero() && rec.ts > toMS:
				r.Filtered++
			case rec.offset <= j.ckpt:
				r.Skipped++
			default:
				chunk = append(chunk, rec)
			}
			last = rec.offset
			if len(chunk) >= o.chunk {
				if err := flush(); err != nil {
					return fail(err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return fail(err)
	}
	return r
}

var jsonlStart = []byte(`{"topic":`)

// decodeObject splits an object into records. raw reports a raw object.
func decodeObject(ob object, data []byte, enc events.ValueEncoding) ([]record, bool, error) {
	if len(data) == 0 {
		return nil, false, nil
	}
	if data[len(data)-1] != '\n' {
		return nil, false, fmt.Errorf("%s: last line is not terminated (not written by the sink?)", ob.key)
	}
	lines := bytes.SplitAfter(data, []byte{'\n'})
	lines = lines[:len(lines)-1] // the empty tail after the last newline
	raw := !bytes.HasPrefix(data, jsonlStart)
	recs := make([]record, 0, len(lines))
	for i, ln := range lines {
		body := ln[:len(ln)-1]
		if raw {
			recs = append(recs, record{offset: ob.first + int64(i), value: append([]byte{}, body...), size: int64(len(ln))})
			continue
		}
		rec, err := decodeLine(body, enc)
		if err != nil {
			return nil, false, fmt.Errorf("%s line %d: %w", ob.key, i+1, err)
		}
		rec.size = int64(len(ln))
		recs = append(recs, rec)
	}
	return recs, raw, nil
}

type jsonlLine struct {
	Partition *int32          `json:"partition"`
	Offset    *int64          `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       *string         `json:"key"`
	Value     json.RawMessage `json:"value"`
	Headers   json.RawMessage `json:"headers"`
}

type jsonlHeader struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func decodeLine(b []byte, enc events.ValueEncoding) (record, error) {
	var l jsonlLine
	if err := json.Unmarshal(b, &l); err != nil {
		return record{}, fmt.Errorf("not a JSONL record: %w", err)
	}
	if l.Offset == nil || l.Partition == nil {
		return record{}, errors.New("JSONL record without partition or offset")
	}
	rec := record{offset: *l.Offset, ts: l.Timestamp}
	if l.Key != nil {
		rec.key = []byte(*l.Key)
	}
	v := bytes.TrimSpace(l.Value)
	switch {
	case len(v) == 0 || string(v) == "null":
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return record{}, fmt.Errorf("value: %w", err)
		}
		if enc == events.Base64 {
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return record{}, fmt.Errorf("value is not base64 (SINK_VALUE_ENCODING text?): %w", err)
			}
			rec.value = d
		} else {
			rec.value = []byte(s)
		}
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return record{}, fmt.Errorf("value: %w", err)
		}
		rec.value = buf.Bytes()
	}
	if h := bytes.TrimSpace(l.Headers); len(h) > 0 && string(h) != "null" {
		var hs []jsonlHeader
		if err := json.Unmarshal(h, &hs); err != nil {
			return record{}, fmt.Errorf("headers: want [{\"key\":..,\"value\":..}]: %w", err)
		}
		for _, x := range hs {
			hdr := sarama.RecordHeader{Key: []byte(x.Key)}
			if x.Value != nil {
				hdr.Value = []byte(*x.Value)
			}
			rec.headers = append(rec.headers, hdr)
		}
	}
	return rec, nil
}

// progress aggregates the partitions' progress.
type progress struct {
	mu      sync.Mutex
	total   int64
	start   time.Time
	f       func(Progress)
	records int64
	bytes   int64
}

func (p *progress) report(records, bytes int64, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records += records
	p.bytes += bytes
	if p.f == nil || (records == 0 && !final) {
		return
	}
	el := time.Since(p.start)
	pg := Progress{Records: p.records, Bytes: p.bytes, TotalBytes: p.total, Elapsed: el}
	if s := el.Seconds(); s > 0 {
		pg.Rate = float64(p.records) / s
		if p.bytes > 0 && p.total > p.bytes {
			pg.ETA = time.Duration(float64(el) * float64(p.total-p.bytes) / float64(p.bytes))
		}
	}
	p.f(pg)
}

func (p *progress) bytesDone() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}
