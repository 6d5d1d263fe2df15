package osstest

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestContentHeaders: the Content-Type and Content-Encoding of the request
// that creates an object are kept, returned by GetObject and HeadObject,
// and not changed by later appends; the bytes are stored as sent.
func TestContentHeaders(t *testing.T) {
	srv := newTestServer(t)
	// DisableCompression: the SDK's own transport would gunzip the GET
	// replies of gzip-labelled objects and hide what the server sends.
	b := sdkBucket(t, srv, testAK, testSK, testToken,
		oss.HTTPClient(&http.Client{Transport: &http.Transport{DisableCompression: true}}))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(bytes.Repeat([]byte("a,b\n"), 100))
	_ = zw.Close()
	member := z.Bytes()

	put(t, b, "put.csv.gz", member, oss.ContentType("text/csv; charset=utf-8"), oss.ContentEncoding("gzip"))
	next, err := b.AppendObject("appended.csv.gz", bytes.NewReader(member), 0,
		oss.ContentType("text/csv; charset=utf-8"), oss.ContentEncoding("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	// Later appends ask for something else; OSS applies headers only when
	// the append creates the object.
	if _, err := b.AppendObject("appended.csv.gz", bytes.NewReader(member), next,
		oss.ContentType("text/plain"), oss.ContentEncoding("zstd")); err != nil {
		t.Fatal(err)
	}
	// Position 0 on an existing empty object appends; it creates nothing.
	if _, err := b.AppendObject("empty-first", bytes.NewReader(nil), 0, oss.ContentType("application/x-ndjson")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendObject("empty-first", bytes.NewReader([]byte("x")), 0,
		oss.ContentType("text/plain"), oss.ContentEncoding("gzip")); err != nil {
		t.Fatal(err)
	}
	put(t, b, "plain", []byte("x"), oss.ContentType("application/octet-stream"))

	twice := append(append([]byte{}, member...), member...)
	tests := []struct {
		key    string
		ct, ce string
		data   []byte
	}{
		{"put.csv.gz", "text/csv; charset=utf-8", "gzip", member},
		{"appended.csv.gz", "text/csv; charset=utf-8", "gzip", twice},
		{"empty-first", "application/x-ndjson", "", []byte("x")},
		{"plain", "application/octet-stream", "", []byte("x")},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			info, _ := srv.ObjectInfo(testBucket, tc.key)
			if info.ContentType != tc.ct || info.ContentEncoding != tc.ce {
				t.Errorf("ObjectInfo = {%q, %q}, want {%q, %q}", info.ContentType, info.ContentEncoding, tc.ct, tc.ce)
			}
			h, err := b.GetObjectDetailedMeta(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if h.Get("Content-Type") != tc.ct || h.Get("Content-Encoding") != tc.ce {
				t.Errorf("HeadObject = {%q, %q}, want {%q, %q}", h.Get("Content-Type"), h.Get("Content-Encoding"), tc.ct, tc.ce)
			}
			rh, opt := respHeader()
			got, err := getAll(b, tc.key, opt)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("GetObject = %d bytes, %v; want the %d stored", len(got), err, len(tc.data))
			}
			if rh.Get("Content-Type") != tc.ct || rh.Get("Content-Encoding") != tc.ce {
				t.Errorf("GetObject headers = {%q, %q}, want {%q, %q}", rh.Get("Content-Type"), rh.Get("Content-Encoding"), tc.ct, tc.ce)
			}
		})
	}
}

// TestForbidOverwrite: x-oss-forbid-overwrite on PutObject refuses any
// existing object and leaves it as it was; a value other than true or false
// is refused; AppendObject does not take the header (its fence decides).
func TestForbidOverwrite(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "normal", []byte("old"), oss.ContentType("text/plain"))
	if _, err := b.AppendObject("appendable", bytes.NewReader([]byte("old")), 0); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"normal", "appendable"} {
		err := b.PutObject(key, bytes.NewReader([]byte("new")), oss.ForbidOverWrite(true), oss.ContentType("image/png"))
		wantServiceError(t, err, 409, "FileAlreadyExists")
		if got := mustObject(t, srv, key); string(got) != "old" {
			t.Fatalf("%s = %q after a refused put", key, got)
		}
	}
	if info, _ := srv.ObjectInfo(testBucket, "normal"); info.ContentType != "text/plain" {
		t.Fatalf("a refused put changed the content type to %q", info.ContentType)
	}
	put(t, b, "normal", []byte("new"), oss.ForbidOverWrite(false))
	if got := mustObject(t, srv, "normal"); string(got) != "new" {
		t.Fatalf("forbid-overwrite false did not replace: %q", got)
	}
	err := b.PutObject("bad", bytes.NewReader([]byte("x")), oss.SetHeader("X-Oss-Forbid-Overwrite", "abc"))
	wantServiceError(t, err, 400, "InvalidArgument")
	// AppendObject ignores the header: position 0 on an absent key creates,
	// a wrong position is the fence's answer.
	if _, err := b.AppendObject("fresh", bytes.NewReader([]byte("x")), 0, oss.ForbidOverWrite(true)); err != nil {
		t.Fatalf("AppendObject with forbid-overwrite: %v", err)
	}
	_, err = b.AppendObject("fresh", bytes.NewReader([]byte("y")), 0, oss.ForbidOverWrite(true))
	wantServiceError(t, err, 409, "PositionNotEqualToLength")
}
