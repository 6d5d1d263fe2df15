package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

type cliResult struct {
	code           int
	stdout, stderr string
	resp           handler.Response
}

func invokeCLI(t *testing.T, getenv func(string) string, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runCLI(append([]string{"invoke"}, args...), strings.NewReader(""), &stdout, &stderr, getenv)
	r := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &r.resp); err != nil {
			t.Fatalf("summary is not JSON: %v\n%s", err, stdout.String())
		}
	}
	return r
}

// dirListing renders a local store directory: every file with its content,
// meta objects without their time and writer fields.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		rel, _ := filepath.Rel(dir, f)
		if strings.Contains(rel, ".oss_meta_file_") {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			delete(m, "updated_at")
			delete(m, "writer")
			for _, f := range m["folders"].(map[string]any) {
				delete(f.(map[string]any), "opened_at")
				delete(f.(map[string]any), "appended_at")
			}
			data, _ = json.MarshalIndent(m, "", "  ")
		}
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.ToSlash(rel), data)
	}
	return b.String()
}

// TestInvokeSamples runs the CLI on every sample event and compares the
// objects written with golden files; a second run writes nothing.
func TestInvokeSamples(t *testing.T) {
	samples, _ := filepath.Glob("../testdata/*.json")
	if len(samples) < 8 {
		t.Fatalf("only %d samples in ../testdata", len(samples))
	}
	for _, sample := range samples {
		name := strings.TrimSuffix(filepath.Base(sample), ".json")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			enc := "text"
			if strings.Contains(name, "base64") {
				enc = "base64"
			}
			for _, format := range []string{"raw", "jsonl"} {
				getenv := testkit.Env("SINK_FORMAT", format, "SINK_VALUE_ENCODING", enc, "OSS_PREFIX", format)
				r := invokeCLI(t, getenv, "-dir", dir, sample)
				if r.code != 0 {
					t.Fatalf("%s: exit %d\n%s", format, r.code, r.stderr)
				}
				again := invokeCLI(t, getenv, "-dir", dir, sample)
				if again.code != 0 || again.resp.Written != 0 || again.resp.Duplicates != r.resp.Records {
					t.Fatalf("%s: second run wrote %d, skipped %d of %d", format, again.resp.Written, again.resp.Duplicates, again.resp.Records)
				}
			}
			got := dirListing(t, dir)
			golden := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				_ = os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if got != string(want) {
				t.Fatalf("objects differ from %s (run with -update if intended):\n%s", golden, got)
			}
		})
	}
}

// TestInvokeMalformed: a malformed batch fails with an error naming the
// element and the field, and writes nothing at all.
func TestInvokeMalformed(t *testing.T) {
	samples, _ := filepath.Glob("../testdata/malformed/*.json")
	if len(samples) == 0 {
		t.Fatal("no malformed samples")
	}
	for _, sample := range samples {
		t.Run(filepath.Base(sample), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			enc := "text"
			if strings.Contains(sample, "base64") {
				enc = "base64"
			}
			r := invokeCLI(t, testkit.Env("SINK_VALUE_ENCODING", enc), "-dir", dir, sample)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, "retrying cannot help") || !(strings.Contains(r.resp.Error, "event[") || strings.Contains(r.resp.Error, "payload")) {
				t.Fatalf("error does not say where: %q", r.resp.Error)
			}
			if listing := dirListing(t, dir); listing != "" {
				t.Fatalf("wrote objects for a malformed batch:\n%s", listing)
			}
		})
	}
}

func TestInvokeUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		env    func(string) string
		args   []string
		code   int
		stderr string
	}{
		{"bad config", testkit.Env("SINK_FLUSH_BYTES", "lots", "SINK_FORMAT", "xml"), []string{"../testdata/cloudevents.json"}, 2, "SINK_FLUSH_BYTES"},
		{"missing file", testkit.Env(), []string{"no-such-file.json"}, 2, "no-such-file.json"},
		{"two files", testkit.Env(), []string{"a.json", "b.json"}, 2, "one event file"},
		{"no credentials", testkit.Env("OSS_BUCKET", "b-1", "OSS_ENDPOINT", "http://127.0.0.1:1"), []string{"../testdata/cloudevents.json"}, 2, "ALIBABA_CLOUD_ACCESS_KEY_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invokeCLI(t, tt.env, append([]string{"-dir", t.TempDir()}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d mentioning %q", r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
	var out bytes.Buffer
	if code := runCLI(nil, nil, &out, &out, testkit.Env()); code != 2 || !strings.Contains(out.String(), "Usage") {
		t.Fatalf("no command: exit %d %q", code, out.String())
	}
}

// TestLogsKeepSecrets: at the default level the logs carry neither the
// credentials nor any record content, through success and failure.
func TestLogsKeepSecrets(t *testing.T) {
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("AKID-visible", "SECRET-must-not-leak", "TOKEN-must-not-leak"))
	env := []string{"OSS_BUCKET", "sink", "OSS_ENDPOINT", srv.Endpoint(), "ALIBABA_CLOUD_ACCESS_KEY_ID", "AKID-visible",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SECRET-must-not-leak", "ALIBABA_CLOUD_SECURITY_TOKEN", "TOKEN-must-not-leak"}
	var logs strings.Builder
	ok := invokeCLI(t, testkit.Env(env...), "../testdata/keys-and-headers.json")
	logs.WriteString(ok.stderr)
	srv.SetFault(osstest.OpAppend, osstest.Fault{Before: 1})
	failed := invokeCLI(t, testkit.Env(env...), "../testdata/multi-partition.json")
	logs.WriteString(failed.stderr)
	bad := invokeCLI(t, testkit.Env(append(env[:len(env)-2:len(env)-2], "ALIBABA_CLOUD_SECURITY_TOKEN", "TOKEN-wrong")...), "../testdata/cloudevents.json")
	logs.WriteString(bad.stderr)
	if ok.code != 0 || failed.code != 1 || bad.code != 2 {
		t.Fatalf("exits %d %d %d, want 0 1 2\n%s", ok.code, failed.code, bad.code, logs.String())
	}
	var values []string
	for _, f := range []string{"../testdata/keys-and-headers.json", "../testdata/multi-partition.json", "../testdata/cloudevents.json"} {
		var evs []struct {
			Data struct {
				Value json.RawMessage `json:"value"`
			} `json:"data"`
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			var s string
			// Whole values, or their first 20 bytes: long enough not to
			// be a topic name or an object key by coincidence.
			if json.Unmarshal(e.Data.Value, &s) == nil && len(s) >= 12 {
				values = append(values, s[:min(20, len(s))])
			}
		}
	}
	if len(values) == 0 {
		t.Fatal("no values to look for")
	}
	for _, secret := range append([]string{"SECRET-must-not-leak", "TOKEN-must-not-leak", "TOKEN-wrong"}, values...) {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
}

// TestSlowOSSMeetsDeadline: with OSS too slow to finish inside the
// invocation's time, the handler stops early with an error that makes the
// trigger redeliver, and the redelivery writes every record once.
func TestSlowOSSMeetsDeadline(t *testing.T) {
	srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "sk", ""))
	getenv := testkit.Env("OSS_BUCKET", "sink", "OSS_ENDPOINT", srv.Endpoint(), "ALIBABA_CLOUD_ACCESS_KEY_ID", "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sk", "SINK_FORMAT", "jsonl")
	srv.SetFault(osstest.OpAppend, osstest.Fault{Latency: 4 * time.Second})
	start := time.Now()
	r := invokeCLI(t, getenv, "-timeout", "3500ms", "../testdata/multi-partition.json")
	if took := time.Since(start); r.code != 1 || took > 3500*time.Millisecond {
		t.Fatalf("exit %d after %v (want a failure before the 3.5s timeout)\n%s", r.code, took, r.stderr)
	}
	if !strings.Contains(r.resp.Error, "deadline") {
		t.Fatalf("error does not mention the deadline: %q", r.resp.Error)
	}
	srv.ClearFaults()
	// The slow appends may have landed after the client gave up.
	r = invokeCLI(t, getenv, "../testdata/multi-partition.json")
	if r.code != 0 {
		t.Fatalf("redelivery: exit %d\n%s", r.code, r.stderr)
	}
	again := invokeCLI(t, getenv, "../testdata/multi-partition.json")
	if again.resp.Written != 0 || again.resp.Recovered != 0 {
		t.Fatalf("third delivery wrote %d", again.resp.Written)
	}
	total := 0
	for _, k := range srv.Keys("sink", "") {
		if !strings.Contains(k, ".oss_meta_file_") && !strings.Contains(k, ".oss_index_") {
			data, _ := srv.Object("sink", k)
			total += bytes.Count(data, []byte("\n"))
		}
	}
	if want := r.resp.Records - r.resp.Duplicates + r.resp.Recovered - r.resp.Recovered; total != r.resp.Written+r.resp.Recovered || total != want+r.resp.Recovered {
		t.Fatalf("%d records in OSS; redelivery wrote %d and recovered %d", total, r.resp.Written, r.resp.Recovered)
	}
}

// TestInvokeTimer: `function invoke` takes the timer trigger's event too:
// with SINK_FLUSH_IDLE set it seals the open objects (the sample's trigger
// time is far ahead), without it it says idle sealing is off.
func TestInvokeTimer(t *testing.T) {
	dir := t.TempDir()
	getenv := testkit.Env("SINK_FORMAT", "parquet", "SINK_FLUSH_IDLE", "15m")
	if r := invokeCLI(t, getenv, "-dir", dir, "../testdata/cloudevents.json"); r.code != 0 {
		t.Fatalf("batch: exit %d\n%s", r.code, r.stderr)
	}
	r := invokeCLI(t, getenv, "-dir", dir, "../testdata/timer/seal-idle.json")
	if r.code != 0 || r.resp.SealIdle == nil || r.resp.SealIdle.Sealed == 0 || r.resp.SealIdle.Sealed != r.resp.SealIdle.Finalized || r.resp.SealIdle.Errors != 0 {
		t.Fatalf("timer: exit %d %+v\n%s%s", r.code, r.resp.SealIdle, r.stdout, r.stderr)
	}
	parquet, _ := filepath.Glob(filepath.Join(dir, "orders", "partition_*.parquet"))
	if len(parquet) != r.resp.SealIdle.Sealed {
		t.Fatalf("%d Parquet objects for %d sealed", len(parquet), r.resp.SealIdle.Sealed)
	}
	off := invokeCLI(t, testkit.Env("SINK_FORMAT", "parquet"), "-dir", dir, "../testdata/timer/seal-idle.json")
	if off.code != 0 || off.resp.SealIdle == nil || !off.resp.SealIdle.Off {
		t.Fatalf("off: exit %d %+v\n%s", off.code, off.resp.SealIdle, off.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"triggerName":"seal-idle","payload":"{\"sink\":\"seal-idle\"}"}`), 0o644)
	if r := invokeCLI(t, getenv, "-dir", dir, bad); r.code != 1 || !strings.Contains(r.stderr, "bad timer payload") {
		t.Fatalf("bad payload: exit %d\n%s", r.code, r.stderr)
	}
}
