package sink_test

// Adversarial tests of the formats (issue 9): compressed appends, CSV
// header rows and Parquet staged and finalized when sealed, under the
// faults, kills, redeliveries and settings changes the sink survives.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// atkScenario is an invocation that seals (and so finalizes) at least one
// Parquet object, after prep has run cleanly.
type atkScenario struct {
	name string
	su   setup // the settings of the invocation and after (su.check)
	// prep writes the state before the invocation (with other settings).
	prep func(t *testing.T, st *memstore.Store)
	// from, to: the invocation's batch is all[from:to].
	from, to int
	// older: offsets that must be stored once in the ended epoch.
	older []int64
}

var atkPQ = "parquet/text;fields=topic,partition,offset,timestamp,key,value,headers;z=snappy"

func atkScenarios(t *testing.T, all []events.Record) []atkScenario {
	pqSetup := func(id string, opts ...sink.Option) setup {
		return setup{name: id, enc: mustEnc(id), offsetOf: rawOffset, opts: opts}
	}
	routed := setup{name: "routed", enc: mustEnc("parquet/text;fields=offset,key,value;z=zstd-1"), offsetOf: rawOffset,
		opts: []sink.Option{sink.WithRouter(modRouter{}), sink.WithFilter(routedKeep), sink.WithMaxOpenFolders(1)}, stored: routedKeep}
	prepWith := func(su setup, to int) func(t *testing.T, st *memstore.Store) {
		return func(t *testing.T, st *memstore.Store) { mustWrite(t, newSink(t, su), st, all[:to]) }
	}
	full := pqSetup(atkPQ, sink.WithFlushRecords(3))
	noOffset := pqSetup("parquet/base64;fields=key,value,timestamp", sink.WithFlushRecords(3))
	return []atkScenario{
		// Sealed when full, twice in the invocation (the second eagerly
		// after its last append).
		{name: "full", su: full, prep: prepWith(full, 2), from: 2, to: 8},
		{name: "full/no-offset-field", su: noOffset, prep: prepWith(noOffset, 2), from: 2, to: 8},
		// Sealed because SINK_FORMAT, SINK_FIELDS or SINK_COMPRESSION changed.
		{name: "format-changed", su: pqSetup("jsonl/text;fields=offset,value;z=gzip-1"), prep: prepWith(pqSetup(atkPQ), 4), from: 4, to: 7},
		{name: "fields-changed", su: pqSetup("parquet/base64;fields=value,offset"), prep: prepWith(pqSetup(atkPQ), 4), from: 4, to: 7},
		{name: "codec-changed", su: pqSetup("parquet/text;fields=topic,partition,offset,timestamp,key,value,headers;z=zstd-1"),
			prep: prepWith(pqSetup(atkPQ), 4), from: 4, to: 7},
		// Sealed by age (record time).
		{name: "age", su: pqSetup(atkPQ, sink.WithFlushInterval(5*time.Millisecond)), prep: prepWith(pqSetup(atkPQ, sink.WithFlushInterval(5*time.Millisecond)), 3), from: 3, to: 12},
		// Routed folders closed past the bound (one open folder).
		{name: "routed-closed", su: routed, prep: prepWith(routed, 4), from: 4, to: 12},
		// StartEpoch sealed the open staged object: the next batch (of the
		// recreated topic) finalizes it.
		{name: "new-epoch", su: pqSetup(atkPQ), prep: func(t *testing.T, st *memstore.Store) {
			mustWrite(t, newSink(t, pqSetup(atkPQ)), st, recreated(all[:5]))
			if _, err := sink.StartEpoch(context.Background(), st, "backup", topic, 0, "recreated", rvBase); err != nil {
				t.Fatal(err)
			}
		}, from: 0, to: 4, older: rvOffsets(all[:5])},
	}
}

