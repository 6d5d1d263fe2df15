package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

const (
	// reservedPrefix starts the names of the store's own files. Keys with a
	// segment that starts with it are rejected, so no object can be taken
	// for one of them.
	reservedPrefix = ".localstore-"
	tmpPattern     = reservedPrefix + "tmp-*"

	normalMode     fs.FileMode = 0o444
	appendableMode fs.FileMode = 0o644
	dirMode        fs.FileMode = 0o755

	// maxNameLen is the longest file name common local file systems take
	// (NAME_MAX on Linux and the BSDs). Checking it up front refuses such a
	// key the same way whether or not its directory exists; a file system
	// with a shorter limit still fails with ENAMETOOLONG, which is
	// classified the same.
	maxNameLen = 255

	// maxAttempts bounds the loops that restart when another writer changes
	// the file between two steps; each restart means someone else made
	// progress, so hitting the bound means something is badly wrong.
	maxAttempts = 100
)

// errKeyIsDirectory is wrapped when a key names a directory that holds other
// objects, which a file system cannot also hold as an object.
var errKeyIsDirectory = errors.New("key is a directory of other objects")

// Option configures a Store.
type Option func(*config)

type config struct {
	fsync bool
	// writeAt writes an append; tests replace it to inject short writes.
	writeAt func(f *os.File, b []byte, off int64) (int, error)
	// fsyncDir fsyncs an open directory; tests replace it to see the
	// order of syncs and writes, and to fail them.
	fsyncDir func(d *os.File) error
}

func defaultConfig() config {
	return config{fsync: true, writeAt: (*os.File).WriteAt, fsyncDir: (*os.File).Sync}
}

// WithoutFsync skips fsync of files and directories. Writes are still atomic
// and fenced, but may be lost if the machine crashes. Default: fsync on.
func WithoutFsync() Option {
	return func(c *config) { c.fsync = false }
}

// Store is a store.Store in a local directory. It is safe for concurrent use
// by goroutines and by other processes using the same directory.
type Store struct {
	root  string
	cfg   config
	reads dirReads
}

var _ store.Store = (*Store)(nil)

// New returns a store in dir, creating the directory if needed. A directory
// that cannot be created fails with an error wrapping store.ErrAccessDenied
// (no permission) or store.ErrNoSuchBucket (anything else, such as a file
// in the way).
func New(dir string, opts ...Option) (*Store, error) {
	if !locksSupported {
		return nil, fmt.Errorf("localstore: file locks are not supported on this platform")
	}
	if dir == "" {
		return nil, errors.New("localstore: empty directory name")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localstore: %w", err)
	}
	if err := os.MkdirAll(root, dirMode); err != nil {
		kind := store.ErrNoSuchBucket
		if errors.Is(err, fs.ErrPermission) {
			kind = store.ErrAccessDenied
		}
		return nil, fmt.Errorf("localstore: directory %s does not exist and cannot be created: %w: %w", root, kind, err)
	}
	// Work on the real directory: the store is that directory, not
	// whatever a symbolic link to it points at later.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("localstore: %w", err)
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	return &Store{root: root, cfg: cfg}, nil
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.root }

// Get returns the whole object.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	const op = "get"
	f, fi, err := s.openRead(ctx, op, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.read(op, key, f, 0, fi.Size())
}

// GetRange returns n bytes at off. Negative off or n is an error.
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	const op = "get range"
	f, fi, err := s.openRead(ctx, op, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := fi.Size()
	// off > size-n rather than off+n > size, which could overflow.
	if off < 0 || n < 0 || n > size || off > size-n {
		return nil, fmt.Errorf("localstore: %s %q: bytes [%d, %d+%d) out of range of a %d-byte object", op, key, off, off, n, size)
	}
	return s.read(op, key, f, off, n)
}

// Stat returns the object's size, kind and modification time.
func (s *Store) Stat(ctx context.Context, key string) (store.Info, error) {
	f, fi, err := s.openRead(ctx, "stat", key)
	if err != nil {
		return store.Info{}, err
	}
	f.Close()
	return info(key, fi), nil
}

// Put atomically replaces the object with data, as a normal object; with
// store.NoOverwrite it creates it only if the key is free. The content type
// and encoding are not kept (see the package doc).
func (s *Store) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	return s.putData(ctx, key, data, opts, s)
}

func (s *Store) putData(ctx context.Context, key string, data []byte, opts []store.WriteOption, d durability) error {
	return s.put(ctx, "put", key, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}, store.ApplyWriteOptions(opts), d)
}

