package sinkctl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore/restoretest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

// killRecord is what a restored record must be.
type killRecord struct {
	key, value []byte // nil: none, a tombstone
	header     string // "": no header
	ts         int64  // -1: not compared (raw: the producer's clock)
}

// endOffsets sums the end offsets of a topic's partitions.
func endOffsets(t *testing.T, client sarama.Client, topic string, parts int32) int64 {
	t.Helper()
	var n int64
	for p := range parts {
		o, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		n += o
	}
	return n
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
	bin := filepath.Join(t.TempDir(), "sinkctl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/sinkctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for i, format := range []string{"jsonl", "raw"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			st, err := localstore.New(dir, localstore.WithoutFsync())
			if err != nil {
				t.Fatal(err)
			}
			var want map[int32][]killRecord
			if format == "jsonl" {
				want = killJSONL(t, st, parts, perPart)
			} else {
				want = killRaw(t, st, parts, perPart)
			}
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "dst"))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			addrs := cluster.ListenAddrs()
			cfg := sarama.NewConfig()
			cfg.Version = sarama.V2_1_0_0
			client, err := sarama.NewClient(addrs, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()

			start := func() (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
				cmd := exec.Command(bin, "restore", "--dir", dir, "--prefix", "bk", "--topic", "src", "--target-topic", "dst",
					"--brokers", strings.Join(addrs, ","), "--chunk", "25", "--json")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd, &stdout, &stderr
			}
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			total := int64(parts * perPart)
			killed := 0
			for k := 0; k < 5; k++ {
				before := endOffsets(t, client, "dst", parts)
				if before >= total {
					break
				}
				cmd, _, stderr := start()
				exited := make(chan error, 1)
				go func() { exited <- cmd.Wait() }()
				// Wait until it produced something, then kill it a random
				// moment later (or let it be if it finished first).
				deadline := time.Now().Add(60 * time.Second)
				var done error
				finished := false
			wait:
				for endOffsets(t, client, "dst", parts) <= before {
					select {
					case done = <-exited:
						finished = true
						break wait
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("run %d produced nothing within a minute\n%s", k, stderr)
					}
					time.Sleep(5 * time.Millisecond)
				}
				if !finished {
					time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
					_ = cmd.Process.Signal(syscall.SIGKILL)
					done = <-exited
				}
				var ee *exec.ExitError
				switch {
				case errors.As(done, &ee) && ee.Sys().(syscall.WaitStatus).Signaled():
					killed++
				case done != nil:
					t.Fatalf("run %d: %v\n%s", k, done, stderr)
				}
			}
			cmd, stdout, stderr := start()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("the run after %d kills: %v\n%s", killed, err, stderr)
			}
			t.Logf("%s: %d kills before completion; last run: %s", format, killed, compact(stdout.String()))

			checkRestored(t, addrs, parts, want)
		})
	}
}

func compact(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkRestored reads every partition of dst and compares it with want.
func checkRestored(t *testing.T, addrs []string, parts int32, want map[int32][]killRecord) {
	t.Helper()
	for p := range parts {
		ms := restoretest.ReadPartition(t, addrs, "dst", p)
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
func killJSONL(t *testing.T, st *localstore.Store, parts int32, perPart int) map[int32][]killRecord {
	t.Helper()
	s, err := sink.New(sink.WithPrefix("bk"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(40))
	if err != nil {
		t.Fatal(err)
	}
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
	for len(recs) > 0 {
		n := min(50, len(recs))
		if _, err := s.Write(context.Background(), st, recs[:n]); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
	return want
}

// killRaw stores raw objects with record indexes, values holding newlines
// and binary bytes (raw/base64 for partition 1), tombstones and gaps.
func killRaw(t *testing.T, st *localstore.Store, parts int32, perPart int) map[int32][]killRecord {
	t.Helper()
	want := map[int32][]killRecord{}
	for p := range parts {
		enc := "raw/text"
		if p == 1 {
			enc = "raw/base64"
		}
		var recs []restoretest.Record
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
			recs = append(recs, restoretest.Record{Offset: off, Value: v})
			want[p] = append(want[p], killRecord{value: v, ts: -1})
			off++
			if i%17 == 0 {
				off += 3 // a gap
			}
		}
		const perObject = 60
		keys := restoretest.WriteIndexed(t, st, "bk", "src", p, 0, enc, recs, restoretest.Layout{PerObject: perObject, PerAppend: 7})
		restoretest.WriteMeta(t, st, "bk", "src", p, 0, enc, keys[len(keys)-1], recs[(len(recs)-1)/perObject*perObject:], int64(len(recs)), nil)
	}
	return want
}
