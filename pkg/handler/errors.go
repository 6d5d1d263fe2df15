package handler

import (
	"errors"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// The error types an invocation fails with. Function Compute reports the
// type name as errorType, so the name says what failed, and every message
// says whether a retry can help: only a *WriteError is transient. The others
// are permanent for the batch (BadEventError, UnroutableError; a timer
// invocation's TimerPayloadError), for its partition
// (StateConflictError) or for every batch until the setup is fixed
// (ConfigError, AccessDeniedError, NoSuchBucketError, InvalidKeyError; see
// SetupError).
//
// The store's permanent errors (store.IsPermanent) all map to a permanent
// type: ErrAccessDenied, ErrNoSuchBucket and ErrInvalidKey to the setup
// types, ErrNotAppendable (the open data object overwritten by a PUT) to
// StateConflictError.

// BadEventError: the batch is malformed (which element, which field is in
// the message). Nothing was written; redelivering the same batch fails the
// same way, so the trigger's retries only end in its dead-letter queue or
// stop the task, depending on its errorsTolerance.
type BadEventError struct{ Err error }

func (e *BadEventError) Error() string {
	return "bad event, nothing written (permanent for this batch, retrying cannot help): " + e.Err.Error()
}
func (e *BadEventError) Unwrap() error { return e.Err }

// UnroutableError: a record's folder cannot be computed from it (a field
// SINK_FOLDER names is missing, say) and SINK_INVALID is fail. Nothing was
// written for its partition; the record will not change, so retrying
// cannot help: the batch belongs in a dead-letter queue, or the settings
// must change (SINK_INVALID=folder or drop).
type UnroutableError struct{ Err error }

func (e *UnroutableError) Error() string {
	return "record cannot be routed, nothing written for its partition (permanent for this batch, retrying cannot help): " + e.Err.Error()
}
func (e *UnroutableError) Unwrap() error { return e.Err }

// WriteError: storing the batch failed part-way (OSS unreachable, throttled,
// the invocation's time ran out, the process told to stop). The partitions'
// state is consistent; redelivery resumes where this attempt stopped. It is
// the only transient failure.
type WriteError struct{ Err error }

func (e *WriteError) Error() string {
	return "write failed, the trigger's retry will resume it: " + e.Err.Error()
}
func (e *WriteError) Unwrap() error { return e.Err }

// StateConflictError: a partition's objects disagree with its meta object in
// a way no retry of this batch explains (a concurrent writer, objects edited
// by hand, the open data object replaced by a normal PUT, a lost meta
// object, offsets that restarted below the committed one because the topic
// was recreated, SINK_FORMAT changed while a batch was pending). Nothing was
// written for that partition; an operator must look.
type StateConflictError struct{ Err error }

func (e *StateConflictError) Error() string {
	return "partition state conflict, nothing written for it (permanent: retrying cannot help until an operator resolves it): " + e.Err.Error()
}
func (e *StateConflictError) Unwrap() error { return e.Err }

// ConfigError: the function's configuration is invalid, or it has no OSS
// credentials; every invocation fails the same way until it is fixed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string {
	return "kafka-oss-sink is misconfigured (permanent: fix the function's configuration, retrying cannot help): " + e.Err.Error()
}
func (e *ConfigError) Unwrap() error { return e.Err }

// AccessDeniedError: OSS refused the credentials (unknown key, wrong
// secret, a token that is not the key's) or the request (the RAM policy does
// not allow it); for the local directory store, a file permission. Every
// batch fails the same way until the credentials or the policy are fixed.
// (An expired STS token is a *WriteError: under FC the next invocation
// brings fresh credentials.)
type AccessDeniedError struct {
	Bucket, Prefix string // Bucket "" for the local directory store
	Dir            string
	Err            error
}

func (e *AccessDeniedError) Error() string {
	if e.Bucket == "" {
		return fmt.Sprintf("access to the store directory %q denied (permanent: retrying cannot help until its permissions are fixed): %v", e.Dir, e.Err)
	}
	return fmt.Sprintf("OSS denied access to bucket %q (permanent: retrying cannot help until the credentials or the policy are fixed): "+
		"check the access key (outside FC: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN) and "+
		"the RAM policy of the function's role, which must allow oss:GetObject and oss:PutObject on acs:oss:*:*:%s/%s* and "+
		"oss:ListObjects on the bucket with oss:Prefix %q (the SinkRole policy of template.yaml): %v",
		e.Bucket, e.Bucket, e.Prefix, e.Prefix+"*", e.Err)
}
func (e *AccessDeniedError) Unwrap() error { return e.Err }

