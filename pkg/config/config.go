// Package config reads the sink's configuration from environment variables,
// validates all of it at once, and reports every problem with the variable's
// name and value. The names are fixed: deployment templates set them.
//
//	OSS_BUCKET           bucket name; set means "write to OSS", unset means the local directory store
//	OSS_ENDPOINT         e.g. oss-cn-hangzhou-internal.aliyuncs.com or http://127.0.0.1:9000 (a host,
//	                     or a scheme and a host; never user info); default oss-{FC_REGION}-internal.aliyuncs.com
//	OSS_PREFIX           key prefix, default ""; a trailing '/' is added if missing; UTF-8, at most
//	                     MaxPrefixLen bytes, not starting with '/' or a backslash
//	SINK_FORMAT          raw (default) | jsonl | csv | parquet
//	SINK_FIELDS          the fields jsonl, csv and parquet write, in this order: a comma list of
//	                     topic,partition,offset,timestamp,key,value,headers (default: all, in that order)
//	SINK_COMPRESSION     none (default) | gzip | zstd | snappy (parquet: its column codec)
//	SINK_VALUE_ENCODING  text (default) | base64 (the trigger's Binary data format)
//	SINK_FINALIZE        false (default: appendable objects, readable at once) | true (staged, written whole
//	                     as normal objects when sealed; always so for parquet, which accepts false)
//	SINK_STORAGE_CLASS   Standard (default) | IA | Archive | ColdArchive | DeepColdArchive, of the data
//	                     objects; ColdArchive and DeepColdArchive need SINK_FINALIZE=true
//	SINK_SSE             none (default: the bucket's) | AES256 | KMS | SM4, of data and staging objects
//	SINK_SSE_KMS_KEY_ID  a customer KMS key for SINK_SSE=KMS; needs SINK_FINALIZE=true
//	SINK_TAGS            static tags k=v,... of the data objects written whole, besides the sink's own
//	SINK_FLUSH_BYTES     seal a data object at this size; bytes or 64MiB-style, default 64MiB
//	SINK_FLUSH_RECORDS   seal a data object at this many records; 0 (default) = no limit
//	SINK_FLUSH_INTERVAL  seal a data object before a record this much newer (Kafka timestamps) than its first (Go duration), default 10m; 0 = never
//	SINK_FLUSH_IDLE      seal (and finalize) an open data object this long after its last append, by the
//	                     timer trigger's invocations (Go duration, 1m..168h); unset (default) = off
//	SINK_FOLDER          folder template between OSS_PREFIX and the file name, default {topic}/ (package route)
//	SINK_TIMEZONE        IANA zone of the folder's time tokens, default UTC
//	SINK_INVALID         records the template cannot place: folder (default, invalidRuleData/{topic}/) | fail | drop
//	SINK_FILTER          keep/drop rules (package filter), default: keep every record
//	SINK_LOCAL_DIR       directory of the local store, default ./oss-local
//	LOG_LEVEL            debug | info (default) | warn | error
//
// FC_REGION (set by Function Compute) supplies the default endpoint's region.
//
// Errors are one *Error listing every problem on one line. They quote the
// values, except that an endpoint's user info (which could hold a
// password) is replaced by REDACTED: an endpoint with user info is refused.
package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/filter"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Variable names.
const (
	EnvBucket        = "OSS_BUCKET"
	EnvEndpoint      = "OSS_ENDPOINT"
	EnvPrefix        = "OSS_PREFIX"
	EnvFormat        = "SINK_FORMAT"
	EnvFields        = "SINK_FIELDS"
	EnvCompression   = "SINK_COMPRESSION"
	EnvValueEncoding = "SINK_VALUE_ENCODING"
	EnvFinalize      = "SINK_FINALIZE"
	EnvStorageClass  = "SINK_STORAGE_CLASS"
	EnvSSE           = "SINK_SSE"
	EnvSSEKeyID      = "SINK_SSE_KMS_KEY_ID"
	EnvTags          = "SINK_TAGS"
	EnvFlushBytes    = "SINK_FLUSH_BYTES"
	EnvFlushRecords  = "SINK_FLUSH_RECORDS"
	EnvFlushInterval = "SINK_FLUSH_INTERVAL"
	EnvFlushIdle     = "SINK_FLUSH_IDLE"
	EnvFolder        = "SINK_FOLDER"
	EnvTimezone      = "SINK_TIMEZONE"
	EnvInvalid       = "SINK_INVALID"
	EnvFilter        = "SINK_FILTER"
	EnvLocalDir      = "SINK_LOCAL_DIR"
	EnvLogLevel      = "LOG_LEVEL"
	EnvRegion        = "FC_REGION"
)

