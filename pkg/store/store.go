// Package store is the contract between the sink engine and object storage.
//
// A Store is a flat namespace of byte objects addressed by key, with the
// handful of operations the exactly-once protocol needs (see package sink):
// whole and ranged reads, a size lookup, an atomic whole-object replace (from
// a buffer, or streamed from an io.ReaderAt for objects too large to hold in
// memory), a position-fenced append, a prefix listing (whole, or a page at a
// time) and a delete.
//
// Every implementation must pass the acceptance suite in package storetest.
// The contract, per method, is documented on the interface. In short:
//
//   - "Not found" is always reported as an error wrapping ErrNotFound, so
//     callers test it with errors.Is(err, store.ErrNotFound).
//   - Put and PutReader are atomic: a reader sees the old object or the new
//     one, never a mix or a prefix. Both are idempotent, except that with
//     NoOverwrite a repeated write finds the key taken.
//   - Append is fenced: it succeeds only if the object's current length equals
//     the given position (0 creates a new appendable object). Otherwise it fails
//     with a *PositionError carrying the object's actual length, and writes
//     nothing. An append either lands whole or not at all.
//   - Keys follow the OSS object naming rules (CheckKey): 1 to MaxKeyLen
//     bytes of UTF-8, not starting with '/' or a backslash. Every store refuses
//     other keys with an error wrapping ErrInvalidKey, before any request. A
//     store may refuse more (a file system cannot hold every key OSS can).
//   - Writes take options (WriteOption): the object's content type and
//     content encoding, and NoOverwrite, which makes a Put fail with an error
//     wrapping ErrExists instead of replacing an object. Stat reports the
//     content type and encoding where the store keeps them.
//   - Implementations may retry transient failures internally. An operation
//     that returns an error may still have taken effect (a write acknowledged by
//     the server whose reply was lost); the protocol above the store is built
//     to tolerate that.
//
// # Permanent errors
//
// Failures that repeating the same request cannot cure until something
// outside the program changes are reported by wrapping one of the sentinels
// below, and IsPermanent reports them. Each store maps its own failures to
// them by their codes or errno values, never by message text:
//
//   - ErrAccessDenied: the credentials are unknown or wrong, the signature
//     does not match, or a policy or file permission forbids the request.
//   - ErrNoSuchBucket: the bucket (for localstore, the directory) does not
//     exist. It never wraps ErrNotFound: a missing bucket is a
//     misconfiguration, not an empty partition.
//   - ErrInvalidKey: no object can have this key (CheckKey, or a limit of
//     the store such as a file name longer than the file system allows).
//   - ErrNotAppendable: the object was written by Put.
//
// An expired security token is deliberately not permanent: under Function
// Compute the platform hands every invocation fresh temporary credentials,
// so the same work succeeds on the next attempt, although it cannot succeed
// with the credentials at hand. Stores report it with ErrCredentialsExpired
// and do not retry it themselves. ErrNotFound, ErrExists and *PositionError
// are answers rather than failures, and are not permanent either.
//
// # Batches
//
// A store may implement Batcher, when making each write durable on its
// own costs more than making a group of them durable together (a local
// directory fsyncs the directory of every file it renames or links). The
// writes through a Batch's views are visible and atomic exactly as through
// the store, but may be durable (survive a crash of the machine) only once
// the Batch's Sync returned nil; within one view a crash loses at most
// some of the last writes, never one before a write that survived. A
// caller that reports its writes done (the sink, answering an invocation)
// calls Sync first. Stores whose writes are durable when they return (OSS)
// need not implement it.
//
// Implementations must be safe for concurrent use by multiple goroutines.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Store is one bucket (or directory) of objects. See the package doc.
type Store interface {
	// Get returns the whole content of the object at key.
	// It fails with an error wrapping ErrNotFound if there is no such object.
	Get(ctx context.Context, key string) ([]byte, error)

	// GetRange returns n bytes of the object at key starting at byte off.
	// It fails with ErrNotFound if the object is absent, and with an error if
	// the object holds fewer than off+n bytes. n == 0 returns an empty slice.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)

	// Stat returns the object's size, kind, content type and content
	// encoding (see Info), or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Put atomically creates or replaces the object at key with data.
	// The object is a normal (not appendable) object afterwards, with the
	// content type and encoding opts give (none: the store's default).
	//
	// With NoOverwrite, Put creates the object only if no object (normal or
	// appendable) has the key; otherwise it writes nothing and fails with an
	// error wrapping ErrExists. A store that retries may report ErrExists for
	// an object its own earlier, unacknowledged attempt created: a caller
	// that must tell the two apart compares the content.
	Put(ctx context.Context, key string, data []byte, opts ...WriteOption) error

	// PutReader is Put for an object of size bytes read from r, bytes [0,
	// size), for objects too large to hold in memory twice: stores that can
	// stream it use memory independent of size. It is atomic like Put
	// (readers never see part of it) and takes the same options. It may read
	// r more than once (a retry starts again from offset 0), so r must hold
	// the same bytes until PutReader returns. If r holds fewer than size
	// bytes, or a read fails, nothing is written and the error says so.
	PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...WriteOption) error

	// Append appends data to the appendable object at key, provided its
	// current length is exactly pos; pos 0 on an absent key creates an
	// appendable object. It returns the object's length after the append.
	//
	// If the length is not pos (including pos > 0 on an absent key, whose
	// length is taken as 0), it writes nothing and fails with a *PositionError
	// holding the actual length. Appending to an object created by Put fails
	// with an error wrapping ErrNotAppendable.
	//
	// The content type and encoding in opts apply only when the append
	// creates the object, as OSS AppendObject applies them; later appends
	// ignore them (and pos 0 on an existing empty object is such a later
	// append). NoOverwrite has no effect: the position fence already refuses
	// to write over anything.
	Append(ctx context.Context, key string, pos int64, data []byte, opts ...WriteOption) (int64, error)

	// Restore asks for a readable copy of an archived object for days days
	// (OSS RestoreObject; tier matters for ColdArchive and DeepColdArchive
	// only, "" = the store's default). Objects in the classes Archive,
	// ColdArchive and DeepColdArchive refuse Get and GetRange (ErrNotRestored)
	// until a restore finished. The answer says where the restore stands:
	// RestoreRequested (OSS 202: accepted now), RestoreInProgress (409
	// RestoreAlreadyInProgress: an earlier request is running; nothing new
	// was requested) or RestoreDone (200: readable now; repeating a restore
	// of a restored object only extends its expiry, as OSS does). An object
	// that is not in an archive class fails with an error wrapping
	// ErrUnsupported; an absent one with ErrNotFound.
	Restore(ctx context.Context, key string, days int, tier RestoreTier) (RestoreState, error)

	// Tags returns the object's tags (OSS GetObjectTagging), sorted by key,
	// or ErrNotFound. A store that keeps no tags fails with an error
	// wrapping ErrUnsupported.
	Tags(ctx context.Context, key string) ([]Tag, error)

	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)

	// ListPage returns, sorted by key, at most limit objects whose key starts
	// with prefix and sorts strictly after startAfter ("" = no lower bound),
	// and whether more such objects remain after the last one returned.
	// limit <= 0 means the store's natural page size (1000 for OSS). Callers
	// page by passing the last key returned as the next startAfter, and may stop
	// early; the cost of one call is one request (one ListObjectsV2 for OSS with
	// prefix, start-after and max-keys).
	//
	// Keys compare byte-wise, as in List. startAfter need not be an existing
	// key. A page holds at most MaxListPage objects whatever limit says (every
	// store here uses that as its natural page size too), and may hold
	// fewer than limit although more remain (OSS does not promise full
	// pages); but when more is true the page is never empty, so paging always
	// makes progress. A prefix longer than MaxKeyLen matches nothing.
	ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]Info, bool, error)

	// Delete removes the object at key. Deleting an absent key succeeds.
	Delete(ctx context.Context, key string) error
}