// PutReader is Put for size bytes copied from r, through a temporary file,
// so memory does not depend on size.
func (s *Store) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	return s.putReader(ctx, key, r, size, opts, s)
}

func (s *Store) putReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts []store.WriteOption, d durability) error {
	const op = "put reader"
	if _, err := s.begin(ctx, op, key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("localstore: %s %.64q: negative size %d", op, key, size)
	}
	return s.put(ctx, op, key, func(f *os.File) error {
		n, err := io.Copy(f, &sourceReader{ctx: ctx, r: io.NewSectionReader(r, 0, size)})
		if err == nil && n < size {
			err = &sourceError{fmt.Errorf("it holds %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)}
		}
		return err
	}, store.ApplyWriteOptions(opts), d)
}

// sourceError marks a failure to read PutReader's source, which says
// nothing about the store: it must not be classified as one of the store's
// errors (a permission error of the source is no access-denied of the store).
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "reading the source: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// sourceReader reads PutReader's source, marking its errors, and stops a
// long copy soon after ctx ends.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *sourceReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(b)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// put writes a normal object whose content fill writes into a temporary
// file, then renames the file into place, or (NoOverwrite) hard-links it,
// which fails if the key exists; d makes the new name durable.
func (s *Store) put(ctx context.Context, op, key string, fill func(*os.File) error, wo store.WriteOptions, d durability) error {
	p, err := s.begin(ctx, op, key)
	if err != nil {
		return err
	}
	if err := store.CheckWriteOptions(wo, false); err != nil {
		return fmt.Errorf("localstore: %s %.64q: %w", op, key, err)
	}
	tmp, err := s.writeTemp(ctx, filepath.Dir(p), fill, normalMode)
	if se := (*sourceError)(nil); errors.As(err, &se) {
		return fmt.Errorf("localstore: %s %.64q: %w", op, key, err)
	}
	if err != nil {
		return s.fail(op, key, s.explain(p, err))
	}
	if wo.NoOverwrite {
		// The link is the only name the object gets, so the temporary
		// name can go whatever happened.
		defer os.Remove(tmp)
		if err := os.Link(tmp, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
					return s.fail(op, key, fmt.Errorf("%w: %w", errKeyIsDirectory, err))
				}
				return s.fail(op, key, store.ErrExists)
			}
			return s.fail(op, key, s.explain(p, err))
		}
	} else if err := rename(tmp, p); err != nil {
		// Only now: after a rename the name is free for another writer's
		// temporary file, which a later remove would delete.
		os.Remove(tmp)
		return s.fail(op, key, s.explain(p, err))
	}
	if err := d.changed(filepath.Dir(p)); err != nil {
		return s.fail(op, key, err)
	}
	return nil
}

// Append writes data at pos if the object's length is pos; see store.Store.
// The content type and encoding are not kept (see the package doc).
func (s *Store) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	return s.append(ctx, key, pos, data, opts, s)
}

func (s *Store) append(ctx context.Context, key string, pos int64, data []byte, opts []store.WriteOption, d durability) (int64, error) {
	const op = "append"
	p, err := s.begin(ctx, op, key)
	if err != nil {
		return 0, err
	}
	if err := store.CheckWriteOptions(store.ApplyWriteOptions(opts), true); err != nil {
		return 0, fmt.Errorf("localstore: %s %.64q: %w", op, key, err)
	}
	// Each pass either settles the append or found that another writer
	// created, replaced or removed the file in the meantime and tries again.
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return 0, s.fail(op, key, err)
		}
		f, err := openFile(p, os.O_WRONLY, 0)
		switch {
		case err == nil:
			n, retry, err := s.appendLocked(ctx, key, p, f, pos, data)
			if cerr := f.Close(); err == nil && cerr != nil {
				err = s.fail(op, key, cerr)
			}
			if retry {
				continue
			}
			return n, err

		case isNotExist(err):
			if s.rootMissing() {
				return 0, s.fail(op, key, err)
			}
			if pos != 0 {
				return 0, positionError(key, pos, 0)
			}
			created, err := s.create(ctx, p, data, d)
			if err != nil {
				return 0, s.fail(op, key, s.explain(p, err))
			}
			if created {
				return int64(len(data)), nil
			}
			// Another appender created it first; its length decides.

		case errors.Is(err, fs.ErrPermission):
			// A normal object is read-only, so opening it for writing
			// fails for everyone but root.
			if fi, serr := os.Stat(p); serr == nil && fi.Mode().IsRegular() && !isAppendable(fi.Mode()) {
				return 0, s.fail(op, key, store.ErrNotAppendable)
			}
			return 0, s.fail(op, key, err)

		case errors.Is(err, syscall.EISDIR):
			// No object has this key, only objects below it.
			if pos != 0 {
				return 0, positionError(key, pos, 0)
			}
			return 0, s.fail(op, key, errKeyIsDirectory)

		default:
			return 0, s.fail(op, key, err)
		}
	}
	return 0, s.fail(op, key, fmt.Errorf("the file kept changing; gave up after %d attempts", maxAttempts))
}

