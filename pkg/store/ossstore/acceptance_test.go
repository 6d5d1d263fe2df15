package ossstore

import (
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/storetest"
)

// TestAcceptance runs the store.Store suite through the real SDK against
// osstest, each subtest on a fresh bucket. Restores wait until the suite
// completes them, as OSS's take minutes to days.
func TestAcceptance(t *testing.T) {
	srv := newServer(t, osstest.WithManualRestores())
	var seq bucketSeq
	var buckets sync.Map // *Store -> its bucket, for completing restores
	storetest.Run(t, func(t *testing.T) store.Store {
		name := seq.next()
		s := newStore(t, srv, name)
		buckets.Store(s, name)
		return s
	}, storetest.WithCompleteRestore(func(t *testing.T, s store.Store, key string) {
		t.Helper()
		name, ok := buckets.Load(s)
		if !ok {
			t.Fatalf("complete restore: %v is not a store of this test", s)
		}
		if !srv.CompleteRestore(name.(string), key) {
			t.Fatalf("complete restore: no restore of %q runs in bucket %s", key, name)
		}
	}))
}