// Batcher is implemented by stores that can make a group of writes
// durable at once (see the package doc, "Batches").
type Batcher interface {
	// NewBatch starts a batch: views of the store whose writes Sync makes
	// durable together.
	NewBatch() Batch
}

// Batch is a group of views of a store whose writes one Sync makes
// durable. It is safe for concurrent use.
type Batch interface {
	// View returns a Store for one sequence of dependent writes (one
	// writer's, such as the sink's for one partition): a crash of the
	// machine before Sync may lose the view's last writes, but never a
	// write that an earlier write which survived depends on, because each
	// write through the view first makes the view's earlier ones durable.
	// Views of one batch do not wait for one another.
	View() Store
	// Sync makes every write through every view of the batch that
	// returned before Sync was called durable. Only once it returned nil
	// may those writes be reported durable to anyone (a trigger
	// committing offsets). A failed Sync leaves them visible but of
	// unknown durability: report them failed, and let the redelivery's
	// recovery find what is there.
	Sync(ctx context.Context) error
}

// Info describes one object.
type Info struct {
	Key        string
	Size       int64
	Appendable bool      // created by Append rather than Put
	Modified   time.Time // last write, as the store reports it (may be zero)

	// ContentType and ContentEncoding are those the write that created the
	// object asked for (WithContentType, WithContentEncoding). Only Stat
	// reports them: List and ListPage leave them empty, as OSS's listing
	// does not carry them. Without WithContentType a store reports "" or its
	// default (OSS: "application/octet-stream"). A store that cannot keep
	// them (localstore) always reports "", and says so in its package doc.
	ContentType     string
	ContentEncoding string

	// StorageClass is the object's class (List, ListPage and Stat report
	// it; "" from a store that keeps none means Standard).
	StorageClass StorageClass

	// Only Stat reports the fields below (OSS: HeadObject's headers).

	// Restore is where a restore of an archived object stands:
	// RestoreNone (never asked, or the restored copy expired),
	// RestoreInProgress or RestoreDone (readable until RestoreExpiry).
	Restore       RestoreState
	RestoreExpiry time.Time
	// SSE and SSEKeyID are the object's server-side encryption (WithSSE).
	SSE      string
	SSEKeyID string
	// Metadata is the object's user metadata (WithMetadata), sorted by key,
	// keys in lower case as OSS returns them.
	Metadata []Tag
	// CRC64 is the CRC-64/ECMA of the whole object (OSS:
	// x-oss-hash-crc64ecma), when HasCRC64 says the store reported one.
	// It lets a caller compare an archived object it cannot read.
	CRC64    uint64
	HasCRC64 bool
}

