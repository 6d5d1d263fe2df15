package osstest

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestPutGetHeadDelete(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)

	keys := []string{"plain", "dir/sub/file.json", "with space", "plus+sign", "per%cent", "ünïcødé/日本", "q?uery&amp=1", "a#hash"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			data := []byte("content of " + key)
			put(t, b, key, data)
			if got := mustObject(t, srv, key); !bytes.Equal(got, data) {
				t.Fatalf("server holds %q, want %q", got, data)
			}
			got, err := getAll(b, key)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GetObject = %q, %v; want %q", got, err, data)
			}
			h, err := b.GetObjectDetailedMeta(key)
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			if h.Get("Content-Length") != strconv.Itoa(len(data)) || h.Get("X-Oss-Object-Type") != "Normal" ||
				h.Get("Etag") == "" || h.Get("Last-Modified") == "" || h.Get("X-Oss-Next-Append-Position") != "" {
				t.Fatalf("HeadObject headers = %v", h)
			}
			wantCRC := strconv.FormatUint(crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)), 10)
			if h.Get("X-Oss-Hash-Crc64ecma") != wantCRC {
				t.Fatalf("crc = %s, want %s", h.Get("X-Oss-Hash-Crc64ecma"), wantCRC)
			}
			if _, err := b.GetObjectMeta(key); err != nil {
				t.Fatalf("GetObjectMeta: %v", err)
			}
			if err := b.DeleteObject(key); err != nil {
				t.Fatalf("DeleteObject: %v", err)
			}
			if _, ok := srv.Object(testBucket, key); ok {
				t.Fatalf("object still there after delete")
			}
		})
	}
}

func TestPutReplacesAndEmptyObjects(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "k", []byte("first"))
	put(t, b, "k", []byte("second, longer"))
	put(t, b, "empty", nil)
	if got := mustObject(t, srv, "k"); string(got) != "second, longer" {
		t.Fatalf("got %q", got)
	}
	if got, err := getAll(b, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty object: %q, %v", got, err)
	}
	// Put over an appendable object leaves a normal one.
	if _, err := b.AppendObject("app", bytes.NewReader([]byte("x")), 0); err != nil {
		t.Fatal(err)
	}
	put(t, b, "app", []byte("normal now"))
	if info, _ := srv.ObjectInfo(testBucket, "app"); info.Appendable || info.Size != 10 {
		t.Fatalf("info = %+v", info)
	}
}

func TestErrors(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "normal", []byte("abc"))
	if _, err := b.AppendObject("appendable", bytes.NewReader([]byte("abcd")), 0); err != nil {
		t.Fatal(err)
	}
	other, err := b.Client.Bucket("no-such-bucket")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		do     func() error
		status int
		code   string
	}{
		{"get absent", func() error { _, err := getAll(b, "absent"); return err }, 404, "NoSuchKey"},
		{"head absent", func() error { _, err := b.GetObjectDetailedMeta("absent"); return err }, 404, "NoSuchKey"},
		{"get no bucket", func() error { _, err := getAll(other, "k"); return err }, 404, "NoSuchBucket"},
		{"list no bucket", func() error { _, err := other.ListObjectsV2(); return err }, 404, "NoSuchBucket"},
		{"put forbid overwrite", func() error {
			return b.PutObject("normal", bytes.NewReader([]byte("x")), oss.ForbidOverWrite(true))
		}, 409, "FileAlreadyExists"},
		{"append to normal", func() error {
			_, err := b.AppendObject("normal", bytes.NewReader([]byte("x")), 3)
			return err
		}, 409, "ObjectNotAppendable"},
		{"append wrong position", func() error {
			_, err := b.AppendObject("appendable", bytes.NewReader([]byte("x")), 2)
			return err
		}, 409, "PositionNotEqualToLength"},
		{"append absent at 5", func() error {
			_, err := b.AppendObject("absent", bytes.NewReader([]byte("x")), 5)
			return err
		}, 409, "PositionNotEqualToLength"},
		{"range beyond end (standard)", func() error {
			_, err := getAll(b, "normal", oss.Range(10, 20), oss.RangeBehavior("standard"))
			return err
		}, 416, "InvalidRange"},
		{"bad max-keys", func() error { _, err := b.ListObjectsV2(oss.MaxKeys(5000)); return err }, 400, "InvalidArgument"},
		{"unimplemented acl", func() error { _, err := b.GetObjectACL("normal"); return err }, 501, "NotImplemented"},
		{"bad md5", func() error {
			return b.PutObject("md5", bytes.NewReader([]byte("x")), oss.ContentMD5("AAAAAAAAAAAAAAAAAAAAAA=="))
		}, 400, "InvalidDigest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantServiceError(t, tt.do(), tt.status, tt.code) })
	}

	// FileAlreadyExists left the object alone; a fresh key with the flag works.
	if got := mustObject(t, srv, "normal"); string(got) != "abc" {
		t.Fatalf("normal = %q", got)
	}
	put(t, b, "fresh", []byte("x"), oss.ForbidOverWrite(true))
	// Deleting an absent key succeeds.
	if err := b.DeleteObject("absent"); err != nil {
		t.Fatalf("DeleteObject(absent) = %v", err)
	}
}

