package sinkctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// e2eSource is a kfake cluster with topic "orders" (2 partitions) and
// "quiet" (1 partition, never consumed). Each partition of orders holds
// records with keys and without, tombstones, values holding '\n' (text)
// or 0x0A bytes (binary), and committed transactions, whose markers leave
// offsets that hold no record: Kafka's own gaps. The last record of each
// partition is no transaction's, so the high watermark follows a record.
type e2eSource struct {
	addrs   []string
	offsets map[int32][]int64 // the offsets of the records, as Kafka gave them
}

func newE2ESource(t *testing.T, binary bool, perPart int) *e2eSource {
	t.Helper()
	c := kafkatest.NewCluster(t, kfake.SeedTopics(2, "orders"), kfake.SeedTopics(1, "quiet"))
	s := &e2eSource{addrs: c.ListenAddrs(), offsets: map[int32][]int64{}}
	acks := func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.WaitForAll }
	plain := kafkatest.NewProducer(t, s.addrs, acks)
	txn := kafkatest.NewProducer(t, s.addrs, acks, kafkatest.Transactional("e2e-producer"))
	msg := func(p int32, i int) kafkatest.Message {
		m := kafkatest.Message{Partition: p}
		if i%3 != 1 {
			m.Key = fmt.Appendf(nil, "key-%d-%d", p, i)
		}
		switch {
		case i%5 == 3:
			// A tombstone: no value at all.
		case binary:
			m.Value = []byte{'V', 0x0a, 0x00, 0xff, byte(i), 0x0a, '\n', 0x0a}
		default:
			m.Value = fmt.Appendf(nil, "VALUE %d of %d\nsecond line\n\nlast line", i, p)
		}
		return m
	}
	send := func(prod sarama.SyncProducer, p int32, i int) {
		s.offsets[p] = append(s.offsets[p], kafkatest.Send(t, prod, "orders", msg(p, i))...)
	}
	for p := range int32(2) {
		for i := 0; i < perPart; i++ {
			if i%7 != 4 || i+2 >= perPart {
				send(plain, p, i)
				continue
			}
			if err := txn.BeginTxn(); err != nil {
				t.Fatal(err)
			}
			send(txn, p, i)
			i++
			send(txn, p, i)
			if err := txn.CommitTxn(); err != nil {
				t.Fatal(err)
			}
		}
		gaps := 0
		for i, off := range s.offsets[p][1:] {
			if off != s.offsets[p][i]+1 {
				gaps++
			}
		}
		if gaps == 0 {
			t.Fatalf("partition %d: no offset gap in %v", p, s.offsets[p])
		}
	}
	return s
}

// highWatermark is the offset after partition p's last record.
func (s *e2eSource) highWatermark(p int32) int64 { return s.offsets[p][len(s.offsets[p])-1] + 1 }

