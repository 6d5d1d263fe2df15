package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// createAll creates each key, alternating Put and Append so that List is
// exercised on both kinds, with the key itself as content.
func createAll(t *testing.T, s store.Store, keys []string) {
	t.Helper()
	for i, key := range keys {
		if i%2 == 0 {
			mustPut(t, s, key, []byte(key))
		} else {
			mustAppend(t, s, key, 0, []byte(key))
		}
	}
}

// withPrefix is the List result the contract asks for: byte-wise prefix
// match, byte-wise order.
func withPrefix(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func testList(t *testing.T, s store.Store) {
	// "a-b", "a.b" and "a+b" sort before "a/b" as keys but after the
	// directory "a" in a file-system walk: a store that returns walk order
	// fails here.
	keys := []string{
		"a b", "a%20b", "a+b", "a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0", "ab",
		"b", "c/a", "c/a.txt", "ü/ñ", "日本/語", "z~tilde",
	}
	createAll(t, s, keys)
	prefixes := []string{
		"", "a", "a/", "a/c", "a/c/", "a/c/d", "a/c/d/", "a/b/c", "a/x",
		"a ", "a%", "a%2", "a+", "a-", "a.", "b", "c/a", "c/a.", "ü", "ü/", "日本/",
		"nomatch", "zzz", "~", "/", "../", "./", "a//", "a/../a",
	}
	for _, p := range prefixes {
		t.Run(fmt.Sprintf("prefix %q", p), func(t *testing.T) {
			wantKeys(t, s, p, withPrefix(keys, p))
		})
	}
}

func testListInfo(t *testing.T, s store.Store) {
	before := time.Now()
	mustPut(t, s, "info/normal", []byte("hello"))
	mustPut(t, s, "info/empty", nil)
	n := mustAppend(t, s, "info/appendable", 0, []byte("abc"))
	mustAppend(t, s, "info/appendable", n, []byte("defg"))

	infos, err := s.List(ctxFor(t), "info/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []store.Info{
		{Key: "info/appendable", Size: 7, Appendable: true},
		{Key: "info/empty", Size: 0},
		{Key: "info/normal", Size: 5},
	}
	if len(infos) != len(want) {
		t.Fatalf("List returned %d objects, want %d: %+v", len(infos), len(want), infos)
	}
	for i, got := range infos {
		w := want[i]
		if got.Key != w.Key || got.Size != w.Size || got.Appendable != w.Appendable {
			t.Errorf("List()[%d] = {Key %q, Size %d, Appendable %v}, want {Key %q, Size %d, Appendable %v}",
				i, got.Key, got.Size, got.Appendable, w.Key, w.Size, w.Appendable)
		}
		checkModified(t, got.Key, got.Modified, before)
	}
}

// testListMany lists more objects than one OSS page (1,000) holds.
func testListMany(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	const count, workers = 1200, 8
	var keys []string
	for i := range count {
		keys = append(keys, fmt.Sprintf("many/%05d", i))
	}
	others := []string{"man", "many.txt", "manz", "many-0"}

	// Created in parallel only to keep the suite fast against slow stores.
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for key := range work {
				if err := s.Put(ctx, key, []byte(key)); err != nil {
					t.Errorf("Put(%q): %v", key, err)
				}
			}
		})
	}
	for _, key := range append(slices.Clone(keys), others...) {
		work <- key
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}

	all := append(slices.Clone(keys), others...)
	for _, p := range []string{"many/", "many/00", "many/01", "many/011", "many/0119", "many", ""} {
		t.Run(fmt.Sprintf("prefix %q", p), func(t *testing.T) {
			wantKeys(t, s, p, withPrefix(all, p))
		})
	}
	// Pages of the natural size, of a given size, and of a size larger than
	// one OSS request can return.
	for _, p := range []string{"many/", ""} {
		for _, limit := range []int{0, 500, 999, 5000} {
			t.Run(fmt.Sprintf("pages of %d with prefix %q", limit, p), func(t *testing.T) {
				wantPages(t, s, p, "", limit, withPrefix(all, p))
			})
		}
	}
}

// testSinkKeys uses the key shapes the sink writes: a meta object per
// partition, replaced with Put, next to data objects built with Append, at
// the top of a prefix or in date folders.
func testSinkKeys(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	metas := []string{
		"prefix/topic/.oss_meta_file_partition_3",
		"prefix/topic/.oss_meta_file_partition_12",
	}
	data := []string{
		"prefix/topic/partition_3_offset_120_ab12cd34",
		"prefix/topic/partition_3_offset_0_0badf00d",
		"prefix/topic/partition_12_offset_7_cafe0123",
		"topic/dt=2026-11-25/partition_3_offset_120_ab12cd34",
		"topic/dt=2026-11-25/hour=07/partition_0_offset_5_deadbeef",
		"topic/dt=2026-11-26/partition_3_offset_400_0123abcd",
	}
	for _, key := range metas {
		for v := range 3 {
			mustPut(t, s, key, fmt.Appendf(nil, `{"version":%d}`, v))
		}
		wantContent(t, s, key, []byte(`{"version":2}`), false)
	}
	for _, key := range data {
		var pos int64
		var want []byte
		for i := range 3 {
			rec := fmt.Appendf(nil, "{\"offset\":%d}\n", i)
			pos = mustAppend(t, s, key, pos, rec)
			want = append(want, rec...)
		}
		wantContent(t, s, key, want, true)

		// The recovery read: the tail past a recorded position.
		tail, err := s.GetRange(ctx, key, 13, pos-13)
		if err != nil || string(tail) != string(want[13:]) {
			t.Fatalf("GetRange(%q, 13, %d) = %q, %v; want %q", key, pos-13, tail, err, want[13:])
		}
	}

	all := append(slices.Clone(metas), data...)
	for _, p := range []string{
		"", "prefix/", "prefix/topic/", "prefix/topic/.oss_meta_file_partition_",
		"prefix/topic/.oss_meta_file_partition_3", "prefix/topic/partition_3_",
		"prefix/topic/partition_", "topic/", "topic/dt=2026-11-25/", "topic/dt=2026-11-25/hour=07/",
	} {
		t.Run(fmt.Sprintf("prefix %q", p), func(t *testing.T) {
			wantKeys(t, s, p, withPrefix(all, p))
		})
	}
}

// testSpecialKeys round-trips keys with characters that URL encoding,
// XML listings or path handling tend to mangle.
func testSpecialKeys(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	keys := []string{
		"space in name", " leading space", "trailing space ", "plus+sign", "percent%",
		"percent%25encoded", "percent%zz", "question?mark", "hash#mark", "amp&and=eq",
		"semi;colon", "comma,", "tilde~", "quote'", "dquote\"", "star*", "brackets[0]",
		"braces{}", "paren()", "at@", "dollar$", "caret^", "pipe|", "backtick`",
		"less<greater>", "exclaim!", "colon:", "unicode/ü/日本語/🙂", ".dotfile",
		"dir/.dotfile", "..dots", "dir/...", "dir/.hidden/x", "UPPER/lower",
	}
	createAll(t, s, keys)
	for i, key := range keys {
		t.Run(fmt.Sprintf("key %q", key), func(t *testing.T) {
			wantContent(t, s, key, []byte(key), i%2 == 1)
			wantKeys(t, s, key, withPrefix(keys, key))
		})
	}
	wantKeys(t, s, "", withPrefix(keys, ""))
	for _, key := range keys {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		wantAbsent(t, s, key)
	}
	wantKeys(t, s, "", nil)
}
