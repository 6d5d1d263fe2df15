package osstest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestInvalidObjectName checks the OSS object naming rules on every object
// operation: 400 InvalidObjectName, and nothing stored.
func TestInvalidObjectName(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	names := map[string]string{
		"1024 bytes":        strings.Repeat("k", 1024),
		"leading slash":     "/lead",
		"leading backslash": "\\lead",
		"invalid UTF-8":     "bad\xff",
	}
	ops := map[string]func(key string) error{
		"put": func(k string) error { return b.PutObject(k, bytes.NewReader([]byte("x"))) },
		"append": func(k string) error {
			_, err := b.AppendObject(k, bytes.NewReader([]byte("x")), 0)
			return err
		},
		"get":    func(k string) error { _, err := getAll(b, k); return err },
		"head":   func(k string) error { _, err := b.GetObjectDetailedMeta(k); return err },
		"delete": func(k string) error { return b.DeleteObject(k) },
	}
	for name, key := range names {
		for op, call := range ops {
			t.Run(name+"/"+op, func(t *testing.T) {
				wantServiceError(t, call(key), 400, "InvalidObjectName")
			})
		}
	}
	if keys := srv.Keys(testBucket, ""); len(keys) != 0 {
		t.Fatalf("invalid names stored: %q", keys)
	}
	longest := strings.Repeat("k", 1023)
	put(t, b, longest, []byte("ok"))
	if got := mustObject(t, srv, longest); string(got) != "ok" {
		t.Fatalf("longest key holds %q", got)
	}
}

func TestNoSuchBucket(t *testing.T) {
	srv := newTestServer(t)
	c, err := oss.New(srv.Endpoint(), testAK, testSK, oss.SecurityToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Bucket("other-bucket")
	if err != nil {
		t.Fatal(err)
	}
	wantServiceError(t, b.PutObject("k", bytes.NewReader(nil)), 404, "NoSuchBucket")
	_, err = b.ListObjectsV2()
	wantServiceError(t, err, 404, "NoSuchBucket")
}

func TestDeny(t *testing.T) {
	srv := newTestServer(t,
		WithBucket("other"),
		WithCredentials("reader", "reader-sk", ""),
		WithDeny(Deny{KeyPrefix: "locked/"}),
		WithDeny(Deny{AccessKeyID: "reader", Ops: []Op{OpPut, OpAppend, OpDelete}}),
		WithDeny(Deny{Bucket: "other", KeyPrefix: "secret", Ops: []Op{OpList}}),
	)
	if err := srv.PutObjectDirect(testBucket, "open/k", []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if err := srv.PutObjectDirect(testBucket, "locked/k", []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	writer := testClient(t, srv)
	reader := sdkBucket(t, srv, "reader", "reader-sk", "")
	other := func(b *oss.Bucket) *oss.Bucket {
		o, err := b.Client.Bucket("other")
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	tests := []struct {
		name   string
		call   func() error
		denied bool
	}{
		{"get open", func() error { _, err := getAll(writer, "open/k"); return err }, false},
		{"get locked", func() error { _, err := getAll(writer, "locked/k"); return err }, true},
		{"head locked", func() error { _, err := writer.GetObjectDetailedMeta("locked/k"); return err }, true},
		{"put locked", func() error { return writer.PutObject("locked/new", bytes.NewReader(nil)) }, true},
		{"list locked", func() error { _, err := writer.ListObjectsV2(oss.Prefix("locked/")); return err }, true},
		{"list open", func() error { _, err := writer.ListObjectsV2(oss.Prefix("open/")); return err }, false},
		{"reader gets", func() error { _, err := getAll(reader, "open/k"); return err }, false},
		{"reader puts", func() error { return reader.PutObject("open/k", bytes.NewReader(nil)) }, true},
		{"reader appends", func() error {
			_, err := reader.AppendObject("open/a", bytes.NewReader(nil), 0)
			return err
		}, true},
		{"reader deletes", func() error { return reader.DeleteObject("open/k") }, true},
		{"list secret in other bucket", func() error { _, err := other(writer).ListObjectsV2(oss.Prefix("secrets/")); return err }, true},
		{"put secret in other bucket", func() error { return other(writer).PutObject("secret", bytes.NewReader(nil)) }, false},
		{"list secret in this bucket", func() error { _, err := writer.ListObjectsV2(oss.Prefix("secrets/")); return err }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.denied {
				wantServiceError(t, err, 403, "AccessDenied")
			} else if err != nil {
				t.Fatalf("denied or failed: %v", err)
			}
		})
	}
	if got := mustObject(t, srv, "open/k"); string(got) != "x" {
		t.Fatalf("a denied request changed open/k to %q", got)
	}

	srv.SetDenies(Deny{KeyPrefix: "open/"})
	if _, err := getAll(writer, "locked/k"); err != nil {
		t.Fatalf("after SetDenies, locked/k: %v", err)
	}
	_, err := getAll(writer, "open/k")
	wantServiceError(t, err, 403, "AccessDenied")
	srv.SetDenies()
	if _, err := getAll(writer, "open/k"); err != nil {
		t.Fatalf("after SetDenies(): %v", err)
	}
}
