package ossstore

import (
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/storetest"
)

// TestAcceptance runs the store.Store suite through the real SDK against
// osstest, each subtest on a fresh bucket.
func TestAcceptance(t *testing.T) {
	srv := newServer(t)
	var seq bucketSeq
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, srv, seq.next())
	})
}
