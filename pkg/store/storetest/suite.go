package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// opTimeout bounds each subtest, so that a store that deadlocks fails the
// suite instead of hanging it.
const opTimeout = 60 * time.Second

// Run runs the acceptance suite; see the package doc for what it checks.
// open must return a fresh, empty store for each subtest. opts say where the
// store differs from the defaults the suite assumes.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	t.Helper()
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"NotFound", testNotFound},
		{"Put", testPut},
		{"PutDoesNotRetainBuffers", testPutBuffers},
		{"PutIsAtomic", testPutAtomic},
		{"Append", testAppend},
		{"AppendWrongPosition", testAppendWrongPosition},
		{"AppendToPutObject", testAppendToPutObject},
		{"PutOverAppendable", testPutOverAppendable},
		{"PutReader", testPutReader},
		{"PutReaderIsAtomic", testPutReaderAtomic},
		{"NoOverwrite", testNoOverwrite},
		{"NoOverwriteRace", testNoOverwriteRace},
		{"ContentHeaders", func(t *testing.T, s store.Store) { testContentHeaders(t, s, cfg.keepsContentHeaders) }},
		{"EncodedBytes", testEncodedBytes},
		{"AppendDoesNotRetainBuffers", testAppendBuffers},
		{"AppendIsAtomic", testAppendAtomic},
		{"AppendRace", testAppendRace},
		{"AppendContended", testAppendContended},
		{"GetRange", testGetRange},
		{"Stat", testStat},
		{"List", testList},
		{"ListInfo", testListInfo},
		{"ListMany", testListMany},
		{"ListPage", testListPage},
		{"ListPageBounds", testListPageBounds},
		{"ListPageInfo", testListPageInfo},
		{"Delete", testDelete},
		{"DeleteDirectoryLike", testDeleteDirectoryLike},
		{"SinkKeys", testSinkKeys},
		{"SpecialKeys", testSpecialKeys},
		{"InvalidKeys", testInvalidKeys},
		{"LongestKey", testLongestKey},
		{"BinaryData", testBinary},
		{"LargeObject", testLarge},
		{"CancelledContext", testCancelled},
		{"Attributes", func(t *testing.T, s store.Store) { testAttributes(t, s, cfg.keepsAttributes) }},
		{"WriteRefusals", testWriteRefusals},
		{"Archived", func(t *testing.T, s store.Store) { testArchived(t, s, cfg) }},
		{"RestoreRefusals", testRestoreRefusals},
		{"CRC64", testCRC64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			infos, err := s.List(ctxFor(t), "")
			if err != nil {
				t.Fatalf("List on a fresh store: %v", err)
			}
			if len(infos) != 0 {
				t.Fatalf("open returned a store that is not empty: %d objects, first %q", len(infos), infos[0].Key)
			}
			tc.fn(t, s)
		})
	}
}

// ctxFor returns a context that ends with the subtest or after opTimeout.
func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) {
	t.Helper()
	if err := s.Put(ctxFor(t), key, data, opts...); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
}

func mustAppend(t *testing.T, s store.Store, key string, pos int64, data []byte, opts ...store.WriteOption) int64 {
	t.Helper()
	n, err := s.Append(ctxFor(t), key, pos, data, opts...)
	if err != nil {
		t.Fatalf("Append(%q, %d, %d bytes): %v", key, pos, len(data), err)
	}
	if want := pos + int64(len(data)); n != want {
		t.Fatalf("Append(%q, %d, %d bytes) returned length %d, want %d", key, pos, len(data), n, want)
	}
	return n
}

// wantContent checks the object at key through Get, Stat and a whole-object
// GetRange.
func wantContent(t *testing.T, s store.Store, key string, want []byte, appendable bool) {
	t.Helper()
	ctx := ctxFor(t)
	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, short(got), short(want))
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(want)) || info.Appendable != appendable {
		t.Fatalf("Stat(%q) = {Key %q, Size %d, Appendable %v}, want {Key %q, Size %d, Appendable %v}",
			key, info.Key, info.Size, info.Appendable, key, len(want), appendable)
	}
	got, err = s.GetRange(ctx, key, 0, int64(len(want)))
	if err != nil {
		t.Fatalf("GetRange(%q, 0, %d): %v", key, len(want), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("GetRange(%q, 0, %d) = %s, want %s", key, len(want), short(got), short(want))
	}
}

// wantAbsent checks that Get and Stat report key as not found.
func wantAbsent(t *testing.T, s store.Store, key string) {
	t.Helper()
	ctx := ctxFor(t)
	if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) error = %v, want one wrapping store.ErrNotFound", key, err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Stat(%q) error = %v, want one wrapping store.ErrNotFound", key, err)
	}
}

// wantKeys checks that List(prefix) returns exactly want, in that order.
func wantKeys(t *testing.T, s store.Store, prefix string, want []string) {
	t.Helper()
	infos, err := s.List(ctxFor(t), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	got := make([]string, len(infos))
	for i, info := range infos {
		got[i] = info.Key
	}
	if len(got) != len(want) {
		t.Fatalf("List(%q) returned %d keys, want %d\n got: %q\nwant: %q", prefix, len(got), len(want), clip(got), clip(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("List(%q)[%d] = %q, want %q\n got: %q\nwant: %q", prefix, i, got[i], want[i], clip(got), clip(want))
		}
	}
}

// wantPositionError checks that err is a *store.PositionError for key at
// pos reporting length.
func wantPositionError(t *testing.T, err error, key string, pos, length int64) {
	t.Helper()
	pe, ok := store.AsPositionError(err)
	if !ok {
		t.Fatalf("Append(%q, %d) error = %v, want a *store.PositionError", key, pos, err)
	}
	if pe.Key != key || pe.Position != pos || pe.Length != length {
		t.Fatalf("Append(%q, %d) PositionError = {Key %q, Position %d, Length %d}, want {Key %q, Position %d, Length %d}",
			key, pos, pe.Key, pe.Position, pe.Length, key, pos, length)
	}
}

// short renders data for a failure message without flooding the log.
func short(b []byte) string {
	const max = 64
	if len(b) <= max {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
}

func clip(keys []string) []string {
	if len(keys) > 20 {
		return append(keys[:20:20], "...")
	}
	return keys
}
