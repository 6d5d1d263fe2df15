package sink

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Option configures a Sink.
type Option func(*config)

type config struct {
	prefix         string
	enc            format.Encoder
	flushBytes     int64
	flushRecords   int64
	flushInterval  time.Duration
	concurrency    int
	deadlineMargin time.Duration
	bufferCache    int
	readChunk      int
	now            func() time.Time
	log            zerolog.Logger
	router         Router
	keep           func(*events.Record) bool
	invalid        InvalidPolicy
	maxFolders     int
	// flushIdle: SealIdle seals an open object whose last append is this
	// old (0: idle sealing off).
	flushIdle time.Duration
	// finalize, when finalizeSet, overrides the encoder's Final.
	finalize, finalizeSet bool
	// class, sse, sseKeyID, tags: see WithStorageClass, WithSSE, WithTags.
	class         store.StorageClass
	sse, sseKeyID string
	tags          []store.Tag
}

// Defaults, shared with the configuration package's documentation.
const (
	DefaultFlushBytes     = 64 << 20
	DefaultFlushInterval  = 10 * time.Minute
	DefaultConcurrency    = 64
	DefaultDeadlineMargin = 2 * time.Second
	DefaultBufferCache    = 64 << 20
	// MaxLargeReaders bounds the partitions, across the Sink's concurrent
	// calls, that read large ranges of objects at once (recovery, the
	// duplicate check, finalizing staged objects: chunks of up to
	// WithReadChunk, 4 MiB by default, and Parquet's row groups), so that
	// a concurrency of 64 holds no more of them than 8 did: 8 x 4 MiB.
	MaxLargeReaders = 8
	// MaxOpenFolders bounds the folders whose open object a partition's
	// meta object records (see WithMaxOpenFolders).
	MaxOpenFolders = 100
	// MaxFlushBytes keeps objects under OSS's 5 GB limit on appendable
	// objects, with room for the record that crosses the threshold.
	MaxFlushBytes = 4 << 30
	// MinFlushIdle and MaxFlushIdle bound WithFlushIdle: the timer that
	// runs SealIdle fires every few minutes, so a shorter idle time only
	// makes an object per run; past a week an object is better sealed by
	// SINK_FLUSH_INTERVAL (record time).
	MinFlushIdle = time.Minute
	MaxFlushIdle = 7 * 24 * time.Hour
)

func defaultCfg() config {
	return config{
		flushBytes:     DefaultFlushBytes,
		flushInterval:  DefaultFlushInterval,
		concurrency:    DefaultConcurrency,
		deadlineMargin: DefaultDeadlineMargin,
		bufferCache:    DefaultBufferCache,
		readChunk:      DefaultReadChunk,
		maxFolders:     MaxOpenFolders,
		now:            time.Now,
		log:            zerolog.Nop(),
	}
}

func (c *config) validate() error {
	var errs []error
	if c.flushBytes <= 0 || c.flushBytes > MaxFlushBytes {
		errs = append(errs, fmt.Errorf("flush bytes %d out of range (1..%d)", c.flushBytes, int64(MaxFlushBytes)))
	}
	if c.flushRecords < 0 {
		errs = append(errs, fmt.Errorf("flush records %d is negative", c.flushRecords))
	}
	if c.flushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush interval %v is negative", c.flushInterval))
	}
	if c.concurrency < 1 {
		errs = append(errs, fmt.Errorf("concurrency %d must be at least 1", c.concurrency))
	}
	if c.bufferCache < 0 {
		errs = append(errs, fmt.Errorf("buffer cache %d is negative", c.bufferCache))
	}
	if c.readChunk < 1 {
		errs = append(errs, fmt.Errorf("read chunk %d must be at least 1", c.readChunk))
	}
	if c.maxFolders < 1 {
		errs = append(errs, fmt.Errorf("open folders %d must be at least 1", c.maxFolders))
	}
	if c.invalid > InvalidDrop {
		errs = append(errs, fmt.Errorf("unknown invalid-record policy %d", c.invalid))
	}
	if c.flushIdle != 0 && (c.flushIdle < MinFlushIdle || c.flushIdle > MaxFlushIdle) {
		errs = append(errs, fmt.Errorf("flush idle %v out of range (%v..%v, or 0 for off)", c.flushIdle, MinFlushIdle, MaxFlushIdle))
	}
	if c.deadlineMargin < 0 {
		errs = append(errs, fmt.Errorf("deadline margin %v is negative", c.deadlineMargin))
	}
	errs = append(errs, c.validateWrites()...)
	return errors.Join(errs...)
}

