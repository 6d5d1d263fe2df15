// Package osstest is an in-memory Alibaba Cloud OSS server that speaks enough
// of the real HTTP protocol for the official Go SDK
// (github.com/aliyun/aliyun-oss-go-sdk/oss) to talk to it unmodified. It is
// meant for tests and benchmarks of code that stores data in OSS, in the
// spirit of franz-go's kfake:
//
//	srv, err := osstest.NewServer(
//		osstest.WithBucket("sink"),
//		osstest.WithCredentials("ak", "sk", "sts-token"),
//	)
//	defer srv.Close()
//	client, err := oss.New(srv.Endpoint(), "ak", "sk", oss.SecurityToken("sts-token"))
//
// # What it supports
//
//   - Addressing: path style (/bucket/key, which the SDK uses for an IP
//     endpoint such as the one Endpoint returns) and virtual-host style
//     (bucket.host/key) when the first label of the Host header names an
//     existing bucket.
//   - Signing: V1 only ("Authorization: OSS ak:signature"), verified exactly
//     as OSS does: HMAC-SHA1 over verb, Content-MD5, Content-Type, Date, the
//     canonicalized x-oss-* headers and the canonicalized resource with its
//     signed sub-resources (?append&position=N, ?continuation-token=..., ...).
//     Unsigned requests fail with 403 AccessDenied, unknown keys with 403
//     InvalidAccessKeyId, bad signatures with 403 SignatureDoesNotMatch (whose
//     error document quotes the string to sign, security token included, as
//     OSS's does), a missing or different security token (for keys registered
//     with one) with 403 InvalidSecurityToken, and keys passed to
//     ExpireCredentials with 403 SecurityTokenExpired. With no WithCredentials
//     option at all, any well-formed V1 Authorization header is accepted
//     unchecked.
//   - Access rules: WithDeny and SetDenies make requests of some keys,
//     buckets, key prefixes or operations fail with 403 AccessDenied, as a
//     RAM or bucket policy does (see Deny).
//   - Object names: a key longer than 1,023 bytes, not valid UTF-8, or
//     starting with '/' or a backslash is 400 InvalidObjectName on every
//     object operation. A bucket that was never created is 404 NoSuchBucket.
//   - PutObject, with x-oss-forbid-overwrite (409 FileAlreadyExists) and
//     Content-MD5 (400 InvalidDigest).
//   - AppendObject (POST ?append&position=N): the position must equal the
//     current length (409 PositionNotEqualToLength carrying
//     x-oss-next-append-position); position 0 on an absent key creates an
//     appendable object; a normal object is 409 ObjectNotAppendable.
//   - Content-Type and Content-Encoding of the request that creates an
//     object (a PutObject, or the AppendObject that creates it) are kept and
//     returned by GetObject and HeadObject; bodies are stored and returned
//     exactly as sent, whatever the Content-Encoding.
//   - GetObject with a single "bytes=a-b", "bytes=a-" or "bytes=-n" range
//     (206 with Content-Range). Without "x-oss-range-behavior: standard" an
//     unsatisfiable range returns the whole object with 200, as OSS does;
//     with it, a start beyond the end is 416 InvalidRange and an end beyond the
//     end is clamped.
//   - HeadObject (also GetObjectMeta's HEAD ?objectMeta): Content-Length,
//     Content-Type, Content-Encoding, ETag, Last-Modified, x-oss-object-type (Normal or Appendable),
//     x-oss-next-append-position for appendable objects, and errors in the
//     base64 x-oss-err header because a HEAD reply has no body.
//   - Storage classes: x-oss-storage-class on PutObject and AppendObject
//     (Standard, IA, Archive, ColdArchive, DeepColdArchive, any letter case;
//     others are 400 InvalidArgument; AppendObject refuses ColdArchive and
//     DeepColdArchive with 400 InvalidArgument), returned by HeadObject and
//     GetObject and as ListObjectsV2's StorageClass. Objects written without
//     it get the bucket's class: Standard, or WithDefaultStorageClass.
//     SetStorageClassDirect moves an object as a lifecycle rule would.
//   - Server-side encryption: x-oss-server-side-encryption AES256, KMS or
//     SM4 (others are 400 InvalidEncryptionAlgorithmError) and
//     x-oss-server-side-encryption-key-id (only with KMS, and not on
//     AppendObject: 400 InvalidArgument), returned by HEAD and GET. Nothing
//     is encrypted, and KMS without a key id reports no key id.
//   - Tags: x-oss-tagging ("k1=v1&k2=v2", percent-encoded; '+' is taken as a
//     plus sign, so a space must be sent as %20) on PutObject and on the
//     AppendObject that creates the object (later appends ignore it), under
//     OSS's rules: at most 10, unique keys of 1-128 and values of at most 256
//     letters, digits, spaces and + - = . _ : / (400 InvalidTag; a pair
//     that is not key or key=value is 400 InvalidArgument).
//     GetObjectTagging and PutObjectTagging (GET and PUT ?tagging); HEAD
//     carries x-oss-tagging-count.
//   - User metadata: x-oss-meta-* headers of the creating request, keys of
//     letters, digits and '-' (lower-cased), printable ASCII values, 8 KB in
//     all (400 InvalidArgument otherwise), returned by HEAD and GET.
//   - Archived objects: GetObject (ranged too) of an Archive, ColdArchive or
//     DeepColdArchive object is 403 InvalidObjectState until a restore
//     finished; HEAD, appends and tagging work. RestoreObject (POST
//     ?restore, RestoreRequest with Days and JobParameters/Tier) answers
//     202 when it starts a restore, 409 RestoreAlreadyInProgress while one
//     runs and 200 once restored (the copy's expiry moves to now + Days);
//     an object in no archive class is 400 OperationNotSupported; Days
//     outside 1-7 (Archive) or 1-365, and the Bulk tier for DeepColdArchive,
//     are 400 InvalidArgument. HEAD reports x-oss-restore:
//     ongoing-request="true", then ongoing-request="false",
//     expiry-date="<HTTP date>"; after the expiry the object is archived
//     again. How long a restore takes is up to the test, on a clock it
//     controls: see Restores below.
//   - DeleteObject (204, also for an absent key).
//   - ListObjectsV2 (GET /bucket/?list-type=2) with prefix, delimiter
//     (CommonPrefixes), start-after (ignored when a continuation token is
//     given, as on OSS), max-keys (1..1000, default 100), continuation-token
//     paging and encoding-type=url; a prefix or start-after of 1,024 bytes or
//     more is 400 InvalidArgument.
//   - Every reply carries x-oss-request-id; errors are OSS XML
//     (<Error><Code/><Message/><RequestId/><HostId/></Error>) so the SDK
//     yields an oss.ServiceError with the right StatusCode and Code. Replies
//     to writes, reads and HEADs carry x-oss-hash-crc64ecma (CRC-64/ECMA of
//     the whole object, as OSS computes it), so the SDK's CRC checks run and
//     pass.
//
// # What it ignores
//
// The Date header and clock skew, V2/V4 signatures (400 InvalidArgument),
// ACLs and the policy language (beyond the Deny rules, every registered key
// may do everything), versioning, actual encryption, conditional
// headers (If-Match, ...), multipart uploads, copy, DeleteObjectTagging,
// CleanRestoredObject, real-time access of Archive objects, minimum storage
// durations, the 64 KB billing minimum, and bucket management (buckets come
// from WithBucket or CreateBucket). Requests for an
// unimplemented operation get 501 NotImplemented. ETags are opaque strings
// derived from the CRC and length, not MD5 sums, so the server does no
// per-byte work beyond the CRC.
//
// # Restores
//
// Nothing runs in the background: a restore's state is computed from when it
// was asked for, its delay and the server's clock. WithRestoreDelay sets the
// delay per class and tier (default DefaultRestoreDelay: the upper end of
// OSS's documented times, a minute to 48 hours); a delay of 0 finishes at
// once (still answering 202). WithManualRestores (or ManualRestore as a
// delay) makes restores wait until the test calls CompleteRestore(bucket,
// key) or CompleteRestores(). WithClock replaces the clock, e.g. with a
// ManualClock the test Advances, which moves delays and expiries alike:
//
//	clock := osstest.NewManualClock(time.Now())
//	srv, _ := osstest.NewServer(osstest.WithBucket("b"), osstest.WithClock(clock.Now))
//	// ... RestoreObject answers 202, then 409 ...
//	clock.Advance(osstest.DefaultRestoreDelay(osstest.ClassArchive, ""))
//	// ... 200, and GetObject reads the object until the copy expires
//
// ObjectInfo reports the class, encryption, tags, metadata and where a
// restore stands.
//
// # Access rules and RAM actions
//
// Deny rules name operations as RAM actions: OpRestore is
// oss:RestoreObject, OpGetTagging oss:GetObjectTagging, and OpPutTagging
// oss:PutObjectTagging, which a PutObject or AppendObject carrying
// x-oss-tagging needs besides oss:PutObject.
//
// # Fault injection
//
// SetFault attaches a Fault to one operation kind (OpPut, OpAppend, OpGet,
// OpHead, OpDelete, OpList, OpRestore, OpGetTagging, OpPutTagging) while the
// server runs. A fault can add latency,
// fail requests before they take effect, or apply them and then fail the
// reply, so the client sees an error for a write that happened. Failures are
// an OSS error reply (default 503 ServiceUnavailable), a connection reset,
// or no answer at all (Hang: the request is held until the client gives up
// or the server closes). SetUnresponsive holds every request, before it is
// even authenticated, as a hung server or a black-holed network does: for
// testing timeouts. Skip and Limit select "the Nth request"; Before and After are
// probabilities drawn from a seeded RNG (WithSeed). For example, to apply the
// second append and then reset the connection:
//
//	srv.SetFault(osstest.OpAppend, osstest.Fault{After: 1, Skip: 1, Limit: 1, Reset: true})
//
// Note that Go's HTTP client transparently re-sends an idempotent request
// without a body (GET, HEAD) once when a reused connection is reset before
// any reply byte, so a single reset of a GET may not reach the SDK.
//
// Stats and Requests count requests per operation, so a test can report how
// many OSS requests some code made. Object, ObjectInfo, Keys, PutObjectDirect,
// SetStorageClassDirect and DeleteObjectDirect read and plant state behind
// the protocol's back.
//
// # Memory
//
// Objects live in memory. Appends grow the object's slice in place
// (amortised O(n)), and bytes once written are never modified, so reads
// serve a slice of the object without copying it.
//
// # Command
//
// cmd/osstest-server runs the server from a shell:
//
//	go run ./pkg/osstest/cmd/osstest-server -addr 127.0.0.1:9000 -bucket sink \
//		-access-key-id ak -access-key-secret sk -security-token tok \
//		-fail-before 0.1 -fail-after 0.1 -latency 20ms -seed 1
//
// -restore-delay sets how long every restore takes (0: at once);
// -storage-class the class of objects written without one;
// -reset fails by resetting connections instead of replying 503;
// -unresponsive accepts connections and never answers. It logs one
// line per request (operation, bucket/key, status, fault) on stderr and stops
// on SIGINT or SIGTERM.
package osstest
