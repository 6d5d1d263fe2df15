package sinkctl_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// killRecord is what a restored record must be.
type killRecord struct {
	key, value []byte // nil: none, a tombstone
	header     string // "": no header
	ts         int64  // -1: not compared (raw: the producer's clock)
}

// TestRestoreProcessKilled runs the sinkctl binary's restore command and
// SIGKILLs it several times, each time at a random moment after it was
// seen producing (mid-chunk, between a chunk and its checkpoint, in a
// checkpoint write, as it happens), resuming it each time: the target must
// end up with every record exactly once, in order, with keys, values,
// headers and timestamps (JSONL, written by the sink engine) or values and
// tombstones (raw, with newlines and binary bytes, from record indexes).
func TestRestoreProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	const parts, perPart = 3, 300
	bin := bintest.Build(t, "./cmd/sinkctl")
	for i, format := range []string{"jsonl", "raw"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			st := fixture.Local(t, dir, localstore.WithoutFsync())
			var want map[int32][]killRecord
			if format == "jsonl" {
				want = killJSONL(t, st, parts, perPart)
			} else {
				want = killRaw(t, st, parts, perPart)
			}
			addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "dst")).ListenAddrs()
			killAndResume(t, bin, addrs, parts*perPart, uint64(i), "restore", "--dir", dir, "--prefix", "bk", "--topic", "src", "--target-topic", "dst",
				"--brokers", strings.Join(addrs, ","), "--chunk", "25", "--json")
			checkRestored(t, addrs, parts, want)
		})
	}
}

// killAndResume runs the sinkctl binary with args and SIGKILLs it up to
// five times, each at a random moment after it was seen producing to dst
// (mid-chunk, between a chunk and its checkpoint, in a checkpoint write),
// then runs it to completion.
func killAndResume(t *testing.T, bin string, addrs []string, total int, seed uint64, args ...string) {
	t.Helper()
	killAndResumeEnv(t, bin, nil, addrs, total, seed, args...)
}

// killAndResumeEnv is killAndResume with the environment env (nil: this
// process's).
func killAndResumeEnv(t *testing.T, bin string, env []string, addrs []string, total int, seed uint64, args ...string) {
	t.Helper()
	restored := func() int64 { return kafkatest.TopicLen(t, addrs, "dst") }
	start := func() *bintest.Proc {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return bintest.Start(t, cmd)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	killed := 0
	for k := 0; k < 5; k++ {
		before := restored()
		if before >= int64(total) {
			break
		}
		proc := start()
		// Wait until it produced something, then kill it a random
		// moment later (or let it be if it finished first).
		finished := false
		testkit.WaitUntil(t, time.Minute, fmt.Sprintf("run %d to produce", k), func() error {
			select {
			case <-proc.Done():
				finished = true
				return nil
			default:
			}
			if restored() <= before {
				return errors.New("nothing produced yet")
			}
			return nil
		})
		if !finished {
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond) // a random moment to kill at, not a synchronization
			proc.Kill(t)
		}
		switch done := proc.Err(); {
		case bintest.Killed(done):
			killed++
		case done != nil:
			t.Fatalf("run %d: %v\n%s", k, done, proc.Stderr)
		}
	}
	proc := start()
	if err := proc.Wait(t, 2*time.Minute); err != nil {
		t.Fatalf("the run after %d kills: %v\n%s", killed, err, proc.Stderr)
	}
	t.Logf("%d kills before completion; last run: %s", killed, compact(proc.Stdout.String()))
}

