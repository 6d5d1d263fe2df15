package sinkctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// fill writes 10 records to each of partitions 0 and 1 of "orders" with the
// real engine, 3 records per object, and returns the data objects of
// partition 0.
func fill(t *testing.T, st store.Store, enc format.Encoder) []string {
	t.Helper()
	sk, err := sink.New(sink.WithPrefix("backup"), sink.WithEncoder(enc), sink.WithFlushRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	var recs []events.Record
	for off := range int64(10) {
		for p := range int32(2) {
			recs = append(recs, events.Record{Topic: "orders", Partition: p, Offset: off, Timestamp: 1_700_000_000_000,
				Value: fmt.Appendf(nil, "value %d/%d", p, off)})
		}
	}
	for i := 0; i < len(recs); i += 4 {
		if _, err := sk.Write(context.Background(), st, recs[i:i+4]); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := st.List(context.Background(), "backup/orders/partition_0_")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

type result struct {
	code           int
	stdout, stderr string
}

func run(env map[string]string, terminal bool, args ...string) result {
	var out, errb bytes.Buffer
	code := sinkctl.Main(context.Background(), args, sinkctl.Env{
		Stdout: &out, Stderr: &errb, Terminal: terminal,
		Getenv: func(k string) string { return env[k] },
	})
	return result{code, out.String(), errb.String()}
}

// TestVerifyDir runs `sinkctl verify` in-process on a local directory:
// the table and exit code of a clean store, then of a planted duplicate,
// and the JSON report.
func TestVerifyDir(t *testing.T) {
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	objs := fill(t, st, format.Encoder{Format: format.JSONL})

	r := run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
	if r.code != sinkctl.ExitOK || r.stderr != "" {
		t.Fatalf("clean: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"TOPIC   PARTITION  FORMAT  OBJECTS  RECORDS  FIRST  LAST  BYTES",
		"\norders  0          jsonl   4        10       0      9     ",
		"\norders  1          jsonl   4        10       0      9     ",
		"2 partitions, 8 objects, 20 records, ",
		": OK\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("clean table lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "DEFECTS") {
		t.Errorf("clean table lists defects:\n%s", r.stdout)
	}

	// Duplicate the first line of the first object at the end of the
	// second, behind the second's record index: the index says so, and the
	// object, read by its lines, holds offset 0 twice.
	first, _ := st.Get(context.Background(), objs[0])
	second, _ := st.Get(context.Background(), objs[1])
	if err := st.Delete(context.Background(), objs[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(context.Background(), objs[1], 0, append(second, first[:bytes.IndexByte(first, '\n')+1]...)); err != nil {
		t.Fatal(err)
	}
	r = run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
	if r.code != sinkctl.ExitFailed {
		t.Errorf("duplicate: exit %d, want 1; stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		"\norders  0          jsonl   4        11       0      9     ", "  2       0\n",
		"FAILED: 2 errors, 0 warnings", "\nDEFECTS\nerror   index_inconsistent orders/0 " + objs[1] + ": its record index ",
		"\nerror   duplicate_offset orders/0 " + objs[1] + " line 4 byte ",
		"offset 0 is stored twice: also in " + objs[0],
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}

	// Only partition 1: clean.
	if r := run(nil, false, "verify", "--dir", dir, "--prefix", "backup", "--topic", "orders", "--partition", "1"); r.code != 0 ||
		strings.Contains(r.stdout, "orders  0 ") {
		t.Errorf("partition 1 only: exit %d\n%s", r.code, r.stdout)
	}

	r = run(map[string]string{"OSS_PREFIX": "backup"}, false, "verify", "--dir", dir, "--json", "--objects")
	if r.code != sinkctl.ExitFailed {
		t.Errorf("--json: exit %d", r.code)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	ds := rep.AllDefects()
	if rep.OK() || rep.Prefix != "backup/" || len(rep.Partitions) != 2 || len(ds) != 2 || ds[0].Code != verify.CodeIndexInconsistent ||
		ds[1].Code != verify.CodeDuplicateOffset || ds[1].Object != objs[1] || ds[1].Other != objs[0] || len(rep.Partitions[0].ObjectList) != 4 {
		t.Errorf("--json report: %+v", rep)
	}
}

func TestVerifyUsage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no command", nil, nil, 2, "Usage: sinkctl"},
		{"help", nil, []string{"help"}, 0, ""},
		{"unknown command", nil, []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"verify help", nil, []string{"verify", "-h"}, 0, "Usage: sinkctl verify"},
		{"unknown flag", nil, []string{"verify", "--dir", dir, "--bogus"}, 2, "unknown flag --bogus"},
		{"argument", nil, []string{"verify", "--dir", dir, "extra"}, 2, `unexpected argument "extra"`},
		{"bad format", nil, []string{"verify", "--dir", dir, "--format", "xml"}, 2, "--format"},
		{"bad partition", nil, []string{"verify", "--dir", dir, "--partition", "x"}, 2, `--partition "x"`},
		{"bad topic", nil, []string{"verify", "--dir", dir, "--topic", "a/b"}, 2, `--topic "a/b"`},
		{"missing dir", nil, []string{"verify", "--dir", filepath.Join(dir, "nope")}, 2, "no such file or directory"},
		{"dir is a file", nil, []string{"verify", "--dir", file}, 2, "is not a directory"},
		{"default dir missing", map[string]string{"SINK_LOCAL_DIR": filepath.Join(dir, "nope")}, []string{"verify"}, 2, "pass --dir"},
		{"bad config", map[string]string{"OSS_BUCKET": "Bad_Bucket", "OSS_ENDPOINT": "http://127.0.0.1:1"}, []string{"verify"}, 2, "OSS_BUCKET"},
		{"no credentials", map[string]string{"OSS_BUCKET": "sink", "OSS_ENDPOINT": "http://127.0.0.1:1"}, []string{"verify"}, 2, "no OSS credentials"},
		{"empty dir", nil, []string{"verify", "--dir", dir}, 0, "no_data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(c.env, false, c.args...)
			if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
				t.Errorf("exit %d, want %d with %q; stdout %q, stderr %q", r.code, c.code, c.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestVerifyOSS runs the command against the OSS test server from the
// function's environment: a clean bucket, wrong credentials, a missing
// bucket, an endpoint that refuses connections and one that never answers.
// Secrets never appear in the output.
func TestVerifyOSS(t *testing.T) {
	const secret, token = "very-secret-key-value", "sts-token-value"
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", secret, token))
	env := map[string]string{
		"OSS_BUCKET": "sink", "OSS_ENDPOINT": srv.Endpoint(), "OSS_PREFIX": "backup",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret, "ALIBABA_CLOUD_SECURITY_TOKEN": token,
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range env {
			m[k] = v
		}
		m[k] = v
		return m
	}
	// Fill the bucket through the SDK, as the function does.
	st := ossStore(t, srv.Endpoint(), secret, token)
	fill(t, st, format.Encoder{})

	r := run(env, true, "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "oss://sink/backup/") || !strings.Contains(r.stdout, "2 partitions, 8 objects, 20 records") {
		t.Errorf("clean bucket: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "verifying: ") || !strings.HasSuffix(r.stderr, "\r\033[K") {
		t.Errorf("no progress on a terminal: %q", r.stderr)
	}

	listen, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { // accept and never answer
		var held []net.Conn
		for {
			c, err := listen.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	defer listen.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	for _, c := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong secret", with("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "wrong-"+secret), "OSS denied access to bucket \"sink\""},
		{"wrong token", with("ALIBABA_CLOUD_SECURITY_TOKEN", "wrong-"+token), "ALIBABA_CLOUD_SECURITY_TOKEN"},
		{"no bucket", with("OSS_BUCKET", "nope"), `bucket "nope" does not exist`},
		{"refused", with("OSS_ENDPOINT", refused), "cannot reach OSS bucket"},
		{"silent", with("OSS_ENDPOINT", "http://"+listen.Addr().String()), "did not answer within 1s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			r := run(c.env, false, "verify", "--oss-timeout", "1s")
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, token) {
				t.Errorf("output shows a secret: %q", r.stderr)
			}
		})
	}

	// Expired STS credentials are no refusal of access: the way out is
	// fresh credentials, not another policy.
	srv.ExpireCredentials("STS.ak")
	r = run(env, false, "verify", "--oss-timeout", "1s")
	if r.code != 2 || !strings.Contains(r.stderr, `temporary (STS) credentials for bucket "sink" have expired`) ||
		!strings.Contains(r.stderr, "ALIBABA_CLOUD_SECURITY_TOKEN") || strings.Contains(r.stderr, "denied") {
		t.Errorf("expired credentials: exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, token) {
		t.Errorf("output shows a secret: %q", r.stderr)
	}
}
