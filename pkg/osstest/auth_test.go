package osstest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestAuthentication(t *testing.T) {
	srv := newTestServer(t, WithCredentials("plain-ak", "plain-sk", ""))
	tests := []struct {
		name       string
		ak, sk, tk string
		opts       []oss.ClientOption
		status     int
		code       string // "" means the request succeeds
	}{
		{"valid sts key", testAK, testSK, testToken, nil, 0, ""},
		{"valid plain key", "plain-ak", "plain-sk", "", nil, 0, ""},
		{"plain key ignores a token", "plain-ak", "plain-sk", "whatever", nil, 0, ""},
		{"wrong secret", testAK, "wrong", testToken, nil, 403, "SignatureDoesNotMatch"},
		{"unknown key", "nobody", testSK, testToken, nil, 403, "InvalidAccessKeyId"},
		{"wrong token", testAK, testSK, "stale-token", nil, 403, "InvalidSecurityToken"},
		{"missing token", testAK, testSK, "", nil, 403, "InvalidSecurityToken"},
		{"v4 signature", testAK, testSK, testToken, []oss.ClientOption{oss.AuthVersion(oss.AuthV4), oss.Region("cn-hangzhou")}, 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sdkBucket(t, srv, tt.ak, tt.sk, tt.tk, tt.opts...)
			// Cover the signed sub-resources too: append&position and
			// continuation-token are part of the canonicalized resource.
			ops := map[string]func() error{
				"put": func() error { return b.PutObject("auth/k", bytes.NewReader([]byte("x"))) },
				"append": func() error {
					_, err := b.AppendObject("auth/"+tt.name, bytes.NewReader([]byte("x")), 0)
					return err
				},
				"list": func() error {
					_, err := b.ListObjectsV2(oss.Prefix("auth/"), oss.ContinuationToken(encodeToken("auth/", false)))
					return err
				},
				"head": func() error { _, err := b.GetObjectDetailedMeta("auth/k"); return err },
			}
			for name, op := range ops {
				err := op()
				if tt.code == "" {
					if err != nil && !strings.Contains(err.Error(), "NoSuchKey") {
						t.Errorf("%s: %v", name, err)
					}
					continue
				}
				var se oss.ServiceError
				if !errors.As(err, &se) || se.StatusCode != tt.status || se.Code != tt.code {
					t.Errorf("%s: err = %v, want %d %s", name, err, tt.status, tt.code)
				}
			}
		})
	}
}

// TestSignatureErrorEchoesStringToSign: like OSS, the reply to a bad
// signature quotes the string the server signed, security token included,
// so that clients are tested against the leak they must prevent.
func TestSignatureErrorEchoesStringToSign(t *testing.T) {
	srv := newTestServer(t)
	b := sdkBucket(t, srv, testAK, "wrong", testToken)
	err := b.PutObject("k", bytes.NewReader(nil))
	se := wantServiceError(t, err, 403, "SignatureDoesNotMatch")
	if !strings.Contains(se.RawMessage, "/test-bucket/k") || !strings.Contains(se.RawMessage, "x-oss-security-token:"+testToken) {
		t.Fatalf("error document lacks the string to sign with its token: %s", se.RawMessage)
	}
}

func TestExpiredCredentials(t *testing.T) {
	srv := newTestServer(t, WithCredentials("next-ak", "next-sk", "next-token"))
	b := testClient(t, srv)
	put(t, b, "k", []byte("x"))
	srv.ExpireCredentials(testAK)
	ops := map[string]func() error{
		"put":  func() error { return b.PutObject("k", bytes.NewReader(nil)) },
		"get":  func() error { _, err := getAll(b, "k"); return err },
		"head": func() error { _, err := b.GetObjectDetailedMeta("k"); return err },
		"list": func() error { _, err := b.ListObjectsV2(); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			wantServiceError(t, op(), 403, "SecurityTokenExpired")
		})
	}
	// A bad signature is still reported as such.
	bad := sdkBucket(t, srv, testAK, "wrong", testToken)
	wantServiceError(t, bad.PutObject("k", bytes.NewReader(nil)), 403, "SignatureDoesNotMatch")
	// Rotated credentials work.
	next := sdkBucket(t, srv, "next-ak", "next-sk", "next-token")
	if got, err := getAll(next, "k"); err != nil || string(got) != "x" {
		t.Fatalf("with fresh credentials: %q, %v", got, err)
	}
}

func TestExpiredCredentialsWithoutRegisteredKeys(t *testing.T) {
	srv, err := NewServer(WithBucket(testBucket))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.ExpireCredentials("old")
	wantServiceError(t, sdkBucket(t, srv, "old", "x", "").PutObject("k", bytes.NewReader(nil)), 403, "SecurityTokenExpired")
	put(t, sdkBucket(t, srv, "other", "x", ""), "k", nil)
}

func TestAnonymousAccessDenied(t *testing.T) {
	srv := newTestServer(t)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req, _ := http.NewRequest(method, srv.Endpoint()+"/"+testBucket+"/k", strings.NewReader(""))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if method == http.MethodHead {
				body = []byte(resp.Header.Get("X-Oss-Err")) // base64; just check presence
			}
			if resp.StatusCode != 403 || resp.Header.Get("X-Oss-Request-Id") == "" || len(body) == 0 {
				t.Fatalf("status %d, request id %q, body %q", resp.StatusCode, resp.Header.Get("X-Oss-Request-Id"), body)
			}
			if method == http.MethodGet {
				var doc struct{ Code string }
				if err := xml.Unmarshal(body, &doc); err != nil || doc.Code != "AccessDenied" {
					t.Fatalf("body %q: %v", body, err)
				}
			}
		})
	}
}

func TestNoCredentialsAcceptsAnySignature(t *testing.T) {
	srv, err := NewServer(WithBucket(testBucket))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	b := sdkBucket(t, srv, "any", "thing", "")
	put(t, b, "k", []byte("x"))
}