// MaxUserTags is how many WithTags tags a sink accepts: OSS allows 10
// tags per object, and the sink's own (SinkTagKeys) take the rest.
const MaxUserTags = 10 - len(SinkTagKeys)

// SinkTagKeys are the tags the sink sets on every data object it writes
// whole (see finalOptions); WithTags may not use them.
var SinkTagKeys = [...]string{"topic", "partition", "first-offset", "last-offset", "records", "format", "compression"}

// validateWrites checks the write options against what OSS accepts for
// the objects they go on: appendable data objects (not finalized) take
// only Standard, IA and Archive and no customer KMS key; every object
// at most 10 tags (the sink's own among them). Refusals are permanent:
// the reason is a setting, not the store.
func (c *config) validateWrites() []error {
	var errs []error
	staged := c.enc.Staged()
	if c.class != "" {
		if _, err := store.ParseStorageClass(string(c.class)); err != nil {
			errs = append(errs, err)
		} else if !staged && !c.class.Appendable() {
			errs = append(errs, fmt.Errorf("storage class %s needs finalize: OSS refuses it for appendable objects (only Standard, IA and Archive), "+
				"so objects must be staged and written whole when sealed", c.class))
		}
	}
	switch c.sse {
	case "", "AES256", "KMS", "SM4":
	default:
		errs = append(errs, fmt.Errorf("unknown server-side encryption %q: want AES256, KMS or SM4", c.sse))
	}
	if c.sseKeyID != "" {
		if c.sse != "KMS" {
			errs = append(errs, fmt.Errorf("a KMS key id needs the encryption KMS, not %q", c.sse))
		} else if !staged {
			errs = append(errs, errors.New("a customer KMS key needs finalize: OSS refuses one for appendable objects"))
		}
	}
	if len(c.tags) > MaxUserTags {
		errs = append(errs, fmt.Errorf("%d tags: OSS allows 10 per object, and the sink sets %d of its own (%v), which leaves %d",
			len(c.tags), len(SinkTagKeys), SinkTagKeys, MaxUserTags))
	}
	for _, t := range c.tags {
		for _, k := range SinkTagKeys {
			if strings.EqualFold(t.Key, k) {
				errs = append(errs, fmt.Errorf("tag %q is one the sink sets itself", t.Key))
			}
		}
	}
	if err := store.CheckWriteOptions(store.WriteOptions{Tags: c.tags}, false); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// WithPrefix sets the key prefix of every object (OSS_PREFIX). A non-empty
// prefix without a trailing '/' gets one. Default: "".
func WithPrefix(p string) Option { return func(c *config) { c.prefix = NormalizePrefix(p) } }

// WithEncoder sets the output format. Default: raw, text values.
func WithEncoder(e format.Encoder) Option { return func(c *config) { c.enc = e } }

// WithFinalize stages every object and writes it whole, as a normal
// object, when it is sealed (SINK_FINALIZE; see "Staging" in the package
// doc), or (false) appends records to the data object itself, readable at
// once. It sets the encoder's Final whatever the order of options; Parquet
// is staged either way. Default: the encoder's Final.
func WithFinalize(on bool) Option {
	return func(c *config) { c.finalize, c.finalizeSet = on, true }
}

// WithStorageClass sets the storage class of the data objects
// (SINK_STORAGE_CLASS): on the PUT of objects written whole when sealed,
// or on the append that creates an appendable one, which OSS allows for
// Standard, IA and Archive only (New refuses the others without
// finalize). Meta objects, indexes and staging objects always stay
// Standard. Default: "" (the bucket's default for data objects).
func WithStorageClass(class store.StorageClass) Option { return func(c *config) { c.class = class } }

// WithSSE sets the server-side encryption of data objects and their
// staging objects (SINK_SSE: "AES256", "KMS" or "SM4"), and the customer
// KMS key of data objects written whole (SINK_SSE_KMS_KEY_ID, with KMS;
// appendable objects, staging objects among them, cannot use one: they
// get the default KMS key). Default: none (the bucket's default).
func WithSSE(algorithm, keyID string) Option {
	return func(c *config) { c.sse, c.sseKeyID = algorithm, keyID }
}

// WithTags adds static tags (SINK_TAGS) to the sink's own on every data
// object written whole (at most MaxUserTags, none of SinkTagKeys).
// Appendable objects get no tags (see the package doc). Default: none.
func WithTags(tags ...store.Tag) Option {
	return func(c *config) { c.tags = append([]store.Tag(nil), tags...) }
}

// WithFlushBytes seals a data object once it holds at least n bytes; the
// next record opens a new object. Default: 64 MiB.
func WithFlushBytes(n int64) Option { return func(c *config) { c.flushBytes = n } }

// WithFlushRecords seals a data object once it holds n records; 0 means no
// limit. Default: 0.
func WithFlushRecords(n int64) Option { return func(c *config) { c.flushRecords = n } }

// WithFlushInterval seals a data object before a record whose Kafka
// timestamp is d or more after the oldest record's in the object; 0 means no
// limit. Age is measured in record time, not by the clock, so that retries
// and racing invocations make the same decision. Default: 10m.
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

// WithConcurrency bounds how many partitions of one batch are written at
// once: a batch of p partitions writes min(p, n) at a time, so wall time
// follows the requests of the slowest partitions, not their number (512
// partitions of 4 requests at 5 ms each: 8 rounds of 64, about 160 ms,
// against 1.3 s at 8). Default: 64 (DefaultConcurrency), chosen because
//
//   - memory in flight does not grow with it: a partition's encoding
//     buffer holds its share of the batch, whatever the number written at
//     once, and the requests of the steady path carry small bodies besides
//     (meta objects of a few KB, index entries); the reads that hold data
//     (recovery, the duplicate check, finalizing staged objects) take a
//     place among MaxLargeReaders first, and compressors are bounded apart
//     (one per core);
//   - 64 requests in flight stay far below what one OSS client may send
//     (a bucket takes thousands of requests per second; 64 at 5-20 ms is
//     3,000-13,000 a second only for the moment a 512-partition batch
//     takes) and within the SDK's connection pool.
//
// SealIdle uses the same bound.
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithDeadlineMargin makes Write stop starting storage requests this long
// before the context's deadline, so that it can still report an error (and
// the trigger redeliver) before the platform kills the invocation.
// Default: 2s.
func WithDeadlineMargin(d time.Duration) Option { return func(c *config) { c.deadlineMargin = d } }

// WithBufferCache sets how many bytes of encoding buffers a Sink keeps for
// its next Write calls; 0 keeps none. Default: 64 MiB.
func WithBufferCache(n int) Option { return func(c *config) { c.bufferCache = n } }

// WithReadChunk sets the largest ranged read on recovery paths (what an
// earlier attempt left, records checked against the store), so that memory
// does not grow with what there is to read. Default: DefaultReadChunk.
func WithReadChunk(n int) Option { return func(c *config) { c.readChunk = n } }

// WithClock replaces time.Now, which dates meta objects (updated_at,
// opened_at); nothing the protocol decides depends on it.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets the logger for per-partition progress. Write adds the
// fields of the logger in its context (zerolog.Ctx), such as a request id.
// Default: no logging.
func WithLogger(l zerolog.Logger) Option { return func(c *config) { c.log = l } }

// WithRouter places each record in the folder r gives it (SINK_FOLDER).
// Default: every record in its topic's own directory, {topic}/.
func WithRouter(r Router) Option { return func(c *config) { c.router = r } }

// WithFilter stores only the records keep returns true for; the others are
// counted (Filtered in the summary) and committed, like written ones. keep
// must be a pure function of the record (a retry must decide alike) and
// safe for concurrent use. Default: every record is stored.
func WithFilter(keep func(*events.Record) bool) Option { return func(c *config) { c.keep = keep } }

// WithInvalid says what happens to a record whose folder the router cannot
// compute (SINK_INVALID). Default: InvalidFolder.
func WithInvalid(p InvalidPolicy) Option { return func(c *config) { c.invalid = p } }

// WithMaxOpenFolders bounds the folders whose open object a partition's
// meta object records; past it, the folders whose last record has the
// smallest offset are closed (see package doc, "Routing"). Default:
// MaxOpenFolders.
func WithMaxOpenFolders(n int) Option { return func(c *config) { c.maxFolders = n } }

// WithFlushIdle makes SealIdle seal (and finalize) a partition's open
// objects whose last append is d or more before the time it is given
// (SINK_FLUSH_IDLE, run by the timer trigger); 0 turns idle sealing off.
// Write never seals by the clock: only SealIdle does, and its seal entry,
// fenced like every decision, is what data invocations then follow (see
// the package doc, "Idle sealing"). Default: 0.
func WithFlushIdle(d time.Duration) Option { return func(c *config) { c.flushIdle = d } }