// Known lists every variable this package reads, for checks of deployment
// files.
func Known() []string {
	return []string{EnvBucket, EnvEndpoint, EnvPrefix, EnvFormat, EnvFields, EnvCompression, EnvValueEncoding,
		EnvFinalize, EnvStorageClass, EnvSSE, EnvSSEKeyID, EnvTags, EnvFlushBytes, EnvFlushRecords, EnvFlushInterval, EnvFlushIdle, EnvFolder, EnvTimezone, EnvInvalid, EnvFilter, EnvLocalDir, EnvLogLevel, EnvRegion}
}

// MaxPrefixLen is the longest OSS_PREFIX: a key is the prefix, the topic
// (up to 249 bytes) and the object's name, within OSS's 1,023 bytes.
const MaxPrefixLen = 512

// DefaultLocalDir is where the local store writes when OSS_BUCKET is unset.
const DefaultLocalDir = "oss-local"

// Config is the validated configuration.
type Config struct {
	Bucket   string // "" selects the local directory store
	Endpoint string // resolved (default applied) when Bucket is set
	Prefix   string // normalized: "" or ending in '/'
	// Encoder is the data objects' encoding; Encoder.Final is
	// SINK_FINALIZE (Encoder.Staged: staged and written whole when sealed,
	// also for Parquet).
	Encoder format.Encoder
	// StorageClass, SSE, SSEKeyID and Tags are the data objects' write
	// options (SINK_STORAGE_CLASS, SINK_SSE, SINK_SSE_KMS_KEY_ID,
	// SINK_TAGS); SSE "" is none (the bucket's default).
	StorageClass  store.StorageClass
	SSE, SSEKeyID string
	Tags          []store.Tag
	FlushBytes    int64
	FlushRecords  int64
	FlushInterval time.Duration
	// FlushIdle: the timer trigger's invocations seal open objects whose
	// last append is this old (SINK_FLUSH_IDLE); 0 = off.
	FlushIdle time.Duration
	// Router places records in folders (SINK_FOLDER, SINK_TIMEZONE); nil
	// for the default {topic}/.
	Router  *route.Router
	Invalid sink.InvalidPolicy
	// Filter keeps or drops records (SINK_FILTER); nil keeps every one.
	Filter   *filter.Filter
	LocalDir string
	LogLevel zerolog.Level
	Region   string
	// Warnings are settings that are valid but have no effect, for the
	// function to log at start.
	Warnings []string
}

// UseOSS reports whether the configuration selects OSS.
func (c Config) UseOSS() bool { return c.Bucket != "" }

// SinkOptions returns the sink options this configuration implies.
func (c Config) SinkOptions() []sink.Option {
	opts := []sink.Option{
		sink.WithPrefix(c.Prefix),
		sink.WithEncoder(c.Encoder),
		sink.WithFlushBytes(c.FlushBytes),
		sink.WithFlushRecords(c.FlushRecords),
		sink.WithFlushInterval(c.FlushInterval),
	}
	if c.FlushIdle > 0 {
		opts = append(opts, sink.WithFlushIdle(c.FlushIdle))
	}
	if c.Router != nil {
		opts = append(opts, sink.WithRouter(c.Router), sink.WithInvalid(c.Invalid))
	}
	if c.Filter != nil {
		opts = append(opts, sink.WithFilter(c.Filter.Keep))
	}
	if c.StorageClass != "" {
		opts = append(opts, sink.WithStorageClass(c.StorageClass))
	}
	if c.SSE != "" {
		opts = append(opts, sink.WithSSE(c.SSE, c.SSEKeyID))
	}
	if len(c.Tags) > 0 {
		opts = append(opts, sink.WithTags(c.Tags...))
	}
	return opts
}

