package ossstore

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// listQueries records the query of every ListObjectsV2 request, and can
// replace the reply to the first one.
type listQueries struct {
	next  http.RoundTripper
	first func(resp *http.Response) *http.Response

	mu      sync.Mutex
	queries []url.Values
}

func (l *listQueries) RoundTrip(req *http.Request) (*http.Response, error) {
	q := req.URL.Query()
	isList := q.Get("list-type") == "2"
	l.mu.Lock()
	n := len(l.queries)
	if isList {
		l.queries = append(l.queries, q)
	}
	l.mu.Unlock()
	resp, err := l.next.RoundTrip(req)
	if err == nil && isList && n == 0 && l.first != nil {
		resp = l.first(resp)
	}
	return resp, err
}

func (l *listQueries) take() []url.Values {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries
	l.queries = nil
	return q
}

// TestListPageIsOneRequest checks what ListPage asks OSS: one
// ListObjectsV2 with prefix, start-after and max-keys, and nothing for a
// prefix no key can have.
func TestListPageIsOneRequest(t *testing.T) {
	srv := newServer(t)
	rec := &listQueries{next: http.DefaultTransport.(*http.Transport).Clone()}
	s := newStore(t, srv, "pages", WithHTTPClient(&http.Client{Transport: rec}))
	for _, k := range []string{"p/a", "p/a b+ü", "p/b", "p/c", "q"} {
		if err := srv.PutObjectDirect("pages", k, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("z", 1100)
	tests := []struct {
		name              string
		prefix, after     string
		limit             int
		wantKeys          []string
		wantMore          bool
		maxKeys, startsAt string // the query sent; "" for absent
		requests          int
	}{
		{"page", "p/", "p/a b+ü", 1, []string{"p/b"}, true, "1", "p/a b+ü", 1},
		{"natural size", "p/", "", 0, []string{"p/a", "p/a b+ü", "p/b", "p/c"}, false, "1000", "", 1},
		{"above one request", "", "p/c", 5000, []string{"q"}, false, "1000", "p/c", 1},
		{"start-after too long for OSS", "", "p/b" + long, 2, []string{"p/c", "q"}, false, "2", ("p/b" + long)[:store.MaxKeyLen], 1},
		{"prefix longer than any key", long, "", 2, nil, false, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.take()
			infos, more, err := s.ListPage(t.Context(), tt.prefix, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, info := range infos {
				keys = append(keys, info.Key)
			}
			if !slices.Equal(keys, tt.wantKeys) || more != tt.wantMore {
				t.Fatalf("ListPage = %q, more %v; want %q, more %v", keys, more, tt.wantKeys, tt.wantMore)
			}
			qs := rec.take()
			if len(qs) != tt.requests {
				t.Fatalf("%d ListObjectsV2 requests, want %d", len(qs), tt.requests)
			}
			if tt.requests == 0 {
				return
			}
			q := qs[0]
			if q.Get("prefix") != tt.prefix || q.Get("max-keys") != tt.maxKeys || q.Get("start-after") != tt.startsAt || q.Has("continuation-token") {
				t.Fatalf("query = %v, want prefix %q, max-keys %s, start-after %.20q and no token", q, tt.prefix, tt.maxKeys, tt.startsAt)
			}
		})
	}
}

// TestListPageEmptyTruncatedPage: OSS may answer a page that holds nothing
// yet says more follow. ListPage then follows the continuation token, so a
// caller paging by startAfter never spins on an empty page.
func TestListPageEmptyTruncatedPage(t *testing.T) {
	srv := newServer(t)
	probe := newStore(t, srv, "empty")
	for i := range 4 {
		if err := srv.PutObjectDirect("empty", fmt.Sprintf("k%d", i), nil, false); err != nil {
			t.Fatal(err)
		}
	}
	// A real token from the server: the one after "k1".
	res, err := probe.listObjects(t.Context(), "", "k0", "", 1)
	if err != nil || !res.IsTruncated || res.NextContinuationToken == "" {
		t.Fatalf("probe = %+v, %v", res, err)
	}
	token := res.NextContinuationToken
	empty := `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>empty</Name><Prefix></Prefix>` +
		`<MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
		`<NextContinuationToken>` + token + `</NextContinuationToken><KeyCount>0</KeyCount></ListBucketResult>`
	rec := &listQueries{next: http.DefaultTransport.(*http.Transport).Clone(), first: func(resp *http.Response) *http.Response {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader([]byte(empty)))
		resp.ContentLength = int64(len(empty))
		resp.Header.Set("Content-Length", strconv.Itoa(len(empty)))
		resp.Header.Del("X-Oss-Hash-Crc64ecma")
		return resp
	}}
	s := newStore(t, srv, "empty", WithHTTPClient(&http.Client{Transport: rec}))
	infos, more, err := s.ListPage(t.Context(), "", "k0", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Key != "k2" || infos[1].Key != "k3" || more {
		t.Fatalf("ListPage = %+v, more %v; want k2, k3 (after the token), no more", infos, more)
	}
	qs := rec.take()
	if len(qs) != 2 || qs[1].Get("continuation-token") != token || qs[1].Has("start-after") {
		t.Fatalf("queries = %v, want a second one with the token and without start-after", qs)
	}
}