// StorageClass is an OSS storage class.
type StorageClass string

// The OSS storage classes. Objects in the last three must be restored
// before they can be read (Store.Restore).
const (
	Standard        StorageClass = "Standard"
	IA              StorageClass = "IA"
	Archive         StorageClass = "Archive"
	ColdArchive     StorageClass = "ColdArchive"
	DeepColdArchive StorageClass = "DeepColdArchive"
)

// StorageClasses lists the classes in order of falling storage price.
var StorageClasses = []StorageClass{Standard, IA, Archive, ColdArchive, DeepColdArchive}

// Archived reports whether objects of class c must be restored before
// they can be read.
func (c StorageClass) Archived() bool {
	return c == Archive || c == ColdArchive || c == DeepColdArchive
}

// Appendable reports whether AppendObject accepts class c (OSS: Standard,
// IA and Archive; "" is the bucket's default, Standard here).
func (c StorageClass) Appendable() bool {
	return c == "" || c == Standard || c == IA || c == Archive
}

// ParseStorageClass returns the class named s (as OSS spells it, any
// letter case), or an error listing the classes.
func ParseStorageClass(s string) (StorageClass, error) {
	for _, c := range StorageClasses {
		if strings.EqualFold(s, string(c)) {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown storage class %q: want one of Standard, IA, Archive, ColdArchive, DeepColdArchive", s)
}

// RestoreTier is how fast a restore of a ColdArchive or DeepColdArchive
// object is done (and billed): OSS's Expedited (within 1 hour for
// ColdArchive), Standard (2-5 hours) or Bulk (5-12 hours).
type RestoreTier string

// The restore tiers.
const (
	TierExpedited RestoreTier = "Expedited"
	TierStandard  RestoreTier = "Standard"
	TierBulk      RestoreTier = "Bulk"
)

// RestoreState is where a restore of an archived object stands.
type RestoreState int

const (
	// RestoreNone: no restore asked for, or its copy expired.
	RestoreNone RestoreState = iota
	// RestoreRequested: this call's request was accepted (OSS 202).
	RestoreRequested
	// RestoreInProgress: a restore is running (OSS 409
	// RestoreAlreadyInProgress; HEAD: ongoing-request="true").
	RestoreInProgress
	// RestoreDone: the object is readable (OSS 200; HEAD:
	// ongoing-request="false", expiry-date=...).
	RestoreDone
)

func (r RestoreState) String() string {
	switch r {
	case RestoreNone:
		return "none"
	case RestoreRequested:
		return "requested"
	case RestoreInProgress:
		return "in progress"
	case RestoreDone:
		return "done"
	}
	return fmt.Sprintf("RestoreState(%d)", int(r))
}

// Tag is one object tag or user metadata entry.
type Tag struct {
	Key, Value string
}

// WriteOption sets a property of one Put, PutReader or Append. Options are
// applied in order; a later one overrides an earlier one of the same kind.
type WriteOption func(*WriteOptions)

// WriteOptions is what a list of WriteOption asks for. Stores read it with
// ApplyWriteOptions; the zero value is a plain write.
type WriteOptions struct {
	// ContentType is the object's MIME type, as OSS returns it in
	// Content-Type ("" = the store's default).
	ContentType string
	// ContentEncoding is the object's HTTP Content-Encoding ("gzip", ...;
	// "" = none). It only labels the bytes: stores keep and return them as
	// written, never decoding them.
	ContentEncoding string
	// NoOverwrite makes Put and PutReader fail with ErrExists rather than
	// replace an object (OSS: x-oss-forbid-overwrite: true).
	NoOverwrite bool
	// StorageClass is the object's class ("" = the bucket's default, OSS:
	// x-oss-storage-class). Append refuses classes that appendable objects
	// cannot have (StorageClass.Appendable) with ErrUnsupported.
	StorageClass StorageClass
	// SSE is the server-side encryption ("" = the bucket's default,
	// "AES256", "KMS" or "SM4"; OSS: x-oss-server-side-encryption), and
	// SSEKeyID the customer KMS key for "KMS" ("" = the default key; OSS:
	// x-oss-server-side-encryption-key-id). Append refuses a SSEKeyID with
	// ErrUnsupported: appendable objects cannot use a customer key.
	SSE, SSEKeyID string
	// Tags are set with the write itself (OSS: x-oss-tagging, which OSS
	// authorizes as oss:PutObjectTagging), on Append only when it creates
	// the object: at most 10, keys 1-128 and values at most 256 characters
	// of letters, digits, spaces and + - = . _ : / (others are refused with
	// ErrUnsupported).
	Tags []Tag
	// Metadata is user metadata (OSS: x-oss-meta-{key} headers): keys of
	// letters, digits and '-', sent in lower case; values printable ASCII;
	// together at most 8 KB (others refused with ErrUnsupported).
	Metadata []Tag
}

// WithStorageClass sets the class of the written object.
func WithStorageClass(c StorageClass) WriteOption {
	return func(o *WriteOptions) { o.StorageClass = c }
}

// WithSSE sets the written object's server-side encryption: algorithm
// "AES256", "KMS" or "SM4", and for KMS a customer key id ("" = default).
func WithSSE(algorithm, keyID string) WriteOption {
	return func(o *WriteOptions) { o.SSE, o.SSEKeyID = algorithm, keyID }
}

// WithTags sets the written object's tags (replacing earlier WithTags).
func WithTags(tags ...Tag) WriteOption {
	return func(o *WriteOptions) { o.Tags = tags }
}

// WithMetadata sets the written object's user metadata (replacing earlier
// WithMetadata).
func WithMetadata(meta ...Tag) WriteOption {
	return func(o *WriteOptions) { o.Metadata = meta }
}

// WithContentType sets the object's content type (OSS: Content-Type).
func WithContentType(contentType string) WriteOption {
	return func(o *WriteOptions) { o.ContentType = contentType }
}

// WithContentEncoding sets the object's content encoding (OSS:
// Content-Encoding). Stores keep the bytes as given: a reader of the store
// gets the encoded bytes, whatever the encoding says.
func WithContentEncoding(contentEncoding string) WriteOption {
	return func(o *WriteOptions) { o.ContentEncoding = contentEncoding }
}

// NoOverwrite makes a Put or PutReader create the object only if the key is
// free; see Store.Put. Append ignores it.
func NoOverwrite() WriteOption {
	return func(o *WriteOptions) { o.NoOverwrite = true }
}

// ApplyWriteOptions returns what opts ask for, in order. Nil options are
// skipped. Wrappers of a Store pass opts through unchanged; stores call this.
func ApplyWriteOptions(opts []WriteOption) WriteOptions {
	var o WriteOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// ErrNotFound is wrapped by every error that reports an absent object.
var ErrNotFound = errors.New("object not found")

// ErrExists is wrapped by the error a Put or PutReader with NoOverwrite
// returns when an object already has the key (OSS: 409 FileAlreadyExists).
// Like ErrNotFound it is an answer, not a failure: it is not permanent.
var ErrExists = errors.New("object already exists")

// ErrNotAppendable is wrapped by the error Append returns when the object
// exists but was written by Put. It is permanent: appending to that object
// cannot succeed until it is deleted or replaced.
var ErrNotAppendable = errors.New("object is not appendable")

// ErrNotRestored is wrapped by the error Get and GetRange return for an
// object in an archive class (Archive, ColdArchive, DeepColdArchive) that
// has no finished restore (OSS: 403 InvalidObjectState). It is permanent
// in the package's sense: repeating the read cannot help until a restore
// (Store.Restore) finished, which takes minutes to days.
var ErrNotRestored = errors.New("the object is archived and must be restored before it can be read")

// ErrUnsupported is wrapped by errors that report a request the store
// refuses whatever is retried: a storage class or customer KMS key on an
// appendable object, tags or metadata OSS would refuse, a restore of an object that is not
// archived, or an operation the store does not implement (localstore keeps
// no tags). It is permanent.
var ErrUnsupported = errors.New("the store does not support this request; retrying cannot help")

// ErrAccessDenied is wrapped by every error that reports a refusal to
// authorize the request: unknown access key, wrong secret (the signature does
// not match), a security token that does not belong to the key, a RAM or
// bucket policy (or, for a local store, a file permission) that forbids it.
// It is permanent; see the package doc, also for expired tokens.
var ErrAccessDenied = errors.New("access denied; retrying cannot help until the credentials or the access policy change")

// ErrNoSuchBucket is wrapped by every error that reports that the bucket (for
// a local store, its directory) does not exist. It is permanent and never
// wraps ErrNotFound.
var ErrNoSuchBucket = errors.New("bucket does not exist; retrying cannot help until it is created or another is configured")

// ErrInvalidKey is wrapped by every error that reports a key no object can
// have in this store (see CheckKey). It is permanent. Stores apply CheckKey
// before any request.
var ErrInvalidKey = errors.New("invalid object key; retrying cannot help")

// ErrCredentialsExpired is wrapped by errors that report that the temporary
// (STS) credentials the request was signed with have expired. It is NOT
// permanent: fresh credentials (the next Function Compute invocation gets
// them) make the same request succeed. Stores do not retry it themselves.
var ErrCredentialsExpired = errors.New("the temporary credentials have expired; a later attempt with fresh credentials can succeed")

// IsPermanent reports whether err is a failure that retrying the same request
// cannot cure until something outside changes: it wraps ErrAccessDenied,
// ErrNoSuchBucket, ErrInvalidKey, ErrNotAppendable, ErrNotRestored or
// ErrUnsupported. Context errors,
// ErrNotFound, ErrExists, *PositionError, ErrCredentialsExpired and transient
// failures are not permanent.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNoSuchBucket) ||
		errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrNotAppendable) ||
		errors.Is(err, ErrNotRestored) || errors.Is(err, ErrUnsupported)
}

// MaxListPage is the most objects one ListPage call returns: the most one
// ListObjectsV2 request can return.
const MaxListPage = 1000

// MaxKeyLen is the longest key, in bytes, that OSS and so every store
// accepts.
const MaxKeyLen = 1023

// CheckKey reports, wrapping ErrInvalidKey, why key breaks the OSS object
// naming rules: it must be 1 to MaxKeyLen bytes of valid UTF-8 and must not
// start with '/' or a backslash. Stores may refuse more keys than this.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: the key is empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: the key is %d bytes long, more than %d", ErrInvalidKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: the key is not valid UTF-8", ErrInvalidKey)
	case key[0] == '/' || key[0] == '\\':
		return fmt.Errorf("%w: the key starts with %q", ErrInvalidKey, key[0])
	}
	return nil
}

