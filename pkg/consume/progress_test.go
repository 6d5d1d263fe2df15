package consume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// storedIn reads the meta objects of dir, as sinkctl does.
func storedIn(t *testing.T, dir string) StoredFunc {
	st, err := localstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, topic string, p int32) (int64, error) {
		data, err := st.Get(ctx, sink.MetaKey("", topic, p))
		if store.IsNotFound(err) {
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
		m, err := sink.DecodeMeta(data, "", topic, p)
		if err != nil {
			return 0, err
		}
		return m.Committed, nil
	}
}

// staleMember joins group as a consumer that then never heartbeats nor
// leaves (a process killed): the next member's join waits for it until
// its session times out.
func staleMember(t *testing.T, addrs []string, group string, session time.Duration) {
	t.Helper()
	c, err := sarama.NewClient(addrs, kafkatest.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	coord, err := c.Coordinator(group)
	if err != nil {
		t.Fatal(err)
	}
	join := &sarama.JoinGroupRequest{Version: 1, GroupId: group, SessionTimeout: int32(session.Milliseconds()),
		RebalanceTimeout: int32(session.Milliseconds()), ProtocolType: "consumer"}
	if err := join.AddGroupProtocolMetadata("range", &sarama.ConsumerGroupMemberMetadata{Topics: []string{testTopic}}); err != nil {
		t.Fatal(err)
	}
	jr, err := coord.JoinGroup(join)
	if err != nil || jr.Err != sarama.ErrNoError {
		t.Fatalf("join: %v %v", err, jr.Err)
	}
	sync := &sarama.SyncGroupRequest{GroupId: group, GenerationId: jr.GenerationId, MemberId: jr.MemberId}
	if err := sync.AddGroupAssignmentMember(jr.MemberId, &sarama.ConsumerGroupMemberAssignment{Topics: map[string][]int32{testTopic: {0, 1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	if sr, err := coord.SyncGroup(sync); err != nil || sr.Err != sarama.ErrNoError {
		t.Fatalf("sync: %v %v", err, sr.Err)
	}
}

// TestUntilCaughtUpAfterStaleMember: Run ends by itself once every
// partition is stored up to its high watermark at start; while a killed
// member's session keeps the group rebalancing, the progress says it has
// not joined; the final report is caught up with no lag, every record
// stored exactly once.
func TestUntilCaughtUpAfterStaleMember(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 2000)
	const session = 6 * time.Second
	staleMember(t, addrs, "g-stale", session)
	dir := t.TempDir()

	var mu sync.Mutex
	var reports []Progress
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a safety net
	defer cancel()
	err := Run(ctx, newHandler(t, dir), baseOpts(addrs, "g-stale", CountBasedWindow(500), UntilCaughtUp(storedIn(t, dir)),
		OnProgress(200*time.Millisecond, func(p Progress) {
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		}))...)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("Run: %v (ctx %v)", err, ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	final := reports[len(reports)-1]
	if !final.Final || !final.CaughtUp || final.Lag != 0 || final.Records != 2000 || len(final.Partitions) != 4 {
		t.Fatalf("final report %+v", final)
	}
	waited := false
	for _, p := range reports {
		// The stale member holds the group for about its session: the
		// join cannot complete sooner.
		waited = waited || !p.Joined && p.JoiningFor >= session/2 && p.Rebalancing
	}
	if !waited {
		t.Errorf("no report showed the join waiting for the stale member's session (%d reports)", len(reports))
	}
	checkStore(t, dir, recs)
	want := nextOffsets(recs)
	if got := kafkatest.Committed(t, addrs, "g-stale", testTopic); len(got) != len(want) {
		t.Errorf("committed %v, want %v", got, want)
	} else {
		for p, o := range want {
			if got[p] != o {
				t.Errorf("partition %d committed %d, want %d", p, got[p], o)
			}
		}
	}
}

// TestUntilCaughtUpEmptyAndStored: a topic without records, and one the
// store already holds, end Run before it joins: nothing consumed.
func TestUntilCaughtUpEmptyAndStored(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	dir := t.TempDir()
	var final Progress
	opts := func(group string) []Option {
		return baseOpts(addrs, group, UntilCaughtUp(storedIn(t, dir)), OnProgress(0, func(p Progress) { final = p }))
	}
	if err := Run(t.Context(), newHandler(t, dir), opts("g-empty")...); err != nil || !final.CaughtUp || final.Records != 0 {
		t.Fatalf("empty topic: %v, %+v", err, final)
	}
	recs := produce(t, addrs, testTopic, 100)
	if err := Run(t.Context(), newHandler(t, dir), opts("g-a")...); err != nil || !final.CaughtUp || final.Records != 100 {
		t.Fatalf("first group: %v, %+v", err, final)
	}
	if err := Run(t.Context(), newHandler(t, dir), opts("g-b")...); err != nil || !final.CaughtUp || final.Records != 0 || final.Joined {
		t.Fatalf("second group, store caught up: %v, %+v", err, final)
	}
	if got := kafkatest.Committed(t, addrs, "g-b", testTopic); len(got) != 0 {
		t.Errorf("the second group committed %v: it should not have consumed", got)
	}
	checkStore(t, dir, recs)
}

// TestUntilCaughtUpTransactional: a topic written by a transactional
// producer ends every partition with a transaction marker, an offset no
// consumer is given and the store never holds; Run still ends once the
// data records are stored.
func TestUntilCaughtUpTransactional(t *testing.T) {
	t.Parallel()
	c := newCluster(t, testTopic)
	addrs := c.ListenAddrs()
	p, err := sarama.NewSyncProducer(addrs, kafkatest.Config(kafkatest.Transactional("tx-catchup")))
	if err != nil {
		t.Fatal(err)
	}
	for tx := range 3 {
		if err := p.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			kafkatest.Send(t, p, testTopic, kafkatest.Message{Partition: int32(i % 4), Value: []byte(fmt.Sprintf("tx %d record %d", tx, i))})
		}
		if err := p.CommitTxn(); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	ends := kafkatest.EndOffsets(t, addrs, testTopic)
	if ends[0] != 18 { // 5 records and a marker per transaction
		t.Fatalf("end offsets %v: the markers are not where this test expects them", ends)
	}
	// With reports, and without (the store is still looked at).
	for _, every := range []time.Duration{100 * time.Millisecond, 0} {
		dir := t.TempDir()
		var final Progress
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a safety net: without the markers settled, Run would not end
		err = Run(ctx, newHandler(t, dir), baseOpts(addrs, fmt.Sprint("g-tx-", every), UntilCaughtUp(storedIn(t, dir)),
			OnProgress(every, func(p Progress) { final = p }))...)
		expired := ctx.Err()
		cancel()
		if err != nil || expired != nil {
			t.Fatalf("interval %v: Run: %v (ctx %v)", every, err, expired)
		}
		if !final.CaughtUp || final.Records != 60 || final.Lag != 0 {
			t.Fatalf("interval %v: final %+v", every, final)
		}
		for _, pp := range final.Partitions {
			if pp.Stored != 16 || !pp.Done {
				t.Errorf("interval %v: partition %+v: want stored 16 (the last data record), caught up", every, pp)
			}
		}
	}
}

// TestUntilCaughtUpStoreUnreadable: a store whose committed offsets cannot
// be read ends Run before it joins, with a *StoreError naming the
// partition, not a Kafka error.
func TestUntilCaughtUpStoreUnreadable(t *testing.T) {
	t.Parallel()
	addrs := newCluster(t, testTopic).ListenAddrs()
	produce(t, addrs, testTopic, 10)
	broken := func(context.Context, string, int32) (int64, error) { return 0, sink.ErrMetaInvalid }
	err := Run(t.Context(), newHandler(t, t.TempDir()), baseOpts(addrs, "g-broken", UntilCaughtUp(broken))...)
	var se *StoreError
	if !errors.As(err, &se) || !errors.Is(err, sink.ErrMetaInvalid) || !strings.Contains(err.Error(), "committed offset of t/") {
		t.Fatalf("Run: %v, want a StoreError naming the partition", err)
	}
	if got := kafkatest.Committed(t, addrs, "g-broken", testTopic); len(got) != 0 {
		t.Errorf("committed %v: nothing should have been consumed", got)
	}
}