func TestPositionErrorCarriesLength(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	if _, err := b.AppendObject("a", bytes.NewReader([]byte("12345")), 0); err != nil {
		t.Fatal(err)
	}
	for _, pos := range []int64{0, 3, 9} {
		h, opt := respHeader()
		_, err := b.AppendObject("a", bytes.NewReader([]byte("x")), pos, opt)
		wantServiceError(t, err, 409, "PositionNotEqualToLength")
		if got := h.Get(oss.HTTPHeaderOssNextAppendPosition); got != "5" {
			t.Fatalf("pos %d: next append position = %q, want 5", pos, got)
		}
	}
	if got := mustObject(t, srv, "a"); string(got) != "12345" {
		t.Fatalf("object = %q; a fenced append wrote data", got)
	}
}

func TestAppendCRC(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	var want []byte
	var pos int64
	var crc uint64
	for i := range 20 {
		chunk := bytes.Repeat([]byte{byte('a' + i)}, 1000*i+1)
		// InitCRC makes the SDK compare the server's whole-object CRC with its
		// own running one: it fails unless the server computes CRC-64/ECMA
		// exactly as OSS does.
		res, err := b.DoAppendObject(&oss.AppendObjectRequest{ObjectKey: "log", Reader: bytes.NewReader(chunk), Position: pos},
			[]oss.Option{oss.InitCRC(crc)})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		want = append(want, chunk...)
		if res.NextPosition != int64(len(want)) {
			t.Fatalf("next position = %d, want %d", res.NextPosition, len(want))
		}
		pos, crc = res.NextPosition, res.CRC
	}
	if got := mustObject(t, srv, "log"); !bytes.Equal(got, want) {
		t.Fatal("appended content differs")
	}
	h, err := b.GetObjectDetailedMeta("log")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Oss-Object-Type") != "Appendable" || h.Get("X-Oss-Next-Append-Position") != strconv.Itoa(len(want)) {
		t.Fatalf("head = %v", h)
	}
	// The SDK checks the CRC of a whole download against the header too.
	if err := b.GetObjectToFile("log", t.TempDir()+"/log"); err != nil {
		t.Fatalf("GetObjectToFile (CRC checked): %v", err)
	}
}

func TestRanges(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "k", []byte("0123456789"))
	tests := []struct {
		name     string
		rng      string
		standard bool
		want     string
		status   string // Content-Range, "" for a 200 reply
	}{
		{"middle", "2-5", false, "2345", "bytes 2-5/10"},
		{"one byte", "9-9", false, "9", "bytes 9-9/10"},
		{"open end", "7-", false, "789", "bytes 7-9/10"},
		{"suffix", "-3", false, "789", "bytes 7-9/10"},
		{"suffix longer than object", "-30", false, "0123456789", "bytes 0-9/10"},
		{"end beyond, compat", "5-20", false, "0123456789", ""},
		{"end beyond, standard", "5-20", true, "56789", "bytes 5-9/10"},
		{"start beyond, compat", "10-20", false, "0123456789", ""},
		{"malformed", "x-y", true, "0123456789", ""},
		{"reversed", "5-2", true, "0123456789", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, opt := respHeader()
			opts := []oss.Option{oss.NormalizedRange(tt.rng), opt}
			if tt.standard {
				opts = append(opts, oss.RangeBehavior("standard"))
			}
			got, err := getAll(b, "k", opts...)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want || h.Get("Content-Range") != tt.status {
				t.Fatalf("got %q (Content-Range %q), want %q (%q)", got, h.Get("Content-Range"), tt.want, tt.status)
			}
		})
	}
}

