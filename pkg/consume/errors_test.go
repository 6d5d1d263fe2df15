package consume

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

const (
	ossAK, ossSK = "ak", "sk-must-not-leak"
	dlqTopic     = "dlq"
)

func newOSS(t *testing.T) *osstest.Server {
	t.Helper()
	return osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials(ossAK, ossSK, ""))
}

// ossHandler returns a handler writing jsonl to endpoint; kv overrides the
// defaults.
func ossHandler(t *testing.T, endpoint string, kv ...string) *handler.Handler {
	t.Helper()
	return handlertest.New(t, testkit.Env(append([]string{config.EnvBucket, "sink", config.EnvEndpoint, endpoint, "SINK_FORMAT", "jsonl", "LOG_LEVEL", "error",
		"ALIBABA_CLOUD_ACCESS_KEY_ID", ossAK, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", ossSK}, kv...)...))
}

// runUntilStopped runs Run until it returns on its own (a safety net of a
// minute fails the test).
func runUntilStopped(t *testing.T, h *handler.Handler, opts ...Option) error {
	t.Helper()
	_, done := start(t, h, opts...)
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run did not stop")
		return nil
	}
}

// TestStoreCheck: a wrong secret, a missing bucket, no credentials and an
// OSS endpoint that never answers stop Run before it consumes anything,
// with a dead-letter topic configured: nothing dead-lettered, nothing
// committed.
func TestStoreCheck(t *testing.T) {
	t.Parallel()
	srv := newOSS(t)
	silent := newOSS(t)
	silent.SetUnresponsive(true)
	tests := []struct {
		name  string
		env   []string
		setup bool
		words []string
	}{
		{"wrong secret", []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "guess"}, true, []string{"OSS denied access", "SignatureDoesNotMatch", "template.yaml"}},
		{"no such bucket", []string{config.EnvBucket, "nope"}, true, []string{`bucket "nope" does not exist`}},
		{"no credentials", []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""}, true, []string{"no OSS credentials"}},
		{"silent endpoint", []string{config.EnvEndpoint, silent.Endpoint()}, false, []string{"did not answer within 1s", "OSS_ENDPOINT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, testTopic, dlqTopic)
			addrs := c.ListenAddrs()
			produce(t, addrs, testTopic, 20)
			h := ossHandler(t, srv.Endpoint(), tt.env...)
			err := runUntilStopped(t, h, append(baseOpts(addrs, "g"), DeadLetterTopic(dlqTopic), ConnectTimeout(time.Second))...)
			var se *StoreError
			if !errors.As(err, &se) || handler.SetupError(err) != tt.setup {
				t.Fatalf("err = %v; want a StoreError (setup problem: %v)", err, tt.setup)
			}
			for _, w := range append(tt.words, "nothing consumed") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), ossSK) {
				t.Fatalf("error shows the secret: %v", err)
			}
			if got := kafkatest.Committed(t, addrs, "g", testTopic); !noneCommitted(got) {
				t.Fatalf("committed %v", got)
			}
			if dead := kafkatest.ReadAll(t, addrs, dlqTopic); len(dead) != 0 {
				t.Fatalf("%d dead letters", len(dead))
			}
		})
	}
}

