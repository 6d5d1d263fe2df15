package sink_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// gate holds every request until want of them are in flight at once, then
// lets all through, and records the most it saw in flight. A sink that
// never has want requests in flight leaves them held until ctx ends.
type gate struct {
	ctx  context.Context
	want int

	mu       sync.Mutex
	inflight int
	most     int
	open     chan struct{}
	opened   bool
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inflight++
		g.most = max(g.most, g.inflight)
		if g.inflight >= g.want && !g.opened {
			g.opened = true
			close(g.open)
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.inflight--
			g.mu.Unlock()
		}()
		select {
		case <-g.open:
		case <-g.ctx.Done():
		}
		next.ServeHTTP(w, r)
	})
}

// TestPartitionConcurrency: a batch writes min(partitions, the bound)
// partitions at once, each one request at a time, against the OSS test
// server with every request delayed 5 ms as OSS's are. The server holds
// requests until that many are in flight together, so the count observed
// does not depend on the machine's speed: fewer would hold them until the
// test's deadline (and fail it), more cannot get past the bound.
func TestPartitionConcurrency(t *testing.T) {
	tests := []struct {
		name       string
		partitions int
		opts       []sink.Option
		want       int
	}{
		{"3 partitions", 3, nil, 3},
		{"64 partitions", 64, nil, 64},
		{"100 partitions: the default bound", 100, nil, sink.DefaultConcurrency},
		{"20 partitions, WithConcurrency(5)", 20, []sink.Option{sink.WithConcurrency(5)}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			srv := osskit.NewServer(t, osstest.WithBucket("sink"))
			for _, op := range osstest.Ops() {
				srv.SetFault(op, osstest.Fault{Latency: 5 * time.Millisecond})
			}
			g := &gate{ctx: ctx, want: tc.want, open: make(chan struct{})}
			hs := httptest.NewServer(g.wrap(srv.Handler()))
			defer hs.Close()
			st := osskit.Store(t, hs.URL, "sink", ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"})
			sk, err := sink.New(append([]sink.Option{sink.WithPrefix("backup")}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			var batch []events.Record
			for p := range tc.partitions {
				batch = append(batch, stream(int32(p), 3)...)
			}
			if _, err := sk.Write(ctx, st, batch); err != nil {
				t.Fatal(err)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.most != tc.want {
				t.Errorf("at most %d requests in flight, want %d", g.most, tc.want)
			}
		})
	}
}