// consumeAll runs `sinkctl consume` until group has committed every record
// of orders, then stops it and expects a clean exit.
func consumeAll(t *testing.T, src *e2eSource, env map[string]string, group string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr testkit.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- sinkctl.Main(ctx, []string{"consume", "--brokers", strings.Join(src.addrs, ","), "--group", group, "--topic", "orders",
			"--batch-count", "8", "--batch-window", "20ms"}, sinkctl.Env{Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
	}()
	want := src.highWatermark(0) + src.highWatermark(1)
	testkit.WaitUntil(t, time.Minute, "consume to commit every record", func() error {
		select {
		case code := <-done:
			t.Fatalf("consume exited early with %d:\n%s", code, stderr.String())
		default:
		}
		if n := kafkatest.CommittedSum(t, src.addrs, group, "orders"); n < want {
			return fmt.Errorf("committed %d of %d:\n%s", n, want, stderr.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != sinkctl.ExitOK {
		t.Fatalf("consume exit %d:\n%s", code, stderr.String())
	}
}

// verifyJSON runs `sinkctl verify --json --objects` with env and args and
// returns the exit code and the report.
func verifyJSON(t *testing.T, env map[string]string, args ...string) (int, *verify.Report, string) {
	t.Helper()
	r := run(env, false, append([]string{"verify", "--json", "--objects"}, args...)...)
	var rep verify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("exit %d, no JSON report: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return r.code, &rep, r.stderr
}

// TestVerifyEndToEnd: `sinkctl consume` stores a topic (values holding
// '\n' or 0x0A bytes, tombstones, keys, transaction markers' gaps) through
// the handler and the OSS SDK into the OSS test server, which fails one
// request in several (some after taking effect) and a whole invocation's
// meta object writes once (the batch is retried: a redelivery); then a
// second group delivers everything again. `sinkctl verify`
// finds every record exactly once, with exact counts and offsets, with and
// without Kafka. Then, on that store: a deleted data object is named by
// its index and by Kafka exactly; deleted with its index, by its
// neighbour's seal and by Kafka exactly; a partition the group committed
// that the store lacks is an error; a --topic or --partition that matches
// nothing exits 2.
func TestVerifyEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		format, valueEncoding string
		binary                bool
	}{
		{"raw", "text", false},
		{"raw", "base64", true},
		{"jsonl", "base64", true},
	} {
		t.Run(tc.format+"-"+tc.valueEncoding, func(t *testing.T) {
			t.Parallel() // each has its own cluster and bucket, and mostly waits
			const bucket, secret, token = "sink", "e2e-secret", "e2e-token"
			src := newE2ESource(t, tc.binary, 32)
			srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials("STS.ak", secret, token), osstest.WithSeed(7))
			env := map[string]string{
				"OSS_BUCKET": bucket, "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup",
				"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token,
				"SINK_FORMAT": tc.format, "SINK_VALUE_ENCODING": tc.valueEncoding, "SINK_FLUSH_RECORDS": "5", "LOG_LEVEL": "warn",
			}
			srv.SetFault(osstest.OpAppend, osstest.Fault{Before: 0.1, After: 0.15})
			srv.SetFault(osstest.OpGet, osstest.Fault{Before: 0.1})
			srv.SetFault(osstest.OpHead, osstest.Fault{Before: 0.1})
			srv.SetFault(osstest.OpList, osstest.Fault{Before: 0.1})
			// Every attempt of one meta object write fails: the invocation
			// fails after its data landed, and the batch is delivered again.
			srv.SetFault(osstest.OpPut, osstest.Fault{Before: 1, Skip: 3, Limit: 6, KeyPrefix: sink.MetaKey("backup/", "orders", 0)})
			consumeAll(t, src, env, "backup")
			if srv.Stats().Faults[osstest.OpPut] != 6 || srv.Stats().Faults[osstest.OpAppend] == 0 {
				t.Fatalf("faults injected: %v", srv.Stats().Faults)
			}
			// Everything delivered again: a second group from the start.
			consumeAll(t, src, env, "replay")
			srv.ClearFaults()

			brokers := []string{"--brokers", strings.Join(src.addrs, ","), "--group", "backup"}
			wantClean := func(rep *verify.Report) {
				t.Helper()
				if !rep.OK() || len(rep.AllDefects()) != 0 || len(rep.Partitions) != 2 {
					t.Fatalf("store after faults and redeliveries: %v", rep.AllDefects())
				}
				for _, p := range rep.Partitions {
					offs := src.offsets[p.Partition]
					if p.Records != int64(len(offs)) || !p.ExactOffsets || p.FirstOffset != offs[0] || p.LastOffset != offs[len(offs)-1] ||
						p.Format != tc.format || p.LegacyRaw != 0 || p.Indexes < p.Objects || p.Meta == nil || p.Meta.RecordsWritten != int64(len(offs)) {
						t.Errorf("partition %d: %+v; want %d records, offsets %d-%d", p.Partition, p, len(offs), offs[0], offs[len(offs)-1])
					}
				}
			}
			code, rep, stderr := verifyJSON(t, env)
			if code != sinkctl.ExitOK {
				t.Fatalf("verify exit %d: %s", code, stderr)
			}
			wantClean(rep)
			code, krep, stderr := verifyJSON(t, env, brokers...)
			if code != sinkctl.ExitOK {
				t.Fatalf("verify with Kafka: exit %d: %s", code, stderr)
			}
			wantClean(krep)
			for _, p := range krep.Partitions {
				hw := src.highWatermark(p.Partition)
				if p.Kafka == nil || *p.Kafka != (verify.KafkaOffsets{LogStart: 0, HighWatermark: hw, Committed: hw}) {
					t.Errorf("partition %d: kafka %+v", p.Partition, p.Kafka)
				}
			}
			r := run(env, false, append([]string{"verify"}, brokers...)...)
			for _, p := range rep.Partitions {
				offs := src.offsets[p.Partition]
				row := fmt.Sprintf("\norders  %d          %-6s  %-7d  %-7d  %-5d  %-4d  ", p.Partition, tc.format, p.Objects, len(offs), offs[0], offs[len(offs)-1])
				if !strings.Contains(r.stdout, row) {
					t.Errorf("table lacks %q", row)
				}
			}
			if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, ": OK\n") || strings.ContainsAny(r.stdout, "*?") || !strings.Contains(r.stdout, "KAFKA RANGE") {
				t.Errorf("table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}

			// Plant defects in partition 0: a sealed data object deleted,
			// its index left; another deleted with its index.
			sealed := slices.DeleteFunc(slices.Clone(rep.Partitions[0].ObjectList), func(o verify.ObjectReport) bool { return !o.Sealed || o.Bytes <= 0 })
			if len(sealed) < 4 {
				t.Fatalf("want 4 sealed objects, have %+v", rep.Partitions[0].ObjectList)
			}
			dataGone, bothGone, after := sealed[1], sealed[3], rep.Partitions[0].ObjectList
			srv.DeleteObjectDirect(bucket, dataGone.Key)
			srv.DeleteObjectDirect(bucket, bothGone.Key)
			srv.DeleteObjectDirect(bucket, bothGone.Index)
			// The records each held, and the offsets up to the next object.
			held := func(o verify.ObjectReport) []int64 {
				var out []int64
				for _, off := range src.offsets[0] {
					if off >= o.FirstOffset && off <= o.LastOffset {
						out = append(out, off)
					}
				}
				if int64(len(out)) != o.Records {
					t.Fatalf("%s: %d records, Kafka has %d in offsets %d-%d", o.Key, o.Records, len(out), o.FirstOffset, o.LastOffset)
				}
				return out
			}
			nextName := func(o verify.ObjectReport) int64 {
				for _, n := range after {
					if n.NameOffset > o.NameOffset {
						return n.NameOffset
					}
				}
				t.Fatalf("no object after %s", o.Key)
				return 0
			}
			dataOffs, bothOffs := held(dataGone), held(bothGone)

			code, rep, _ = verifyJSON(t, env, brokers...)
			if code != sinkctl.ExitFailed {
				t.Fatalf("deleted objects: exit %d", code)
			}
			var gotData, gotBoth, gotKafka bool
			for _, d := range rep.AllDefects() {
				t.Log(d)
				switch {
				case d.Code == verify.CodeDataMissing && d.Object == dataGone.Key:
					// The index names the records, Kafka's gaps left out.
					gotData = d.Other == dataGone.Index && slices.Equal(rangesOffsets(d.Ranges, dataOffs), dataOffs) && coversOnly(d.Ranges, dataOffs)
				case d.Code == verify.CodeObjectMissing && d.Object == bothGone.Key:
					// The seal before it says where it starts; the next
					// object where it ends at the latest.
					gotBoth = len(d.Ranges) == 1 && d.Ranges[0] == verify.Range{First: bothGone.NameOffset, Last: nextName(bothGone) - 1}
				case d.Code == verify.CodeMissingInStore:
					// Kafka names the records exactly: ranges of records
					// consecutive in Kafka, gaps inside them holding none.
					want := append(slices.Clone(dataOffs), bothOffs...)
					gotKafka = d.Partition == 0 && d.Count == len(want) && slices.Equal(rangesOffsets(d.Ranges, src.offsets[0]), want) &&
						len(d.Ranges) == 2 && d.Ranges[0].First == dataOffs[0] && d.Ranges[1].Last == bothOffs[len(bothOffs)-1]
				case d.Code == verify.CodeRecordsMismatch:
				default:
					t.Errorf("unexpected defect: %s", d)
				}
			}
			if !gotData || !gotBoth || !gotKafka {
				t.Fatalf("deleted %s (offsets %v) and %s with its index (offsets %v): data_missing %v, object_missing %v, missing_in_store %v",
					dataGone.Key, dataOffs, bothGone.Key, bothOffs, gotData, gotBoth, gotKafka)
			}
			// Without Kafka the store alone names them too.
			if code, rep, _ := verifyJSON(t, env); code != sinkctl.ExitFailed || rep.OK() {
				t.Errorf("deleted objects, without Kafka: exit %d", code)
			}

			// Partition 1 gone from the store entirely, though the group
			// committed it.
			for _, k := range srv.Keys(bucket, "backup/orders/") {
				if strings.Contains(k, "partition_1_") || strings.HasSuffix(k, "_partition_1") {
					srv.DeleteObjectDirect(bucket, k)
				}
			}
			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{brokers, sinkctl.ExitFailed, "the store holds nothing of this partition"},
				{append([]string{"--partition", "1"}, brokers...), sinkctl.ExitFailed, "missing_in_store orders/1"},
				{append([]string{"--topic", "quiet"}, brokers...), sinkctl.ExitUsage, "--topic quiet matches nothing"},
				{append([]string{"--partition", "7"}, brokers...), sinkctl.ExitUsage, "--partition 7 matches nothing"},
				{[]string{"--partition", "1"}, sinkctl.ExitUsage, "--partition 1 matches nothing"},
				{[]string{"--topic", "quiet"}, sinkctl.ExitUsage, "--topic quiet matches nothing"},
			} {
				r := run(env, false, append([]string{"verify"}, c.args...)...)
				if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
					t.Errorf("verify %v: exit %d, want %d and %q\n%s%s", c.args, r.code, c.code, c.want, r.stdout, r.stderr)
				}
				if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, token) {
					t.Errorf("verify %v shows a secret", c.args)
				}
			}
			for _, k := range []string{sink.MetaKey("backup/", "orders", 1), objindex.Key(bothGone.Key)} {
				if _, ok := srv.ObjectInfo(bucket, k); ok {
					t.Errorf("%s still there", k)
				}
			}
		})
	}
}

// rangesOffsets returns the offsets of all that lie in one of ranges.
func rangesOffsets(ranges []verify.Range, all []int64) []int64 {
	var out []int64
	for _, off := range all {
		for _, r := range ranges {
			if off >= r.First && off <= r.Last {
				out = append(out, off)
				break
			}
		}
	}
	return out
}

// coversOnly reports whether every offset in ranges is one of offs.
func coversOnly(ranges []verify.Range, offs []int64) bool {
	for _, r := range ranges {
		for o := r.First; o <= r.Last; o++ {
			if !slices.Contains(offs, o) {
				return false
			}
		}
	}
	return true
}
