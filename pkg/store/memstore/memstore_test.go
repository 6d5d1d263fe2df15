package memstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/storetest"
)

func TestAcceptance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return memstore.New() })
}

func TestHelpers(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	if keys := s.Keys(); len(keys) != 0 {
		t.Fatalf("Keys() on a new store = %q, want none", keys)
	}
	if err := s.Put(ctx, "b", []byte("bee")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "a/x", 0, []byte("ay")); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Keys(), []string{"a/x", "b"}; !slices.Equal(got, want) {
		t.Errorf("Keys() = %q, want %q", got, want)
	}

	tests := []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"b", "bee", true},
		{"a/x", "ay", true},
		{"a", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, ok := s.Object(tc.key)
			if ok != tc.wantOK || string(got) != tc.want {
				t.Fatalf("Object(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.wantOK)
			}
			if ok && len(got) > 0 {
				got[0] = 'X' // the copy is the caller's
				if again, _ := s.Object(tc.key); string(again) != tc.want {
					t.Fatalf("modifying Object's result changed the store: %q", again)
				}
			}
		})
	}
}

// BenchmarkAppend checks that appends stay cheap as the object grows.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := memstore.New()
	rec := make([]byte, 512)
	var pos int64
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		n, err := s.Append(ctx, "bench", pos, rec)
		if err != nil {
			b.Fatal(err)
		}
		pos = n
	}
}
