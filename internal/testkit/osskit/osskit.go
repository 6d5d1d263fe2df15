// Package osskit starts the OSS-protocol test server (pkg/osstest) for
// tests and opens stores on it through the real SDK (pkg/store/ossstore),
// as the function and the tools open them. A server is closed when the test
// ends; a store that cannot be opened fails the test, naming the endpoint
// and bucket (never the secret).
package osskit

import (
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// NewServer starts an OSS test server with opts (its buckets:
// osstest.WithBucket; the keys it accepts: osstest.WithCredentials),
// closed when the test ends.
func NewServer(tb testing.TB, opts ...osstest.Opt) *osstest.Server {
	tb.Helper()
	srv, err := osstest.NewServer(opts...)
	if err != nil {
		tb.Fatalf("start the OSS test server: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Store opens bucket at endpoint (a test server's, or any other) with
// creds, through the SDK.
func Store(tb testing.TB, endpoint, bucket string, creds ossstore.Credentials, opts ...ossstore.Opt) *ossstore.Store {
	tb.Helper()
	st, err := ossstore.New(ossstore.Config{Endpoint: endpoint, Bucket: bucket}, creds, opts...)
	if err != nil {
		tb.Fatalf("open OSS bucket %q at %s: %v", bucket, endpoint, err)
	}
	return st
}
