package restore

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Defaults.
const (
	DefaultChunkRecords   = 500
	DefaultConnectTimeout = 5 * time.Second
	DefaultClientID       = "kafka-oss-sink-restore"
)

// Kafka is how to reach the target cluster. Password is used for SASL only
// and never logged.
type Kafka struct {
	Brokers        []string
	ClientID       string        // default DefaultClientID
	SASLMechanism  string        // "", PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	SASLUser       string        //
	SASLPassword   string        //
	TLS            bool          //
	TLSCAFile      string        // PEM; "" keeps the system roots
	ConnectTimeout time.Duration // default DefaultConnectTimeout
}

// Progress is reported after each produced chunk (and once at the end).
type Progress struct {
	Records    int64         // records produced (or counted, dry run) so far
	Bytes      int64         // object bytes consumed so far
	TotalBytes int64         // bytes of every selected object
	Elapsed    time.Duration //
	Rate       float64       // records per second
	ETA        time.Duration // from the byte rate; 0 when unknown
}

// Option configures Run.
type Option func(*options)

type options struct {
	prefix     string
	topic      string
	target     string
	partitions []int32
	fromOffset int64
	toOffset   int64
	fromTime   time.Time
	toTime     time.Time
	dryRun     bool
	valueEnc   events.ValueEncoding
	encSet     bool
	chunk      int
	progress   func(Progress)
	log        zerolog.Logger

	allowSource bool
	epoch       int64 // -1: the only one
	reset       bool
	ckStore     store.Store // nil: the backup's store
	ckPrefix    string
	ckSource    string

	tier      store.RestoreTier
	days      int
	poll      time.Duration
	noWait    bool
	onArchive func(ArchiveSummary)

	dirs           []string
	dirFunc        func(topic string, partition int32) []string
	excludeInvalid bool
}

// Prefix sets the key prefix the sink wrote under.
func Prefix(p string) Option { return func(o *options) { o.prefix = p } }

// Topic sets the source topic (required).
func Topic(t string) Option { return func(o *options) { o.topic = t } }

// TargetTopic sets the topic to produce to (required). Producing into the
// source topic itself also needs AllowSourceTopic.
func TargetTopic(t string) Option { return func(o *options) { o.target = t } }

// AllowSourceTopic allows a target topic named as the source topic (default
// false): the backup does not say which cluster it came from, so a target of
// that name may be the very topic the records were backed up from.
func AllowSourceTopic(b bool) Option { return func(o *options) { o.allowSource = b } }

// Epoch restores the objects of this epoch of each partition (see package
// sink: a recreated topic starts a new epoch, whose offsets start again).
// Default (-1): the only epoch a partition has objects of; Run refuses a
// partition with objects of several epochs.
func Epoch(n int64) Option { return func(o *options) { o.epoch = n } }

// ResetCheckpoint makes Run ignore the checkpoints and start over (default
// false): every selected record is produced again, also those a previous
// run produced to the target.
func ResetCheckpoint(b bool) Option { return func(o *options) { o.reset = b } }

// Checkpoints keeps the checkpoints in st under prefix instead of next to
// the data (default: the backup's store and prefix), for backups that are
// read-only. source names the backup (say "oss://bucket/prefix/"), so that
// checkpoints of different backups kept in one place stay apart; it must be
// the same on every run.
func Checkpoints(st store.Store, prefix, source string) Option {
	return func(o *options) { o.ckStore, o.ckPrefix, o.ckSource = st, prefix, source }
}

// Dirs adds directories, relative to the prefix, to search for the
// topic's data objects: each is "" (the whole prefix) or ends in '/'. The
// sink puts a partition's objects where its routing template (SINK_FOLDER)
// says: pass the template's static leading directory (for
// "{topic}/dt={yyyy}-{MM}-{dd}/" that is the topic's own directory, for
// "{header:tenant}/{topic}/" it is ""). Default: none beyond the topic's
// own directory and invalidRuleData/{topic}/ (unless ExcludeInvalid).
//
// Each directory is listed once per run, not once per partition, and not
// at all when another listing covers it. A directory shared by many topics
// (a template that does not start with {topic}) is listed whole: an object
// there is the topic's when its key is the one sink.ObjectKey derives for
// the topic, its directory's folder name, partition, first offset and an
// epoch; other topics' objects are counted (Summary.OtherObjects) and left
// alone. That listing is the price of such a template.
func Dirs(dirs ...string) Option { return func(o *options) { o.dirs = append(o.dirs, dirs...) } }

// DirFunc is Dirs with directories that depend on the partition
// (route.Router.StaticDir): fn is called with the topic and each partition
// known from the topic's own directory (meta and data objects) and asked
// for (Partitions), and returns its directories, as Dirs takes them.
// Default: none.
func DirFunc(fn func(topic string, partition int32) []string) Option {
	return func(o *options) { o.dirFunc = fn }
}

// ExcludeInvalid leaves out the records in invalidRuleData/{topic}/, those
// whose folder the sink's routing template could not compute
// (SINK_INVALID=folder). Default false: they are restored with the others,
// in offset order. The checkpoint remembers that a run left them out, so a
// later run that includes them produces them (and nothing else again);
// invalidRuleData/{topic}/ is still listed, and read only for a chunk an
// interrupted run that included them had announced.
func ExcludeInvalid(b bool) Option { return func(o *options) { o.excludeInvalid = b } }

// Partitions restricts the restore to these partitions (default: all found).
func Partitions(ps ...int32) Option {
	return func(o *options) { o.partitions = append(o.partitions, ps...) }
}

// OffsetRange restores only offsets in [from, to]; a negative bound is open.
func OffsetRange(from, to int64) Option {
	return func(o *options) { o.fromOffset, o.toOffset = from, to }
}

// TimeRange restores only records whose timestamp is in [from, to]; a zero
// bound is open. Only records stored with their timestamp: not raw, nor
// SINK_FIELDS without timestamp (Run refuses those).
func TimeRange(from, to time.Time) Option {
	return func(o *options) { o.fromTime, o.toTime = from, to }
}

// DryRun makes Run count what it would produce, producing and writing
// nothing. Without brokers it does not connect to Kafka and cannot consult
// the checkpoints (they are per target cluster); with brokers it reads the
// checkpoints and the target partitions.
func DryRun(b bool) Option { return func(o *options) { o.dryRun = b } }

// ValueEncoding says how JSONL string values of objects without a record
// index were written (events.Text or events.Base64, as
// SINK_VALUE_ENCODING); indexed objects are read in the encoding their
// index names. Default: what the meta object records, else text.
func ValueEncoding(e events.ValueEncoding) Option {
	return func(o *options) { o.valueEnc, o.encSet = e, true }
}

// ChunkRecords sets how many records are produced per checkpoint write
// (default DefaultChunkRecords); a resumed run reads back at most that many
// records of the target partition.
func ChunkRecords(n int) Option { return func(o *options) { o.chunk = n } }

// OnProgress sets a callback for progress reports. It is called from one
// goroutine at a time.
func OnProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// Logger sets the logger of Run's messages (never record contents).
func Logger(l zerolog.Logger) Option { return func(o *options) { o.log = l } }
