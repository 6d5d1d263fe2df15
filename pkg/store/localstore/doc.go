// Package localstore is a store.Store kept in a local directory: the
// default store for local runs and tests that want real files.
//
// # Layout
//
// A key is a path relative to the directory given to New, with '/' as the
// separator, so the directory looks exactly like the bucket would:
//
//	oss-local/                                           New("oss-local")
//	  myprefix/mytopic/.oss_meta_file_partition_3        normal object, mode 0444
//	  myprefix/mytopic/partition_3_offset_120_ab12cd34   appendable object, mode 0644
//	  myprefix/mytopic/.localstore-tmp-2871553           a Put in flight (never listed)
//
// The owner-write bit tells the two kinds apart. A normal object (written by
// Put) is read-only, because it only ever changes by being replaced whole;
// an appendable object (created by Append) is writable, because it grows.
// The bit travels with the file through rename, cp and tar, and needs no
// sidecar that could disagree with the file it describes. Running as root
// does not matter: the bit is checked, not relied on for access control.
//
// Names starting with ".localstore-" are the store's own: keys with such a
// segment are rejected, and List skips such files. Only regular files are
// objects; directories are implied by keys and removed again when Delete
// empties them. Symbolic links are not supported.
//
// # Content type and encoding
//
// A file has no place for them that would survive cp, rsync and tar as the
// mode bit does, so localstore does not keep them: WithContentType and
// WithContentEncoding are accepted and ignored, and Stat reports "" for
// both. Tools reading the directory go by the object names' extensions.
//
// # Storage classes, encryption, tags and metadata
//
// Neither are kept, for the same reason: writes that OSS would refuse are
// refused (store.CheckWriteOptions: a ColdArchive class or a customer KMS
// key on an append, too many tags), the others are accepted and the
// attributes dropped. Every file is a Standard object: Restore and Tags
// fail with store.ErrUnsupported, and Stat reports no class, encryption or
// metadata. Archive behaviour is tested against osstest.
//
// # Keys
//
// A key must follow the OSS rules (store.CheckKey: 1 to 1,023 bytes of
// UTF-8, not starting with '/' or a backslash) and must not contain NUL or
// have an empty, "." or ".." segment (so "a//b" and "a/" are rejected) or a
// segment longer than 255 bytes; such keys fail with an error wrapping
// store.ErrInvalidKey and never touch the file system outside the directory.
// So does a key that makes the whole path too long (ENAMETOOLONG). A file
// system cannot hold both "a" and "a/b": a Put or Append that would need
// that fails, and Get reports the other as not found.
//
// # Errors
//
// Besides store.ErrInvalidKey: EACCES and EPERM wrap store.ErrAccessDenied.
// A directory that New cannot create, and a store directory that has
// disappeared since (deleted, or its volume unmounted), wrap
// store.ErrNoSuchBucket on every operation, reads included, so that a lost
// volume never looks like an empty partition; the store does not re-create
// the directory, which could write into a bare mount point.
//
// # Listing
//
// List and ListPage walk the directories in key order (a directory "a"
// holds keys that start with "a/", which sort after a file "a-b"), entering
// only directories that can hold keys in range, and stat each object they
// return under a shared lock, so a size never includes part of an append.
// They never read object contents; ListPage stops after limit objects and a
// peek at the next name.
//
// # Guarantees
//
// Put writes a temporary file in the target's directory, fsyncs it and
// renames it over the target, so readers see the old or the new object,
// never a mix. PutReader does the same, copying its source into the
// temporary file in small pieces, so its memory does not depend on the
// object's size. With NoOverwrite the temporary file is hard-linked into
// place instead, which fails if the key exists (store.ErrExists); the
// existing object is untouched.
//
// Append holds an exclusive flock(2) on the file while it checks the
// length, writes at that position and fsyncs; readers hold a shared lock, so
// they never see half an append, and appenders in other processes (two CLI
// runs on one directory) are fenced like those in this one. A failed append is truncated back to the original length. The first
// append creates the file complete under a temporary name and hard-links
// it into place, which fails if the key exists: of two creators exactly one
// wins. The directory must therefore be on a local file system with hard
// links and flock (any native Linux or BSD file system).
//
// # Batches
//
// The store is a store.Batcher: the writes through a batch's views
// (NewBatch, View) are atomic, fenced and visible like the store's own,
// and their file contents are fsynced as always, but the fsync of the
// directory whose entries a write changed (the rename of a Put, the link
// that creates an object, the unlink of a Delete) waits for the view's
// next write or the batch's Sync, which fsyncs each changed directory
// once. Each write through a view first fsyncs the directories the
// view's earlier writes changed, so a crash of the machine before Sync
// can undo the view's last directory changes only, never one that a
// later write which survived depends on: for the sink, whose view is a
// partition's, a crash then leaves the meta object as an earlier attempt
// wrote it, which is behind the index and recovered as after any failed
// attempt. Until Sync returned nil nothing may be reported durable.
//
// What is not guaranteed: a crash in the middle of an append can leave the
// appended bytes partly on disk (the next append at the old position then
// fails with a *store.PositionError, which the sink's recovery handles), and
// a crash can leave ".localstore-tmp-*" files behind, which are ignored and
// may be deleted by hand. WithoutFsync trades durability against a crash of
// the machine for speed; atomicity and fencing between processes do not
// depend on it.
package localstore
