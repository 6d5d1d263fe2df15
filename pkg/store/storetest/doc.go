// Package storetest is the acceptance suite for store.Store. Every
// implementation calls Run from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
//
// open is called once per subtest and must return an empty store that no
// other subtest sees (a fresh directory, a fresh bucket or a fresh prefix);
// clean it up with t.Cleanup. Subtests run one after another, never in
// parallel, so open may share a server between them. Options say where a
// store legitimately differs (WithoutContentHeaders, WithoutAttributes) and
// how the suite finishes a restore that waits (WithCompleteRestore).
//
// # What an implementation must do to pass
//
// Everything store.go documents, plus the points below where store.go is
// silent and the sink relies on an answer:
//
//   - Not found: Get, GetRange (even with n == 0) and Stat of an absent key
//     fail with an error wrapping store.ErrNotFound. So do keys that only
//     look like directories ("a" when "a/b" exists) and keys below an object
//     ("a/b/c" when "a/b" is an object).
//   - Put creates and replaces; it is atomic for a concurrent reader, which
//     sees one complete value, never a mix or a prefix; it turns an
//     appendable object into a normal one; an empty value is a valid object.
//   - PutReader stores exactly bytes [0, size) of its source (sizes 0 to
//     1 MiB and more), as a normal object, atomically for concurrent readers
//     like Put. A source that holds fewer bytes or fails, or a negative size,
//     fails the call with an error that wraps none of the store's sentinels,
//     and leaves the key as it was (absent stays absent).
//   - NoOverwrite (Put and PutReader) creates an absent key; on a key that
//     holds an object of either kind, empty ones included, it fails with an
//     error wrapping store.ErrExists (not permanent, not ErrNotFound) and
//     leaves the object as it was. Of NoOverwrite writes racing for one key
//     exactly one succeeds. Append ignores it; plain Put still replaces.
//   - Content type and encoding: Stat reports those of the write that created
//     the object (Put, PutReader, or the Append that created it; a later
//     option of one kind overrides an earlier one); later appends, including
//     position 0 on an existing empty object, do not change them; a replace
//     without options leaves no encoding and not the old type. List and
//     ListPage report neither. A store run WithoutContentHeaders reports ""
//     for both. Objects labelled Content-Encoding: gzip read back (Get,
//     GetRange) as the stored gzip bytes, never decoded.
//   - Append at 0 creates an appendable object and returns its new length.
//     At a wrong position (too small, too large, negative, or > 0 on an
//     absent key) it fails with a *store.PositionError carrying the key, the
//     position asked for and the actual length, and writes nothing (an absent
//     key stays absent). On an object written by Put it fails with
//     store.ErrNotAppendable at any position: the kind is checked before the
//     position, as OSS does.
//   - A concurrent reader (Get, Stat) of a growing object sees it only
//     between appends, never with part of one.
//   - Of several Appends racing at one position exactly one succeeds, the
//     others get a *store.PositionError whose Length is the winner's result,
//     and the object holds exactly the winner's bytes. Appenders that retry
//     at the reported length never interleave or lose a record.
//   - GetRange: n == 0 gives an empty slice (at any off up to the size),
//     off+n beyond the size and negative off or n give an error that does
//     not wrap ErrNotFound.
//   - Stat and List report Size and Appendable truthfully; Stat's Key is the
//     key asked for; Modified, when not zero, is near the wall clock.
//   - List returns exactly the objects whose key starts with the prefix
//     (byte-wise, not by path segments), sorted byte-wise by key, with no
//     directory entries, temporary files or other bookkeeping; it handles
//     more than 1,000 results (one OSS page); the empty prefix lists all.
//   - ListPage returns what List would, from after startAfter on, at most
//     limit (and store.MaxListPage) objects a call; paging with the last key
//     of each page as the next startAfter yields exactly List's result, for
//     every page size, prefix and the keys URL encoding mangles. more is
//     true exactly when matching objects remain (so a page that ends on the
//     last object says false), and a page that announces more is never
//     empty. startAfter need not be a key, may sort before the prefix or
//     beyond every key, or be longer than any key; a prefix longer than
//     store.MaxKeyLen matches nothing. ListPage describes objects as List
//     does.
//   - Delete of an absent key succeeds; Delete of a key that only looks like a
//     directory removes nothing.
//   - Keys that store.CheckKey refuses (empty, longer than 1,023 bytes, not
//     UTF-8, starting with '/' or a backslash) fail every operation with an
//     error wrapping store.ErrInvalidKey, which store.IsPermanent reports,
//     and create nothing; a key of exactly 1,023 bytes (in segments of 200)
//     works. Appending to a Put object is permanent too.
//   - Keys may hold spaces, unicode, and the characters that URL encoding
//     mangles ('+', '%', '?', '#', '&', '=', ';', '~', ...), and segments
//     that start with a dot. Data may hold every byte value; an 8 MiB object
//     built by appends reads back identically.
//   - Buffers are not retained: the caller may reuse a buffer after Put or
//     Append returns, and may modify what Get returns.
//   - Attributes: the storage class, encryption (WithSSE), tags and user
//     metadata of the write that creates an object (Put, PutReader, the
//     creating Append) come back from Stat (metadata keys in lower case,
//     sorted), the class also from List and ListPage, the tags from Tags
//     (sorted by key); later appends do not change them, a plain replace
//     drops them, and Tags of an absent key is ErrNotFound. A store run
//     WithoutAttributes reports none, and its Tags fails with
//     store.ErrUnsupported.
//   - Refusals: every store refuses, with store.ErrUnsupported (permanent)
//     and without writing anything, what store.CheckWriteOptions refuses:
//     ColdArchive, DeepColdArchive or a customer KMS key on Append (Put
//     takes them), unknown classes or encryptions, a key id without KMS,
//     tags and metadata beyond OSS's rules; writes at the limits succeed.
//   - Archived objects (Archive, ColdArchive, DeepColdArchive, by Put,
//     PutReader and Append): Get and GetRange (n == 0 too) fail with
//     store.ErrNotRestored, which is permanent and neither ErrNotFound nor
//     ErrAccessDenied; Stat works. Restore answers RestoreRequested, then,
//     for a store run WithCompleteRestore, RestoreInProgress (Stat agrees;
//     reads still fail) until the suite completes the restore, and
//     RestoreDone afterwards; the object then reads back, Stat reports
//     RestoreDone and an expiry (if any) in the future. A store run
//     WithoutAttributes reads such objects at once and fails Restore with
//     store.ErrUnsupported. Restore of an object in no archive class is
//     store.ErrUnsupported, of an absent key store.ErrNotFound.
//   - CRC-64: where Stat reports HasCRC64, CRC64 is the CRC-64/ECMA of the
//     object's bytes, after appends and replaces too.
//   - With a cancelled context every operation returns within a few seconds.
//     Failing is expected; succeeding is tolerated (and logged) for stores
//     whose local I/O cannot be interrupted, but a cancelled Put or Append
//     must still never leave a partial write behind.
//
// # What the suite does not ask
//
// Keys in the suite never have an empty segment, a "." or ".." segment, a
// trailing '/', a NUL or a segment longer than 255 bytes, and no key is a
// "directory" of another (never "a" next to "a/b"), because a store backed
// by a file system cannot hold such keys. OSS can; store.go does not forbid
// them, so the sink should not generate them.
//
// The suite does not test crash safety, durability, faults in transit, or
// the other permanent errors (access denied, missing bucket): producing
// them is each implementation's business, and belongs to its own tests.
package storetest
