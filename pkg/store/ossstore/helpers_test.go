package ossstore

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

const (
	testAK    = "STS.test-key-id"
	testSK    = "test-secret-value"
	testToken = "test-security-token-value"
)

var testCreds = Credentials{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: testToken}

// bucketSeq names a fresh bucket per store; an atomic so parallel tests can
// share it without a lock.
type bucketSeq struct{ n atomic.Int64 }

func (b *bucketSeq) next() string { return fmt.Sprintf("bucket-%d", b.n.Add(1)) }

func newServer(t *testing.T, opts ...osstest.Opt) *osstest.Server {
	t.Helper()
	opts = append([]osstest.Opt{osstest.WithCredentials(testAK, testSK, testToken)}, opts...)
	srv, err := osstest.NewServer(opts...)
	if err != nil {
		t.Fatalf("osstest.NewServer: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// fastRetry keeps retry tests quick: the same number of attempts as the
// default, with millisecond sleeps.
func fastRetry() Opt { return WithRetry(6, time.Millisecond, 10*time.Millisecond) }

// newStore returns a Store on a fresh bucket of srv.
func newStore(t *testing.T, srv *osstest.Server, bucket string, opts ...Opt) *Store {
	t.Helper()
	if err := srv.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	opts = append([]Opt{fastRetry()}, opts...)
	s, err := New(Config{Endpoint: srv.Endpoint(), Bucket: bucket}, testCreds, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}
