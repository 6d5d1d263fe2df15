package localstore

import (
	"context"
	"errors"
	"io"
	"os"
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
			s, err := New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
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
