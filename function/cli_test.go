package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
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
			args := tt.args
			if tt.env("OSS_BUCKET") == "" { // -dir with a bucket is refused
				args = append([]string{"-dir", t.TempDir()}, args...)
			}
			r := invokeCLI(t, tt.env, args...)
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

// TestSlowOSSMeetsDeadline: with OSS not answering, the handler gives up
// on its own before the invocation's deadline, with an error that makes the
// trigger redeliver, and the redelivery stores every record exactly once,
// whether the appends OSS never answered were dropped or applied after the
// client gave up.
//
// Nothing here races the machine's speed. OSS never answers an append
// until the test releases it, after the invocation has returned, so the
// invocation can only end through its deadline; the deadline error naming
// the sink's own early stop (sink.ErrDeadline, the deadline less the
// margin) rather than the context's deadline is what shows it stopped
// before the platform's deadline, not a wall-clock measurement. The only
// time bounds are hang guards, and the 1.5s between the invocation's start
// and the sink's early stop, in which it has to reach its first append:
// a few requests to a local server, milliseconds even on a loaded machine.
func TestSlowOSSMeetsDeadline(t *testing.T) {
	// The handler's margin is sink.DefaultDeadlineMargin (2s): it stops
	// starting and cuts requests 1.5s into this 3.5s invocation.
	const timeout = "3.5s"
	for _, tc := range []struct {
		name     string
		dataOnly bool // hold only the appends to data objects: their index entries land
		land     bool // apply the held appends after the client gave up (else drop them)
	}{
		{"all appends dropped", false, false},
		{"all appends landed late", false, true}, // index entries announcing data never sent
		{"data appends dropped", true, false},    // announced data missing
		{"data appends landed late", true, true}, // announced data there, unacknowledged
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "sk", ""))
			gate := &silentAppends{next: srv.Handler(), dataOnly: tc.dataOnly, land: tc.land, released: make(chan struct{})}
			front := httptest.NewServer(gate)
			// Cleanups run last first: release the held requests, then
			// close the server (which waits for its handlers).
			t.Cleanup(front.Close)
			t.Cleanup(gate.release)
			env := []string{"OSS_BUCKET", "sink", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sk", "SINK_FORMAT", "jsonl"}
			const batch = "../testdata/multi-partition.json"

			done := make(chan cliResult, 1)
			go func() {
				// Off the test goroutine, so no t.Fatal in here.
				done <- invokeCLINoFatal(testkit.Env(append(env, "OSS_ENDPOINT", front.URL)...), "-timeout", timeout, batch)
			}()
			var r cliResult
			select {
			case r = <-done:
			case <-time.After(2 * time.Minute): // hang guard only
				t.Fatalf("the invocation with a %s timeout has not returned after 2 minutes: it does not give up on an unanswered OSS request", timeout)
			}
			held := gate.heldRequests()
			if r.code != 1 {
				t.Fatalf("exit %d, want 1 (a batch failure)\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.resp.Error, sink.ErrDeadline.Error()) {
				t.Fatalf("error does not say the sink stopped before the deadline (%q): %q", sink.ErrDeadline, r.resp.Error)
			}
			// Retryable: the invocation's error is a *handler.WriteError,
			// which the trigger redelivers; a permanent one would say
			// retrying cannot help.
			if !strings.Contains(r.stderr, "function invoke: write failed, the trigger's retry will resume it: ") || strings.Contains(r.stderr, "retrying cannot help") {
				t.Fatalf("deadline error not reported as retryable:\n%s", r.stderr)
			}
			if len(held) == 0 {
				t.Fatalf("the sink stopped before its first append (error %q): nothing shows it waited on OSS", r.resp.Error)
			}
			// Every unanswered request was cut by the client, not left open
			// for the platform to find when it freezes the instance.
			for _, h := range held {
				select {
				case <-h.gone:
				case <-time.After(time.Minute): // hang guard only
					t.Fatalf("append to %s still open a minute after the invocation returned", h.path)
				}
			}
			gate.release()
			gate.wait()
			if tc.land {
				for _, h := range held {
					if h.status != http.StatusOK {
						t.Fatalf("late append to %s: status %d", h.path, h.status)
					}
				}
			}

			getenv := testkit.Env(append(env, "OSS_ENDPOINT", srv.Endpoint())...)
			r = invokeCLI(t, getenv, batch)
			if r.code != 0 {
				t.Fatalf("redelivery: exit %d\n%s", r.code, r.stderr)
			}
			again := invokeCLI(t, getenv, batch)
			if again.code != 0 || again.resp.Written != 0 || again.resp.Recovered != 0 || again.resp.Duplicates != again.resp.Records {
				t.Fatalf("third delivery: exit %d, wrote %d, recovered %d, skipped %d of %d", again.code, again.resp.Written, again.resp.Recovered, again.resp.Duplicates, again.resp.Records)
			}

			// Exactly once: the stored lines are those of a delivery that
			// met no fault at all, and verify finds the store consistent.
			ref := osskit.NewServer(t, osstest.WithBucket("sink"), osstest.WithCredentials("ak", "sk", ""))
			if rr := invokeCLI(t, testkit.Env(append(env, "OSS_ENDPOINT", ref.Endpoint())...), batch); rr.code != 0 {
				t.Fatalf("reference delivery: exit %d\n%s", rr.code, rr.stderr)
			}
			if got, want := storedLines(srv), storedLines(ref); got != want {
				t.Fatalf("stored records differ from a delivery without faults:\n%s\nwant:\n%s", got, want)
			}
			st := osskit.Store(t, srv.Endpoint(), "sink", ossstore.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"})
			rep, err := verify.Run(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Records != int64(strings.Count(storedLines(ref), "\n")) {
				t.Fatalf("verify: total %+v, defects %v", rep.Total, rep.AllDefects())
			}
			t.Logf("%d appends held unanswered; redelivery wrote %d, recovered %d", len(held), r.resp.Written, r.resp.Recovered)
		})
	}
}