// PositionError is returned by Append when the object's length is not the
// position the caller gave. Nothing was written.
type PositionError struct {
	Key      string
	Position int64 // the position the caller asked for
	Length   int64 // the object's actual length (0 if absent)
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("append to %q at position %d: object length is %d", e.Key, e.Position, e.Length)
}

// IsNotFound reports whether err says an object is absent.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsExists reports whether err says a NoOverwrite write found the key taken.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// AsPositionError returns the *PositionError in err's chain, if any.
func AsPositionError(err error) (*PositionError, bool) {
	var pe *PositionError
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}

// tagText reports whether s holds only what OSS allows in tag keys and
// values.
func tagText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(" +-=._:/", c) >= 0) {
			return false
		}
	}
	return true
}

// CheckWriteOptions reports, wrapping ErrUnsupported, why OSS would refuse
// a write with wo: Append (append true) refuses classes appendable objects
// cannot have and a customer KMS key; every write refuses an unknown
// class or encryption, a key id without KMS, more than 10 tags, tag keys
// outside 1-128 bytes or values over 256, and metadata keys other than
// letters, digits and '-' or values outside printable ASCII, or over 8 KB
// in all. Stores apply it before any request, so that every store refuses
// the same writes.
func CheckWriteOptions(wo WriteOptions, append bool) error {
	if wo.StorageClass != "" {
		if _, err := ParseStorageClass(string(wo.StorageClass)); err != nil {
			return fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		if append && !wo.StorageClass.Appendable() {
			return fmt.Errorf("%w: appendable objects cannot have the storage class %s (only Standard, IA and Archive)", ErrUnsupported, wo.StorageClass)
		}
	}
	switch wo.SSE {
	case "", "AES256", "KMS", "SM4":
	default:
		return fmt.Errorf("%w: unknown server-side encryption %q: want AES256, KMS or SM4", ErrUnsupported, wo.SSE)
	}
	if wo.SSEKeyID != "" {
		if wo.SSE != "KMS" {
			return fmt.Errorf("%w: a KMS key id needs the encryption KMS, not %q", ErrUnsupported, wo.SSE)
		}
		if append {
			return fmt.Errorf("%w: appendable objects cannot use a customer KMS key", ErrUnsupported)
		}
	}
	if len(wo.Tags) > 10 {
		return fmt.Errorf("%w: %d tags, more than 10", ErrUnsupported, len(wo.Tags))
	}
	for i, t := range wo.Tags {
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 || !tagText(t.Key) || !tagText(t.Value) {
			return fmt.Errorf("%w: tag %d (%.40q): keys are 1-128 and values at most 256 characters of letters, digits, spaces and + - = . _ : /",
				ErrUnsupported, i+1, t.Key)
		}
		for _, u := range wo.Tags[:i] {
			if u.Key == t.Key {
				return fmt.Errorf("%w: tag %q given twice", ErrUnsupported, t.Key)
			}
		}
	}
	total := 0
	for _, m := range wo.Metadata {
		total += len(m.Key) + len(m.Value)
		if m.Key == "" {
			return fmt.Errorf("%w: an empty metadata key", ErrUnsupported)
		}
		for i := 0; i < len(m.Key); i++ {
			c := m.Key[i]
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return fmt.Errorf("%w: metadata key %q: only letters, digits and '-'", ErrUnsupported, m.Key)
			}
		}
		for i := 0; i < len(m.Value); i++ {
			if c := m.Value[i]; c < 0x20 || c > 0x7e {
				return fmt.Errorf("%w: metadata %q: the value must be printable ASCII", ErrUnsupported, m.Key)
			}
		}
	}
	if total > 8<<10 {
		return fmt.Errorf("%w: %d bytes of metadata, more than 8 KB", ErrUnsupported, total)
	}
	return nil
}
