package sink_test

import (
	"context"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// BenchmarkWriteRouted is the engine alone (no decoding, an in-memory
// store) on the full-size batch with JSON values, without and with routing
// templates: what routing costs the engine, apart from the store, and
// what many folders cost in memory (B/op; the store keeps every object).
//
//	go test -run XXX -bench WriteRouted -benchmem ./pkg/sink/
func BenchmarkWriteRouted(b *testing.B) {
	shanghai, err := route.LoadZone("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, template string
		users          int
	}{
		{"none", "", 1},
		{"time", "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", 1},
		{"field", "{topic}/user={value:user.id}/", 1},
		// 100 users: 800 folders, each one more object. B/op shows what
		// memory does with the number of folders.
		{"field-800-folders", "{topic}/user={value:user.id}/", 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			opts := []sink.Option{sink.WithPrefix("bench"), sink.WithClock(func() time.Time { return time.Unix(0, 0) })}
			if tc.template != "" {
				r, err := route.New(tc.template, shanghai)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, sink.WithRouter(r))
			}
			sk, err := sink.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			st := memstore.New()
			batch := func(i int) []events.Record {
				cfg := eventstest.Bench()
				cfg.JSONUsers = tc.users
				for p := range cfg.Partitions {
					cfg.StartOffsets = append(cfg.StartOffsets, int64(i*cfg.Records+p))
				}
				return eventstest.Records(cfg)
			}
			if _, err := sk.Write(context.Background(), st, batch(0)); err != nil {
				b.Fatal(err)
			}
			var size int64
			for _, r := range batch(0) {
				size += int64(len(r.Value))
			}
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				recs := batch(i + 1)
				if i%4 == 3 {
					st = memstore.New() // keep the store's memory bounded
					if _, err := sk.Write(context.Background(), st, recs[:1]); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := sk.Write(context.Background(), st, recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
