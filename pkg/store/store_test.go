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

func TestCheckWriteOptions(t *testing.T) {
	tags := func(n int) []store.Tag {
		var out []store.Tag
		for i := range n {
			out = append(out, store.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"})
		}
		return out
	}
	tests := []struct {
		name   string
		wo     store.WriteOptions
		append bool
		ok     bool
	}{
		{"zero", store.WriteOptions{}, true, true},
		{"standard append", store.WriteOptions{StorageClass: store.Standard}, true, true},
		{"IA append", store.WriteOptions{StorageClass: store.IA}, true, true},
		{"Archive append", store.WriteOptions{StorageClass: store.Archive}, true, true},
		{"ColdArchive append", store.WriteOptions{StorageClass: store.ColdArchive}, true, false},
		{"DeepColdArchive append", store.WriteOptions{StorageClass: store.DeepColdArchive}, true, false},
		{"ColdArchive put", store.WriteOptions{StorageClass: store.ColdArchive}, false, true},
		{"DeepColdArchive put", store.WriteOptions{StorageClass: store.DeepColdArchive}, false, true},
		{"unknown class", store.WriteOptions{StorageClass: "Glacier"}, false, false},
		{"AES256 append", store.WriteOptions{SSE: "AES256"}, true, true},
		{"SM4 append", store.WriteOptions{SSE: "SM4"}, true, true},
		{"KMS default key append", store.WriteOptions{SSE: "KMS"}, true, true},
		{"KMS key append", store.WriteOptions{SSE: "KMS", SSEKeyID: "key-1"}, true, false},
		{"KMS key put", store.WriteOptions{SSE: "KMS", SSEKeyID: "key-1"}, false, true},
		{"key without KMS", store.WriteOptions{SSE: "AES256", SSEKeyID: "key-1"}, false, false},
		{"unknown SSE", store.WriteOptions{SSE: "DES"}, false, false},
		{"10 tags", store.WriteOptions{Tags: tags(10)}, false, true},
		{"11 tags", store.WriteOptions{Tags: tags(11)}, false, false},
		{"tags on a creating append", store.WriteOptions{Tags: tags(2)}, true, true},
		{"tag characters", store.WriteOptions{Tags: []store.Tag{{"a b+-=._:/", "Z9 +-=._:/"}}}, false, true},
		{"tag comma", store.WriteOptions{Tags: []store.Tag{{"k", "a,b"}}}, false, false},
		{"tag semicolon", store.WriteOptions{Tags: []store.Tag{{"k;", "v"}}}, false, false},
		{"tag non-ASCII", store.WriteOptions{Tags: []store.Tag{{"k", "é"}}}, false, false},
		{"empty tag key", store.WriteOptions{Tags: []store.Tag{{"", "v"}}}, false, false},
		{"empty tag value", store.WriteOptions{Tags: []store.Tag{{"k", ""}}}, false, true},
		{"long tag key", store.WriteOptions{Tags: []store.Tag{{strings.Repeat("k", 129), "v"}}}, false, false},
		{"long tag value", store.WriteOptions{Tags: []store.Tag{{"k", strings.Repeat("v", 257)}}}, false, false},
		{"repeated tag", store.WriteOptions{Tags: []store.Tag{{"k", "1"}, {"k", "2"}}}, false, false},
		{"metadata", store.WriteOptions{Metadata: []store.Tag{{"First-Offset", "10"}, {"encoding", "jsonl/text;z=gzip-1"}}}, false, true},
		{"metadata key underscore", store.WriteOptions{Metadata: []store.Tag{{"first_offset", "10"}}}, false, false},
		{"metadata value newline", store.WriteOptions{Metadata: []store.Tag{{"k", "a\nb"}}}, false, false},
		{"metadata too large", store.WriteOptions{Metadata: []store.Tag{{"k", strings.Repeat("v", 8<<10)}}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.CheckWriteOptions(tt.wo, tt.append)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckWriteOptions = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && (!errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err)) {
				t.Fatalf("%v: want a permanent ErrUnsupported", err)
			}
		})
	}
}

func TestParseStorageClass(t *testing.T) {
	for _, c := range store.StorageClasses {
		got, err := store.ParseStorageClass(strings.ToLower(string(c)))
		if err != nil || got != c {
			t.Errorf("ParseStorageClass(%q) = %q, %v", strings.ToLower(string(c)), got, err)
		}
	}
	if _, err := store.ParseStorageClass("Glacier"); err == nil || !strings.Contains(err.Error(), "ColdArchive") {
		t.Errorf("ParseStorageClass(Glacier) = %v, want an error listing the classes", err)
	}
	for c, want := range map[store.StorageClass][2]bool{
		store.Standard: {false, true}, store.IA: {false, true}, store.Archive: {true, true},
		store.ColdArchive: {true, false}, store.DeepColdArchive: {true, false}, "": {false, true},
	} {
		if c.Archived() != want[0] || c.Appendable() != want[1] {
			t.Errorf("%q: Archived %v Appendable %v, want %v", c, c.Archived(), c.Appendable(), want)
		}
	}
}