// Folder returns the folder template in effect (SINK_FOLDER).
func (c Config) Folder() string {
	if c.Router == nil {
		return route.DefaultTemplate
	}
	return c.Router.String()
}

// FromEnv reads the configuration through getenv (os.Getenv in production).
// The error lists every invalid variable, not only the first.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Bucket:        strings.TrimSpace(getenv(EnvBucket)),
		Endpoint:      strings.TrimSpace(getenv(EnvEndpoint)),
		Prefix:        sink.NormalizePrefix(getenv(EnvPrefix)),
		StorageClass:  store.Standard,
		FlushBytes:    sink.DefaultFlushBytes,
		FlushInterval: sink.DefaultFlushInterval,
		LocalDir:      DefaultLocalDir,
		LogLevel:      zerolog.InfoLevel,
		Region:        strings.TrimSpace(getenv(EnvRegion)),
	}
	var errs []error
	bad := func(name, value, why string) {
		errs = append(errs, fmt.Errorf("%s=%q: %s", name, value, why))
	}
	if v := getenv(EnvFormat); v != "" {
		f, err := format.Parse(strings.ToLower(strings.TrimSpace(v)))
		if err != nil {
			bad(EnvFormat, v, "want raw, jsonl, csv or parquet")
		}
		c.Encoder.Format = f
	}
	fv := getenv(EnvFields)
	fields, err := format.ParseFields(strings.ToLower(strings.TrimSpace(fv)))
	switch {
	case err != nil:
		bad(EnvFields, fv, err.Error())
	case c.Encoder.Format != format.Raw:
		c.Encoder.Fields = fields
	case strings.TrimSpace(fv) != "":
		c.Warnings = append(c.Warnings, EnvFields+" has no effect with "+EnvFormat+"=raw: raw objects hold the values alone")
	}
	cv := getenv(EnvCompression)
	codec, err := format.ParseCodec(strings.ToLower(strings.TrimSpace(cv)))
	if err != nil {
		bad(EnvCompression, cv, "want none, gzip, zstd or snappy")
	}
	c.Encoder.Codec = codec
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvValueEncoding))); v {
	case "", "text":
		c.Encoder.ValueEncoding = events.Text
	case "base64", "binary":
		c.Encoder.ValueEncoding = events.Base64
	default:
		bad(EnvValueEncoding, getenv(EnvValueEncoding), "want text or base64")
	}
	c.archive(getenv, bad)
	if v := getenv(EnvFlushBytes); v != "" {
		n, err := ParseSize(v)
		switch {
		case err != nil:
			bad(EnvFlushBytes, v, err.Error())
		case n < 1 || n > sink.MaxFlushBytes:
			bad(EnvFlushBytes, v, fmt.Sprintf("must be between 1 and %d (4GiB; OSS appendable objects stop at 5GB)", int64(sink.MaxFlushBytes)))
		}
		c.FlushBytes = n
	}
	if v := getenv(EnvFlushRecords); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			bad(EnvFlushRecords, v, "want a whole number >= 0 (0 = no limit)")
		}
		c.FlushRecords = n
	}
	if v := getenv(EnvFlushInterval); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			bad(EnvFlushInterval, v, "want a Go duration such as 10m, 1h30m or 0 (never)")
		}
		c.FlushInterval = d
	}
	if v := strings.TrimSpace(getenv(EnvFlushIdle)); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(EnvFlushIdle, v, "want a Go duration such as 15m or 1h (unset or 0: off)")
		case d == 0:
			// Off, as 0 turns SINK_FLUSH_INTERVAL and SINK_FLUSH_RECORDS off.
		case d < sink.MinFlushIdle || d > sink.MaxFlushIdle:
			bad(EnvFlushIdle, v, fmt.Sprintf("must be between %v (the timer trigger runs every few minutes: shorter would seal an object per run) and %v (older objects are sealed by %s, in record time); unset it to turn idle sealing off",
				sink.MinFlushIdle, sink.MaxFlushIdle, EnvFlushInterval))
		}
		c.FlushIdle = d
	}
	c.Router, c.Invalid, c.Filter, errs = routing(getenv, c.Prefix, errs)
	if v := getenv(EnvLocalDir); v != "" {
		c.LocalDir = v
	}
	if v := getenv(EnvLogLevel); v != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(strings.TrimSpace(v)))
		if err != nil || l == zerolog.NoLevel {
			bad(EnvLogLevel, v, "want debug, info, warn or error")
		}
		c.LogLevel = l
	}
	if c.Bucket != "" {
		if !validBucket(c.Bucket) {
			bad(EnvBucket, c.Bucket, "not a valid bucket name (3-63 characters: lowercase letters, digits, '-')")
		}
		if c.Endpoint == "" {
			if c.Region == "" {
				errs = append(errs, fmt.Errorf("%s is set but neither %s nor %s is: cannot choose an OSS endpoint", EnvBucket, EnvEndpoint, EnvRegion))
			} else {
				c.Endpoint = "oss-" + c.Region + "-internal.aliyuncs.com"
			}
		}
	} else if c.Endpoint != "" {
		errs = append(errs, fmt.Errorf("%s=%q is set but %s is not: set the bucket too, or unset the endpoint to write to the local directory", EnvEndpoint, redactEndpoint(c.Endpoint), EnvBucket))
	}
	if c.Endpoint != "" {
		if why := checkEndpoint(c.Endpoint); why != "" {
			bad(EnvEndpoint, redactEndpoint(c.Endpoint), why)
		}
	}
	switch {
	case strings.HasPrefix(c.Prefix, "/") || strings.HasPrefix(c.Prefix, "\\"):
		bad(EnvPrefix, c.Prefix, "must not start with '/' or a backslash (OSS refuses such keys)")
	case !utf8.ValidString(c.Prefix):
		bad(EnvPrefix, c.Prefix, "must be valid UTF-8 (OSS keys are)")
	case prefixSegmentProblem(c.Prefix) != "":
		bad(EnvPrefix, c.Prefix, prefixSegmentProblem(c.Prefix))
	case len(c.Prefix) > MaxPrefixLen:
		bad(EnvPrefix, c.Prefix[:32]+"...", fmt.Sprintf("is %d bytes long; at most %d leave room in OSS's 1,023-byte keys for the topic and the object name", len(c.Prefix), MaxPrefixLen))
	}
	if len(errs) > 0 {
		return Config{}, &Error{Problems: errs}
	}
	return c, nil
}

