package osstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// listAll pages through ListObjectsV2 with the given page size.
func listAll(t *testing.T, b *oss.Bucket, pageSize int, opts ...oss.Option) (keys, prefixes []string, pages int) {
	t.Helper()
	token := ""
	for {
		o := append([]oss.Option{oss.MaxKeys(pageSize)}, opts...)
		if token != "" {
			o = append(o, oss.ContinuationToken(token))
		}
		res, err := b.ListObjectsV2(o...)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		pages++
		if n := len(res.Objects) + len(res.CommonPrefixes); n > pageSize {
			t.Fatalf("page of %d entries, max %d", n, pageSize)
		}
		for _, obj := range res.Objects {
			keys = append(keys, obj.Key)
		}
		prefixes = append(prefixes, res.CommonPrefixes...)
		if !res.IsTruncated {
			return keys, prefixes, pages
		}
		if res.NextContinuationToken == "" {
			t.Fatal("truncated page without a continuation token")
		}
		token = res.NextContinuationToken
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
	}
}

func TestListObjectsV2(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	keys := []string{
		"data/a b/1", "data/a b/2", "data/a+b/1", "data/a%20b", "data/ü/x", "data/日本/y",
		"data/z", "data/zz", "meta/1", "meta/2", "top",
	}
	for _, k := range keys {
		put(t, b, k, []byte(k))
	}
	sorted := slices.Sorted(slices.Values(keys))
	under := func(p string) []string {
		var out []string
		for _, k := range sorted {
			if len(k) >= len(p) && k[:len(p)] == p {
				out = append(out, k)
			}
		}
		return out
	}

	after := func(m string) []string {
		var out []string
		for _, k := range sorted {
			if k > m {
				out = append(out, k)
			}
		}
		return out
	}

	tests := []struct {
		name         string
		pageSize     int
		opts         []oss.Option
		wantKeys     []string
		wantPrefixes []string
	}{
		{"everything, one page", 1000, nil, sorted, nil},
		{"everything, pages of 1", 1, nil, sorted, nil},
		{"everything, pages of 3", 3, nil, sorted, nil},
		{"prefix needing encoding", 2, []oss.Option{oss.Prefix("data/a b/")}, under("data/a b/"), nil},
		{"prefix with plus", 1, []oss.Option{oss.Prefix("data/a+")}, under("data/a+"), nil},
		{"prefix with percent", 1, []oss.Option{oss.Prefix("data/a%")}, under("data/a%"), nil},
		{"unicode prefix", 1, []oss.Option{oss.Prefix("data/ü")}, under("data/ü"), nil},
		{"no match", 5, []oss.Option{oss.Prefix("nothing")}, nil, nil},
		{"delimiter at top", 1000, []oss.Option{oss.Delimiter("/")}, []string{"top"}, []string{"data/", "meta/"}},
		{"delimiter paged", 1, []oss.Option{oss.Delimiter("/"), oss.Prefix("data/")},
			[]string{"data/a%20b", "data/z", "data/zz"}, []string{"data/a b/", "data/a+b/", "data/ü/", "data/日本/"}},
		{"start-after", 2, []oss.Option{oss.StartAfter("data/z")}, after("data/z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotKeys, gotPrefixes, pages := listAll(t, b, tt.pageSize, tt.opts...)
			if !slices.Equal(gotKeys, tt.wantKeys) {
				t.Errorf("keys = %q, want %q", gotKeys, tt.wantKeys)
			}
			if !slices.Equal(gotPrefixes, tt.wantPrefixes) {
				t.Errorf("prefixes = %q, want %q", gotPrefixes, tt.wantPrefixes)
			}
			if total := len(tt.wantKeys) + len(tt.wantPrefixes); tt.pageSize == 1 && total > 1 && pages < total {
				t.Errorf("%d pages for %d entries of page size 1", pages, total)
			}
		})
	}

	res, err := b.ListObjectsV2(oss.Prefix("top"))
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("list top: %+v, %v", res, err)
	}
	if o := res.Objects[0]; o.Size != 3 || o.Type != "Normal" || o.LastModified.IsZero() || o.ETag == "" {
		t.Fatalf("object properties = %+v", o)
	}
}

func TestListBadToken(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	_, err := b.ListObjectsV2(oss.ContinuationToken("!!not-a-token"))
	wantServiceError(t, err, 400, "InvalidArgument")
}

func TestListManyKeys(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	var want []string
	for i := range 2500 {
		k := fmt.Sprintf("k/%05d", i)
		want = append(want, k)
		if err := srv.PutObjectDirect(testBucket, k, nil, i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	got, _, pages := listAll(t, b, 1000)
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("%d keys in %d pages", len(got), pages)
	}
}

// TestListStartAfterWithToken: OSS ignores start-after when a continuation
// token is given; the token alone says where the listing resumes.
func TestListStartAfterWithToken(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	for i := 1; i <= 6; i++ {
		put(t, b, fmt.Sprintf("k/%d", i), nil)
	}
	first, err := b.ListObjectsV2(oss.MaxKeys(2), oss.StartAfter("k/0"))
	if err != nil || len(first.Objects) != 2 || !first.IsTruncated || first.StartAfter != "k/0" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	tests := []struct {
		name, startAfter string
	}{
		{"start-after beyond the token", "k/4"},
		{"start-after before the token", "k/0"},
		{"start-after past every key", "z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := b.ListObjectsV2(oss.MaxKeys(2), oss.ContinuationToken(first.NextContinuationToken), oss.StartAfter(tt.startAfter))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			if want := []string{"k/3", "k/4"}; !slices.Equal(got, want) || !res.IsTruncated {
				t.Fatalf("page after the token with start-after %q = %q (truncated %v), want %q (truncated)", tt.startAfter, got, res.IsTruncated, want)
			}
		})
	}
}

// TestListParameterLimits checks the bounds OSS puts on max-keys (1..1000),
// start-after and prefix (fewer than 1,024 bytes).
func TestListParameterLimits(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "k", nil)
	long := strings.Repeat("p", 1024)
	tests := []struct {
		name string
		opts []oss.Option
		ok   bool
	}{
		{"max-keys 1", []oss.Option{oss.MaxKeys(1)}, true},
		{"max-keys 1000", []oss.Option{oss.MaxKeys(1000)}, true},
		{"max-keys 0", []oss.Option{oss.MaxKeys(0)}, false},
		{"max-keys 1001", []oss.Option{oss.MaxKeys(1001)}, false},
		{"max-keys -1", []oss.Option{oss.MaxKeys(-1)}, false},
		{"start-after of 1023 bytes", []oss.Option{oss.StartAfter(long[:1023])}, true},
		{"start-after of 1024 bytes", []oss.Option{oss.StartAfter(long)}, false},
		{"prefix of 1023 bytes", []oss.Option{oss.Prefix(long[:1023])}, true},
		{"prefix of 1024 bytes", []oss.Option{oss.Prefix(long)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.ListObjectsV2(tt.opts...)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantServiceError(t, err, 400, "InvalidArgument")
		})
	}
}
