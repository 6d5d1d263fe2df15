package consume

import (
	"time"

	"github.com/rs/zerolog"
)

// Start is where a consumer group without committed offsets begins.
type Start int

const (
	StartEarliest Start = iota // the oldest retained record (default)
	StartLatest                // records produced after the group joined
)

// Defaults, as the FC trigger's batch window defaults.
const (
	DefaultBatchCount     = 100
	DefaultBatchWindow    = time.Second
	DefaultRetries        = 3
	DefaultBackoff        = 500 * time.Millisecond
	DefaultMaxBackoff     = 20 * time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultClientID       = "kafka-oss-sink"
)

// SASL mechanisms.
const (
	SASLPlain        = "PLAIN"
	SASLSCRAMSHA256  = "SCRAM-SHA-256"
	SASLSCRAMSHA512  = "SCRAM-SHA-512"
	deadLetterPrefix = "kafka-oss-sink-"
)

type options struct {
	brokers        []string
	group          string
	topics         []string
	clientID       string
	batchCount     int
	batchWindow    time.Duration
	start          Start
	retries        int
	backoff        time.Duration
	maxBackoff     time.Duration
	deadLetter     string
	saslMechanism  string
	saslUser       string
	saslPassword   string
	tls            bool
	tlsCAFile      string
	connectTimeout time.Duration
	storeTimeout   time.Duration
	log            zerolog.Logger
	// Progress and stopping (progress.go).
	until         bool
	stored        StoredFunc
	progressEvery time.Duration
	progress      func(Progress)
	startOffset   int64
	startTime     time.Time
	startSet      bool
	// invoke replaces the handler call; tests only.
	invoke invokeFunc
}

// Option configures Run.
type Option func(*options)

// Brokers sets the bootstrap servers (host:port). Required.
func Brokers(addrs ...string) Option {
	return func(o *options) { o.brokers = append(o.brokers, addrs...) }
}

// Group sets the consumer group id. Required.
func Group(id string) Option { return func(o *options) { o.group = id } }

// Topics adds topics to consume. At least one is required; every one must exist.
func Topics(topics ...string) Option {
	return func(o *options) { o.topics = append(o.topics, topics...) }
}

// ClientID sets the Kafka client id (default DefaultClientID).
func ClientID(id string) Option { return func(o *options) { o.clientID = id } }

// CountBasedWindow cuts a batch at n records (default DefaultBatchCount).
func CountBasedWindow(n int) Option { return func(o *options) { o.batchCount = n } }

// TimeBasedWindow cuts a batch d after its first record arrived (default
// DefaultBatchWindow). 0: no waiting, a batch is what has already arrived
// (up to the count).
func TimeBasedWindow(d time.Duration) Option { return func(o *options) { o.batchWindow = d } }

// StartAt sets where a group without committed offsets begins.
func StartAt(s Start) Option { return func(o *options) { o.start = s } }

// Retries sets how many times a failed batch is retried (default
// DefaultRetries; 0: no retry), with exponential backoff starting at
// initial and capped at max (0 keeps the defaults).
func Retries(n int, initial, max time.Duration) Option {
	return func(o *options) {
		o.retries = n
		if initial > 0 {
			o.backoff = initial
		}
		if max > 0 {
			o.maxBackoff = max
		}
	}
}

// DeadLetterTopic makes a batch that failed past its retries go to topic
// (records with their key, value and headers, plus headers naming the
// source and the error) and consumption continue. Without it, Run stops.
func DeadLetterTopic(topic string) Option { return func(o *options) { o.deadLetter = topic } }

// SASL enables SASL/PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
func SASL(mechanism, user, password string) Option {
	return func(o *options) { o.saslMechanism, o.saslUser, o.saslPassword = mechanism, user, password }
}

// TLS enables TLS; caFile (PEM), when not empty, replaces the system roots.
func TLS(caFile string) Option { return func(o *options) { o.tls, o.tlsCAFile = true, caFile } }

// ConnectTimeout bounds dialing a broker and each metadata request, so that
// bad connection settings fail instead of hanging (default
// DefaultConnectTimeout).
func ConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// Logger sets the logger of Run's own messages (start, retries, dead
// letters, stop). Batch summaries come from the handler's log.
func Logger(l zerolog.Logger) Option { return func(o *options) { o.log = l } }

// withInvoke replaces the handler call (tests).
func withInvoke(f invokeFunc) Option { return func(o *options) { o.invoke = f } }