// appendLocked does the fenced append on an open file under an exclusive
// lock. retry says the file is no longer the one at p.
func (s *Store) appendLocked(ctx context.Context, key, p string, f *os.File, pos int64, data []byte) (n int64, retry bool, err error) {
	const op = "append"
	// Closing f, which the caller does, releases the lock.
	if err := lockFile(ctx, f, true); err != nil {
		return 0, false, s.fail(op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, false, s.fail(op, key, err)
	}
	// A Put or Delete may have replaced or removed the file between open and
	// lock. Appending to the orphan would report success for bytes no one
	// can read, so start over on whatever is there now.
	cur, err := os.Stat(p)
	if isNotExist(err) || (err == nil && !os.SameFile(fi, cur)) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, s.fail(op, key, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, false, s.fail(op, key, fmt.Errorf("%s is not a regular file", p))
	}
	// Kind before position, as OSS does.
	if !isAppendable(fi.Mode()) {
		return 0, false, s.fail(op, key, store.ErrNotAppendable)
	}
	if size := fi.Size(); size != pos {
		return 0, false, positionError(key, pos, size)
	}
	if len(data) == 0 {
		return pos, false, nil
	}
	w, err := s.cfg.writeAt(f, data, pos)
	if err == nil && w != len(data) {
		err = io.ErrShortWrite
	}
	if err == nil && s.cfg.fsync {
		err = f.Sync()
	}
	if err != nil {
		// The contract says a failed append writes nothing: undo it while
		// still holding the lock, so no reader saw the partial bytes.
		terr := f.Truncate(pos)
		if terr == nil && s.cfg.fsync {
			terr = f.Sync()
		}
		if terr != nil {
			return 0, false, fmt.Errorf("localstore: append %q: %w; truncating back to %d bytes also failed: %w", key, err, pos, terr)
		}
		return 0, false, s.fail(op, key, err)
	}
	return pos + int64(len(data)), false, nil
}

// create makes a new appendable object holding data at p, unless p exists.
// The file is written whole under a temporary name and hard-linked into
// place: link(2) fails if p exists, so of racing creators exactly one wins,
// and no reader or appender ever sees the file half written.
func (s *Store) create(ctx context.Context, p string, data []byte, d durability) (created bool, err error) {
	tmp, err := s.writeTemp(ctx, filepath.Dir(p), func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}, appendableMode)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, d.changed(filepath.Dir(p))
}

// List returns the objects whose keys start with prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Info, error) {
	infos := []store.Info{}
	err := s.walk(ctx, prefix, "", func(key, path string) (bool, error) {
		info, ok, err := s.infoOf(ctx, key, path)
		if ok {
			infos = append(infos, info)
		}
		return true, err
	})
	if err != nil {
		return nil, s.fail("list", prefix, err)
	}
	return infos, nil
}

// ListPage returns up to limit objects after startAfter; see store.Store.
// It reads only the directories that can hold such keys (each whole, as a
// file system has no seek by name) and opens only the files it returns,
// never reading their contents.
func (s *Store) ListPage(ctx context.Context, prefix, startAfter string, limit int) ([]store.Info, bool, error) {
	if limit <= 0 || limit > store.MaxListPage {
		limit = store.MaxListPage
	}
	infos := []store.Info{}
	more := false
	err := s.walk(ctx, prefix, startAfter, func(key, path string) (bool, error) {
		if len(infos) == limit {
			more = true
			return false, nil
		}
		info, ok, err := s.infoOf(ctx, key, path)
		if ok {
			infos = append(infos, info)
		}
		return true, err
	})
	if err != nil {
		return nil, false, s.fail("list page", prefix, err)
	}
	return infos, more, nil
}

