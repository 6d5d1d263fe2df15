package verify_test

import (
	"context"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify/verifytest"
)

// TestRawNewlinesThroughTheSink: raw values holding '\n', binary values
// holding 0x0A, nulls and offset gaps, written by the real engine, are no
// error whatever it writes: checked exactly through record indexes, or,
// for objects without one, at most "unverifiable exactly" warnings.
func TestRawNewlinesThroughTheSink(t *testing.T) {
	for _, enc := range []format.Encoder{{}, {ValueEncoding: events.Base64}} {
		t.Run(enc.ValueEncoding.String(), func(t *testing.T) {
			st := memstore.New()
			sk, err := sink.New(sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(5))
			if err != nil {
				t.Fatal(err)
			}
			recs := verifytest.Records(topic, 0, 100, 23, enc.ValueEncoding == events.Base64)
			for i := 0; i < len(recs); i += 4 {
				if _, err := sk.Write(context.Background(), st, recs[i:min(i+4, len(recs))]); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(16))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("errors on data the sink wrote: %v", rep.AllDefects())
			}
			for _, d := range rep.AllDefects() {
				t.Log(d)
				if d.Code != verify.CodeRawUnverifiable {
					t.Errorf("unexpected defect: %s", d)
				}
			}
		})
	}
}
