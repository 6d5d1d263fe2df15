package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"access denied", fmt.Errorf("put %q: %w (403)", "k", store.ErrAccessDenied), true},
		{"no such bucket", fmt.Errorf("get: %w", store.ErrNoSuchBucket), true},
		{"invalid key", store.CheckKey(""), true},
		{"not appendable", fmt.Errorf("append: %w", store.ErrNotAppendable), true},
		{"joined", errors.Join(errors.New("x"), store.ErrAccessDenied), true},
		{"credentials expired", fmt.Errorf("put: %w", store.ErrCredentialsExpired), false},
		{"not found", fmt.Errorf("get: %w", store.ErrNotFound), false},
		{"exists", fmt.Errorf("put: %w", store.ErrExists), false},
		{"position", fmt.Errorf("x: %w", &store.PositionError{Key: "k", Position: 1}), false},
		{"cancelled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("connection reset by peer"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.IsPermanent(tt.err); got != tt.want {
				t.Fatalf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"plain", "topic/partition_0", true},
		{"one byte", "a", true},
		{"longest", strings.Repeat("k", store.MaxKeyLen), true},
		{"longest in runes", strings.Repeat("ü", store.MaxKeyLen/2) + "k", true},
		{"inner slash and backslash", "a/b\\c", true},
		{"trailing slash", "dir/", true}, // OSS takes it; localstore does not
		{"empty", "", false},
		{"one byte too long", strings.Repeat("k", store.MaxKeyLen+1), false},
		{"leading slash", "/a", false},
		{"leading backslash", "\\a", false},
		{"invalid UTF-8", "a\xff", false},
		{"cut rune", "a\xc3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.CheckKey(tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckKey(%.20q) = %v, want ok %v", tt.key, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, store.ErrInvalidKey) || !store.IsPermanent(err)) {
				t.Fatalf("CheckKey(%.20q) = %v, want a permanent error wrapping ErrInvalidKey", tt.key, err)
			}
		})
	}
}

func TestApplyWriteOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []store.WriteOption
		want store.WriteOptions
	}{
		{"none", nil, store.WriteOptions{}},
		{"nil option", []store.WriteOption{nil}, store.WriteOptions{}},
		{"all", []store.WriteOption{store.WithContentType("text/csv"), store.WithContentEncoding("gzip"), store.NoOverwrite()},
			store.WriteOptions{ContentType: "text/csv", ContentEncoding: "gzip", NoOverwrite: true}},
		{"later wins", []store.WriteOption{store.WithContentType("a/b"), store.WithContentEncoding("zstd"),
			store.WithContentType("c/d"), store.WithContentEncoding("")},
			store.WriteOptions{ContentType: "c/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.ApplyWriteOptions(tt.opts); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ApplyWriteOptions = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIsExists(t *testing.T) {
	if !store.IsExists(fmt.Errorf("put %q: %w", "k", store.ErrExists)) {
		t.Fatal("IsExists(wrapped ErrExists) = false")
	}
	if store.IsExists(store.ErrNotFound) || store.IsExists(nil) {
		t.Fatal("IsExists reports other errors")
	}
}