func TestVirtualHostStyle(t *testing.T) {
	srv := newTestServer(t)
	addr := srv.Endpoint()[len("http://"):]
	_, port, _ := net.SplitHostPort(addr)
	// Resolve every host name to the test server, so the SDK can use a
	// virtual-host endpoint (bucket.oss-test.invalid) without DNS.
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	c, err := oss.New("http://oss-test.invalid:"+port, testAK, testSK, oss.SecurityToken(testToken), oss.HTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Bucket(testBucket)
	put(t, b, "dir/v host", []byte("vh"))
	if got := mustObject(t, srv, "dir/v host"); string(got) != "vh" {
		t.Fatalf("got %q", got)
	}
	if got, err := getAll(b, "dir/v host"); err != nil || string(got) != "vh" {
		t.Fatalf("get = %q, %v", got, err)
	}
	res, err := b.ListObjectsV2(oss.Prefix("dir/"))
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Key != "dir/v host" {
		t.Fatalf("list = %+v, %v", res, err)
	}
}

func TestConcurrentAppendAndRead(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	const writers, per = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("obj-%d", w)
			var pos int64
			for i := range per {
				next, err := b.AppendObject(key, bytes.NewReader([]byte(fmt.Sprintf("%02d,", i))), pos)
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				pos = next
				if _, err := getAll(b, key); err != nil {
					t.Errorf("get: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		if got := mustObject(t, srv, fmt.Sprintf("obj-%d", w)); len(got) != 3*per {
			t.Fatalf("object %d has %d bytes", w, len(got))
		}
	}
}

func TestDirectHelpers(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	if err := srv.PutObjectDirect(testBucket, "p/app", []byte("abc"), true); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutObjectDirect(testBucket, "p/norm", []byte("xyz"), false); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutObjectDirect("missing", "k", nil, false); err == nil {
		t.Fatal("PutObjectDirect into a missing bucket succeeded")
	}
	if next, err := b.AppendObject("p/app", bytes.NewReader([]byte("d")), 3); err != nil || next != 4 {
		t.Fatalf("append to planted object = %d, %v", next, err)
	}
	if got := srv.Keys(testBucket, "p/"); fmt.Sprint(got) != "[p/app p/norm]" {
		t.Fatalf("Keys = %v", got)
	}
	if !srv.DeleteObjectDirect(testBucket, "p/norm") || srv.DeleteObjectDirect(testBucket, "p/norm") {
		t.Fatal("DeleteObjectDirect reported wrong existence")
	}
	if _, err := getAll(b, "p/norm"); err == nil {
		t.Fatal("deleted object still readable")
	}
	// Object returns a copy.
	d := mustObject(t, srv, "p/app")
	d[0] = 'X'
	if got := mustObject(t, srv, "p/app"); string(got) != "abcd" {
		t.Fatalf("Object did not copy: %q", got)
	}
}

func TestStats(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	put(t, b, "k", []byte("12345"))
	_, _ = getAll(b, "k")
	_, _ = getAll(b, "k")
	_, _ = b.ListObjectsV2()
	st := srv.Stats()
	if st.Requests[OpPut] != 1 || st.Requests[OpGet] != 2 || st.Requests[OpList] != 1 || st.Total() != 4 {
		t.Fatalf("stats = %+v", st)
	}
	if st.BytesIn != 5 || st.BytesOut < 10 {
		t.Fatalf("bytes in/out = %d/%d", st.BytesIn, st.BytesOut)
	}
	if srv.Requests(OpGet) != 2 {
		t.Fatalf("Requests(OpGet) = %d", srv.Requests(OpGet))
	}
	srv.ResetStats()
	if st := srv.Stats(); st.Total() != 0 || st.BytesIn != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestRequestLog(t *testing.T) {
	var mu sync.Mutex
	var entries []LogEntry
	srv := newTestServer(t, WithRequestLog(func(e LogEntry) {
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, e)
	}))
	b := testClient(t, srv)
	put(t, b, "k", []byte("x"))
	_, _ = getAll(b, "absent")
	mu.Lock()
	defer mu.Unlock()
	if len(entries) != 2 {
		t.Fatalf("entries = %+v", entries)
	}
	if e := entries[0]; e.Op != OpPut || e.Key != "k" || e.Status != 200 || e.BytesIn != 1 {
		t.Fatalf("put entry = %+v", e)
	}
	if e := entries[1]; e.Op != OpGet || e.Status != 404 || e.Code != "NoSuchKey" {
		t.Fatalf("get entry = %+v", e)
	}
}