// NoSuchBucketError: the configured bucket does not exist at the endpoint
// (a typo, another region's endpoint, a deleted bucket); for the local
// directory store, its directory vanished or cannot be made.
type NoSuchBucketError struct {
	Bucket, Endpoint string // Bucket "" for the local directory store
	Dir              string
	Err              error
}

func (e *NoSuchBucketError) Error() string {
	if e.Bucket == "" {
		return fmt.Sprintf("the store directory %q is missing (permanent: retrying cannot help; check SINK_LOCAL_DIR): %v", e.Dir, e.Err)
	}
	return fmt.Sprintf("bucket %q does not exist at %s (permanent: retrying cannot help): check OSS_BUCKET and OSS_ENDPOINT (the bucket's region): %v",
		e.Bucket, e.Endpoint, e.Err)
}
func (e *NoSuchBucketError) Unwrap() error { return e.Err }

// InvalidKeyError: an object key the sink derives is one no object can
// have (store.CheckKey: at most 1,023 bytes of UTF-8, not starting with '/'
// or a backslash; a local file system may refuse more). Keys are made of
// OSS_PREFIX, the topic name and the object's name, so every batch of the
// topic fails the same way: it is a setup problem.
type InvalidKeyError struct{ Err error }

func (e *InvalidKeyError) Error() string {
	return "the store refuses an object key (permanent: retrying cannot help): keys are OSS_PREFIX, the topic and the object name; check OSS_PREFIX and the topic name: " +
		e.Err.Error()
}
func (e *InvalidKeyError) Unwrap() error { return e.Err }

// SetupError reports whether err (from Invoke or Check) is a problem of the
// setup rather than of a batch: the configuration, the credentials, the
// permissions, the bucket or the key prefix. Every batch fails the same way
// until it is fixed, so a runner should stop instead of retrying or
// dead-lettering batches.
func SetupError(err error) bool {
	var (
		ce *ConfigError
		ad *AccessDeniedError
		nb *NoSuchBucketError
		ik *InvalidKeyError
	)
	return errors.As(err, &ce) || errors.As(err, &ad) || errors.As(err, &nb) || errors.As(err, &ik)
}

// Retryable reports whether redelivering the batch can succeed where err
// (from Invoke) failed: true for a *WriteError only.
func Retryable(err error) bool {
	var we *WriteError
	return errors.As(err, &we) && !SetupError(err)
}

// ErrNoCredentials is wrapped by the error of a CredentialsFunc that finds
// no credentials; the invocation then fails with a *ConfigError.
var ErrNoCredentials = errors.New("no OSS credentials")

// classifyStore wraps an error of opening the store for an invocation.
func (h *Handler) classifyStore(err error) error {
	if errors.Is(err, ErrNoCredentials) {
		return &ConfigError{err}
	}
	return &WriteError{fmt.Errorf("open store: %w", err)}
}

// classifyWrite wraps an error of sink.Write or of a store request. The
// error may join several partitions' errors; the most permanent one decides,
// because the batch as a whole cannot succeed while any part fails for good.
func (h *Handler) classifyWrite(err error) error {
	c := &h.cfg
	switch {
	case errors.Is(err, store.ErrAccessDenied):
		return &AccessDeniedError{Bucket: c.Bucket, Prefix: c.Prefix, Dir: c.LocalDir, Err: err}
	case errors.Is(err, store.ErrNoSuchBucket):
		return &NoSuchBucketError{Bucket: c.Bucket, Endpoint: c.Endpoint, Dir: c.LocalDir, Err: err}
	case errors.Is(err, store.ErrInvalidKey):
		return &InvalidKeyError{err}
	case errors.Is(err, store.ErrNotAppendable):
		return &StateConflictError{fmt.Errorf("the partition's open data object was overwritten by a normal PUT and can never be appended to again "+
			"(restore it from a previous version or a backup; sinkctl verify shows the partition's state): %w", err)}
	case errors.Is(err, sink.ErrConflict) || errors.Is(err, sink.ErrOffsetsReset) ||
		errors.Is(err, sink.ErrMetaMissing) || errors.Is(err, sink.ErrMetaInvalid):
		return &StateConflictError{err}
	case errors.Is(err, sink.ErrUnroutable):
		return &UnroutableError{err}
	}
	// Not permanent by design, whatever else: store.ErrCredentialsExpired
	// (fresh credentials come with the next invocation), timeouts, 5xx.
	return &WriteError{err}
}
