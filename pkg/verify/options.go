package verify

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// Format says how data objects are read.
type Format string

const (
	// FormatAuto decides per object (see the package doc).
	FormatAuto Format = "auto"
	// FormatRaw reads every object without an index as raw lines.
	FormatRaw Format = "raw"
	// FormatJSONL reads every object without an index as JSONL records.
	FormatJSONL Format = "jsonl"
)

// ParseFormat parses "auto", "raw" or "jsonl" ("" means auto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatAuto, nil
	case FormatAuto, FormatRaw, FormatJSONL:
		return f, nil
	}
	return "", fmt.Errorf("verify: unknown format %q (want auto, raw or jsonl)", s)
}

// ValueEncoding says how JSONL string values are checked.
type ValueEncoding string

const (
	// ValueAuto checks the values of indexed objects as their index's
	// encoding says ("jsonl/base64": base64), those of a legacy open object
	// as its meta encoding says, and no other object's.
	ValueAuto ValueEncoding = "auto"
	// ValueText accepts any string value.
	ValueText ValueEncoding = "text"
	// ValueBase64 requires every string value of every JSONL object to be
	// standard base64 (SINK_VALUE_ENCODING=base64).
	ValueBase64 ValueEncoding = "base64"
)

// ParseValueEncoding parses "auto", "text" or "base64" ("" means auto;
// "binary" means base64, as in the sink's configuration).
func ParseValueEncoding(s string) (ValueEncoding, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "", "auto":
		return ValueAuto, nil
	case "text":
		return ValueText, nil
	case "base64", "binary":
		return ValueBase64, nil
	}
	return "", fmt.Errorf("verify: unknown value encoding %q (want auto, text or base64)", s)
}

// Progress is passed to the WithProgress callback.
type Progress struct {
	Topic     string // the partition that just advanced
	Partition int32
	Object    string // the object being read, "" when a partition completed
	// Totals so far over the whole run; BytesTotal and ObjectsTotal come
	// from the listing.
	PartitionsDone, PartitionsTotal int
	ObjectsDone, ObjectsTotal       int
	BytesDone, BytesTotal           int64
}

// Option configures Run.
type Option func(*config)

type config struct {
	prefix        string
	topics        []string
	partitions    []int32
	format        Format
	valueEncoding ValueEncoding
	concurrency   int
	chunkSize     int64
	progress      func(Progress)
	details       bool
	kafka         Kafka // nil: no comparison with Kafka
	dirs          []string
	dirFunc       func(topic string, partition int32) []string
	expected      func(*events.Record) bool // nil: the sink stores every record
	noRead        bool                      // WithoutReading
}

// Defaults.
const (
	DefaultConcurrency = 4
	DefaultChunkSize   = 4 << 20
)

func defaultCfg() config {
	return config{
		format:        FormatAuto,
		valueEncoding: ValueAuto,
		concurrency:   DefaultConcurrency,
		chunkSize:     DefaultChunkSize,
	}
}

