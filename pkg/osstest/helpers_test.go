package osstest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const (
	testBucket = "test-bucket"
	testAK     = "test-ak"
	testSK     = "test-secret"
	testToken  = "test-token"
)

func newTestServer(t *testing.T, opts ...Opt) *Server {
	t.Helper()
	opts = append([]Opt{WithBucket(testBucket), WithCredentials(testAK, testSK, testToken)}, opts...)
	srv, err := NewServer(opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// sdkBucket returns an SDK bucket handle for srv. Each handle has its own
// HTTP client, so connection state does not leak between tests.
func sdkBucket(t testing.TB, srv *Server, ak, sk, token string, opts ...oss.ClientOption) *oss.Bucket {
	t.Helper()
	opts = append([]oss.ClientOption{oss.SecurityToken(token), oss.Timeout(5, 10)}, opts...)
	c, err := oss.New(srv.Endpoint(), ak, sk, opts...)
	if err != nil {
		t.Fatalf("oss.New: %v", err)
	}
	b, err := c.Bucket(testBucket)
	if err != nil {
		t.Fatalf("Bucket: %v", err)
	}
	return b
}

func testClient(t testing.TB, srv *Server) *oss.Bucket {
	return sdkBucket(t, srv, testAK, testSK, testToken)
}

// wantServiceError asserts that err is an oss.ServiceError with status and code.
func wantServiceError(t *testing.T, err error, status int, code string) oss.ServiceError {
	t.Helper()
	var se oss.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want oss.ServiceError %d %s", err, err, status, code)
	}
	if se.StatusCode != status || se.Code != code {
		t.Fatalf("ServiceError = %d %q (%s), want %d %q", se.StatusCode, se.Code, se.Message, status, code)
	}
	if se.RequestID == "" {
		t.Errorf("ServiceError has no request id")
	}
	return se
}

func getAll(b *oss.Bucket, key string, opts ...oss.Option) ([]byte, error) {
	rc, err := b.GetObject(key, opts...)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func put(t *testing.T, b *oss.Bucket, key string, data []byte, opts ...oss.Option) {
	t.Helper()
	if err := b.PutObject(key, bytes.NewReader(data), opts...); err != nil {
		t.Fatalf("PutObject(%q): %v", key, err)
	}
}

func mustObject(t *testing.T, srv *Server, key string) []byte {
	t.Helper()
	d, ok := srv.Object(testBucket, key)
	if !ok {
		t.Fatalf("object %q missing", key)
	}
	return d
}

func respHeader() (*http.Header, oss.Option) {
	h := new(http.Header)
	return h, oss.GetResponseHeader(h)
}
