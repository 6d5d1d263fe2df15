package localstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/storetest"
)

func newStore(t *testing.T, opts ...localstore.Option) *localstore.Store {
	t.Helper()
	s, err := localstore.New(filepath.Join(t.TempDir(), "oss-local"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAcceptance(t *testing.T) {
	tests := []struct {
		name  string
		opts  []localstore.Option
		batch bool // a batch's view, synced when the subtest ends
	}{
		{"fsync", nil, false},
		{"without fsync", []localstore.Option{localstore.WithoutFsync()}, false},
		{"batch view", nil, true},
		{"batch view without fsync", []localstore.Option{localstore.WithoutFsync()}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := newStore(t, tc.opts...)
				// Whatever a subtest did, it must leave no bookkeeping behind.
				t.Cleanup(func() { checkNoLeftovers(t, s.Dir()) })
				if !tc.batch {
					return s
				}
				b := s.NewBatch()
				t.Cleanup(func() {
					if err := b.Sync(context.Background()); err != nil {
						t.Errorf("sync the batch: %v", err)
					}
				})
				return b.View()
			}, storetest.WithoutContentHeaders(), storetest.WithoutAttributes())
		})
	}
}

// checkNoLeftovers fails if dir holds temporary files.
func checkNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("walk %s: %v", path, err)
			return nil
		}
		if strings.HasPrefix(d.Name(), ".localstore-") {
			t.Errorf("leftover bookkeeping file %s", path)
		}
		return nil
	})
}

// TestLayout checks that the directory looks like the bucket: one file per
// key at the key's path, told apart by the owner-write bit.
func TestLayout(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const meta = "myprefix/mytopic/.oss_meta_file_partition_3"
	const data = "myprefix/mytopic/dt=2026-11-25/partition_3_offset_120_ab12cd34"
	if err := s.Put(ctx, meta, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, data, 0, []byte("rec\n")); err != nil {
		t.Fatal(err)
	}

	files := map[string]fs.FileMode{}
	err := filepath.WalkDir(s.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Dir(), path)
		files[filepath.ToSlash(rel)] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{meta: 0o444, data: 0o644}
	if len(files) != len(want) {
		t.Fatalf("files under the store: %v, want %v", files, want)
	}
	for name, mode := range want {
		if files[name] != mode {
			t.Errorf("%s: mode %v, want %v", name, files[name], mode)
		}
	}
	got, err := os.ReadFile(filepath.Join(s.Dir(), filepath.FromSlash(data)))
	if err != nil || string(got) != "rec\n" {
		t.Errorf("file content = %q, %v; want %q", got, err, "rec\n")
	}
}