// archive reads SINK_FINALIZE, SINK_STORAGE_CLASS, SINK_SSE,
// SINK_SSE_KMS_KEY_ID and SINK_TAGS into c (whose Encoder is read), and
// refuses, with OSS's reason, what OSS would refuse on the objects they go
// on: appendable objects (without SINK_FINALIZE) take neither ColdArchive
// nor DeepColdArchive, nor a customer KMS key.
func (c *Config) archive(getenv func(string) string, bad func(name, value, why string)) {
	parquet := c.Encoder.Format == format.Parquet
	fv := getenv(EnvFinalize)
	switch v := strings.ToLower(strings.TrimSpace(fv)); v {
	case "", "false":
	case "true":
		c.Encoder.Final = !parquet
	default:
		bad(EnvFinalize, fv, "want true or false")
	}
	finalize := c.Encoder.Staged()
	if parquet && strings.TrimSpace(fv) != "" && !strings.EqualFold(strings.TrimSpace(fv), "true") {
		// Accepted: deployment files set SINK_FINALIZE=false by default.
		c.Warnings = append(c.Warnings, EnvFormat+"=parquet: objects are always staged and written whole when sealed, whatever "+EnvFinalize+" says")
	}
	if v := getenv(EnvStorageClass); strings.TrimSpace(v) != "" {
		class, err := store.ParseStorageClass(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad(EnvStorageClass, v, "want Standard, IA, Archive, ColdArchive or DeepColdArchive")
		case !class.Appendable() && !finalize:
			bad(EnvStorageClass, v, "OSS refuses "+string(class)+" for appendable objects (AppendObject takes Standard, IA or Archive only, "+
				"and lifecycle rules cannot move them there either): set "+EnvFinalize+"=true, so that objects are staged and written whole when sealed")
		case class == store.Archive && !finalize:
			c.Warnings = append(c.Warnings, EnvStorageClass+"=Archive without "+EnvFinalize+"=true: appendable Archive objects cannot be read "+
				"until restored (the sink's recovery then compares records by their index alone), and appendable objects download slower than normal ones")
		}
		c.StorageClass = class
	}
	sv := getenv(EnvSSE)
	switch v := strings.ToUpper(strings.TrimSpace(sv)); v {
	case "", "NONE":
	case "AES256", "KMS", "SM4":
		c.SSE = v
	default:
		bad(EnvSSE, sv, "want none, AES256, KMS or SM4")
	}
	if v := strings.TrimSpace(getenv(EnvSSEKeyID)); v != "" {
		switch {
		case c.SSE != "KMS":
			bad(EnvSSEKeyID, v, "a KMS key id needs "+EnvSSE+"=KMS")
		case !finalize:
			bad(EnvSSEKeyID, v, "OSS refuses a customer KMS key for appendable objects: set "+EnvFinalize+"=true (staging objects then use the default KMS key)")
		}
		c.SSEKeyID = v
	}
	if v := getenv(EnvTags); strings.TrimSpace(v) != "" {
		tags, why := parseTags(v)
		if why != "" {
			bad(EnvTags, v, why)
		} else if !finalize {
			c.Warnings = append(c.Warnings, EnvTags+" has no effect without "+EnvFinalize+"=true: only objects written whole are tagged")
		}
		c.Tags = tags
	}
}