// infoOf describes the object at path as of a shared lock, so that its size
// does not include part of an append. ok is false if the file has gone since
// its directory was read.
func (s *Store) infoOf(ctx context.Context, key, path string) (store.Info, bool, error) {
	fi, err := s.statLocked(ctx, path)
	if isNotExist(err) {
		return store.Info{}, false, nil
	}
	if err != nil {
		return store.Info{}, false, err
	}
	return info(key, fi), true, nil
}

// walk calls fn with the key and path of every object whose key starts with
// prefix and sorts after startAfter, in byte order of the keys, until fn
// returns false or an error.
//
// A plain directory walk is not in key order: the directory "a" holds the
// keys "a/...", which sort after the file "a-b" although "a" sorts before
// it. So each directory's entries are ordered by what their keys start
// with: the name for a file, the name and a '/' for a directory. Keys of
// different entries then never interleave, and a depth-first walk in that
// order yields every key in byte order. It enters only the directories that
// can hold keys in range.
func (s *Store) walk(ctx context.Context, prefix, startAfter string, fn func(key, path string) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Start in the deepest directory the prefix names. If that part of the
	// prefix is no valid key, no valid key starts with the prefix either;
	// checking it also keeps "../" from walking outside the store.
	dir, dirKey := s.root, ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if checkKey(prefix[:i]) != nil {
			return nil
		}
		dir, dirKey = filepath.Join(s.root, filepath.FromSlash(prefix[:i])), prefix[:i+1]
	}
	_, err := s.walkDir(ctx, dir, dirKey, prefix, startAfter, fn)
	return err
}

// walkDir is walk within dir, whose keys start with dirKey. It reports
// whether fn asked to stop.
func (s *Store) walkDir(ctx context.Context, dir, dirKey, prefix, startAfter string, fn func(key, path string) (bool, error)) (stop bool, err error) {
	// Names that cannot match are passed over before anything is
	// allocated or sorted for them (see readDir), and concurrent listings
	// of one directory share the reading of it (see dirReads).
	rest := ""
	if len(prefix) > len(dirKey) {
		rest = prefix[len(dirKey):]
	}
	entries, err := s.reads.read(dir, nameMatch{rest})
	if err != nil {
		// The directory may not exist (no key has this prefix, or a
		// concurrent Delete pruned it), or the prefix names a file; but if
		// the whole store is gone, that is the answer.
		if isNotExist(err) && !s.rootMissing() {
			return false, nil
		}
		return false, err
	}
	type entry struct {
		start string // what every key in the entry starts with
		name  string
		isDir bool
	}
	ents := make([]entry, 0, len(entries))
	for _, d := range entries {
		if d.isDir {
			ents = append(ents, entry{dirKey + d.name + "/", d.name, true})
		} else {
			ents = append(ents, entry{dirKey + d.name, d.name, false})
		}
	}
	slices.SortFunc(ents, func(a, b entry) int { return strings.Compare(a.start, b.start) })
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if e.start > prefix && !strings.HasPrefix(e.start, prefix) {
			break // past the keys with the prefix, which sort together
		}
		path := filepath.Join(dir, e.name)
		if !e.isDir {
			if !strings.HasPrefix(e.start, prefix) || e.start <= startAfter {
				continue
			}
			if ok, err := fn(e.start, path); err != nil || !ok {
				return true, err
			}
			continue
		}
		// Enter only a directory that can hold keys with the prefix (or
		// lies on the way to them) and keys after startAfter: below a start
		// that sorts before startAfter without being a prefix of it, every
		// key sorts before startAfter too.
		if !strings.HasPrefix(e.start, prefix) && !strings.HasPrefix(prefix, e.start) {
			continue
		}
		if e.start <= startAfter && !strings.HasPrefix(startAfter, e.start) {
			continue
		}
		if stop, err := s.walkDir(ctx, path, e.start, prefix, startAfter, fn); stop || err != nil {
			return stop, err
		}
	}
	return false, nil
}

// dirEntry is a directory or regular file that readDir kept.
type dirEntry struct {
	name  string
	isDir bool
}

// hasPrefix is strings.HasPrefix for a name in readDir's buffer, without
// converting it.
func hasPrefix(name []byte, prefix string) bool {
	return len(name) >= len(prefix) && string(name[:len(prefix)]) == prefix
}