// TestAttackFinalizeKillAnywhere fails or kills, before or after it takes
// effect, every request of an invocation that seals Parquet objects (the
// seal entry, the meta PUT listing them in finalize, the reads of the
// stage, the Parquet PUT, the stage's removal, the second meta PUT), then
// redelivers like the trigger (the same batch, one reaching further, or,
// the batch given up on, the records after it) with a second fault in the
// redelivery now and then, and a clean batch last. Every record must be
// stored exactly once, each sealed object written as Parquet, and no
// staging object left.
func TestAttackFinalizeKillAnywhere(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 16)
	for _, sc := range atkScenarios(t, all) {
		t.Run(sc.name, func(t *testing.T) {
			sk := newSink(t, sc.su)
			clean := memstore.New()
			sc.prep(t, clean)
			counter := &rvChaos{Store: clean}
			mustWrite(t, sk, counter, all[sc.from:sc.to])
			if !slices.ContainsFunc(counter.trace, func(s string) bool { return strings.HasPrefix(s, "PutReader ") }) {
				t.Fatalf("the invocation writes no Parquet object: %v", counter.trace)
			}
			nreq := counter.total
			runs := 0
			for n := 0; n < nreq; n++ {
				for kind := rvFailBefore; kind <= rvKillAfter; kind++ {
					for shape := 0; shape < 3; shape++ {
						runs++
						st := memstore.New()
						sc.prep(t, st)
						ch := &rvChaos{Store: st, faults: []rvFault{{"", n, kind}}}
						_, err := sk.Write(ctx, ch, all[sc.from:sc.to])
						what := fmt.Sprintf("%v at request %d (%s), redelivery %d", kind, n, ch.trace[min(n, len(ch.trace)-1)], shape)
						if err != nil && !errors.Is(err, rvErrInjected) && !errors.Is(err, rvErrKilled) {
							t.Fatalf("%s: unexpected error %v", what, err)
						}
						acked := sc.to
						if err != nil || ch.dead {
							// (A killed invocation never answers, whatever
							// its Write would have returned.)
							acked = sc.from
						}
						var second []rvFault
						if (n+int(kind))%3 == 0 {
							second = []rvFault{{"", (n*7 + int(kind)*3) % nreq, rvKind((n + shape) % 4)}}
							what += fmt.Sprintf(", then %v", second)
						}
						mayLack := map[int64]bool{}
						if acked == sc.from {
							switch shape {
							case 0: // the same batch
								acked = atkRedeliver(t, sk, st, all, sc.from, sc.to, second)
							case 1: // reaching further
								acked = atkRedeliver(t, sk, st, all, sc.from, min(len(all), sc.to+2), second)
							case 2: // given up on (ErrorsTolerance ALL)
								for _, r := range all[sc.from:sc.to] {
									mayLack[r.Offset] = true
								}
								acked = sc.to
							}
						}
						for acked < len(all) {
							e := min(len(all), acked+3)
							mustWrite(t, sk, st, all[acked:e])
							acked = e
						}
						mustWrite(t, sk, st, all[len(all)-1:]) // a clean batch: finalizes what is left
						if len(mayLack) == 0 {
							atkCheckAll(t, sc.su, st, all, sc.older, what)
							continue
						}
						atkCheckGivenUp(t, sc.su, st, all, mayLack, what)
					}
				}
			}
			t.Logf("%d requests, %d runs", nreq, runs)
		})
	}
}

// TestAttackRacingInvocationsFormats: invocations racing on one partition
// (review_race_test.go) in the new formats: compressed appends, CSV,
// Parquet staged and finalized by racing writers (forbid-overwrite PUTs,
// stages removed by one while another reads them), with faults and stale
// meta PUTs landing late. A partition may stop (ErrConflict); no record
// may be lost or stored twice.
func TestAttackRacingInvocationsFormats(t *testing.T) {
	encs := []format.Encoder{
		mustEnc("parquet/text;fields=topic,partition,offset,timestamp,key,value,headers;z=snappy"),
		mustEnc("parquet/base64;fields=value,key"),
		mustEnc("csv/text;fields=offset,key,value;z=zstd-1"),
		mustEnc("jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1"),
		mustEnc("raw/text;z=snappy"),
	}
	rvRunRace(t, rvRaceParams{faults: true, staleMeta: true, encs: encs}, rvN(300, 60))
}