// invokeCLINoFatal is invokeCLI for another goroutine than the test's: an
// unparsable summary leaves resp zero (the caller's checks then fail).
func invokeCLINoFatal(getenv func(string) string, args ...string) cliResult {
	var stdout, stderr bytes.Buffer
	code := runCLI(append([]string{"invoke"}, args...), strings.NewReader(""), &stdout, &stderr, getenv)
	r := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if err := json.Unmarshal(stdout.Bytes(), &r.resp); err != nil {
		r.stderr += fmt.Sprintf("\nsummary is not JSON: %v\n%s", err, stdout.String())
	}
	return r
}

// storedLines returns the lines of every data object on srv, sorted: the
// records stored, whatever objects they went to.
func storedLines(srv *osstest.Server) string {
	var lines []string
	for _, k := range srv.Keys("sink", "") {
		if base := path.Base(k); strings.HasPrefix(base, ".oss_") {
			continue // meta and index objects
		}
		data, _ := srv.Object("sink", k)
		lines = append(lines, strings.SplitAfter(string(data), "\n")...)
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// silentAppends stands in front of the OSS test server as an OSS that
// never answers an AppendObject request (with dataOnly, one to a data
// object) until the test releases it. It
// reads each append's body (net/http notices a client hanging up only
// after that) and holds the request; on release it either drops the
// request or applies it to the server behind, as an OSS that received the
// request but answered only after the client had given up. Every other
// request passes through.
type silentAppends struct {
	next     http.Handler
	dataOnly bool // pass appends to meta and index objects through
	land     bool
	released chan struct{}
	once     sync.Once
	handlers sync.WaitGroup

	mu   sync.Mutex
	held []*heldAppend
}

type heldAppend struct {
	path   string
	gone   chan struct{} // closed when the client gave up on the request
	status int           // with land, the server's status for it once applied
}

func (g *silentAppends) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, isAppend := r.URL.Query()["append"]
	if r.Method != http.MethodPost || !isAppend || g.dataOnly && strings.HasPrefix(path.Base(r.URL.Path), ".oss_") {
		g.next.ServeHTTP(w, r)
		return
	}
	g.handlers.Add(1)
	defer g.handlers.Done()
	body, err := io.ReadAll(r.Body)
	h := &heldAppend{path: r.URL.Path, gone: make(chan struct{})}
	g.mu.Lock()
	g.held = append(g.held, h)
	g.mu.Unlock()
	select {
	case <-r.Context().Done():
		close(h.gone)
		<-g.released
	case <-g.released: // the client is still waiting: the test has failed
	}
	if g.land && err == nil {
		req := r.Clone(context.WithoutCancel(r.Context()))
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		g.next.ServeHTTP(rec, req)
		h.status = rec.Code
	}
	// No reply at all: close the connection rather than let net/http send
	// an empty 200.
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

func (g *silentAppends) release() { g.once.Do(func() { close(g.released) }) }

// wait returns once every held request has been dropped or applied.
func (g *silentAppends) wait() { g.handlers.Wait() }

// heldRequests returns the appends held so far.
func (g *silentAppends) heldRequests() []*heldAppend {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*heldAppend(nil), g.held...)
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