// parseTags reads SINK_TAGS, "k=v,k2=v2" (spaces around keys and values
// trimmed), by OSS's tag rules and the sink's (its own keys are taken, and
// it leaves room for sink.MaxUserTags), or says why not.
func parseTags(s string) ([]store.Tag, string) {
	var tags []store.Tag
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Sprintf("%q: want key=value pairs separated by commas", kv)
		}
		for _, own := range sink.SinkTagKeys {
			if strings.EqualFold(k, own) {
				return nil, fmt.Sprintf("tag %q is one the sink sets itself (%s)", k, strings.Join(sink.SinkTagKeys[:], ", "))
			}
		}
		tags = append(tags, store.Tag{Key: k, Value: v})
	}
	if len(tags) > sink.MaxUserTags {
		return nil, fmt.Sprintf("%d tags: OSS allows 10 per object, and the sink sets %d of its own, which leaves %d", len(tags), len(sink.SinkTagKeys), sink.MaxUserTags)
	}
	if err := store.CheckWriteOptions(store.WriteOptions{Tags: tags}, false); err != nil {
		return nil, strings.TrimPrefix(err.Error(), store.ErrUnsupported.Error()+": ")
	}
	return tags, ""
}

// maxObjectName is the longest name a data object's index (or staging
// object) can have in its folder: ".oss_index_partition_{p}_offset_{first}_{8 hex}"
// and the longest extension.
const maxObjectName = len(".oss_index_partition_2147483647_offset_9223372036854775807_12345678.jsonl.zst")

