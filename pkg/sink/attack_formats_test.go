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

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/duckdb"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
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
		// SINK_FINALIZE (raw, jsonl, csv staged and copied whole): sealed
		// when full, with the final PUT's class, encryption and tags; and
		// SINK_FINALIZE turned on, which seals the appendable object.
		{name: "final/jsonl-gzip/full", su: pqSetup("jsonl/text;fields=offset,key,value;z=gzip-1;final", sink.WithFlushRecords(3),
			sink.WithStorageClass(store.IA), sink.WithSSE("KMS", "key-1"), sink.WithTags(store.Tag{Key: "team", Value: "a"})),
			prep: prepWith(pqSetup("jsonl/text;fields=offset,key,value;z=gzip-1;final", sink.WithFlushRecords(3)), 2), from: 2, to: 8},
		{name: "final/csv-zstd/full", su: pqSetup("csv/base64;fields=value,offset;z=zstd-1;final", sink.WithFlushRecords(3)),
			prep: prepWith(pqSetup("csv/base64;fields=value,offset;z=zstd-1;final", sink.WithFlushRecords(3)), 2), from: 2, to: 8},
		{name: "final/raw/switched-on", su: pqSetup("raw/text;final", sink.WithFlushRecords(3)),
			prep: prepWith(pqSetup("raw/text"), 4), from: 4, to: 8},
		{name: "final/switched-off", su: pqSetup("jsonl/text;fields=offset,value"),
			prep: prepWith(pqSetup("jsonl/text;fields=offset,value;final"), 4), from: 4, to: 7},
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

// atkReplace rewrites an appendable object with data (still appendable).
func atkReplace(t *testing.T, st *memstore.Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(ctx, key, 0, data); err != nil {
		t.Fatal(err)
	}
}

// TestAttackPoisonedFinalize: a bucket whose objects are not what the
// state says, around finalizing. The sink must never remove staged records
// whose Parquet object it has not confirmed, never write a Parquet object
// with fewer records than staged, and never overwrite an object that is
// not its own; the batch itself succeeds (its records are staged and
// committed) and the object is left to finalize.
func TestAttackPoisonedFinalize(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	obj := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0) + ".parquet"
	stage := sink.StageKey(obj)
	for _, tc := range []struct {
		name   string
		poison func(*memstore.Store)
	}{
		{"an object at the Parquet name that is not a Parquet file", func(st *memstore.Store) {
			_ = st.Put(ctx, obj, []byte("not parquet"))
		}},
		{"a Parquet file of other records at the name", func(st *memstore.Store) {
			other := memstore.New()
			mustWrite(t, atkSink(t, atkPQ, sink.WithFlushRecords(2)), other, recreated(all[:3]))
			b, ok := other.Object(obj)
			if !ok {
				t.Fatalf("no %s in %v", obj, other.Keys())
			}
			_ = st.Put(ctx, obj, b)
		}},
		{"a truncated stage", func(st *memstore.Store) {
			b, _ := st.Object(stage)
			atkReplace(t, st, stage, b[:len(b)-3])
		}},
		{"a stage with a record replaced by garbage", func(st *memstore.Store) {
			b, _ := st.Object(stage)
			g := append([]byte(nil), b...)
			for i := len(g) / 2; i < len(g); i++ {
				g[i] ^= 0x5a
			}
			atkReplace(t, st, stage, g)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := atkSink(t, atkPQ, sink.WithFlushRecords(3))
			// Sealed, listed to finalize, killed before its PUT.
			ch := &rvChaos{Store: st, faults: []rvFault{{"PutReader", 0, rvKillBefore}}}
			_, _ = sk.Write(ctx, ch, all[:3])
			if m := readMeta(t, st); len(m.Finalize) != 1 {
				t.Fatalf("finalize: %+v", m.Finalize)
			}
			tc.poison(st)
			before, _ := st.Object(obj)
			staged, _ := st.Object(stage)
			sum, err := sk.Write(ctx, st, all[3:5])
			if err != nil {
				t.Fatalf("the batch failed: %v", err)
			}
			if sum.Finalized != 0 || sum.Unfinalized != 1 {
				t.Fatalf("finalized %d, unfinalized %d: want the object left to finalize", sum.Finalized, sum.Unfinalized)
			}
			if after, _ := st.Object(obj); string(after) != string(before) {
				t.Fatalf("%s changed (%d bytes, was %d)", obj, len(after), len(before))
			}
			if now, ok := st.Object(stage); !ok || string(now) != string(staged) {
				t.Fatalf("the staged records changed or went (%v)", ok)
			}
			m := readMeta(t, st)
			if len(m.Finalize) != 1 || m.Finalize[0].Object != obj {
				t.Fatalf("finalize: %+v", m.Finalize)
			}
		})
	}
}

// TestAttackPoisonedObjects: objects of the new formats changed behind the
// sink's back. A Write that meets them fails with ErrConflict and writes
// nothing (an index may hold a refused announcement), as for raw objects
// (TestPoisonedIndex).
func TestAttackPoisonedObjects(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 8)
	key := func(ext string) string { return sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0) + ext }
	for _, tc := range []struct {
		name   string
		enc    string
		ext    string
		poison func(st *memstore.Store, key string)
		batch  []events.Record
	}{
		{"garbage member appended to a gzip object", "jsonl/text;fields=offset,value;z=gzip-1", ".jsonl.gz",
			func(st *memstore.Store, k string) {
				b, _ := st.Object(k)
				atkReplace(t, st, k, append(b, 0x1f, 0x8b, 8, 0, 0, 0))
			}, all[5:]},
		{"a zstd member replaced by garbage of its length, then a replay", "csv/text;fields=offset,value;z=zstd-1", ".csv.zst",
			func(st *memstore.Store, k string) {
				b, _ := st.Object(k)
				g := append([]byte(nil), b...)
				for i := 4; i < len(g); i++ {
					g[i] ^= 0xff
				}
				atkReplace(t, st, k, g)
			}, all[3:]},
		{"a snappy object truncated", "raw/text;z=snappy", ".sz",
			func(st *memstore.Store, k string) {
				b, _ := st.Object(k)
				atkReplace(t, st, k, b[:len(b)-2])
			}, all[5:]},
		{"the open Parquet object's stage deleted", atkPQ, ".parquet",
			func(st *memstore.Store, k string) { _ = st.Delete(ctx, sink.StageKey(k)) }, all[5:]},
		{"the open Parquet object's stage truncated", atkPQ, ".parquet",
			func(st *memstore.Store, k string) {
				b, _ := st.Object(sink.StageKey(k))
				atkReplace(t, st, sink.StageKey(k), b[:len(b)-1])
			}, all[3:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := atkSink(t, tc.enc)
			mustWrite(t, sk, st, all[:5])
			tc.poison(st, key(tc.ext))
			before := dataSnapshot(st)
			_, err := sk.Write(ctx, st, tc.batch)
			if !errors.Is(err, sink.ErrConflict) {
				t.Fatalf("got %v, want ErrConflict", err)
			}
			if after := dataSnapshot(st); after != before {
				t.Fatalf("store changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// TestAttackDuckDBGlobs: engines find a folder's objects by a glob on the
// extension, as the one-liner does
// (read_parquet('oss-local/**/*.parquet')). Beside every data object the
// sink keeps its record index, and for an open Parquet object its stage:
// their names end in .idx and .staged, so that the same globs (DuckDB's
// '*' matches a leading dot) never take them for data. The glob must read
// the records, and only them.
func TestAttackDuckDBGlobs(t *testing.T) {
	all := stream(0, 8)
	for _, tc := range []struct{ enc, sql string }{
		{atkPQ, "SELECT count(*) AS n FROM read_parquet('backup/**/*.parquet')"},
		{"jsonl/text;fields=offset,value;z=gzip-1", "SELECT count(*) AS n FROM read_json('backup/**/*.jsonl.gz', format='newline_delimited')"},
		{"csv/text;fields=offset,value", "SELECT count(*) AS n FROM read_csv('backup/**/*.csv', header=true)"},
	} {
		dir := t.TempDir()
		st, err := localstore.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, atkSink(t, tc.enc, sink.WithFlushRecords(3)), st, all) // Parquet: 6 written, 2 staged
		want := "8"
		if strings.HasPrefix(tc.enc, "parquet") {
			want = "6"
		}
		res, err := duckdb.Try(t, dir, tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.enc, err)
			continue
		}
		if n := fmt.Sprint(res.Maps()[0]["n"]); n != want {
			t.Errorf("%s: %s counts %s records, want %s", tc.enc, tc.sql, n, want)
		}
	}
}
