package localstore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// TestFailedAppendWritesNothing injects write failures and checks that each
// leaves the object as it was, ready for an append at the same position.
func TestFailedAppendWritesNothing(t *testing.T) {
	errDisk := errors.New("injected disk error")
	tests := []struct {
		name    string
		writeAt func(f *os.File, b []byte, off int64) (int, error)
		wantErr error
	}{
		{"error after half", func(f *os.File, b []byte, off int64) (int, error) {
			n, _ := f.WriteAt(b[:len(b)/2], off)
			return n, errDisk
		}, errDisk},
		{"short write", func(f *os.File, b []byte, off int64) (int, error) {
			return f.WriteAt(b[:len(b)-1], off)
		}, io.ErrShortWrite},
		{"error before writing", func(*os.File, []byte, int64) (int, error) {
			return 0, errDisk
		}, errDisk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newInternalStore(t)
			const key = "t/partition_0"
			n, err := s.Append(ctx, key, 0, []byte("committed;"))
			if err != nil {
				t.Fatal(err)
			}

			s.cfg.writeAt = tc.writeAt
			if _, err := s.Append(ctx, key, n, []byte("lost record;")); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Append with a failing write: error = %v, want %v", err, tc.wantErr)
			}
			got, err := s.Get(ctx, key)
			if err != nil || string(got) != "committed;" {
				t.Fatalf("after the failed append: %q, %v; want %q", got, err, "committed;")
			}

			s.cfg.writeAt = (*os.File).WriteAt
			if _, err := s.Append(ctx, key, n, []byte("retry;")); err != nil {
				t.Fatalf("retry at the same position: %v", err)
			}
			if got, _ := s.Get(ctx, key); string(got) != "committed;retry;" {
				t.Fatalf("after the retry: %q", got)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"prefix/topic/.oss_meta_file_partition_3", true},
		{"topic/dt=2026-11-25/partition_3_offset_120_ab12cd34", true},
		{"...", true},
		{"a/..b/c.", true},
		{".localstore", true},
		{"back\\slash", true},
		{"", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"./a", false},
		{"a/../b", false},
		{"..", false},
		{"a\x00", false},
		{".localstore-tmp-x", false},
		{"a/.localstore-", false},
		{"\\lead", false},
		{"bad\xffutf8", false},
		{strings.Repeat("a/", 511) + "b", true},
		{strings.Repeat("a/", 512), false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			err := checkKey(tc.key)
			if (err == nil) != tc.ok {
				t.Fatalf("checkKey(%q) = %v, want ok %v", tc.key, err, tc.ok)
			}
			if err != nil && !errors.Is(err, store.ErrInvalidKey) {
				t.Fatalf("checkKey(%q) = %v, want one wrapping store.ErrInvalidKey", tc.key, err)
			}
		})
	}
}