func TestInvalidKeys(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	s, err := localstore.New(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"", "/", "/etc/passwd", "a//b", "a/", ".", "..", "../escape", "a/../../escape",
		"a/./b", "a/..", "nul\x00byte", ".localstore-tmp-1", "a/.localstore-x/b",
	}
	for _, key := range keys {
		for op, err := range callAll(t, s, key) {
			if strings.HasPrefix(op, "List") {
				continue
			}
			t.Run(fmt.Sprintf("%s %q", op, key), func(t *testing.T) {
				if !errors.Is(err, store.ErrInvalidKey) {
					t.Fatalf("error = %v, want one wrapping store.ErrInvalidKey", err)
				}
				if errors.Is(err, store.ErrNotFound) {
					t.Errorf("error %v wraps ErrNotFound", err)
				}
				if !strings.Contains(err.Error(), strconv.Quote(key)) {
					t.Errorf("error %q does not name the key", err)
				}
			})
		}
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "store" {
		t.Errorf("invalid keys touched the store's parent: %v", entries)
	}
	if infos, err := s.List(ctx, ""); err != nil || len(infos) != 0 {
		t.Errorf("List after invalid keys = %v, %v; want nothing", infos, err)
	}
}

// TestListSkipsBookkeeping puts the store's own files and empty directories
// in the tree, as a crash would leave them; List must not show them.
func TestListSkipsBookkeeping(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Put(ctx, "p/t/object", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".localstore-tmp-123", "p/.localstore-tmp-456", "p/t/.localstore-tmp-789", ".localstore-dir/x"} {
		path := filepath.Join(s.Dir(), filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(s.Dir(), "empty", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "p", "p/", "p/t/", ".", ".localstore-", "empty"} {
		t.Run(fmt.Sprintf("prefix %q", prefix), func(t *testing.T) {
			infos, err := s.List(ctx, prefix)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, info := range infos {
				keys = append(keys, info.Key)
			}
			var want []string
			if strings.HasPrefix("p/t/object", prefix) {
				want = []string{"p/t/object"}
			}
			if !slices.Equal(keys, want) {
				t.Errorf("List(%q) = %q, want %q", prefix, keys, want)
			}
		})
	}
}

// TestKeyDirectoryClash covers keys a file system cannot hold at once.
func TestKeyDirectoryClash(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.Put(ctx, "a/b", []byte("ab")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		call  func() error
		check func(error) bool
	}{
		{"Put over a directory", func() error { return s.Put(ctx, "a", []byte("x")) }, isPlainError},
		{"NoOverwrite over a directory", func() error { return s.Put(ctx, "a", []byte("x"), store.NoOverwrite()) }, isPlainError},
		{"PutReader over a directory", func() error { return s.PutReader(ctx, "a", bytes.NewReader([]byte("x")), 1) }, isPlainError},
		{"NoOverwrite below an object", func() error { return s.Put(ctx, "a/b/c", []byte("x"), store.NoOverwrite()) }, isPlainError},
		{"create over a directory", func() error { _, err := s.Append(ctx, "a", 0, []byte("x")); return err }, isPlainError},
		{"append at 3 over a directory", func() error { _, err := s.Append(ctx, "a", 3, []byte("x")); return err }, isPositionError},
		{"Put below an object", func() error { return s.Put(ctx, "a/b/c", []byte("x")) }, isPlainError},
		{"create below an object", func() error { _, err := s.Append(ctx, "a/b/c", 0, []byte("x")); return err }, isPlainError},
		{"append at 3 below an object", func() error { _, err := s.Append(ctx, "a/b/c", 3, []byte("x")); return err }, isPositionError},
		{"Get a directory", func() error { _, err := s.Get(ctx, "a"); return err }, isNotFound},
		{"Get below an object", func() error { _, err := s.Get(ctx, "a/b/c"); return err }, isNotFound},
		{"Delete a directory", func() error { return s.Delete(ctx, "a") }, isNil},
		{"Delete below an object", func() error { return s.Delete(ctx, "a/b/c") }, isNil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !tc.check(err) {
				t.Fatalf("error = %v", err)
			}
		})
	}
	if got, err := s.Get(ctx, "a/b"); err != nil || string(got) != "ab" {
		t.Fatalf("a/b = %q, %v after the clashes", got, err)
	}
}

func isNil(err error) bool      { return err == nil }
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func isPositionError(err error) bool {
	pe, ok := store.AsPositionError(err)
	return ok && pe.Length == 0
}
func isPlainError(err error) bool {
	return err != nil && !isNotFound(err) && !isPositionError(err) && !errors.Is(err, store.ErrExists)
}

// TestPutReaderSourceErrors: the source's own errors are not the store's:
// a permission error reading the source is no store.ErrAccessDenied.
func TestPutReaderSourceErrors(t *testing.T) {
	s := newStore(t)
	err := s.PutReader(t.Context(), "k", deniedSource{}, 10)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("error = %v, want the source's error in the chain", err)
	}
	if errors.Is(err, store.ErrAccessDenied) || store.IsPermanent(err) {
		t.Fatalf("error = %v is classified as the store's", err)
	}
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat after a failed PutReader: %v", err)
	}
}

type deniedSource struct{}

func (deniedSource) ReadAt([]byte, int64) (int, error) { return 0, fs.ErrPermission }

