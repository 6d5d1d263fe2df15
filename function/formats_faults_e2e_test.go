package main

import (
	"bytes"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/duckdb"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// TestFormatsUnderFaults runs the trigger's hostile run (requests failing
// before and after taking effect, processes killed at random moments,
// redeliveries with other boundaries: runTrigger) with formats on, then
// reads what landed as an engine does: every compressed object whole by
// gzip -dc, zstd -dc or a snappy framing reader, and all of them with
// DuckDB, which must find every record exactly once, with its content.
func TestFormatsUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary hundreds of times")
	}
	duckdb.Require(t)
	bin := binary(t)
	for _, c := range []fmtCase{
		{"csv", "gzip", "", events.Text},
		{"jsonl", "zstd", "offset,key,value", events.Text},
		{"csv", "snappy", "value,offset", events.Text},
		{"parquet", "snappy", "", events.Text},
	} {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			// Objects of 50 records: the last of each partition's is full,
			// so every Parquet object is sealed by the end.
			const partitions, perPartition = 4, 200
			extra := []string{"SINK_COMPRESSION=" + c.codec, "SINK_FLUSH_BYTES=1MiB", "SINK_FLUSH_RECORDS=50"}
			if c.fields != "" {
				extra = append(extra, "SINK_FIELDS="+c.fields)
			}
			srv, want := runTrigger(t, bin, c.format, partitions, perPartition, nil, extra...)
			// A Parquet object whose writing failed after its batch
			// succeeded is written by the partition's next batch: send
			// one, of records already stored (faults are off now).
			var last [][2]int64
			for p, offs := range want {
				last = append(last, [2]int64{int64(p), offs[len(offs)-1]})
			}
			cmd := exec.Command(bin, "invoke", "-")
			cmd.Env = append(os.Environ(), append([]string{"OSS_BUCKET=sink", "OSS_ENDPOINT=" + srv.Endpoint(), "OSS_PREFIX=e2e",
				"ALIBABA_CLOUD_ACCESS_KEY_ID=ak-test", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=sk-test", "ALIBABA_CLOUD_SECURITY_TOKEN=sts-token",
				"SINK_FORMAT=" + c.format, "SINK_FLUSH_INTERVAL=0"}, extra...)...)
			cmd.Stdin = bytes.NewReader(cloudEvents(fmtTopic, last))
			if r := bintest.Run(t, time.Minute, cmd); r.Code != 0 || !strings.Contains(r.Stdout, `"written": 0`) {
				t.Fatalf("a batch of stored records: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
			}

			dir, ext := t.TempDir(), c.ext()
			if c.codec == "snappy" && c.compressed() {
				ext = strings.TrimSuffix(ext, ".sz")
			}
			const prefix = "e2e/orders/"
			var stages []string
			for _, key := range srv.Keys("sink", prefix) {
				if name := strings.TrimPrefix(key, prefix); strings.HasPrefix(name, ".oss_stage_") {
					stages = append(stages, name)
				}
			}
			if len(stages) > 0 {
				t.Errorf("staging objects %q left although every object is full", stages)
			}
			for _, key := range srv.Keys("sink", prefix) {
				name := strings.TrimPrefix(key, prefix)
				if !strings.HasPrefix(name, "partition_") {
					continue
				}
				stem, ok := strings.CutSuffix(name, c.ext())
				if !ok || !objectName.MatchString(stem) {
					t.Errorf("data object %s: not the seed's name and %q", key, c.ext())
					continue
				}
				data, _ := srv.Object("sink", key)
				if c.compressed() {
					plain := decompress(t, c.codec, name, data)
					if c.codec == "snappy" {
						data = plain
					}
				}
				if err := os.WriteFile(filepath.Join(dir, stem+ext), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			res := duckdb.Run(t, dir, duckSQL(c, ext))
			seen := map[[2]int64]bool{}
			for _, row := range res.Maps() {
				m := objectName.FindStringSubmatch(strings.TrimSuffix(path.Base(row["filename"].(string)), ext))
				if m == nil {
					t.Fatalf("DuckDB read %v", row["filename"])
				}
				pp, _ := strconv.Atoi(m[1])
				p := int32(pp)
				off, _ := row["offset"].(int64)
				key := [2]int64{int64(p), off}
				if seen[key] {
					t.Errorf("partition %d offset %d read twice", p, off)
				}
				seen[key] = true
				r := events.Record{Topic: fmtTopic, Partition: p, Offset: off, Timestamp: 1764032523000 + off,
					Key: []byte("key-" + strconv.FormatInt(off, 10)), HasKey: true, Value: []byte(testValue(p, off)), Headers: []byte("[]")}
				if got, exp := normalizeDuck(t, c, row), expectRecord(c, &r); !equalRecord(got, exp) {
					t.Errorf("partition %d offset %d:\n got %s\nwant %s", p, off, show(got), show(exp))
				}
			}
			n := 0
			for p, offs := range want {
				n += len(offs)
				for _, off := range offs {
					if !seen[[2]int64{int64(p), off}] {
						t.Errorf("partition %d offset %d: not read", p, off)
					}
				}
			}
			if len(seen) != n || len(res.Rows) != n {
				t.Errorf("DuckDB read %d rows, %d distinct records; want %d", len(res.Rows), len(seen), n)
			}
		})
	}
}

