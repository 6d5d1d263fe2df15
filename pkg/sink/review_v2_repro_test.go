package sink_test

// Deterministic reproductions of the findings of the review of protocol
// version 2 (record indexes). Each test FAILS on the engine as reviewed
// (f8f2146): that is the point; the report names the cause of each.
//
// Terms: "dead-lettered" is a batch the trigger gave up on with
// ErrorsTolerance ALL (it moves on to the records after it); a
// "redelivery" starts at or before the first unacknowledged record, which
// the package doc allows, so it may reach back into a dead-lettered batch
// (Kafka Connect style triggers resume from the last committed consumer
// offset after a rebalance, and commit asynchronously).

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// v2Permanent reports whether err carries one of the sink's errors that
// say a retry cannot help.
func v2Permanent(err error) bool {
	return errors.Is(err, sink.ErrConflict) || errors.Is(err, sink.ErrOffsetsReset) ||
		errors.Is(err, sink.ErrMetaMissing) || errors.Is(err, sink.ErrMetaInvalid)
}

// v2FailMeta makes the meta PUT of one Write fail before it takes effect
// (n-th Put, 0-based): the batch's appends land, its state does not.
func v2FailMeta(st store.Store, n int) store.Store {
	return &rvChaos{Store: st, faults: []rvFault{{"Put", n, rvFailBefore}}}
}

// v2AtMostOnceInOrder checks that no offset is stored twice, that objects
// and the records in them are in offset order, and that every offset of
// want is present.
func v2AtMostOnceInOrder(t *testing.T, st store.Store, prefix, topic string, want []int64) {
	t.Helper()
	parts, err := sinktest.Read(context.Background(), st, prefix, topic, rvAnyOffset)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	seen := map[int64]string{}
	last := int64(-1)
	for _, o := range parts[0].Objects {
		for _, off := range o.Offsets {
			if prev, dup := seen[off]; dup {
				t.Fatalf("offset %d stored twice: in %s and %s", off, prev, o.Key)
			}
			if off <= last {
				t.Fatalf("offset %d stored after %d (%s): out of order", off, last, o.Key)
			}
			seen[off], last = o.Key, off
		}
	}
	for _, off := range want {
		if seen[off] == "" {
			t.Fatalf("offset %d missing", off)
		}
	}
}

// TestReviewV2RebuildTransientFailureIsMetaMissing: a read that fails for
// a transient reason (a 5xx, a timeout, the deadline margin cutting it)
// while the state is rebuilt from the data objects' indexes is reported
// as ErrMetaMissing, which the handler turns into a StateConflictError
// ("retrying cannot help"). The very next retry succeeds.
func TestReviewV2RebuildTransientFailureIsMetaMissing(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	for _, tc := range []struct {
		name   string
		faults []rvFault
		cancel bool // cancel the invocation's context right after the listing
	}{
		{"index read fails", []rvFault{{"GetRange", 0, rvFailBefore}}, false},
		{"data object HEAD fails", []rvFault{{"Stat", 1, rvFailBefore}}, false},
		{"deadline cuts the rebuild", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := rvSink(t, nil)
			// The first batch of the partition: appends land, the meta PUT
			// fails on every attempt, the trigger gives up (ErrorsTolerance
			// ALL) and moves on.
			for range 3 {
				if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[:5]); !errors.Is(err, rvErrInjected) {
					t.Fatalf("first batch: %v", err)
				}
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			ch := &rvChaos{Store: st, faults: tc.faults}
			if tc.cancel {
				// The listing went through; the rebuild's first request is
				// cut.
				ch.hook = func(method, _ string) {
					if method == "Stat" {
						cancel()
					}
				}
			}
			_, err := sk.Write(cctx, ch, all[5:])
			if err == nil {
				t.Fatal("the fault did not fail the batch")
			}
			if v2Permanent(err) {
				t.Errorf("a transient failure during the rebuild is reported as permanent: %v", err)
			}
			// A plain retry succeeds: nothing was wrong with the state.
			if _, err := sk.Write(ctx, st, all[5:]); err != nil {
				t.Fatalf("retry: %v", err)
			}
			rvCheck(t, st, rvAnyOffset, map[int32][]int64{0: rvOffsets(all)})
		})
	}
}

