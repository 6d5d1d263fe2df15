package localstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// callAll runs every store operation on key and returns the errors by
// operation name.
func callAll(t *testing.T, s store.Store, key string) map[string]error {
	ctx := t.Context()
	errs := map[string]error{}
	_, errs["Get"] = s.Get(ctx, key)
	_, errs["GetRange"] = s.GetRange(ctx, key, 0, 1)
	_, errs["Stat"] = s.Stat(ctx, key)
	errs["Put"] = s.Put(ctx, key, []byte("x"))
	errs["Put NoOverwrite"] = s.Put(ctx, key, []byte("x"), store.NoOverwrite())
	errs["PutReader"] = s.PutReader(ctx, key, bytes.NewReader([]byte("x")), 1)
	_, errs["Append at 0"] = s.Append(ctx, key, 0, []byte("x"))
	_, errs["Append at 5"] = s.Append(ctx, key, 5, []byte("x"))
	errs["Delete"] = s.Delete(ctx, key)
	_, errs["List"] = s.List(ctx, "")
	_, errs["List with prefix"] = s.List(ctx, "dir/")
	_, _, errs["ListPage"] = s.ListPage(ctx, "", "", 0)
	_, _, errs["ListPage with prefix"] = s.ListPage(ctx, "dir/", "dir/a", 1)
	return errs
}

// TestDirectoryGone: when the store's directory disappears (deleted, or a
// volume unmounted), every operation fails with store.ErrNoSuchBucket,
// reads do not pretend the object is merely absent, and nothing re-creates
// the directory.
func TestDirectoryGone(t *testing.T) {
	s := newStore(t)
	for _, k := range []string{"dir/a", "k"} {
		if err := s.Put(t.Context(), k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(s.Dir()); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"k", "dir/a", "dir/new/deeper"} {
		for op, err := range callAll(t, s, key) {
			if !errors.Is(err, store.ErrNoSuchBucket) || store.IsNotFound(err) || !store.IsPermanent(err) {
				t.Errorf("%s(%q) with the directory gone: error = %v, want a permanent store.ErrNoSuchBucket, not ErrNotFound", op, key, err)
			}
		}
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the store re-created its directory: %v", err)
	}
}

func TestNewCannotCreateDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := localstore.New(dir)
		if !errors.Is(err, store.ErrNoSuchBucket) || !store.IsPermanent(err) {
			t.Errorf("New(%s) error = %v, want a permanent store.ErrNoSuchBucket", dir, err)
		}
	}
}

// TestNameTooLong: OSS takes keys that a file system cannot name: a
// 300-byte path segment, or a key that makes the whole path longer than the
// system allows (ENAMETOOLONG). Such keys are invalid for this store.
func TestNameTooLong(t *testing.T) {
	// A store directory deep enough that a 1,000-byte key passes 4,096
	// bytes, Linux's PATH_MAX.
	deep := t.TempDir()
	for len(deep) < 3400 {
		deep = filepath.Join(deep, strings.Repeat("d", 200))
	}
	deepStore, err := localstore.New(deep)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    store.Store
		key  string
	}{
		{"300-byte segment", newStore(t), "dir/" + strings.Repeat("n", 300)},
		{"path too long", deepStore, strings.Repeat(strings.Repeat("p", 99)+"/", 10) + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for op, err := range callAll(t, tt.s, tt.key) {
				if strings.HasPrefix(op, "List") {
					if err != nil {
						t.Errorf("%s: %v", op, err)
					}
					continue
				}
				if !errors.Is(err, store.ErrInvalidKey) || !store.IsPermanent(err) {
					t.Errorf("%s error = %v, want a permanent store.ErrInvalidKey", op, err)
				}
			}
		})
	}
}

// TestPermissionDenied: EACCES and EPERM become store.ErrAccessDenied.
func TestPermissionDenied(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "normal", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "appendable", 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	filesToo := denyWrites(t, s.Dir(), filepath.Join(s.Dir(), "appendable"))
	calls := map[string]func() error{
		"Put over":            func() error { return s.Put(ctx, "normal", []byte("y")) },
		"Put new":             func() error { return s.Put(ctx, "new", []byte("y")) },
		"Put NoOverwrite new": func() error { return s.Put(ctx, "new", []byte("y"), store.NoOverwrite()) },
		"PutReader over":      func() error { return s.PutReader(ctx, "normal", bytes.NewReader([]byte("y")), 1) },
		"Append create":       func() error { _, err := s.Append(ctx, "new", 0, []byte("y")); return err },
		"Delete":              func() error { return s.Delete(ctx, "normal") },
	}
	if filesToo {
		calls["Append to a protected file"] = func() error { _, err := s.Append(ctx, "appendable", 1, []byte("y")); return err }
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, store.ErrAccessDenied) || !store.IsPermanent(err) {
				t.Fatalf("error = %v, want a permanent store.ErrAccessDenied", err)
			}
		})
	}
	// Reads are not affected, and nothing changed.
	if got, err := s.Get(ctx, "normal"); err != nil || string(got) != "x" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if infos, err := s.List(ctx, ""); err != nil || len(infos) != 2 {
		t.Fatalf("List = %+v, %v", infos, err)
	}

	t.Run("New below a protected directory", func(t *testing.T) {
		_, err := localstore.New(filepath.Join(s.Dir(), "sub", "store"))
		if !errors.Is(err, store.ErrAccessDenied) {
			t.Fatalf("error = %v, want store.ErrAccessDenied", err)
		}
	})
}
