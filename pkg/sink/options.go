package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
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
}

// Defaults, shared with the configuration package's documentation.
const (
	DefaultFlushBytes     = 64 << 20
	DefaultFlushInterval  = 10 * time.Minute
	DefaultConcurrency    = 8
	DefaultDeadlineMargin = 2 * time.Second
	DefaultBufferCache    = 64 << 20
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
	return errors.Join(errs...)
}

// WithPrefix sets the key prefix of every object (OSS_PREFIX). A non-empty
// prefix without a trailing '/' gets one. Default: "".
func WithPrefix(p string) Option { return func(c *config) { c.prefix = NormalizePrefix(p) } }

// WithEncoder sets the output format. Default: raw, text values.
func WithEncoder(e format.Encoder) Option { return func(c *config) { c.enc = e } }

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

// WithConcurrency sets how many partitions of one batch are written at once.
// Default: 8.
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
