package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// afterKey is the ListPage result the contract asks for, before the page
// limit: keys with the prefix that sort after startAfter, in byte order.
func afterKey(keys []string, prefix, startAfter string) []string {
	var out []string
	for _, k := range withPrefix(keys, prefix) {
		if k > startAfter {
			out = append(out, k)
		}
	}
	return out
}

// wantPages pages through ListPage(prefix, ..., limit) from startAfter, each
// call after the last key of the one before, as the sink does, and checks
// that the pages add up to exactly want and that every page keeps the
// contract: at most limit (and MaxListPage) objects, never empty while more
// are announced, and more true exactly when objects remain.
func wantPages(t *testing.T, s store.Store, prefix, startAfter string, limit int, want []string) {
	t.Helper()
	maxLen := store.MaxListPage
	if limit > 0 && limit < maxLen {
		maxLen = limit
	}
	var got []string
	after := startAfter
	for call := 1; ; call++ {
		if call > len(want)+2 {
			t.Fatalf("ListPage(%q, after %q, %d) still announces more after %d calls", prefix, startAfter, limit, call-1)
		}
		infos, more, err := s.ListPage(ctxFor(t), prefix, after, limit)
		if err != nil {
			t.Fatalf("ListPage(%q, %q, %d): %v", prefix, after, limit, err)
		}
		if len(infos) > maxLen {
			t.Fatalf("ListPage(%q, %q, %d) returned %d objects, more than %d", prefix, after, limit, len(infos), maxLen)
		}
		for _, info := range infos {
			got = append(got, info.Key)
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("ListPage(%q, %q, %d), call %d: keys so far\n got: %q\nwant: %q", prefix, startAfter, limit, call, clip(got), clip(want))
		}
		if remain := len(got) < len(want); more != remain {
			t.Fatalf("ListPage(%q, %q, %d) after %d of %d keys: more = %v, want %v", prefix, after, limit, len(got), len(want), more, remain)
		}
		if !more {
			return
		}
		if len(infos) == 0 {
			t.Fatalf("ListPage(%q, %q, %d) returned an empty page that announces more", prefix, after, limit)
		}
		after = infos[len(infos)-1].Key
	}
}

// testListPage pages through keys that URL encoding and UTF-8 handling
// tend to mangle, with every page size from one object upwards: a store
// that hands back a key in another form than it was written breaks the next
// page's startAfter.
func testListPage(t *testing.T, s store.Store) {
	keys := []string{
		"a b", "a%20b", "a%2Fb", "a+b", "a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0", "ab",
		"b", "c/a", "c/a.txt", "q?x=1&y=2", "h#frag", "ü/ñ", "ü/ö", "日本/語", "日本語", "z~tilde", "🙂",
	}
	createAll(t, s, keys)
	prefixes := []string{"", "a", "a/", "a/c/", "a%", "ü", "ü/", "日本", "日本/", "nomatch", "/", "🙂"}
	limits := []int{1, 2, 3, 7, len(keys) - 1, len(keys), len(keys) + 1, 0, -1, 5000}
	for _, p := range prefixes {
		for _, limit := range limits {
			t.Run(fmt.Sprintf("prefix %q limit %d", p, limit), func(t *testing.T) {
				wantPages(t, s, p, "", limit, withPrefix(keys, p))
			})
		}
	}
	// Starting after each key in turn: the page boundary may fall anywhere.
	for _, after := range keys {
		t.Run(fmt.Sprintf("after %q", after), func(t *testing.T) {
			wantPages(t, s, "", after, 2, afterKey(keys, "", after))
		})
	}
}

// testListPageBounds checks startAfter values that are not keys, bounds
// before and beyond the prefix's keys, and the exactness of more.
func testListPageBounds(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	keys := []string{"r/x", "s/01", "s/03", "s/05", "s/07", "t/x"}
	createAll(t, s, keys)
	long := "s/05" + strings.Repeat("z", 1100)
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
		more          bool
	}{
		{"s/", "", 2, []string{"s/01", "s/03"}, true},
		{"s/", "s/03", 2, []string{"s/05", "s/07"}, false}, // exactly the rest: no more
		{"s/", "s/02", 2, []string{"s/03", "s/05"}, true},  // not a key
		{"s/", "s/04", 10, []string{"s/05", "s/07"}, false},
		{"s/", "s/0", 1, []string{"s/01"}, true},
		{"s/", "s/05-more", 3, []string{"s/07"}, false},
		{"s/", "s/07", 2, nil, false}, // the last key
		{"s/", "s/99", 2, nil, false}, // beyond the end
		{"s/", "zzz", 1, nil, false},
		{"s/", "s/0ü", 1, nil, false},                          // UTF-8 sorts after ASCII
		{"s/", "a", 3, []string{"s/01", "s/03", "s/05"}, true}, // before the prefix
		{"s/", "s", 4, []string{"s/01", "s/03", "s/05", "s/07"}, false},
		{"s/", "s/", 4, []string{"s/01", "s/03", "s/05", "s/07"}, false},
		{"s/", long, 5, []string{"s/07"}, false}, // longer than any key
		{"", "s/05", 3, []string{"s/07", "t/x"}, false},
		{"", "r/x", 1, []string{"s/01"}, true},
		{"", "", 6, keys, false},
		{"", "", 5, keys[:5], true},
		{"s/0", "s/01", 0, []string{"s/03", "s/05", "s/07"}, false},
		{"s/07", "", 1, []string{"s/07"}, false},
		{"s/07", "s/07", 1, nil, false},
		{"s/1", "", 5, nil, false},
		{"u/", "", 1, nil, false},
		{strings.Repeat("s", 1100), "", 1, nil, false}, // longer than any key
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("prefix %.20q after %.20q limit %d", c.prefix, c.after, c.limit), func(t *testing.T) {
			infos, more, err := s.ListPage(ctx, c.prefix, c.after, c.limit)
			if err != nil {
				t.Fatalf("ListPage: %v", err)
			}
			got := make([]string, len(infos))
			for i, info := range infos {
				got[i] = info.Key
			}
			if !slices.Equal(got, c.want) || more != c.more {
				t.Fatalf("ListPage(%.40q, %.40q, %d) = %q, more %v; want %q, more %v", c.prefix, c.after, c.limit, got, more, c.want, c.more)
			}
			wantPages(t, s, c.prefix, c.after, c.limit, afterKey(keys, c.prefix, c.after))
		})
	}
}

// testListPageInfo checks that ListPage describes objects as List does.
func testListPageInfo(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "info/normal", []byte("hello"))
	mustPut(t, s, "info/empty", nil)
	n := mustAppend(t, s, "info/appendable", 0, []byte("abc"))
	mustAppend(t, s, "info/appendable", n, []byte("defg"))
	all, err := s.List(ctx, "info/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for i, want := range all {
		after := ""
		if i > 0 {
			after = all[i-1].Key
		}
		infos, _, err := s.ListPage(ctx, "info/", after, 1)
		if err != nil || len(infos) != 1 {
			t.Fatalf("ListPage(after %q, 1) = %+v, %v; want one object", after, infos, err)
		}
		got := infos[0]
		if got.Key != want.Key || got.Size != want.Size || got.Appendable != want.Appendable || !got.Modified.Equal(want.Modified) {
			t.Errorf("ListPage gives %+v, List gives %+v", got, want)
		}
	}
}