// Restore fails with store.ErrUnsupported once the object is found: files
// have no storage class, so nothing here is archived (see the package doc).
func (s *Store) Restore(ctx context.Context, key string, days int, tier store.RestoreTier) (store.RestoreState, error) {
	if _, err := s.Stat(ctx, key); err != nil {
		return store.RestoreNone, err
	}
	return store.RestoreNone, fmt.Errorf("localstore: restore %.64q: %w: files are never archived", key, store.ErrUnsupported)
}

// Tags fails with store.ErrUnsupported once the object is found:
// localstore keeps no tags (see the package doc).
func (s *Store) Tags(ctx context.Context, key string) ([]store.Tag, error) {
	if _, err := s.Stat(ctx, key); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("localstore: get tags of %.64q: %w: a directory keeps no object tags", key, store.ErrUnsupported)
}

// Delete removes the object and any directories that it leaves empty.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.delete(ctx, key, s)
}

func (s *Store) delete(ctx context.Context, key string, d durability) error {
	const op = "delete"
	p, err := s.begin(ctx, op, key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if isNotExist(err) {
		if s.rootMissing() {
			return s.fail(op, key, err)
		}
		return nil
	}
	if err != nil {
		return s.fail(op, key, err)
	}
	if fi.IsDir() {
		return nil // not an object, only the parent of some
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return s.fail(op, key, err)
	}
	dir := filepath.Dir(p)
	if err := d.changed(dir); err != nil && !isNotExist(err) {
		return s.fail(op, key, err)
	}
	// Keep the tree looking like the bucket, which has no empty folders.
	// Failing to remove a directory means it is not empty, or a concurrent
	// writer is using it; either way it should stay.
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	return nil
}

// begin checks the context and the key and returns the key's path.
func (s *Store) begin(ctx context.Context, op, key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", fmt.Errorf("localstore: %s %.64q: %w", op, key, err)
	}
	if err := ctx.Err(); err != nil {
		return "", s.fail(op, key, err)
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// openRead opens the object for reading under a shared lock, so that it
// never sees part of an append, and returns its info as of the lock.
func (s *Store) openRead(ctx context.Context, op, key string) (*os.File, fs.FileInfo, error) {
	p, err := s.begin(ctx, op, key)
	if err != nil {
		return nil, nil, err
	}
	f, err := openFile(p, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, s.failRead(op, key, err)
	}
	fi, err := lockAndStat(ctx, f)
	if err != nil {
		f.Close()
		return nil, nil, s.failRead(op, key, err)
	}
	return f, fi, nil
}

// statLocked returns a file's info under a shared lock, so that its size
// does not include part of an append.
func (s *Store) statLocked(ctx context.Context, path string) (fs.FileInfo, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return lockAndStat(ctx, f)
}

// lockAndStat takes a shared lock on a regular file and stats it. A
// directory is reported as not existing: it is no object.
func lockAndStat(ctx context.Context, f *os.File) (fs.FileInfo, error) {
	// Lock first and stat once, as of the lock: flock takes directories
	// too, and only the stat after the lock is of any use (an append may
	// have finished while we waited).
	if err := lockFile(ctx, f, false); err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fs.ErrNotExist
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", f.Name())
	}
	return fi, nil
}

func (s *Store) read(op, key string, f *os.File, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if got, err := f.ReadAt(buf, off); err != nil && int64(got) < n {
		return nil, s.fail(op, key, err)
	}
	return buf, nil
}

// writeTemp makes a new temporary file in dir, creating dir if needed, lets
// fill write its content, and returns its path. The file is complete, has
// mode perm, and is fsynced unless WithoutFsync.
func (s *Store) writeTemp(ctx context.Context, dir string, fill func(*os.File) error, perm fs.FileMode) (path string, err error) {
	var f *os.File
	// The directory exists nearly always (a partition's objects share
	// one), so the file is tried first and directories made only when it
	// is missing: no stat per write.
	for attempt := 0; ; attempt++ {
		f, err = createTemp(dir, tmpPattern)
		// A Delete pruning empty directories may remove dir between mkdirs
		// and CreateTemp; once the temporary file is in it, it stays.
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == maxAttempts || s.rootMissing() {
			break
		}
		// A concurrent Delete may prune a parent mkdirs just made: that
		// is a missing directory again, and the next attempt makes it.
		if err = s.mkdirs(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return "", err
	}
	if err = f.Chmod(perm); err != nil {
		return "", err
	}
	if s.cfg.fsync {
		if err = f.Sync(); err != nil {
			return "", err
		}
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	// Last chance to give up before the write becomes visible.
	if err = ctx.Err(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// mkdirs creates dir and its missing parents below the root, fsyncing each
// parent that gains an entry so that the new path survives a crash.
func (s *Store) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	rel, err := filepath.Rel(s.root, dir)
	if err != nil || rel == "." {
		return err
	}
	cur := s.root
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		next := filepath.Join(cur, seg)
		switch err := os.Mkdir(next, dirMode); {
		case err == nil:
			if err := s.syncDir(cur); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			// Already there, or a file: then the next step fails with
			// ENOTDIR, which explain turns into a clear message.
		default:
			return err
		}
		cur = next
	}
	return nil
}

// durability makes a change to a directory's entries (a rename, link or
// unlink) durable: the store itself at once, a batch's view at its next
// write or its batch's Sync (batch.go).
type durability interface {
	changed(dir string) error
}

// changed makes the change to dir durable before the write returns.
func (s *Store) changed(dir string) error { return s.syncDir(dir) }

// syncDir makes a change to dir's entries durable.
func (s *Store) syncDir(dir string) error {
	if !s.cfg.fsync {
		return nil
	}
	d, err := openFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	return s.cfg.fsyncDir(d)
}

// explain turns the errors a key/directory clash produces into one that
// says so.
func (s *Store) explain(p string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("a prefix of the key is an object, so it cannot be a directory: %w", err)
	}
	if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
		return fmt.Errorf("%w: %w", errKeyIsDirectory, err)
	}
	return err
}

// fail wraps err with the operation and key, and classifies the errno
// values that no retry can cure: a file name too long for the file system
// (store.ErrInvalidKey), EACCES and EPERM (store.ErrAccessDenied), and a
// missing file because the store's directory itself is gone
// (store.ErrNoSuchBucket: re-creating it could write into an unmounted
// mount point, so the store refuses to).
func (s *Store) fail(op, key string, err error) error {
	switch {
	case errors.Is(err, syscall.ENAMETOOLONG):
		err = fmt.Errorf("%w: a name in its path is longer than the file system allows: %w", store.ErrInvalidKey, err)
	case errors.Is(err, fs.ErrPermission):
		err = fmt.Errorf("%w: %w", store.ErrAccessDenied, err)
	case isNotExist(err) && s.rootMissing():
		err = fmt.Errorf("%w: directory %s is gone: %w", store.ErrNoSuchBucket, s.root, err)
	}
	return fmt.Errorf("localstore: %s %.64q: %w", op, key, err)
}

// failRead is fail for reads, which report every flavour of "no such file"
// as store.ErrNotFound, unless the whole store's directory is gone. Writes
// do not: for them a missing directory is a failure to explain, not an
// answer.
func (s *Store) failRead(op, key string, err error) error {
	if isNotExist(err) && !s.rootMissing() {
		err = store.ErrNotFound
	}
	return s.fail(op, key, err)
}

// rootMissing reports whether the store's directory is gone.
func (s *Store) rootMissing() bool {
	fi, err := os.Stat(s.root)
	return isNotExist(err) || (err == nil && !fi.IsDir())
}

// isNotExist reports an absent file, including one below a path component
// that is a file rather than a directory ("a/b/c" when "a/b" is an object).
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func isAppendable(m fs.FileMode) bool { return m.Perm()&0o200 != 0 }

func info(key string, fi fs.FileInfo) store.Info {
	return store.Info{Key: key, Size: fi.Size(), Appendable: isAppendable(fi.Mode()), Modified: fi.ModTime()}
}

func positionError(key string, pos, length int64) error {
	return fmt.Errorf("localstore: %w", &store.PositionError{Key: key, Position: pos, Length: length})
}

// checkKey says why key cannot name a file under the root, if it cannot:
// the OSS rules (store.CheckKey) and those of a file system. The error wraps
// store.ErrInvalidKey.
func checkKey(key string) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w: the key contains NUL", store.ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: empty path segment (trailing or doubled '/')", store.ErrInvalidKey)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q path segment", store.ErrInvalidKey, seg)
		case len(seg) > maxNameLen:
			return fmt.Errorf("%w: a path segment of %d bytes, more than the %d a file name may have", store.ErrInvalidKey, len(seg), maxNameLen)
		case strings.HasPrefix(seg, reservedPrefix):
			return fmt.Errorf("%w: segment %q starts with %q, which is reserved for the store's own files", store.ErrInvalidKey, seg, reservedPrefix)
		}
	}
	return nil
}
