package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// BenchmarkInvokeRouting measures what routing costs: the full-size batch
// (eventstest.Bench, with JSON values naming a user) through the
// handler into the local store, with no routing and with a template, run
// one after the other on the same payload in every iteration, each into a
// store of its own continuing its topic. It reports:
//
//	x-none       the routed invocation's cpu time (user+system, this
//	             process) divided by the unrouted one's: the cost of routing
//	folders/op   folders written per invocation
//	oss-req/op   storage requests per invocation
//
//	go test -run XXX -bench InvokeRouting -benchtime 10x ./function/
func BenchmarkInvokeRouting(b *testing.B) {
	for _, tc := range []struct {
		name, folder, filter string
		users                int
	}{
		// Both without routing: the noise floor of x-none on this machine.
		{"control", "", "", 1},
		{"time", "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", "", 1},
		// The field's cost: one user, so as many folders as without routing.
		{"field", "{topic}/user={value:user.id}/", "", 1},
		// And with 16 users: 16 times the folders, objects and requests.
		{"field-16-folders", "{topic}/user={value:user.id}/", "", 16},
		{"filter", "", `drop value:user.tier = "silver"`, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			none := routingHandler(b, "", "")
			routed := routingHandler(b, tc.folder, tc.filter)
			batch := func(i int) []byte {
				cfg := eventstest.Bench()
				cfg.JSONUsers = tc.users
				cfg.Seed = uint64(i + 1)
				for p := range cfg.Partitions {
					cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records+p))
				}
				return eventstest.Batch(cfg)
			}
			warm := batch(0)
			for _, h := range []*handler.Handler{none, routed} {
				if _, err := h.Invoke(context.Background(), "warm-up", slices.Clone(warm)); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(warm)))
			var cpuNone, cpuRouted time.Duration
			requests, folders := 0, 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				p := batch(i + 1)
				q := slices.Clone(p)
				b.StartTimer()
				// Alternate which runs first, each after a collection, so that
				// neither pays the other's garbage or warms its caches.
				run := func(h *handler.Handler, payload []byte) (*handler.Response, time.Duration) {
					b.StopTimer()
					runtime.GC()
					b.StartTimer()
					c := cpuTime()
					resp, err := h.Invoke(context.Background(), "bench", payload)
					d := cpuTime() - c
					if err != nil {
						b.Fatal(err)
					}
					return resp, d
				}
				var resp *handler.Response
				var dNone, dRouted time.Duration
				if i%2 == 0 {
					_, dNone = run(none, p)
					resp, dRouted = run(routed, q)
				} else {
					resp, dRouted = run(routed, q)
					_, dNone = run(none, p)
				}
				cpuNone += dNone
				cpuRouted += dRouted
				requests += resp.Requests
				for _, part := range resp.Partitions {
					folders += max(1, len(part.Objects))
				}
			}
			b.ReportMetric(cpuRouted.Seconds()/cpuNone.Seconds(), "x-none")
			b.ReportMetric(float64(folders)/float64(b.N), "folders/op")
			b.ReportMetric(float64(requests)/float64(b.N), "oss-req/op")
		})
	}
}

func routingHandler(b *testing.B, folder, filter string) *handler.Handler {
	env := map[string]string{config.EnvFolder: folder, config.EnvFilter: filter, config.EnvTimezone: "Asia/Shanghai"}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	cfg.LocalDir = filepath.Join(b.TempDir(), "oss-local")
	h, err := handler.New(cfg, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// cpuTime is this process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
