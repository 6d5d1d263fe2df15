package sink_test

// The property test over the real OSS protocol: the official SDK (through
// ossstore, with its own retries) against the osstest server, with the
// server itself failing requests before and after they take effect (a lost
// reply to an append that landed is retried by ossstore and meets the
// position fence), on top of the client-side fault schedules.

import (
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// rvOSS starts an OSS test server seeded with seed and opens a store on it
// through the SDK, with quick retries; faults(on) makes rate of the data
// and meta requests fail before taking effect and rate after. The caller
// closes the server when done with the seed, so that a long run does not
// keep every seed's bucket.
func rvOSS(t *testing.T, seed uint64, rate float64) (srv *osstest.Server, st *ossstore.Store, faults func(on bool)) {
	t.Helper()
	srv, err := osstest.NewServer(osstest.WithBucket("sink"), osstest.WithSeed(int64(seed)))
	if err != nil {
		t.Fatal(err)
	}
	faults = func(on bool) {
		f := osstest.Fault{}
		if on {
			f = osstest.Fault{Before: rate, After: rate}
		}
		for _, op := range []osstest.Op{osstest.OpAppend, osstest.OpPut, osstest.OpGet, osstest.OpHead, osstest.OpList} {
			srv.SetFault(op, f)
		}
	}
	faults(true)
	st = osskit.Store(t, srv.Endpoint(), "sink", ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"},
		ossstore.WithRetry(3, time.Millisecond, 2*time.Millisecond))
	return srv, st, faults
}

func TestReviewPropertyOSSProtocol(t *testing.T) {
	n := rvN(50, 8)
	bad := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		srv, st, faults := rvOSS(t, seed, 0.04)
		var ph rvParams
		if seed%2 == 0 {
			ph = rvParams{boundary: true, monotone: true}
		}
		ph.storeFaults = faults
		ph.expectedErr = func(err error) bool { return strings.Contains(err.Error(), "osstest: injected") }
		r := rvSimulateOn(seed, ph, func() store.Store { return st })
		srv.Close()
		if r.violation != "" {
			bad++
			t.Errorf("seed %d: %s: %s\n%s", seed, r.kind, r.violation, strings.Join(r.log, "\n"))
		}
	}
}
