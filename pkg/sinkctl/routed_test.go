package sinkctl_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/kafkatest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

var cst = time.FixedZone("CST", 8*3600)

// routedStore writes partitions 0 and 1 of "orders" and 0 of "payments"
// under prefix "backup" with the engine and the real router of tm (tenant
// and day folders across midnight, invalidRuleData/), 4 records per
// object, folders closed past 3, and returns the records of orders by
// partition.
func routedStore(t *testing.T, st store.Store, tm fixture.Template) map[int32][]events.Record {
	t.Helper()
	recs := fixture.RoutedByEngine(t, st, tm, 0, 7, []fixture.Part{{Topic: "orders", P: 0, N: 40}, {Topic: "orders", P: 1, N: 25}, {Topic: "payments", P: 0, N: 30}},
		sink.WithPrefix("backup"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(4), sink.WithMaxOpenFolders(3))
	return map[int32][]events.Record{0: recs[0], 1: recs[1]}
}

// TestVerifyRouted runs `sinkctl verify` on routed stores: with the
// template from --folder or from SINK_FOLDER, a store shared with another
// topic is clean, the FOLDERS table and the JSON report count folders and
// invalid records; without the template, the folders outside the topic's
// directory are not searched and verify says so; a bad template is a usage
// error naming the flag.
func TestVerifyRouted(t *testing.T) {
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	tm := fixture.Template{Shared: true, Loc: cst}
	recs := routedStore(t, st, tm)
	invalid := 0
	for _, rs := range recs {
		for _, r := range rs {
			if _, bad := tm.Dir(&r); bad {
				invalid++
			}
		}
	}

	args := []string{"verify", "--dir", dir, "--prefix", "backup", "--topic", "orders"}
	r := run(nil, false, append(args, "--folder", tm.String())...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, ": OK\n") || !strings.Contains(r.stdout, "\nFOLDERS\n") ||
		!strings.Contains(r.stdout, "in invalidRuleData/: records whose folder") || !strings.Contains(r.stdout, "belong to topics or partitions not checked") {
		t.Fatalf("--folder: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	code, rep, _ := verifyJSON(t, map[string]string{"SINK_FOLDER": tm.String()}, append(args[1:], "--format", "auto")...)
	if code != sinkctl.ExitOK || rep.Total.InvalidRecords != int64(invalid) || rep.Total.Records != int64(len(recs[0])+len(recs[1])) ||
		rep.OtherObjects == 0 || rep.Partitions[0].Folders < 3 {
		t.Fatalf("SINK_FOLDER, --json: exit %d, total %+v, others %d, defects %v", code, rep.Total, rep.OtherObjects, rep.AllDefects())
	}
	// The JSON names of what routing added.
	raw := run(map[string]string{"SINK_FOLDER": tm.String()}, false, append(args, "--json")...).stdout
	for _, field := range []string{`"invalid_records":`, `"folders":`, `"filtered":`, `"other_objects":`, `"listed_dirs":`} {
		if !strings.Contains(raw, field) {
			t.Errorf("--json lacks %s", field)
		}
	}

	r = run(nil, false, args...)
	if r.code != sinkctl.ExitFailed || !strings.Contains(r.stdout, "folder_not_listed") {
		t.Fatalf("without the template: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Without --topic the whole prefix is listed: every folder is found.
	r = run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
	if r.code != sinkctl.ExitOK {
		t.Fatalf("whole prefix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--folder", "{nope}/"}, "--folder"},
		{map[string]string{"SINK_FOLDER": "{topic}/{header:}/"}, nil, "SINK_FOLDER"},
	} {
		r := run(tc.env, false, append(args, tc.args...)...)
		if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("bad template %v %v: exit %d\n%s", tc.env, tc.args, r.code, r.stderr)
		}
	}
}

// TestRestoreRoutedOSS runs `sinkctl restore` on a routed bucket (the OSS
// SDK against osstest), the template from SINK_FOLDER as the function has
// it: --exclude-invalid first, then everything; each record lands once,
// in offset order, the invalid ones after the others.
func TestRestoreRoutedOSS(t *testing.T) {
	t.Parallel()
	const secret, token = "very-secret-key-value", "sts-token-value"
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", secret, token))
	tm := fixture.Template{Shared: true, Loc: cst}
	recs := routedStore(t, ossStore(t, srv.Endpoint(), secret, token), tm)
	env := map[string]string{
		"OSS_BUCKET": "sink", "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup", "SINK_FOLDER": tm.String(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token,
	}
	addrs := kafkatest.NewCluster(t, kfake.SeedTopics(2, "restored")).ListenAddrs()
	args := []string{"restore", "--topic", "orders", "--target-topic", "restored", "--brokers", strings.Join(addrs, ","), "--chunk", "4"}

	r := run(env, false, append(args, "--exclude-invalid")...)
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "were left out (--exclude-invalid)") || !strings.Contains(r.stdout, "merged into offset order") {
		t.Fatalf("--exclude-invalid: %+v", r)
	}
	r = run(env, false, append(args, "--json")...)
	var sum restore.Summary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || r.code != sinkctl.ExitOK || sum.InvalidRecords == 0 || sum.Records != sum.InvalidRecords ||
		sum.OtherObjects == 0 || sum.Partitions[0].Folders < 3 {
		t.Fatalf("then everything: %v, %+v", err, r)
	}
	for p := range int32(2) {
		var ok, invalid []events.Record
		for _, rec := range recs[p] {
			if _, bad := tm.Dir(&rec); bad {
				invalid = append(invalid, rec)
			} else {
				ok = append(ok, rec)
			}
		}
		want := append(ok, invalid...)
		got := kafkatest.ReadPartition(t, addrs, "restored", p)
		if len(got) != len(want) {
			t.Fatalf("restored/%d: %d records, want %d", p, len(got), len(want))
		}
		for i, w := range want {
			if !bytes.Equal(got[i].Key, w.Key) || !bytes.Equal(got[i].Value, w.Value) || (got[i].Value == nil) != (w.Value == nil) {
				t.Fatalf("restored/%d record %d: key %q, want offset %d key %q", p, i, got[i].Key, w.Offset, w.Key)
			}
		}
	}
}