// TestFormatsRecoveredFullObject: an append whose reply is lost after it
// took effect (the client retries, finds the object longer, and the
// record index tells it the records landed) must leave the same objects
// as a run without faults. The append here is the one that fills an
// object: appendable objects are sealed lazily, before the next record,
// whoever appended; a Parquet object is sealed (and written) as soon as it
// is full, which the recovery path must do too.
func TestFormatsRecoveredFullObject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := binary(t)
	for _, c := range []fmtCase{{"csv", "gzip", "", events.Text}, {"parquet", "zstd", "", events.Text}} {
		t.Run(c.name(), func(t *testing.T) {
			recs := fmtRecords(c.enc)
			// The reference: the same batches, no faults, local store.
			dir := t.TempDir()
			committed := 0
			for _, b := range fmtBatches {
				invokeFormats(t, bin, c.env("SINK_LOCAL_DIR="+dir), c.enc, recs, b[0], b[1], committed)
				committed = max(committed, b[1])
			}
			root := filepath.Join(dir, fmtPrefix, fmtTopic)

			const bucket, ak, sk = "sink", "ak-formats", "sk-formats"
			srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials(ak, sk, ""))
			env := c.env("OSS_BUCKET="+bucket, "OSS_ENDPOINT="+srv.Endpoint(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ak, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+sk)
			// The last batch's only append to partition 0's last object
			// fills it with the batch's last records.
			target := sink.ObjectKey(fmtPrefix+"/", fmtTopic, "", 0, fmtOffsets[0][2*fmtFlush], 0) + c.ext()
			if c.staged() {
				target = sink.StageKey(target)
			}
			// The last batch comes again: records already stored do not
			// change what is stored.
			for i, b := range append(fmtBatches, fmtBatches[len(fmtBatches)-1]) {
				if i == len(fmtBatches)-1 {
					srv.SetFault(osstest.OpAppend, osstest.Fault{KeyPrefix: target, After: 1, Limit: 1})
				}
				var batch []events.Record
				for i := b[0]; i < b[1]; i++ {
					batch = append(batch, recs[0][i], recs[1][i])
				}
				file := filepath.Join(t.TempDir(), "events.json")
				if err := os.WriteFile(file, eventstest.Encode(eventstest.CloudEvents, batch, c.enc), 0o644); err != nil {
					t.Fatal(err)
				}
				for try := 0; ; try++ {
					cmd := exec.Command(bin, "invoke", file)
					cmd.Env = env
					r := bintest.Run(t, time.Minute, cmd)
					if r.Code == 0 {
						break
					}
					if try == 2 {
						t.Fatalf("batch %d: exit %d\n%s", i, r.Code, r.Stderr)
					}
				}
				if srv.Requests(osstest.OpAppend) == 0 {
					t.Fatal("no appends")
				}
			}
			if n := srv.Stats().Faults[osstest.OpAppend]; n != 1 {
				t.Fatalf("%d faults injected, want 1", n)
			}
			dataPrefix := fmtPrefix + "/" + fmtTopic + "/"
			var got, want []string
			for _, key := range srv.Keys(bucket, dataPrefix) {
				if name := strings.TrimPrefix(key, dataPrefix); strings.HasPrefix(name, "partition_") || strings.HasPrefix(name, ".oss_stage_") {
					got = append(got, name)
					b, _ := srv.Object(bucket, key)
					if local, err := os.ReadFile(filepath.Join(root, name)); err != nil || !bytes.Equal(local, b) {
						t.Errorf("%s: differs from the run without faults (%v)", name, err)
					}
				}
			}
			entries, _ := os.ReadDir(root)
			for _, e := range entries {
				if n := e.Name(); strings.HasPrefix(n, "partition_") || strings.HasPrefix(n, ".oss_stage_") {
					want = append(want, n)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("objects after a lost append reply:\n%q\nwithout faults:\n%q", got, want)
			}
		})
	}
}
