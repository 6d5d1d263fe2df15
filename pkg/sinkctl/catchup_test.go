package sinkctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// runEnv runs sinkctl with the environment kv, bounded by a safety net:
// a command that should end on its own and does not fails the test
// instead of hanging it.
func runEnv(t *testing.T, env func(string) string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out, errb testkit.SyncBuffer
	code := sinkctl.Main(ctx, args, sinkctl.Env{Stdout: &out, Stderr: &errb, Getenv: env})
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after 3 minutes; stderr:\n%s", args, errb.Tail(2000))
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

type summaryJSON struct {
	CaughtUp   bool  `json:"caught_up"`
	Records    int64 `json:"records"`
	Lag        int64 `json:"lag"`
	Partitions []struct {
		Partition     int32 `json:"partition"`
		HighWatermark int64 `json:"high_watermark"`
		Stored        int64 `json:"stored_offset"`
		Lag           int64 `json:"lag"`
		Done          bool  `json:"caught_up"`
	} `json:"partitions"`
}

// TestConsumeUntilCaughtUp: a topic with thousands of records is consumed
// until the store holds every partition up to its high watermark at start;
// a second group finds the store caught up already and consumes nothing;
// status then agrees with Kafka's and the store's true offsets, and ls and
// cat with what was produced.
func TestConsumeUntilCaughtUp(t *testing.T) {
	t.Parallel()
	const parts, perPart = 4, 1000
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "t")).ListenAddrs()
	brokers := strings.Join(addrs, ",")
	var msgs []kafkatest.Message
	for i := range parts * perPart {
		msgs = append(msgs, kafkatest.Message{Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "value %d", i)})
	}
	kafkatest.Produce(t, addrs, "t", msgs)
	dir := t.TempDir()
	env := testkit.Env("SINK_FORMAT", "jsonl", "SINK_COMPRESSION", "gzip", "SINK_FLUSH_RECORDS", "300", "LOG_LEVEL", "warn")

	r := runEnv(t, env, "consume", "--brokers", brokers, "--group", "g", "--topic", "t", "--dir", dir,
		"--batch-count", "500", "--batch-window", "20ms", "--until-caught-up", "--json")
	if r.code != sinkctl.ExitOK {
		t.Fatalf("consume: exit %d\n%s", r.code, r.stderr)
	}
	var sum summaryJSON
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, r.stdout)
	}
	if !sum.CaughtUp || sum.Records != parts*perPart || sum.Lag != 0 || len(sum.Partitions) != parts {
		t.Fatalf("summary: %+v", sum)
	}
	for _, p := range sum.Partitions {
		if p.HighWatermark != perPart || p.Stored != perPart-1 || !p.Done {
			t.Errorf("partition %+v", p)
		}
	}
	committed := kafkatest.Committed(t, addrs, "g", "t")
	for p := range int32(parts) {
		if committed[p] != perPart {
			t.Errorf("group committed %d for partition %d, want %d", committed[p], p, perPart)
		}
	}

	// Another group: the store holds everything, so nothing is consumed.
	r = runEnv(t, env, "consume", "--brokers", brokers, "--group", "g2", "--topic", "t", "--dir", dir, "--until-caught-up", "--json")
	sum = summaryJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &sum); r.code != sinkctl.ExitOK || err != nil || !sum.CaughtUp || sum.Records != 0 {
		t.Fatalf("second group: exit %d, %+v\n%s", r.code, sum, r.stderr)
	}
	// The human summary.
	r = runEnv(t, env, "consume", "--brokers", brokers, "--group", "g", "--topic", "t", "--dir", dir, "--until-caught-up")
	if r.code != sinkctl.ExitOK || !strings.HasPrefix(r.stdout, "caught up after ") || !strings.Contains(r.stdout, "lag 0 records") {
		t.Fatalf("human summary: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// 50 more records in partition 0: status shows them as lag.
	var more []kafkatest.Message
	for i := range 50 {
		more = append(more, kafkatest.Message{Partition: 0, Value: fmt.Appendf(nil, "late %d", i), Timestamp: time.Now().Add(-time.Hour)})
	}
	kafkatest.Produce(t, addrs, "t", more)
	checkStatus(t, env, dir, brokers, addrs, parts, perPart)
	checkLsCat(t, env, dir, msgs, parts, perPart)
}

type statusJSON struct {
	Partitions []struct {
		Partition      int32  `json:"partition"`
		HighWatermark  *int64 `json:"high_watermark"`
		GroupCommitted *int64 `json:"group_committed_offset"`
		StoreCommitted int64  `json:"store_committed_offset"`
		StoreRecords   int64  `json:"store_records"`
		LagRecords     *int64 `json:"lag_records"`
		LagMS          *int64 `json:"lag_ms"`
		Open           *struct {
			Key     string `json:"key"`
			Size    int64  `json:"size"`
			Records int64  `json:"records"`
		} `json:"open_object"`
	} `json:"partitions"`
	Total struct {
		Partitions int    `json:"partitions"`
		LagRecords *int64 `json:"lag_records"`
	} `json:"total"`
}

func checkStatus(t *testing.T, env func(string) string, dir, brokers string, addrs []string, parts, perPart int) {
	t.Helper()
	ends := kafkatest.EndOffsets(t, addrs, "t")
	committed := kafkatest.Committed(t, addrs, "g", "t")
	r := runEnv(t, env, "status", "--dir", dir, "--topic", "t", "--brokers", brokers, "--group", "g", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != sinkctl.ExitOK || err != nil {
		t.Fatalf("status: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if len(st.Partitions) != parts || st.Total.LagRecords == nil || *st.Total.LagRecords != 50 {
		t.Fatalf("status: %s", r.stdout)
	}
	for _, p := range st.Partitions {
		wantLag := ends[p.Partition] - int64(perPart)
		if p.HighWatermark == nil || *p.HighWatermark != ends[p.Partition] || p.GroupCommitted == nil || *p.GroupCommitted != committed[p.Partition] ||
			p.StoreCommitted != int64(perPart-1) || p.StoreRecords != int64(perPart) || p.LagRecords == nil || *p.LagRecords != wantLag {
			t.Errorf("partition %d: %+v; Kafka end %d, committed %d", p.Partition, p, ends[p.Partition], committed[p.Partition])
		}
		if wantLag > 0 && (p.LagMS == nil || *p.LagMS < int64(59*time.Minute/time.Millisecond)) {
			t.Errorf("partition %d: lag time %v, want about an hour (the first record not stored is an hour old)", p.Partition, p.LagMS)
		}
		if p.Open == nil || p.Open.Records <= 0 || p.Open.Records > 300 {
			t.Errorf("partition %d: open object %+v", p.Partition, p.Open)
		} else if fi, err := os.Stat(filepath.Join(dir, p.Open.Key)); err != nil || fi.Size() != p.Open.Size {
			t.Errorf("partition %d: open object %+v: %v", p.Partition, p.Open, err)
		}
	}
	// --watch redraws until interrupted.
	var out testkit.SyncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- sinkctl.Main(ctx, []string{"status", "--dir", dir, "--watch", "--interval", "20ms"}, sinkctl.Env{Stdout: &out, Stderr: &out, Getenv: env})
	}()
	testkit.WaitFor(t, time.Minute, "two redraws", func() bool { return strings.Count(out.String(), "store: ") >= 2 })
	cancel()
	if code := <-done; code != sinkctl.ExitOK {
		t.Fatalf("status --watch: exit %d\n%s", code, out.String())
	}
	// A topic neither stored nor in Kafka.
	if r := runEnv(t, env, "status", "--dir", dir, "--topic", "nope"); r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, `topic "nope"`) {
		t.Errorf("unknown topic: exit %d, %q", r.code, r.stderr)
	}
	// Without Kafka flags, the store side alone.
	r = runEnv(t, env, "status", "--dir", dir)
	if r.code != sinkctl.ExitOK || strings.Contains(r.stdout, "HIGH WATERMARK") || !strings.Contains(r.stdout, fmt.Sprintf("%d partitions, %d records stored", parts, parts*perPart)) {
		t.Fatalf("status without Kafka: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// A stored topic Kafka no longer has: the store side, and a note.
	kafkatest.DeleteTopic(t, addrs, "t")
	r = runEnv(t, env, "status", "--dir", dir, "--brokers", brokers, "--group", "g", "--kafka-timeout", "1s")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, `note: topic "t": Kafka's side not shown`) ||
		!strings.Contains(r.stdout, fmt.Sprintf("%d partitions, %d records stored", parts, parts*perPart)) {
		t.Fatalf("status of a deleted topic: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

type lsJSON []struct {
	Key          string `json:"key"`
	Partition    int32  `json:"partition"`
	FirstOffset  int64  `json:"first_offset"`
	LastOffset   int64  `json:"last_offset"`
	Records      int64  `json:"records"`
	Size         int64  `json:"size"`
	StorageClass string `json:"storage_class"`
	Format       string `json:"format"`
}

type catJSON struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     *string `json:"value"`
}

func checkLsCat(t *testing.T, env func(string) string, dir string, msgs []kafkatest.Message, parts, perPart int) {
	t.Helper()
	r := runEnv(t, env, "ls", "--dir", dir, "--json")
	var objs lsJSON
	if err := json.Unmarshal([]byte(r.stdout), &objs); r.code != sinkctl.ExitOK || err != nil {
		t.Fatalf("ls: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	// Compare with the directory itself: every data object, nothing else.
	var onDisk int
	filepath.WalkDir(filepath.Join(dir, "t"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "partition_") && strings.HasSuffix(d.Name(), ".jsonl.gz") {
			onDisk++
		}
		return nil
	})
	if len(objs) != onDisk || onDisk < parts*(perPart/300) {
		t.Fatalf("ls lists %d objects, the directory holds %d data objects", len(objs), onDisk)
	}
	next := map[int32]int64{}
	var keys []string
	for _, o := range objs {
		fi, err := os.Stat(filepath.Join(dir, o.Key))
		if err != nil || fi.Size() != o.Size || o.FirstOffset != next[o.Partition] || o.LastOffset-o.FirstOffset+1 != o.Records ||
			o.StorageClass != "Standard" || !strings.HasPrefix(o.Format, "jsonl") || !strings.Contains(o.Format, "gzip") {
			t.Errorf("ls: %+v (stat %v)", o, err)
		}
		next[o.Partition] = o.LastOffset + 1
		keys = append(keys, o.Key)
	}
	r = runEnv(t, env, append([]string{"cat", "--dir", dir}, append(keys, "--json")...)...)
	if r.code != sinkctl.ExitOK {
		t.Fatalf("cat: exit %d\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != parts*perPart {
		t.Fatalf("cat printed %d records, want %d", len(lines), parts*perPart)
	}
	seen := map[int32]int64{}
	for _, ln := range lines {
		var c catJSON
		if err := json.Unmarshal([]byte(ln), &c); err != nil {
			t.Fatalf("cat line %q: %v", ln, err)
		}
		m := msgs[int(c.Offset)*parts+int(c.Partition)]
		if c.Offset != seen[c.Partition] || c.Value == nil || *c.Value != string(m.Value) || c.Key == nil || *c.Key != string(m.Key) {
			t.Fatalf("cat line %q, want offset %d key %q value %q", ln, seen[c.Partition], m.Key, m.Value)
		}
		seen[c.Partition]++
	}
	// Values only, by default.
	r = runEnv(t, env, "cat", "--dir", dir, keys[0])
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	if r.code != sinkctl.ExitOK || first != string(msgs[objs[0].Partition].Value) {
		t.Fatalf("cat values: exit %d, first line %q\n%s", r.code, first, r.stderr)
	}
}

// TestConsumeStartPositions: a new group starts at an offset or at a
// time; the same flags are refused for a group with committed offsets.
func TestConsumeStartPositions(t *testing.T) {
	t.Parallel()
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(1, "t")).ListenAddrs()
	brokers := strings.Join(addrs, ",")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var msgs []kafkatest.Message
	for i := range 100 {
		msgs = append(msgs, kafkatest.Message{Value: fmt.Appendf(nil, "v%d", i), Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	kafkatest.Produce(t, addrs, "t", msgs)
	env := testkit.Env("SINK_FORMAT", "jsonl", "LOG_LEVEL", "warn")
	for _, tc := range []struct {
		name  string
		flags []string
		first int64
	}{
		{"offset", []string{"--start-offset", "60"}, 60},
		{"time", []string{"--start-time", base.Add(70 * time.Second).Format(time.RFC3339)}, 70},
		{"earliest", []string{"--start-offset", "earliest"}, 0},
		// Nothing to catch up: the group starts past every record.
		{"latest", []string{"--start-offset", "latest"}, 100},
		{"future", []string{"--start-time", time.Now().Add(time.Hour).Format(time.RFC3339)}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			group := "g-" + tc.name
			args := append([]string{"consume", "--brokers", brokers, "--group", group, "--topic", "t", "--dir", dir,
				"--batch-window", "10ms", "--until-caught-up", "--json"}, tc.flags...)
			r := runEnv(t, env, args...)
			var sum summaryJSON
			if err := json.Unmarshal([]byte(r.stdout), &sum); r.code != sinkctl.ExitOK || err != nil || sum.Records != 100-tc.first {
				t.Fatalf("exit %d, %+v\n%s", r.code, sum, r.stderr)
			}
			if tc.first < 100 {
				r = runEnv(t, env, "cat", "--dir", dir, "--json", lsKeys(t, env, dir)[0])
				var c catJSON
				if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &c); err != nil || c.Offset != tc.first {
					t.Fatalf("first stored offset %d (%v), want %d", c.Offset, err, tc.first)
				}
			}
			if tc.name == "earliest" || tc.name == "latest" {
				return
			}
			// The group has committed offsets now.
			r = runEnv(t, env, args...)
			if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, "has committed offsets") || !strings.Contains(r.stderr, "new --group") {
				t.Fatalf("start flags for a group with commits: exit %d\n%s", r.code, r.stderr)
			}
		})
	}
}

func lsKeys(t *testing.T, env func(string) string, dir string) []string {
	t.Helper()
	r := runEnv(t, env, "ls", "--dir", dir, "--json")
	var objs lsJSON
	if err := json.Unmarshal([]byte(r.stdout), &objs); err != nil || len(objs) == 0 {
		t.Fatalf("ls: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}