func (c *config) validate() error {
	var errs []error
	if _, err := ParseFormat(string(c.format)); err != nil || c.format == "" {
		errs = append(errs, fmt.Errorf("format %q: want auto, raw or jsonl", c.format))
	}
	if _, err := ParseValueEncoding(string(c.valueEncoding)); err != nil || c.valueEncoding == "" {
		errs = append(errs, fmt.Errorf("value encoding %q: want auto, text or base64", c.valueEncoding))
	}
	if c.concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d: must be at least 1", c.concurrency))
	}
	if c.chunkSize < 1 {
		errs = append(errs, fmt.Errorf("chunk size %d: must be at least 1", c.chunkSize))
	}
	if strings.HasPrefix(c.prefix, "/") {
		errs = append(errs, fmt.Errorf("prefix %q: must not start with '/'", c.prefix))
	}
	for _, t := range c.topics {
		if t == "" || strings.Contains(t, "/") {
			errs = append(errs, fmt.Errorf("topic %q: must be non-empty and without '/'", t))
		}
	}
	for _, p := range c.partitions {
		if p < 0 {
			errs = append(errs, fmt.Errorf("partition %d: must not be negative", p))
		}
	}
	for _, d := range c.dirs {
		if err := checkDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	if c.expected != nil && c.kafka != nil {
		if _, ok := c.kafka.(KafkaRecordReader); !ok {
			errs = append(errs, errors.New("expected records: the Kafka given cannot read records (it implements no KafkaRecordReader)"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// WithPrefix sets the key prefix the sink writes under (OSS_PREFIX),
// normalized as the sink does ("backup" = "backup/"). Default: "".
func WithPrefix(p string) Option { return func(c *config) { c.prefix = sink.NormalizePrefix(p) } }

// WithTopics limits the run to these topics, each listed on its own.
// Repeatable. Default: every topic found under the prefix.
func WithTopics(topics ...string) Option {
	return func(c *config) { c.topics = appendUnique(c.topics, topics...) }
}

// WithPartitions limits the run to these partitions of every topic.
// Repeatable. Default: every partition found.
func WithPartitions(ps ...int32) Option {
	return func(c *config) { c.partitions = appendUnique(c.partitions, ps...) }
}

// WithFormat sets how objects without a record index are read; indexed
// objects are read in the encoding their index names. Default: FormatAuto.
func WithFormat(f Format) Option { return func(c *config) { c.format = f } }

// WithValueEncoding sets how JSONL string values are checked. Default:
// ValueAuto.
func WithValueEncoding(v ValueEncoding) Option { return func(c *config) { c.valueEncoding = v } }

// WithConcurrency sets how many partitions are checked at once; memory grows
// by up to three chunks per partition. Default: 4.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithChunkSize sets the size of each ranged read of a data object.
// Default: 4 MiB.
func WithChunkSize(n int64) Option { return func(c *config) { c.chunkSize = n } }

// WithProgress calls fn after every chunk read and every partition checked.
// Calls are serialized (never two at once) and fn must return quickly: the
// partition that made the call waits. Default: none.
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// WithObjectDetails fills PartitionReport.ObjectList with one entry per data
// object. Default: off.
func WithObjectDetails() Option { return func(c *config) { c.details = true } }

// WithDirs adds directories, relative to the prefix, to search for the
// data objects of every partition: each is "" (the whole prefix) or ends
// in '/'. The sink puts a partition's objects where its routing template
// (SINK_FOLDER) says; pass the template's static leading directory (for
// "{topic}/dt={yyyy}-{MM}-{dd}/" that is inside the topic's directory, for
// "{header:tenant}/{topic}/" it is ""). Repeatable. Default: none beyond
// the topic's own directory and invalidRuleData/{topic}/, which are always
// searched (and without WithTopics the whole prefix is listed, which
// covers every directory).
//
// Each directory is listed once per run, not once per partition; a
// directory that the listing of another covers is not listed again. A
// directory shared by many topics (a template that does not start with
// {topic}) is listed whole, other topics' objects included, and each of
// its keys is tried against the topics checked: that is the price of such
// a template.
func WithDirs(dirs ...string) Option {
	return func(c *config) { c.dirs = appendUnique(c.dirs, dirs...) }
}

// WithDirFunc is WithDirs with directories that depend on the topic and
// partition (route.Router.StaticDir): fn is called for every partition
// known from the topic's own directory (its meta object, its objects) and
// every one asked for with WithPartitions, and returns its directories, as
// WithDirs takes them. fn must be safe to call from one goroutine at a
// time. Default: none.
func WithDirFunc(fn func(topic string, partition int32) []string) Option {
	return func(c *config) { c.dirFunc = fn }
}

// WithExpected says which of the Kafka records the sink was configured to
// store (SINK_FILTER, SINK_INVALID=drop): with WithKafka, a record Kafka
// holds below the committed offset that the store lacks is missing only
// when expected returns true for it; otherwise it is counted in
// PartitionReport.Filtered. The record is given as the trigger delivers
// it: topic, partition, offset, timestamp, key, value as a byte string
// (ValueBytes, or ValueNull for a tombstone; never ValueJSON), headers as
// the trigger's JSON array ([{"key":..,"value":..}]). It also tells the
// check that the sink drops records, whose offsets can follow the last one
// stored: committed_offset past the last stored offset is then no
// committed_mismatch. Needs a Kafka that implements KafkaRecordReader
// (NewSaramaKafka does). Default: nil, every record is expected.
func WithExpected(expected func(*events.Record) bool) Option {
	return func(c *config) { c.expected = expected }
}

// checkDir checks a search directory.
func checkDir(d string) error {
	switch {
	case strings.HasPrefix(d, "/"):
		return fmt.Errorf("directory %q: relative to the prefix, must not start with '/'", d)
	case d != "" && !strings.HasSuffix(d, "/"):
		return fmt.Errorf("directory %q: must end with '/' (or be empty, the whole prefix)", d)
	case strings.Contains(d, "{"):
		return fmt.Errorf("directory %q: holds a template token; give the template's static leading directory (route.Router.StaticDir)", d)
	}
	return nil
}

func appendUnique[T comparable](dst []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// WithoutReading checks the data objects without reading their bytes:
// their names (derived as the sink derives them), their sizes against
// their record indexes, and their tags and user metadata (first and last
// offset, records, topic, partition; where the sink wrote them: objects
// written final) against the indexes; meta objects and indexes are read
// as ever. For backups in archive classes, which cannot be read without a
// restore (and a restore is slow and billed): CRCs and record contents
// are not checked. Every data object is counted in PartitionReport.Unread.
func WithoutReading() Option { return func(c *config) { c.noRead = true } }