// TestBatchSyncOrder records the directory fsyncs and appends of a batch's
// views: a view's directory change is synced before the view's next write
// takes effect, Sync syncs each changed directory once whatever the
// number of views, and the store itself still syncs at once.
func TestBatchSyncOrder(t *testing.T) {
	type step struct {
		view int    // -1: the store itself; -2: the batch's Sync
		op   string // put, append, delete
		key  string
		want []string // events the step causes, in order
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"steady partition: the rename waits for Sync", []step{
			{0, "append", "t/idx", []string{"write t/idx"}},
			{0, "append", "t/data", []string{"write t/data"}},
			{0, "put", "t/meta", nil},
			{-2, "sync", "", []string{"sync t"}},
		}},
		{"512 partitions in one directory: one sync", []step{
			{0, "put", "t/meta0", nil},
			{1, "put", "t/meta1", nil},
			{2, "put", "t/meta2", nil},
			{-2, "sync", "", []string{"sync t"}},
			{-2, "sync", "", nil},
		}},
		{"a view's next write waits for its earlier change", []step{
			{0, "put", "t/meta", nil},
			{1, "append", "t/data", []string{"write t/data"}}, // another view: no wait
			{0, "append", "t/data", []string{"sync t", "write t/data"}},
			{0, "delete", "u/stage", []string{}},
			{0, "put", "t/meta", []string{"sync u"}},
			{-2, "sync", "", []string{"sync t", "sync u"}},
		}},
		{"creates and links", []step{
			{0, "append", "t/new", nil}, // created whole: no append write
			{0, "append", "t/new", []string{"sync t", "write t/new"}},
			{-2, "sync", "", []string{"sync t"}},
		}},
		{"the store itself syncs at once", []step{
			{-1, "put", "t/meta", []string{"sync t"}},
			{-1, "append", "t/data", []string{"write t/data"}},
			{-1, "delete", "u/stage", []string{"sync u"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newInternalStore(t)
			for _, k := range []string{"t/idx", "t/data", "t/x", "u/stage", "u/x"} {
				if _, err := s.Append(ctx, k, 0, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			var events []string
			rel := func(name string) string {
				r, _ := filepath.Rel(s.Dir(), name)
				return filepath.ToSlash(r)
			}
			s.cfg.fsyncDir = func(d *os.File) error {
				events = append(events, "sync "+rel(d.Name()))
				return d.Sync()
			}
			s.cfg.writeAt = func(f *os.File, b []byte, off int64) (int, error) {
				events = append(events, "write "+rel(f.Name()))
				return f.WriteAt(b, off)
			}
			b := s.NewBatch()
			views := []store.Store{b.View(), b.View(), b.View()}
			for i, st := range tc.steps {
				events = nil
				var target store.Store = s
				if st.view >= 0 {
					target = views[st.view]
				}
				var err error
				switch {
				case st.view == -2:
					err = b.Sync(ctx)
				case st.op == "put":
					err = target.Put(ctx, st.key, []byte("m"))
				case st.op == "append":
					info, serr := s.Stat(ctx, st.key)
					if serr != nil && !store.IsNotFound(serr) {
						t.Fatal(serr)
					}
					_, err = target.Append(ctx, st.key, info.Size, []byte("a"))
				case st.op == "delete":
					err = target.Delete(ctx, st.key)
				}
				if err != nil {
					t.Fatalf("step %d (%s %s): %v", i, st.op, st.key, err)
				}
				if strings.Join(events, ", ") != strings.Join(st.want, ", ") {
					t.Errorf("step %d (%s %s): events %q, want %q", i, st.op, st.key, events, st.want)
				}
			}
		})
	}
}

// TestBatchSyncFailure: a directory that cannot be synced fails Sync, and
// a later Sync tries it again; a view's write after a failed sync of its
// earlier change fails without taking effect.
func TestBatchSyncFailure(t *testing.T) {
	ctx := context.Background()
	s := newInternalStore(t)
	if _, err := s.Append(ctx, "t/x", 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	errSync := errors.New("injected fsync error")
	failing := true
	s.cfg.fsyncDir = func(d *os.File) error {
		if failing {
			return errSync
		}
		return d.Sync()
	}
	b := s.NewBatch()
	v := b.View()
	if err := v.Put(ctx, "t/meta", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Append(ctx, "t/data", 0, []byte("x")); !errors.Is(err, errSync) {
		t.Fatalf("append after an unsynced change: %v, want the sync error", err)
	}
	if _, err := s.Stat(ctx, "t/data"); !store.IsNotFound(err) {
		t.Fatalf("the refused append created its object: %v", err)
	}
	if err := b.Sync(ctx); !errors.Is(err, errSync) {
		t.Fatalf("Sync: %v, want the sync error", err)
	}
	failing = false
	if err := b.Sync(ctx); err != nil {
		t.Fatalf("Sync again: %v", err)
	}
	if _, err := v.Append(ctx, "t/data", 0, []byte("x")); err != nil {
		t.Fatalf("append once synced: %v", err)
	}
}

// newInternalStore returns a store in a new temporary directory.
func newInternalStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
