package sinkctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestLsCatFormats: in every format and compression, ls lists what was
// stored (offsets and records that add up to the topic) and cat gives back
// each record's value, key and headers as far as the format stores them.
func TestLsCatFormats(t *testing.T) {
	t.Parallel()
	const parts, n = 2, 40
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(parts, "src")).ListenAddrs()
	var msgs []kafkatest.Message
	for i := range n {
		m := kafkatest.Message{Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "value, \"%d\" é", i),
			Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: fmt.Appendf(nil, "v%d", i)}}}
		msgs = append(msgs, m)
	}
	kafkatest.Produce(t, addrs, "src", msgs)
	for _, tc := range []struct {
		name, format, fields, codec string
		keys, headers               bool
	}{
		{"jsonl-gzip", "jsonl", "", "gzip", true, true},
		{"csv-zstd", "csv", "offset,key,value", "zstd", true, false},
		{"parquet-snappy", "parquet", "offset,key,value,headers,timestamp", "snappy", true, true},
		{"raw", "raw", "", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			group := "g-" + tc.name
			h := handlertest.New(t, testkit.Env("SINK_FORMAT", tc.format, "SINK_FIELDS", tc.fields, "SINK_COMPRESSION", tc.codec,
				"SINK_LOCAL_DIR", dir, "SINK_FLUSH_RECORDS", "6", "LOG_LEVEL", "warn"))
			err := testkit.RunUntil(t, time.Minute, "consume to commit everything", func(ctx context.Context) error {
				return consume.Run(ctx, h, consume.Brokers(addrs...), consume.Group(group), consume.Topics("src"),
					consume.CountBasedWindow(5), consume.TimeBasedWindow(20*time.Millisecond))
			}, func() bool { return kafkatest.CommittedSum(t, addrs, group, "src") >= n })
			if err != nil {
				t.Fatal(err)
			}
			r := run(nil, false, "ls", "--dir", dir, "--topic", "src", "--json")
			var objs lsJSON
			if err := json.Unmarshal([]byte(r.stdout), &objs); r.code != sinkctl.ExitOK || err != nil || len(objs) < 2 {
				t.Fatalf("ls: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
			}
			var records int64
			next := map[int32]int64{}
			args := []string{"cat", "--dir", dir, "--json"}
			for _, o := range objs {
				if o.FirstOffset != next[o.Partition] || o.Records != o.LastOffset-o.FirstOffset+1 || !strings.HasPrefix(o.Format, tc.format) {
					t.Errorf("ls: %+v, want first offset %d", o, next[o.Partition])
				}
				next[o.Partition] = o.LastOffset + 1
				records += o.Records
				args = append(args, o.Key)
			}
			if records != n {
				t.Fatalf("ls: %d records, want %d", records, n)
			}
			r = run(nil, false, args...)
			if r.code != sinkctl.ExitOK {
				t.Fatalf("cat: exit %d\n%s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(lines) != n {
				t.Fatalf("cat: %d lines, want %d", len(lines), n)
			}
			for _, ln := range lines {
				var c struct {
					catJSON
					Headers []struct {
						Key   string  `json:"key"`
						Value *string `json:"value"`
					} `json:"headers"`
				}
				if err := json.Unmarshal([]byte(ln), &c); err != nil {
					t.Fatalf("cat line %q: %v", ln, err)
				}
				m := msgs[int(c.Offset)*parts+int(c.Partition)]
				ok := c.Value != nil && *c.Value == string(m.Value)
				if tc.keys {
					ok = ok && c.Key != nil && *c.Key == string(m.Key)
				} else {
					ok = ok && c.Key == nil
				}
				if tc.headers {
					ok = ok && len(c.Headers) == 1 && c.Headers[0].Key == "h" && c.Headers[0].Value != nil && *c.Headers[0].Value == string(m.Headers[0].Value)
				} else {
					ok = ok && len(c.Headers) == 0
				}
				if !ok {
					t.Errorf("cat line %q; produced key %q value %q", ln, m.Key, m.Value)
				}
			}
		})
	}
}