// TestSetupErrorMidRun: the store check passes, but the first batch fails
// for good: the policy allows listing but not writing, or the STS token
// expires (nothing renews the environment's credentials). Run stops at once,
// without retrying, dead-lettering or committing anything.
func TestSetupErrorMidRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before func(srv *osstest.Server) // before the first invocation
		want   string
	}{
		{"policy denies writes", func(srv *osstest.Server) {
			srv.SetDenies(osstest.Deny{Ops: []osstest.Op{osstest.OpPut, osstest.OpAppend}})
		}, "OSS denied access"},
		{"token expired", func(srv *osstest.Server) { srv.ExpireCredentials(ossAK) }, "SecurityTokenExpired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newOSS(t)
			c := newCluster(t, testTopic, dlqTopic)
			addrs := c.ListenAddrs()
			produce(t, addrs, testTopic, 40)
			h := ossHandler(t, srv.Endpoint())
			var calls atomic.Int32
			var once sync.Once // concurrent claims wait for it too
			invoke := func(ctx context.Context, id string, p []byte) error {
				calls.Add(1)
				once.Do(func() { tt.before(srv) })
				_, err := h.Invoke(ctx, id, p)
				return err
			}
			err := runUntilStopped(t, h, append(baseOpts(addrs, "g", withInvoke(invoke)), DeadLetterTopic(dlqTopic))...)
			var be *BatchError
			if !errors.As(err, &be) || !handler.SetupError(err) || be.Attempts != 1 {
				t.Fatalf("err = %v; want a BatchError of one attempt for a setup problem", err)
			}
			for _, w := range []string{tt.want, "not retried nor dead-lettered"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			t.Log(err)
			if got := kafkatest.Committed(t, addrs, "g", testTopic); !noneCommitted(got) {
				t.Fatalf("committed %v", got)
			}
			if dead := kafkatest.ReadAll(t, addrs, dlqTopic); len(dead) != 0 {
				t.Fatalf("%d dead letters", len(dead))
			}
			// One attempt per partition claim at most: no retries.
			if n := calls.Load(); n > 4 {
				t.Fatalf("%d invocations", n)
			}
		})
	}
}