// TestDeletePrunesDirectories checks that deleting the last object under a
// folder removes the folder, as it disappears from a bucket, and frees the
// name for an object.
func TestDeletePrunesDirectories(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, key := range []string{"a/b/c", "a/d"} {
		if err := s.Put(ctx, key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "a", "b")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a/b still exists after its last object was deleted: %v", err)
	}
	if err := s.Delete(ctx, "a/d"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != 0 {
		t.Fatalf("store directory holds %v, %v; want it empty and present", entries, err)
	}
	if err := s.Put(ctx, "a", []byte("now a file")); err != nil {
		t.Fatalf("Put(a) after its directory emptied: %v", err)
	}
}

// TestConcurrentDeleteAndCreate races Delete's directory pruning against
// writers creating objects in the same directory.
func TestConcurrentDeleteAndCreate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, localstore.WithoutFsync())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprintf("d/e/w%d-%d", w, i)
				var err error
				if i%2 == 0 {
					err = s.Put(ctx, key, []byte("x"))
				} else {
					_, err = s.Append(ctx, key, 0, []byte("x"))
				}
				if err != nil {
					t.Errorf("create %s: %v", key, err)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Errorf("Delete %s: %v", key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if infos, err := s.List(ctx, ""); err != nil || len(infos) != 0 {
		t.Errorf("List = %v, %v; want nothing", infos, err)
	}
}

// TestTwoStoresOneDirectory has two Store values on one directory, as two
// components of one process might, append to the same object.
func TestTwoStoresOneDirectory(t *testing.T) {
	dir := t.TempDir()
	var stores []*localstore.Store
	for range 2 {
		s, err := localstore.New(dir, localstore.WithoutFsync())
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	const per = 200
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			if _, err := appendRecords(context.Background(), s, "shared", i, per); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkRecords(t, stores[0], "shared", len(stores), per)
}

// appendRecords appends records writer:0 ... writer:n-1, each retried at the
// length a PositionError reports, and returns how many appends were fenced.
func appendRecords(ctx context.Context, s store.Store, key string, writer, n int) (retries int, err error) {
	var pos int64
	for i := 0; i < n; {
		got, err := s.Append(ctx, key, pos, fmt.Appendf(nil, "%02d:%06d\n", writer, i))
		if pe, ok := store.AsPositionError(err); ok {
			pos = pe.Length
			retries++
			continue
		}
		if err != nil {
			return retries, fmt.Errorf("writer %d: %w", writer, err)
		}
		pos = got
		i++
	}
	return retries, nil
}

// checkRecords checks that every writer's records landed once, whole and in
// order.
func checkRecords(t *testing.T, s store.Store, key string, writers, n int) {
	t.Helper()
	data, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != writers*n {
		t.Fatalf("%d records, want %d", len(lines), writers*n)
	}
	next := make([]int, writers)
	for j, line := range lines {
		var w, i int
		if _, err := fmt.Sscanf(line, "%02d:%06d", &w, &i); err != nil || w < 0 || w >= writers || i != next[w] {
			t.Fatalf("record %d = %q; want writer's next record (%v)", j, line, next)
		}
		next[w]++
	}
}

// TestAppendAcrossProcesses runs appenders in separate processes on one
// directory, as two CLI runs would; only the file lock fences them.
func TestAppendAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const procs, per = 4, 1000
	var cmds []*exec.Cmd
	outputs := make([]bytes.Buffer, procs)
	for i := range procs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			"LOCALSTORE_HELPER_DIR="+dir,
			"LOCALSTORE_HELPER_WRITER="+strconv.Itoa(i),
			"LOCALSTORE_HELPER_RECORDS="+strconv.Itoa(per))
		cmd.Stdout, cmd.Stderr = &outputs[i], &outputs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("appender process %d: %v\n%s", i, err, outputs[i].Bytes())
		}
		if testing.Verbose() {
			t.Logf("appender process %d:\n%s", i, outputs[i].Bytes())
		}
	}
	if t.Failed() {
		return
	}
	s, err := localstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, s, "p/t/partition_0", procs, per)
}

