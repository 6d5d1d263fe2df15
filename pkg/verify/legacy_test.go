package verify_test

import (
	"context"
	"slices"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// TestRawNewlines: raw values holding '\n', binary values holding 0x0A,
// nulls and offset gaps. Written by the real engine they are checked
// exactly, through the record indexes: no defect, exact offsets. Written
// by the version before indexes, they can only be counted by lines: at
// most "unverifiable exactly" warnings, never an error on data the sink
// wrote correctly.
func TestRawNewlines(t *testing.T) {
	for _, enc := range []format.Encoder{{}, {ValueEncoding: events.Base64}} {
		recs := fixture.Records(topic, 0, 100, 23, enc.ValueEncoding == events.Base64)
		t.Run("engine/"+enc.ValueEncoding.String(), func(t *testing.T) {
			st := memstore.New()
			sk, err := sink.New(sink.WithPrefix(prefix), sink.WithEncoder(enc), sink.WithFlushRecords(5))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(recs); i += 4 {
				if _, err := sk.Write(context.Background(), st, recs[i:min(i+4, len(recs))]); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(16))
			if err != nil {
				t.Fatal(err)
			}
			p := rep.Partitions[0]
			if !rep.OK() || len(rep.AllDefects()) != 0 || !p.ExactOffsets || p.Records != int64(len(recs)) ||
				p.FirstOffset != recs[0].Offset || p.LastOffset != recs[len(recs)-1].Offset || p.LegacyRaw != 0 || p.Indexes != p.Objects {
				t.Fatalf("report %+v, defects %v", p, rep.AllDefects())
			}
		})
		t.Run("legacy/"+enc.ValueEncoding.String(), func(t *testing.T) {
			st := memstore.New()
			lw := &fixture.LegacyWriter{St: st, Prefix: prefix, Enc: enc, FlushRecords: 5}
			for i := 0; i < len(recs); i += 4 {
				lw.Write(t, topic, 0, recs[i:min(i+4, len(recs))])
			}
			rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(16))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || len(rep.AllDefects()) == 0 {
				t.Fatalf("want warnings only: %v", rep.AllDefects())
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

// TestUpgradeFromLegacy: a store the version before indexes wrote (meta
// objects of schema version 1), continued by the engine, which seals the
// legacy open object in the meta object and goes on in indexed objects.
// The whole history checks clean, with the right counts: legacy objects
// by their lines, indexed ones exactly.
func TestUpgradeFromLegacy(t *testing.T) {
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			st := memstore.New()
			bs, _ := batches()
			half := len(bs) / 2
			lw := &fixture.LegacyWriter{St: st, Prefix: prefix, Enc: s.enc, FlushRecords: s.flushRecords, FlushBytes: s.flushBytes}
			var legacy []string
			for _, b := range bs[:half] {
				for _, r := range b {
					lw.Write(t, r.Topic, r.Partition, []events.Record{r})
				}
			}
			infos, err := st.List(context.Background(), prefix+topic+"/partition_0_")
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range infos {
				legacy = append(legacy, in.Key)
			}
			sk, err := sink.New(s.sinkOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, b := range bs {
				for _, r := range b {
					if r.Topic == topic && r.Partition == 0 {
						want = append(want, r.Offset)
					}
				}
			}
			for _, b := range bs[half:] {
				if _, err := sk.Write(context.Background(), st, b); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := verify.Run(context.Background(), st, verify.WithPrefix(prefix), verify.WithChunkSize(32), verify.WithObjectDetails())
			if err != nil {
				t.Fatal(err)
			}
			p := partition(rep, topic, 0)
			if !rep.OK() || len(rep.AllDefects()) != 0 || p.Records != int64(len(want)) || p.Meta.Committed != want[len(want)-1] || p.LastOffset != want[len(want)-1] {
				t.Fatalf("upgraded store: %+v %v", p, rep.AllDefects())
			}
			indexed := 0
			for _, o := range p.ObjectList {
				if o.Index != "" {
					indexed++
				} else if !slices.Contains(legacy, o.Key) {
					t.Errorf("object %s without an index, not written by the legacy version", o.Key)
				}
			}
			if indexed == 0 || p.Indexes != indexed || p.Objects != len(legacy)+indexed {
				t.Errorf("%d objects, %d indexed, %d legacy", p.Objects, indexed, len(legacy))
			}
			if wantExact := s.enc.Format == format.JSONL; p.ExactOffsets != wantExact || p.FirstOffset != want[0] {
				t.Errorf("exact offsets %v, first %d", p.ExactOffsets, p.FirstOffset)
			}
		})
	}
}