// TestStateConflictStops: the open data objects are overwritten by normal
// PUTs between two runs; the second run stops at the first batch with the
// StateConflictError, dead-letters nothing and commits nothing more.
func TestStateConflictStops(t *testing.T) {
	t.Parallel()
	srv := newOSS(t)
	c := newCluster(t, testTopic, dlqTopic)
	addrs := c.ListenAddrs()
	recs := produce(t, addrs, testTopic, 40)
	h := ossHandler(t, srv.Endpoint())
	runUntilCommitted(t, h, addrs, "g", nextOffsets(recs), 15*time.Second, baseOpts(addrs, "g")...)
	before := kafkatest.Committed(t, addrs, "g", testTopic)

	st := osskit.Store(t, srv.Endpoint(), "sink", ossstore.Credentials{AccessKeyID: ossAK, AccessKeySecret: ossSK})
	for _, k := range srv.Keys("sink", "") {
		if info, _ := srv.ObjectInfo("sink", k); info.Appendable {
			data, err := st.Get(t.Context(), k)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(t.Context(), k, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(t, addrs, testTopic, 40)
	err := runUntilStopped(t, h, append(baseOpts(addrs, "g"), DeadLetterTopic(dlqTopic))...)
	var sc *handler.StateConflictError
	if !errors.As(err, &sc) || handler.SetupError(err) || !strings.Contains(err.Error(), "overwritten by a normal PUT") {
		t.Fatalf("err = %v; want a BatchError wrapping a StateConflictError", err)
	}
	if got := kafkatest.Committed(t, addrs, "g", testTopic); !equalOffsets(got, before) {
		t.Fatalf("committed %v, was %v", got, before)
	}
	if dead := kafkatest.ReadAll(t, addrs, dlqTopic); len(dead) != 0 {
		t.Fatalf("%d dead letters", len(dead))
	}
}

// noneCommitted reports whether no partition has a committed offset (-1:
// the group exists without one).
func noneCommitted(c map[int32]int64) bool {
	for _, o := range c {
		if o >= 0 {
			return false
		}
	}
	return true
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if b[p] != o {
			return false
		}
	}
	return true
}

// sent is one record to produce to partition 0.
type sent struct {
	key, value []byte
	headers    []sarama.RecordHeader
}

// produceRecords writes recs to partition 0 of topic, at offsets 0, 1, ...
func produceRecords(t *testing.T, addrs []string, topic string, recs []sent) {
	t.Helper()
	msgs := make([]kafkatest.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafkatest.Message{Key: r.key, Value: r.value, Headers: r.headers, Timestamp: time.UnixMilli(1700000000000 + int64(i))}
	}
	for i, off := range kafkatest.Produce(t, addrs, topic, msgs) {
		if off != int64(i) {
			t.Fatalf("record %d: offset %d", i, off)
		}
	}
}

// stored is one line of a jsonl object.
type stored struct {
	Offset  int64            `json:"offset"`
	Key     *string          `json:"key"`
	Value   json.RawMessage  `json:"value"`
	Headers []map[string]any `json:"headers"`
}

// readStored returns the jsonl lines stored for partition 0 of testTopic,
// after checking that the store holds exactly offsets want.
func readStored(t *testing.T, st store.Store, want []int64) []stored {
	t.Helper()
	if err := sinktest.Check(t.Context(), st, "", testTopic, sinktest.JSONLOffset, map[int32][]int64{0: want}); err != nil {
		t.Fatal(err)
	}
	parts, err := sinktest.Read(t.Context(), st, "", testTopic, sinktest.JSONLOffset)
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for _, o := range parts[0].Objects {
		sc := bufio.NewScanner(bytes.NewReader(o.Data))
		for sc.Scan() {
			var l stored
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
	}
	return out
}

func localHandler(t *testing.T, dir, encoding string) *handler.Handler {
	t.Helper()
	return handlertest.New(t, testkit.Env(config.EnvLocalDir, dir, "SINK_FORMAT", "jsonl", "LOG_LEVEL", "error", "SINK_VALUE_ENCODING", encoding))
}

// TestUnrenderableRecords: a record whose value (with the text encoding),
// key or header is not valid UTF-8 is never stored altered. It is refused
// on its own with an error naming it and the setting to use: without a
// dead-letter topic Run stops there, the records before it stored and
// committed; with one, it alone goes there, byte for byte, and the rest is
// stored. With base64, binary values are stored exactly.
func TestUnrenderableRecords(t *testing.T) {
	t.Parallel()
	binary := []byte{0xff, 0xfe, 'b', 0x00, 0xc3}
	tests := []struct {
		name     string
		encoding string
		bad      sent   // at offset 4 of 10
		dlq      bool   //
		field    string // "" if the record is stored
		words    []string
	}{
		{"binary value, text", "text", sent{key: []byte("k"), value: binary}, false, "value", []string{"SINK_VALUE_ENCODING=base64"}},
		{"binary value, text, dead-letter topic", "text", sent{key: []byte("k"), value: binary}, true, "value", []string{"SINK_VALUE_ENCODING=base64"}},
		{"binary value, base64", "base64", sent{key: []byte("k"), value: binary}, false, "", nil},
		{"binary key, base64, dead-letter topic", "base64", sent{key: binary, value: []byte("v")}, true, "key", []string{"no setting stores it exactly"}},
		{"binary header value", "text", sent{value: []byte("v"), headers: []sarama.RecordHeader{{Key: []byte("a"), Value: []byte("x")}, {Key: []byte("b"), Value: binary}}},
			false, "header 1 value", []string{"no setting stores it exactly"}},
		{"binary header key", "base64", sent{value: []byte("v"), headers: []sarama.RecordHeader{{Key: binary, Value: []byte("x")}}}, false, "header 0 key", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, testTopic, dlqTopic)
			addrs := c.ListenAddrs()
			recs := make([]sent, 10)
			for i := range recs {
				recs[i] = sent{key: []byte("k"), value: []byte("value é")}
			}
			recs[4] = tt.bad
			produceRecords(t, addrs, testTopic, recs)
			dir := t.TempDir()
			h := localHandler(t, dir, tt.encoding)
			opts := baseOpts(addrs, "g", CountBasedWindow(10), TimeBasedWindow(time.Second))
			if tt.dlq {
				opts = append(opts, DeadLetterTopic(dlqTopic))
			}
			st := fixture.Local(t, dir)
			all := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
			var lines []stored
			switch {
			case tt.field == "": // stored exactly
				runUntilCommitted(t, h, addrs, "g", map[int32]int64{0: 10}, 15*time.Second, opts...)
				lines = readStored(t, st, all)
				var s string
				if err := json.Unmarshal(lines[4].Value, &s); err != nil {
					t.Fatal(err)
				}
				if got, err := base64.StdEncoding.DecodeString(s); err != nil || !bytes.Equal(got, binary) {
					t.Fatalf("stored %q, want %q", got, binary)
				}
			case tt.dlq: // dead-lettered alone, the rest stored
				runUntilCommitted(t, h, addrs, "g", map[int32]int64{0: 10}, 15*time.Second, opts...)
				lines = readStored(t, st, []int64{0, 1, 2, 3, 5, 6, 7, 8, 9})
				dead := kafkatest.ReadAll(t, addrs, dlqTopic)
				if len(dead) != 1 || !bytes.Equal(dead[0].Key, tt.bad.key) || !bytes.Equal(dead[0].Value, tt.bad.value) {
					t.Fatalf("dead letters %v, want the one bad record", dead)
				}
				why := ""
				for _, hd := range dead[0].Headers {
					if string(hd.Key) == deadLetterPrefix+"error" {
						why = string(hd.Value)
					}
				}
				for _, w := range append(tt.words, "offset 4", tt.field) {
					if !strings.Contains(why, w) {
						t.Errorf("the dead letter's error header does not mention %q: %q", w, why)
					}
				}
			default: // stopped at the bad record
				err := runUntilStopped(t, h, opts...)
				var be *BatchError
				var re *RecordError
				if !errors.As(err, &be) || !errors.As(err, &re) || be.FirstOffset != 4 || be.LastOffset != 4 || re.Field != tt.field {
					t.Fatalf("err = %v; want a BatchError for the %s of offset 4", err, tt.field)
				}
				for _, w := range append(tt.words, "t/0 offset 4", "not valid UTF-8") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not mention %q: %v", w, err)
					}
				}
				t.Log(err)
				if got := kafkatest.Committed(t, addrs, "g", testTopic); got[0] != 4 {
					t.Fatalf("committed %v, want partition 0 at 4", got)
				}
				lines = readStored(t, st, all[:4])
			}
			for _, l := range lines {
				if l.Offset != 4 && string(l.Value) != `"value é"` && string(l.Value) != `"`+base64.StdEncoding.EncodeToString([]byte("value é"))+`"` {
					t.Fatalf("offset %d stored as %s", l.Offset, l.Value)
				}
			}
		})
	}
}