// TestHelperAppender is the child process of TestAppendAcrossProcesses.
func TestHelperAppender(t *testing.T) {
	dir := os.Getenv("LOCALSTORE_HELPER_DIR")
	if dir == "" {
		t.Skip("child process of TestAppendAcrossProcesses")
	}
	writer, err1 := strconv.Atoi(os.Getenv("LOCALSTORE_HELPER_WRITER"))
	n, err2 := strconv.Atoi(os.Getenv("LOCALSTORE_HELPER_RECORDS"))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	s, err := localstore.New(dir, localstore.WithoutFsync())
	if err != nil {
		t.Fatal(err)
	}
	retries, err := appendRecords(context.Background(), s, "p/t/partition_0", writer, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("writer %d: %d appends fenced off by other processes", writer, retries)
}

func TestNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"nested, absent", filepath.Join(t.TempDir(), "x", "y"), false},
		{"existing", t.TempDir(), false},
		{"empty name", "", true},
		{"a file", file, true},
		{"below a file", filepath.Join(file, "sub"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := localstore.New(tc.dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tc.dir, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if fi, err := os.Stat(s.Dir()); err != nil || !fi.IsDir() || !filepath.IsAbs(s.Dir()) {
				t.Fatalf("Dir() = %q: %v, %v", s.Dir(), fi, err)
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []localstore.Option
	}{
		{"fsync", nil},
		{"without fsync", []localstore.Option{localstore.WithoutFsync()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := localstore.New(b.TempDir(), bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			rec := make([]byte, 4096)
			var pos int64
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if pos, err = s.Append(ctx, "bench", pos, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPutStopsAppenders replaces an appendable object while appenders are
// busy with it. Once the Put is done no append may land, in the replaced file
// or the new one, and the object must be exactly what Put wrote.
func TestPutStopsAppenders(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, localstore.WithoutFsync())
	const key = "p/t/partition_0"
	if _, err := s.Append(ctx, key, 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			pos := int64(1)
			for {
				n, err := s.Append(ctx, key, pos, []byte("x"))
				if pe, ok := store.AsPositionError(err); ok {
					pos = pe.Length
					continue
				}
				if errors.Is(err, store.ErrNotAppendable) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				pos = n
			}
		})
	}
	if err := s.Put(ctx, key, []byte("replaced")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got, err := s.Get(ctx, key)
	if err != nil || string(got) != "replaced" {
		t.Fatalf("Get after Put = %q, %v; want %q", got, err, "replaced")
	}
}

// TestSymlinkedDirectory opens a store through a symbolic link to its
// directory, as a user pointing oss-local at a bigger disk would.
func TestSymlinkedDirectory(t *testing.T) {
	ctx := context.Background()
	target := t.TempDir()
	link := filepath.Join(t.TempDir(), "oss-local")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	s, err := localstore.New(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "p/object", []byte("x")); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].Key != "p/object" {
		t.Fatalf("List through a symlinked directory = %v, %v; want p/object", infos, err)
	}
	if _, err := os.Stat(filepath.Join(target, "p", "object")); err != nil {
		t.Fatalf("object not in the link's target: %v", err)
	}
}

// TestConcurrentListingsSeeEarlierWrites: listings of one directory share
// its reading, but never a read that began before they were asked for:
// each writer lists right after its own writes and must find them (and,
// deleted, not find them), among many writers doing the same at once.
func TestConcurrentListingsSeeEarlierWrites(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, localstore.WithoutFsync())
	const writers, rounds = 16, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				key := fmt.Sprintf("t/partition_%d_offset_%d", w, r)
				if _, err := s.Append(ctx, key, 0, []byte("x")); err != nil {
					errs <- err
					return
				}
				infos, err := s.List(ctx, fmt.Sprintf("t/partition_%d_", w))
				if err != nil {
					errs <- err
					return
				}
				if len(infos) != 1 || infos[0].Key != key {
					errs <- fmt.Errorf("writer %d round %d: listed %v after creating %s", w, r, infos, key)
					return
				}
				if err := s.Delete(ctx, key); err != nil {
					errs <- err
					return
				}
				if infos, err := s.List(ctx, key); err != nil || len(infos) != 0 {
					errs <- fmt.Errorf("writer %d round %d: listed %v, %v after deleting %s", w, r, infos, err, key)
					return
				}
				// Keep the directory from emptying (Delete prunes it).
				if _, err := s.Append(ctx, fmt.Sprintf("t/keep_%d_%d", w, r), 0, []byte("x")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