// TestReviewV2RedeliveryIntoDeadLetteredBatchDuplicates: when the folder
// has no current object (a new epoch, or right after a legacy object),
// chainStart looks for objects an earlier attempt opened only in the gap
// before the first pending record and at that record's own name. A
// redelivery that starts earlier than the failed attempt did (inside a
// dead-lettered batch) opens an object at its own first record and
// appends again every record the failed attempt stored in the object
// named after its later first record.
//
//	epoch 1 (after sinkctl new-epoch), nothing stored yet
//	batch 0-2: dead-lettered (no attempt got anything stored)
//	batch 3-6: appended to ..._offset_3, meta PUT fails
//	redelivery 1-6: ..._offset_1 opened, 1-6 appended: 3-6 twice
func TestReviewV2RedeliveryIntoDeadLetteredBatchDuplicates(t *testing.T) {
	ctx := context.Background()
	t.Run("new epoch", func(t *testing.T) {
		st := memstore.New()
		sk := rvSink(t, nil)
		old := rvStream(0, 10, 0)
		mustWrite(t, sk, st, old)
		if _, err := sink.StartEpoch(ctx, st, "rv", rvTopic, 0, "recreated", rvBase); err != nil {
			t.Fatal(err)
		}
		all := recreated(old)
		if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[3:7]); !errors.Is(err, rvErrInjected) {
			t.Fatalf("batch 3-6: %v", err)
		}
		if _, err := sk.Write(ctx, st, all[1:7]); err != nil && !v2Permanent(err) {
			t.Fatalf("redelivery 1-6: %v", err)
		}
		v2AtMostOnceInOrder(t, st, "rv", rvTopic, nil)
	})
	t.Run("after a legacy object", func(t *testing.T) {
		st := memstore.New()
		sk := newSink(t, setups[2])
		all := stream(0, 20)
		mustWrite(t, sk, st, all[:5])
		fixture.Downgrade(t, st, "backup/", topic, 0)
		// all[5:7] dead-lettered; all[7:10]: the legacy object is sealed
		// (Put 0), all[7:10] appended to a new object, the meta PUT (Put 1)
		// fails.
		if _, err := sk.Write(ctx, v2FailMeta(st, 1), all[7:10]); !errors.Is(err, rvErrInjected) {
			t.Fatalf("batch %d-%d: %v", all[7].Offset, all[9].Offset, err)
		}
		if _, err := sk.Write(ctx, st, all[5:10]); err != nil && !v2Permanent(err) {
			t.Fatalf("redelivery: %v", err)
		}
		parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
		if err != nil {
			t.Fatal(err)
		}
		if err := sinktest.AtMostOnce(parts); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReviewV2RedeliveryIntoDeadLetteredBatchStops: the same redelivery
// while the folder has a current object stops the partition for good:
// with ErrOffsetsReset ("the topic was probably recreated") when the
// failed attempt appended to the current object, with ErrConflict
// ("record precedes the offset the object was opened for") when it sealed
// it first. Nothing was recreated; the records the redelivery carries
// before the failed attempt's are in the dead-letter queue already, and
// every redelivery from there fails the same way.
func TestReviewV2RedeliveryIntoDeadLetteredBatchStops(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	for _, tc := range []struct {
		name  string
		flush int64
	}{{"appended to the current object", 0}, {"sealed it first", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := rvSink(t, nil, sink.WithFlushRecords(tc.flush))
			mustWrite(t, sk, st, all[:3])
			// all[3:5] dead-lettered; all[5:8] lands, its meta PUT fails.
			if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[5:8]); !errors.Is(err, rvErrInjected) {
				t.Fatalf("batch 5-7: %v", err)
			}
			if _, err := sk.Write(ctx, st, all[3:8]); err != nil {
				t.Errorf("redelivery 3-7 stops the partition: %v", err)
			}
			want := append(rvOffsets(all[:3]), rvOffsets(all[5:8])...)
			v2AtMostOnceInOrder(t, st, "rv", rvTopic, want)
		})
	}
}