// Routing reads SINK_FOLDER, SINK_TIMEZONE, SINK_INVALID and SINK_FILTER
// alone, as FromEnv does, for tools that must know where and whether the
// sink stores a record (sinkctl verify). The Router is nil for the default
// template.
func Routing(getenv func(string) string) (*route.Router, sink.InvalidPolicy, *filter.Filter, error) {
	r, inv, f, errs := routing(getenv, "", nil)
	if len(errs) > 0 {
		return nil, 0, nil, &Error{Problems: errs}
	}
	return r, inv, f, nil
}

// routing reads SINK_FOLDER, SINK_TIMEZONE, SINK_INVALID and SINK_FILTER.
// The default template gives a nil Router: today's layout, at no cost.
func routing(getenv func(string) string, prefix string, errs []error) (*route.Router, sink.InvalidPolicy, *filter.Filter, []error) {
	var r *route.Router
	loc, err := route.LoadZone(strings.TrimSpace(getenv(EnvTimezone)))
	if err != nil {
		errs = append(errs, err)
	}
	if v := getenv(EnvFolder); v != "" {
		var err error
		if r, err = route.New(v, loc); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvFolder, v, err))
		} else if n := len(prefix) + r.MaxLen() + maxObjectName; n > 1023 {
			errs = append(errs, fmt.Errorf("%s=%q: with %s (%d bytes) it can make keys of %d bytes; OSS allows 1,023 (values from data are at most %d bytes each)",
				EnvFolder, v, EnvPrefix, len(prefix), n, route.MaxValue))
		} else if r.String() == route.DefaultTemplate {
			r = nil
		}
	}
	inv := sink.InvalidFolder
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvInvalid))); v {
	case "", "folder":
	case "fail":
		inv = sink.InvalidFail
	case "drop":
		inv = sink.InvalidDrop
	default:
		errs = append(errs, fmt.Errorf("%s=%q: want folder, fail or drop", EnvInvalid, getenv(EnvInvalid)))
	}
	var f *filter.Filter
	if v := getenv(EnvFilter); strings.TrimSpace(v) != "" {
		var err error
		if f, err = filter.Parse(v); err != nil {
			errs = append(errs, err)
		}
	}
	return r, inv, f, errs
}

// Error lists every problem of a configuration. Its message is one line:
// command-line tools print it as their only line, FC as errorMessage.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "invalid configuration: " + strings.Join(msgs, "; ")
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Problems }

// checkEndpoint says what is wrong with an OSS endpoint ("" if nothing),
// by the rules package ossstore applies, so that every problem is reported
// here, by variable name and with the value redacted.
func checkEndpoint(e string) string {
	if strings.Contains(e, "@") {
		// A user name and password in the URL would be sent to nobody
		// (OSS signs requests with the access key) but printed everywhere
		// the endpoint is.
		return "must not contain a user name or password (OSS authenticates with ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET or the function's role)"
	}
	if scheme, _, ok := strings.Cut(e, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return "the scheme must be http or https"
		}
	} else {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "want a host name (oss-cn-hangzhou-internal.aliyuncs.com) or a scheme and a host (http://127.0.0.1:9000), nothing else"
	}
	return ""
}

// redactEndpoint hides everything before the last '@' of the authority,
// where a URL keeps its user name and password. It works on the text, so
// it hides them even in a value url.Parse rejects.
func redactEndpoint(e string) string {
	at := strings.LastIndex(e, "@")
	if at < 0 {
		return e
	}
	start := 0
	if i := strings.Index(e, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return e[:start] + "REDACTED" + e[at:]
}

// prefixSegmentProblem says why a (normalized) prefix could make keys with
// empty, "." or ".." segments, or control characters, or "".
func prefixSegmentProblem(p string) string {
	if p == "" {
		return ""
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		switch seg {
		case "":
			return "has an empty segment ('//'): keys would too"
		case ".", "..":
			return "has a '" + seg + "' segment: keys must stay under the prefix as written"
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "has a control character"
		}
	}
	return ""
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ParseSize parses a byte count: a whole number, optionally followed by
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size (e.g. 67108864 or 64MiB)")
	}
	mult := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q (use B, KB, MB, GB, KiB, MiB or GiB)", unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("too large")
	}
	return n * mult, nil
}
