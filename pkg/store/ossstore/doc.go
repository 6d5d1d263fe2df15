// Package ossstore implements store.Store on Alibaba Cloud OSS through the
// official SDK (github.com/aliyun/aliyun-oss-go-sdk/oss).
//
// # Mapping
//
//   - Get is GetObject, checked against the object's CRC-64 when OSS sends
//     one; GetRange is a ranged GetObject with "x-oss-range-behavior:
//     standard", so a range past the end fails (ErrOutOfRange) instead of
//     silently returning the whole object. Both send "Accept-Encoding:
//     identity", so an object stored with a Content-Encoding (gzip, ...)
//     reads back as the stored bytes: neither OSS nor Go's transport
//     compresses or decompresses anything. Stat is HeadObject, whose
//     Content-Type and Content-Encoding it reports.
//   - Put is PutObject, its CRC-64 reply checked against the data.
//     PutReader is PutObject with the body streamed from the io.ReaderAt
//     (a fresh io.SectionReader per attempt, hashed on the way), so its
//     memory does not depend on the object's size. NoOverwrite sends
//     "x-oss-forbid-overwrite: true", and 409 FileAlreadyExists wraps
//     store.ErrExists. WithContentType and WithContentEncoding become the
//     Content-Type and Content-Encoding headers; without WithContentType
//     "application/octet-stream" is sent, since the SDK would otherwise
//     guess a type from the key's extension with the machine's MIME table.
//   - Append is AppendObject. 409 PositionNotEqualToLength becomes a
//     *store.PositionError whose Length is taken from the reply's
//     x-oss-next-append-position header (or, if that is missing, from a
//     HeadObject); 409 ObjectNotAppendable wraps store.ErrNotAppendable. A
//     negative position is never sent: Append answers it after a HeadObject.
//     Every append carries the content headers; OSS applies them when the
//     append creates the object and ignores them afterwards. AppendObject
//     has no forbid-overwrite header: the position fence does that job.
//   - List pages through ListObjectsV2, 1,000 keys a page. ListPage is one
//     ListObjectsV2 with prefix, start-after and max-keys (limit, at most
//     1,000); the SDK URL-decodes the keys, so the last one can be passed
//     back as startAfter.
//   - Write attributes: WithStorageClass is x-oss-storage-class, WithSSE
//     x-oss-server-side-encryption (and -key-id), WithMetadata
//     x-oss-meta-{lower-cased key}, WithTags x-oss-tagging, encoded here
//     with %20 for spaces rather than by the SDK's SetTagging, whose '+'
//     OSS may read as a plus sign. store.CheckWriteOptions refuses what OSS
//     would before any request. Stat reports the class, encryption,
//     metadata, x-oss-restore and x-oss-hash-crc64ecma of HeadObject.
//   - Restore is RestoreObject (Days, JobParameters/Tier; the SDK sends
//     Tier Standard when none is given). The SDK reports 200 and 202 alike,
//     so the status the transport recorded tells RestoreDone from
//     RestoreRequested; 409 RestoreAlreadyInProgress is RestoreInProgress.
//     GetRange with n == 0 answers ErrNotRestored for an archived object
//     from its HeadObject, as the GET would. Tags is GetObjectTagging.
//   - Delete is DeleteObject.
//
// # Errors
//
// Only 404 NoSuchKey wraps store.ErrNotFound: a missing bucket (404
// NoSuchBucket) wraps store.ErrNoSuchBucket instead, so that a
// misconfiguration never looks like an empty partition. 403
// SecurityTokenExpired wraps store.ErrCredentialsExpired, which is not
// permanent (the next invocation brings fresh credentials); every other 403
// (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
// InvalidSecurityToken, ...) wraps store.ErrAccessDenied. 400
// InvalidObjectName and KeyTooLong wrap store.ErrInvalidKey, as do keys
// that store.CheckKey refuses, which are refused before any request. 403
// InvalidObjectState (a GET of an archived object not restored) wraps
// store.ErrNotRestored, not ErrAccessDenied. 400 OperationNotSupported (a
// restore of an object in no archive class), InvalidTag,
// InvalidEncryptionAlgorithmError, and InvalidArgument on a write or a
// restore wrap store.ErrUnsupported. Errors
// are classified by errors.As on oss.ServiceError (status and code), never
// by message text; the SDK error stays in the chain, without the raw reply
// body (for a bad signature OSS quotes the string it signed, security token
// included).
//
// # Retries
//
// The SDK never retries, so Store does: 5xx, 429 and the throttling codes,
// timeouts, connection resets, EOFs and other network errors, and CRC
// mismatches, with exponential backoff and jitter (default 6 attempts, 50 ms
// doubling to at most 2 s; see WithRetry). Other 4xx, the permanent errors
// above and an expired token among them, are final, and so is a failure to
// read PutReader's source. A retry never
// starts past the context's deadline: if the next sleep would cross it the
// last error is returned at once. Because a write whose reply was lost may
// have landed, a retried Append can fail with a *store.PositionError for data
// that is in fact in the object, and a retried NoOverwrite Put with
// store.ErrExists for an object it wrote itself; those are the expected,
// recoverable outcomes (see package store).
//
// # Credentials and clients
//
// Function Compute hands out temporary STS credentials that change over time,
// so a Pool caches one SDK client per Credentials triple (the endpoint and
// bucket are fixed per Pool), keeps the few most recently used, and shares
// one HTTP transport, so rotating credentials does not cost new connections.
// Secrets and tokens never appear in errors, logs or String output; an
// endpoint with user info ("https://ak:secret@host") is refused without
// being quoted.
//
// # Observability
//
// Every HTTP request, retries included, is counted per operation (Store.Stats
// for one Store handle, Pool.Stats for the pool) and can be logged at debug
// level with WithLogger or observed with WithRequestHook: operation, key,
// attempt, bytes, status, duration, never credentials or object contents.
//
// # Endpoints
//
// "http://127.0.0.1:9000" (a test server; IP endpoints are addressed
// path-style), "https://oss-cn-hangzhou.aliyuncs.com", or a bare host name,
// which gets https://. DefaultEndpoint gives the internal endpoint of a
// region, which carries no traffic fee from Function Compute in that region.
package ossstore