// TestTombstones: a null value reaches the store as JSON null (not ""), a
// null key as null, in both value encodings.
func TestTombstones(t *testing.T) {
	t.Parallel()
	for _, enc := range []string{"text", "base64"} {
		t.Run(enc, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, testTopic)
			addrs := c.ListenAddrs()
			produceRecords(t, addrs, testTopic, []sent{
				{key: []byte("deleted"), value: nil},
				{key: nil, value: []byte("no key")},
				{key: nil, value: nil},
				{key: []byte(""), value: []byte("")},
			})
			dir := t.TempDir()
			runUntilCommitted(t, localHandler(t, dir, enc), addrs, "g", map[int32]int64{0: 4}, 15*time.Second, baseOpts(addrs, "g")...)
			st := fixture.Local(t, dir)
			lines := readStored(t, st, []int64{0, 1, 2, 3})
			noKey := base64.StdEncoding.EncodeToString([]byte("no key"))
			if enc == "text" {
				noKey = "no key"
			}
			want := []struct {
				key   *string
				value string
			}{{ptr("deleted"), "null"}, {nil, `"` + noKey + `"`}, {nil, "null"}, {ptr(""), `""`}}
			for i, w := range want {
				l := lines[i]
				if string(l.Value) != w.value || (l.Key == nil) != (w.key == nil) || (l.Key != nil && *l.Key != *w.key) {
					t.Errorf("offset %d: key %v value %s; want key %v value %s", l.Offset, l.Key, l.Value, w.key, w.value)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }
