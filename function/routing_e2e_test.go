package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// TestInvokeRouted drives the binary with routing templates through the
// OSS test server: time folders in Asia/Shanghai around its midnight, JSON
// field folders, invalid records to invalidRuleData/, a redelivery that
// adds nothing, and bad settings refused with one line naming the variable.
func TestInvokeRouted(t *testing.T) {
	srv := osskit.NewServer(t, osstest.WithBucket(fcBucket), osstest.WithCredentials(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, ""))
	creds := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + fcCreds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + fcCreds.AccessKeySecret}
	st := osskit.Store(t, srv.Endpoint(), fcBucket, ossstore.Credentials{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret})
	// 2026-11-24T15:59:59.999Z is 23:59:59.999 in Shanghai; a millisecond
	// later it is the 25th there.
	midnight := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC).UnixMilli()
	mk := func(topic string, off int64, ts int64, value string) events.Record {
		return events.Record{Topic: topic, Partition: 0, Offset: off, Timestamp: ts, Key: []byte("k"), HasKey: true,
			Value: []byte(value), Headers: []byte(`[{"key":"tenant","value":"acme"}]`)}
	}
	write := func(t *testing.T, recs []events.Record) string {
		file := filepath.Join(t.TempDir(), "events.json")
		if err := os.WriteFile(file, eventstest.Encode(eventstest.CloudEvents, recs, events.Text), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	ctx := context.Background()

	t.Run("time folders", func(t *testing.T) {
		recs := []events.Record{
			mk("clicks", 0, midnight-1, `{"user":{"id":"u1"}}`),
			mk("clicks", 1, midnight, `{"user":{"id":"u2"}}`),
			mk("clicks", 2, midnight+3_600_000, `{"user":{"id":"u1"}}`),
		}
		env := append([]string{"SINK_FOLDER={topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", "SINK_TIMEZONE=Asia/Shanghai"}, creds...)
		file := write(t, recs)
		for range 2 { // the second run is a redelivery
			if code, _, stderr := invokeBinary(t, srv.Endpoint(), env, file); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
		}
		for i, dir := range []string{"dt=2026-11-24/hh=23/", "dt=2026-11-25/hh=00/", "dt=2026-11-25/hh=01/"} {
			key := sink.ObjectKey(fcPrefix+"/", "clicks", dir, 0, int64(i), 0) + ".jsonl"
			if _, err := st.Stat(ctx, key); err != nil {
				t.Errorf("record %d: %s: %v", i, key, err)
			}
		}
		w := sinktest.Want{Offsets: map[int32][]int64{0: {0, 1, 2}}}
		if err := sinktest.CheckWith(ctx, st, fcPrefix, "clicks", sinktest.JSONLOffset, w); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("field and header folders, invalid records", func(t *testing.T) {
		recs := []events.Record{
			mk("views", 0, midnight, `{"user":{"id":"u1"}}`),
			mk("views", 1, midnight, `{"user":{"id":"a/b"}}`),
			mk("views", 2, midnight, `{"user":{}}`),
			mk("views", 3, midnight, `not json`),
		}
		env := append([]string{"SINK_FOLDER={header:tenant}/{topic}/user={value:user.id}/"}, creds...)
		if code, _, stderr := invokeBinary(t, srv.Endpoint(), env, write(t, recs)); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for off, dir := range map[int64]string{0: "/acme/views/user=u1/", 1: "/acme/views/user=a%2Fb/", 2: "/invalidRuleData/views/", 3: "/invalidRuleData/views/"} {
			if off == 3 {
				continue // in the object of offset 2
			}
			key := sink.ObjectKey(fcPrefix+"/", "views", dir, 0, off, 0) + ".jsonl"
			if _, err := st.Stat(ctx, key); err != nil {
				t.Errorf("record %d: %s: %v", off, key, err)
			}
		}
		w := sinktest.Want{Offsets: map[int32][]int64{0: {0, 1, 2, 3}}, Dirs: []string{"acme/"}}
		if err := sinktest.CheckWith(ctx, st, fcPrefix, "views", sinktest.JSONLOffset, w); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("invalid fails the batch", func(t *testing.T) {
		recs := []events.Record{mk("taps", 0, midnight, `{"user":{"id":"u1"}}`), mk("taps", 1, midnight, `{}`)}
		env := append([]string{"SINK_FOLDER={topic}/{value:user.id}/", "SINK_INVALID=fail"}, creds...)
		code, _, stderr := invokeBinary(t, srv.Endpoint(), env, write(t, recs))
		if code != 1 || !strings.Contains(stderr, "offset 1") || !strings.Contains(stderr, "{value:user.id}") || !strings.Contains(stderr, "retrying cannot help") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		infos, err := st.List(ctx, fcPrefix+"/taps/")
		if err != nil || len(infos) != 0 {
			t.Fatalf("written: %v %v", infos, err)
		}
	})

	t.Run("filter", func(t *testing.T) {
		recs := []events.Record{mk("beats", 0, midnight, `{"kind":"heartbeat"}`), mk("beats", 1, midnight, `{"kind":"order"}`),
			mk("beats", 2, midnight, `{"kind":"heartbeat"}`)}
		env := append([]string{`SINK_FILTER=drop value:kind = "heartbeat"`, "LOG_LEVEL=info"}, creds...)
		code, _, stderr := invokeBinary(t, srv.Endpoint(), env, write(t, recs))
		if code != 0 || !strings.Contains(stderr, `"filtered":2`) {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		w := sinktest.Want{Offsets: map[int32][]int64{0: {1}}, Committed: map[int32]int64{0: 2}}
		if err := sinktest.CheckWith(ctx, st, fcPrefix, "beats", sinktest.JSONLOffset, w); err != nil {
			t.Fatal(err)
		}
	})

	for _, tc := range []struct{ name, env, words string }{
		{"unknown token", "SINK_FOLDER={topic}/{hour}/", "SINK_FOLDER|position 9|{hour}"},
		{"bad zone", "SINK_TIMEZONE=Asia/Atlantis", "SINK_TIMEZONE|Asia/Atlantis"},
		{"bad policy", "SINK_INVALID=skip", "SINK_INVALID"},
		{"bad filter", `SINK_FILTER=keep value ~ "("`, "SINK_FILTER|rule 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := invokeBinary(t, srv.Endpoint(), append([]string{tc.env}, creds...), write(t, []events.Record{mk("bad", 0, midnight, "x")}))
			if code != 2 || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, want 2 and one line: %s", code, stderr)
			}
			for _, w := range strings.Split(tc.words, "|") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q: %s", w, stderr)
				}
			}
		})
	}
}