// TestReviewV2ReplayOverDeadLetteredRecordsOffsetsReset: records at or
// below the committed offset are dropped only once the first and the last
// of them are found stored. A dead-lettered record that was never stored
// is, for that check, a recreated topic: a redelivery or replay whose
// first (or last) repeated record is one fails with ErrOffsetsReset, and
// the README's "the partition never stops" (ErrorsTolerance ALL) does not
// hold.
func TestReviewV2ReplayOverDeadLetteredRecordsOffsetsReset(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	st := memstore.New()
	sk := rvSink(t, nil)
	mustWrite(t, sk, st, all[:3])
	// all[3:5] dead-lettered, nothing stored.
	mustWrite(t, sk, st, all[5:8])
	// all[8:] fails once; the redelivery starts earlier.
	if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[8:]); !errors.Is(err, rvErrInjected) {
		t.Fatal(err)
	}
	if _, err := sk.Write(ctx, st, all[3:]); err != nil {
		t.Errorf("redelivery 3-11: %v", err)
	}
	want := append(rvOffsets(all[:3]), rvOffsets(all[5:])...)
	v2AtMostOnceInOrder(t, st, "rv", rvTopic, want)
}

// TestReviewV2LegacyRawGapsRedeliveryOffsetsReset: the duplicate check
// locates a record of a legacy raw object by numbering its lines from the
// object's first offset, which is wrong as soon as the object spans an
// offset gap (compaction; every transaction's commit marker). legacyRawTail
// covers only repeated records that end the current legacy object within a
// read chunk; once the upgrade batch has sealed the legacy object, or when
// the redelivery reaches an older legacy object, a redelivery starting
// before the first unacknowledged record fails with ErrOffsetsReset.
func TestReviewV2LegacyRawGapsRedeliveryOffsetsReset(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 20) // offsets 10-13, 16-20, 23-...: gaps
	for _, tc := range []struct {
		name    string
		upgrade func(sk *sink.Sink, st store.Store) error
		from    int
	}{
		{"after the upgrade batch", func(sk *sink.Sink, st store.Store) error {
			_, err := sk.Write(ctx, st, all[8:12])
			return err
		}, 6},
		// The upgrade batch is killed right after the meta object records
		// the legacy object's seal: its redelivery starts 2 records early.
		{"upgrade batch killed after the seal was recorded", func(sk *sink.Sink, st store.Store) error {
			if _, err := sk.Write(ctx, &rvChaos{Store: st, faults: []rvFault{{"Put", 0, rvKillAfter}}}, all[8:12]); !errors.Is(err, rvErrKilled) {
				return fmt.Errorf("not killed: %v", err)
			}
			return nil
		}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, setups[2]) // raw, one object
			mustWrite(t, sk, st, all[:8])
			fixture.Downgrade(t, st, "backup/", topic, 0)
			if err := tc.upgrade(sk, st); err != nil {
				t.Fatal(err)
			}
			if _, err := sk.Write(ctx, st, all[tc.from:15]); err != nil {
				t.Errorf("redelivery from offset %d: %v", all[tc.from].Offset, err)
			}
		})
	}
}

// TestReviewV2LegacyFormatChangedReplayConflict: legacy objects other than
// the meta object's current one have no recorded encoding; the duplicate
// check reads them in today's SINK_FORMAT. After SINK_FORMAT changed
// (raw to jsonl here) a redelivery that repeats records of a legacy object
// fails with ErrConflict ("the line is not a record of this sink").
func TestReviewV2LegacyFormatChangedReplayConflict(t *testing.T) {
	ctx := context.Background()
	var all []events.Record
	for off := int64(10); off < 30; off++ { // no gaps: only the format matters
		all = append(all, rec(0, off))
	}
	st := memstore.New()
	mustWrite(t, newSink(t, setups[2]), st, all[:8])
	fixture.Downgrade(t, st, "backup/", topic, 0)
	jsonl := newSink(t, setups[1])
	mustWrite(t, jsonl, st, all[8:12]) // upgrade: the raw legacy object is sealed
	if _, err := jsonl.Write(ctx, st, all[6:15]); err != nil {
		t.Errorf("redelivery repeating records of the legacy object: %v", err)
	}
}

// TestReviewV2MetaLostAfterNewEpoch: with the meta object lost, loadMeta
// lists the partition's objects as if the epoch were 0: the current
// epoch's objects are taken for look-alikes ("objects named like data
// objects that this sink did not write (ignored)"). With the ended epoch's
// objects still there, the state is rebuilt from THEM: the old topic's
// object gets a seal entry, the recreated topic's next records go to epoch 0
// names beside the old topic's, and the epoch history is gone. Without
// them, epoch 0 starts over silently beside the current epoch's objects.
// Either way the meta object written says epoch 0, and readers (verify,
// restore) no longer see the current epoch's records.
func TestReviewV2MetaLostAfterNewEpoch(t *testing.T) {
	ctx := context.Background()
	all := stream(0, 20)
	for _, keepOld := range []bool{true, false} {
		t.Run(fmt.Sprintf("ended epoch's objects kept=%v", keepOld), func(t *testing.T) {
			st := memstore.New()
			sk := newSink(t, setups[2])
			mustWrite(t, sk, st, all[:5])
			if _, err := sink.StartEpoch(ctx, st, "backup", topic, 0, "recreated", time.Now()); err != nil {
				t.Fatal(err)
			}
			old := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0)
			if !keepOld {
				_ = st.Delete(ctx, old)
				_ = st.Delete(ctx, objindex.Key(old))
			}
			fresh := recreated(all)
			mustWrite(t, sk, st, fresh[:10])
			before := snapshot(st)
			_ = st.Delete(ctx, sink.MetaKey("backup/", topic, 0))
			_, err := sk.Write(ctx, st, fresh[10:])
			if errors.Is(err, sink.ErrMetaMissing) {
				return // refused: fine
			}
			if err != nil {
				t.Fatalf("got %v, want success in epoch 1 or ErrMetaMissing", err)
			}
			b, _ := st.Object(sink.MetaKey("backup/", topic, 0))
			m, err := sink.DecodeMeta(b, "backup/", topic, 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.Epoch != 1 {
				t.Errorf("meta object rewritten for epoch %d (committed %d, %d records) after epoch 1 wrote %d records; before:\n%safter:\n%s",
					m.Epoch, m.Committed, m.Records, 10, before, snapshot(st))
			}
		})
	}
}

// v2Late holds back the data append of one invocation (it reports a cut
// request, as the deadline margin makes it) and lets it land just before
// the first data append of a later invocation: a request that took effect
// after the invocation that sent it gave up on it.
type v2Late struct {
	store.Store
	mu      sync.Mutex
	hold    bool
	pending func()
}

var errCut = errors.New("review: request cut by the deadline margin")

func (l *v2Late) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	if _, isIndex := objindex.DataKey(key); !isIndex {
		l.mu.Lock()
		if l.hold {
			l.hold = false
			d := append([]byte(nil), data...)
			l.pending = func() { _, _ = l.Store.Append(ctx, key, pos, d, opts...) }
			l.mu.Unlock()
			return 0, errCut
		}
		p := l.pending
		l.pending = nil
		l.mu.Unlock()
		if p != nil {
			p()
		}
	}
	return l.Store.Append(ctx, key, pos, data, opts...)
}

// TestReviewV2LateAppendWithoutSealConflict: the doc names two limits when a
// request takes effect after its invocation gave up (same bytes at one
// position; an append landing after a later writer sealed the object). A
// third: the redelivery replays the index, finds the cut append's entry not
// landed (yet), announces its own at the same position and forgets the
// first one (replay moves index_size past every entry, landed or not). The
// cut append lands; the redelivery's append meets the fence; its replay,
// which no longer sees the landed entry, cannot explain the data length:
// ErrConflict ("retrying cannot help"). Retrying helps: the next attempt
// replays from the meta object's index_size, sees both alternatives, and
// succeeds. The same happens to two live invocations racing.
func TestReviewV2LateAppendWithoutSealConflict(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	mem := memstore.New()
	sk := rvSink(t, nil)
	mustWrite(t, sk, mem, all[:3])
	st := &v2Late{Store: mem, hold: true}
	if _, err := sk.Write(ctx, st, all[3:6]); !errors.Is(err, errCut) {
		t.Fatalf("cut attempt: %v", err)
	}
	// The redelivery is longer (another boundary): its append differs.
	_, err := sk.Write(ctx, st, all[3:9])
	if v2Permanent(err) {
		t.Errorf("redelivery after a late append: permanent error %v", err)
	}
	if err != nil {
		if _, err := sk.Write(ctx, mem, all[3:9]); err != nil {
			t.Fatalf("retry: %v", err)
		}
	}
	mustWrite(t, sk, mem, all[9:])
	rvCheck(t, mem, rvAnyOffset, map[int32][]int64{0: rvOffsets(all)})
}

// TestReviewV2RecreatedTopicRawHeartbeatsDropped: the duplicate check
// compares only the first and the last repeated record, and the raw format
// stores only values. A recreated topic whose batch begins and ends with
// the same value as the old topic had at those offsets (heartbeats, empty
// values, tombstones of a keys-only topic) has everything in between
// dropped as duplicates: records silently lost, where the doc promises
// ErrOffsetsReset for a recreated topic.
func TestReviewV2RecreatedTopicRawHeartbeatsDropped(t *testing.T) {
	ctx := context.Background()
	mk := func(off int64, v string) events.Record {
		return events.Record{Topic: rvTopic, Partition: 0, Offset: off, Timestamp: 1_700_000_000_000 + off, Value: []byte(v)}
	}
	var old, fresh []events.Record
	for off := int64(0); off < 10; off++ {
		v := fmt.Sprintf("p0-o%d-old", off)
		nv := fmt.Sprintf("p0-o%d-new", off)
		if off == 0 || off == 5 {
			v, nv = "ping", "ping"
		}
		old, fresh = append(old, mk(off, v)), append(fresh, mk(off, nv))
	}
	st := memstore.New()
	sk := rvSink(t, nil)
	mustWrite(t, sk, st, old)
	sum, err := sk.Write(ctx, st, fresh[:6])
	if err == nil {
		t.Errorf("recreated topic: %d records dropped as duplicates (%+v), want ErrOffsetsReset", sum.Duplicates, sum)
	} else if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("got %v, want ErrOffsetsReset", err)
	}
}

// TestReviewV2LegacyTailReadBeyondChunk: legacyRawTail reads the repeated
// records plus the separator before them in one ranged read, one byte
// more than WithReadChunk allows.
func TestReviewV2LegacyTailReadBeyondChunk(t *testing.T) {
	ctx := context.Background()
	var all []events.Record
	for off := int64(10); off < 30; off++ {
		all = append(all, rec(0, off))
	}
	dups := all[5:8]
	chunk := 0
	for _, r := range dups {
		chunk += len(format.Encoder{}.Append(nil, &r))
	}
	mem := memstore.New()
	sk := newSink(t, setups[2], sink.WithReadChunk(chunk))
	mustWrite(t, sk, mem, all[:8])
	fixture.Downgrade(t, mem, "backup/", topic, 0)
	rr := &readRecorder{Store: mem}
	if _, err := sk.Write(ctx, rr, all[5:12]); err != nil {
		t.Fatal(err)
	}
	if rr.maxRead > int64(chunk) {
		t.Errorf("a ranged read of %d bytes; the read chunk is %d", rr.maxRead, chunk)
	}
	if err := sinktest.Check(ctx, mem, "backup", topic, rawOffset, offsets(all[:12])); err != nil {
		t.Fatal(err)
	}
}

// TestReviewV2CRCCheckTransientFailureIsConflict: the resolver's verify
// callback (crcMatches: a HEAD and a ranged read of the data object) runs
// inside Resolver.Add/Finish, and replay wraps every error of those in
// ErrConflict, so a read that fails for a transient reason while the
// last landed append's CRC is checked stops the partition "until an
// operator looks". The next retry succeeds.
func TestReviewV2CRCCheckTransientFailureIsConflict(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	// In the redelivery: Stat data, Stat index, GetRange index (replay),
	// then Stat data and GetRange data (the CRC check of the last append).
	for _, f := range []rvFault{{"Stat", 2, rvFailBefore}, {"GetRange", 1, rvFailBefore}} {
		t.Run(f.String(), func(t *testing.T) {
			st := memstore.New()
			sk := rvSink(t, nil)
			mustWrite(t, sk, st, all[:3])
			if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[3:6]); !errors.Is(err, rvErrInjected) {
				t.Fatal(err)
			}
			ch := &rvChaos{Store: st, faults: []rvFault{f}}
			_, err := sk.Write(ctx, ch, all[3:8])
			if err == nil {
				t.Fatalf("the fault did not strike: %v", ch.trace)
			}
			if v2Permanent(err) {
				t.Errorf("a transient failure of the CRC check is reported as permanent: %v", err)
			}
			mustWrite(t, sk, st, all[3:])
			rvCheck(t, st, rvAnyOffset, map[int32][]int64{0: rvOffsets(all)})
		})
	}
}

// TestReviewV2RebuiltStateNotWritten: a batch whose records are all at or
// below the committed offset writes no meta object, also when that state
// was just rebuilt from the data objects (meta object lost): the batch
// succeeds, the meta object stays missing, every later batch of
// duplicates rebuilds again (up to 64 index reads), and verify and restore
// find no state. Minor.
func TestReviewV2RebuiltStateNotWritten(t *testing.T) {
	ctx := context.Background()
	all := rvStream(0, 12, 0)
	st := memstore.New()
	sk := rvSink(t, nil, sink.WithFlushRecords(3))
	mustWrite(t, sk, st, all[:8])
	metaKey := sink.MetaKey("rv/", rvTopic, 0)
	_ = st.Delete(ctx, metaKey)
	mustWrite(t, sk, st, all[4:8]) // a replay of stored records
	if _, ok := st.Object(metaKey); !ok {
		t.Errorf("the rebuilt state was not written: no meta object after a successful batch")
	}
}

// TestReviewV2DeadLetteredFirstBatchManyObjects: loadMeta rebuilds a
// missing meta object only from at most 64 data objects, because "a batch
// the trigger gave up on before the partition's first meta write leaves
// one or two". A first batch cut by SINK_FLUSH_RECORDS, SINK_FLUSH_BYTES or
// (typically, a backlog read from the earliest offset) SINK_FLUSH_INTERVAL
// leaves as many objects as its records span: when the trigger gives up on
// it, the partition stops for good with ErrMetaMissing ("restore the meta
// object"), although there never was one and nothing is wrong.
func TestReviewV2DeadLetteredFirstBatchManyObjects(t *testing.T) {
	ctx := context.Background()
	var all []events.Record
	for off := int64(0); off < 80; off++ {
		r := rvRec(0, off)
		r.Timestamp = rvBase.Add(time.Duration(off) * 11 * time.Minute).UnixMilli() // a backlog: 11 minutes apart
		all = append(all, r)
	}
	st := memstore.New()
	sk := rvSink(t, nil) // SINK_FLUSH_INTERVAL 10m (the default)
	for range 3 {
		if _, err := sk.Write(ctx, v2FailMeta(st, 0), all[:70]); !errors.Is(err, rvErrInjected) {
			t.Fatalf("first batch: %v", err)
		}
	}
	if _, err := sk.Write(ctx, st, all[70:]); err != nil {
		t.Errorf("the batch after a dead-lettered first batch of 70 objects: %v", err)
	}
}