func compact(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkRestored reads every partition of dst and compares it with want.
func checkRestored(t *testing.T, addrs []string, parts int32, want map[int32][]killRecord) {
	t.Helper()
	for p := range parts {
		ms := kafkatest.ReadPartition(t, addrs, "dst", p)
		if len(ms) != len(want[p]) {
			t.Fatalf("dst/%d holds %d records, want %d (duplicates or gaps)", p, len(ms), len(want[p]))
		}
		for i, w := range want[p] {
			m := ms[i]
			hdr := ""
			for _, h := range m.Headers {
				hdr += string(h.Key) + "=" + string(h.Value)
			}
			if (m.Key == nil) != (w.key == nil) || !bytes.Equal(m.Key, w.key) || (m.Value == nil) != (w.value == nil) ||
				!bytes.Equal(m.Value, w.value) || hdr != w.header || (w.ts >= 0 && m.Timestamp.UnixMilli() != w.ts) {
				t.Fatalf("dst/%d record %d: got key %q value %q headers %q ts %d; want %q %q %q %d",
					p, i, m.Key, m.Value, hdr, m.Timestamp.UnixMilli(), w.key, w.value, w.header, w.ts)
			}
		}
	}
}

// killJSONL stores JSONL records with the sink engine.
func killJSONL(t *testing.T, st store.Store, parts int32, perPart int) map[int32][]killRecord {
	t.Helper()
	want := map[int32][]killRecord{}
	var recs []events.Record
	for o := range int64(perPart) {
		for p := range parts {
			r := events.Record{Topic: "src", Partition: p, Offset: o, Timestamp: 1700000000000 + o*1000, ValueKind: events.ValueBytes,
				Key: fmt.Appendf(nil, "key-%d-%d", p, o), HasKey: true, Value: fmt.Appendf(nil, "value %d/%d \"é\"\n", p, o),
				Headers: fmt.Appendf(nil, `[{"key":"trace","value":"t-%d"}]`, o)}
			w := killRecord{key: r.Key, value: r.Value, header: fmt.Sprintf("trace=t-%d", o), ts: r.Timestamp}
			switch o % 37 {
			case 5:
				r.ValueKind, r.Value, w.value = events.ValueNull, nil, nil
			case 9:
				r.Timestamp, w.ts = 0, 0
			}
			recs = append(recs, r)
			want[p] = append(want[p], w)
		}
	}
	fixture.ByEngine(t, st, 50, recs, sink.WithPrefix("bk"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(40))
	return want
}

// killRaw stores raw objects with record indexes with the sink engine,
// values holding newlines and binary bytes (raw/base64 for partition 1),
// tombstones and gaps.
func killRaw(t *testing.T, st *localstore.Store, parts int32, perPart int) map[int32][]killRecord {
	t.Helper()
	want := map[int32][]killRecord{}
	for p := range parts {
		enc := format.Encoder{Format: format.Raw}
		if p == 1 {
			enc.ValueEncoding = events.Base64
		}
		var recs []events.Record
		off := int64(0)
		for i := range perPart {
			v := fmt.Appendf(nil, "line %d\nof %d", i, p)
			switch {
			case i%29 == 3:
				v = nil
			case i%13 == 4:
				v = []byte{}
			case p == 1:
				v = []byte{byte(i), 0x0a, 0x00, 0xff, byte(i >> 8)}
			}
			r := events.Record{Topic: "src", Partition: p, Offset: off, Value: v}
			if v == nil {
				r.ValueKind = events.ValueNull
			}
			recs = append(recs, r)
			want[p] = append(want[p], killRecord{value: v, ts: -1})
			off++
			if i%17 == 0 {
				off += 3 // a gap
			}
		}
		fixture.ByEngine(t, st, 7, recs, sink.WithPrefix("bk"), sink.WithEncoder(enc), sink.WithFlushRecords(60))
	}
	return want
}

// TestRestoreRoutedProcessKilled is TestRestoreProcessKilled on routed
// stores: each partition's records spread over tenant and day folders
// (across midnight in Shanghai, late records going back a day, folders
// closed past 3 open ones) and invalidRuleData/, inside the topic's
// directory or shared with another topic outside it (--folder). The
// checkpoints are by offset, so a kill at any instant of the merge resumes
// with every record once, in offset order.
func TestRestoreRoutedProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the sinkctl binary")
	}
	const parts, perPart = 3, 200
	bin := bintest.Build(t, "./cmd/sinkctl")
	loc := time.FixedZone("CST", 8*3600)
	for i, tc := range []struct {
		name string
		tm   fixture.Template
	}{{"tenant-in-topic", fixture.Template{Tenant: true, Loc: loc}}, {"tenant-shared", fixture.Template{Shared: true, Loc: loc}}} {
		tm := tc.tm
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st := fixture.Local(t, dir, localstore.WithoutFsync())
			var ps []fixture.Part
			for _, topic := range []string{"src", "other"} {
				for p := range int32(parts) {
					ps = append(ps, fixture.Part{Topic: topic, P: p, N: perPart})
				}
			}
			stored := fixture.RoutedByEngine(t, st, tm, 0, 9, ps,
				sink.WithPrefix("bk"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(8), sink.WithMaxOpenFolders(3))
			want := map[int32][]killRecord{}
			for p := range int32(parts) {
				for _, r := range stored[p] {
					k := killRecord{key: r.Key, value: r.Value, ts: r.Timestamp, header: "trace=x"}
					if tenant, ok := fixture.Tenant(&r); ok {
						k.header = "tenant=" + tenant
					}
					want[p] = append(want[p], k)
				}
			}
			addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "dst")).ListenAddrs()
			killAndResume(t, bin, addrs, parts*perPart, uint64(10+i), "restore", "--dir", dir, "--prefix", "bk", "--topic", "src", "--target-topic", "dst",
				"--brokers", strings.Join(addrs, ","), "--chunk", "25", "--json", "--folder", tm.String())
			checkRestored(t, addrs, parts, want)
		})
	}
}
