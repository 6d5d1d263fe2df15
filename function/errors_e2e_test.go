package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// The tests in this file check, through the compiled binary, that every
// permanent failure says so: under the FC emulator by errorType and
// errorMessage, and through `function invoke` by its exit code and its one
// line on stderr.

// permanent checks an FC error reply: the type, a message that says no
// retry helps, and the words that show the way out.
func permanent(t *testing.T, res fcemu.Result, typ string, words ...string) {
	t.Helper()
	if res.Status != fcemu.StatusError || res.ErrorType != typ {
		t.Fatalf("got %s; want a %s", res, typ)
	}
	if strings.Contains(res.ErrorMessage, "retry will resume") || !strings.Contains(res.ErrorMessage, "permanent") ||
		!strings.Contains(res.ErrorMessage, "retrying cannot help") {
		t.Fatalf("%s does not say that retrying cannot help: %s", typ, res.ErrorMessage)
	}
	for _, w := range words {
		if !strings.Contains(res.ErrorMessage, w) {
			t.Errorf("%s does not mention %q: %s", typ, w, res.ErrorMessage)
		}
	}
}

// TestFCPermanentErrors: wrong credentials, a policy that forbids writing,
// a missing bucket, missing credentials and keys OSS refuses fail every
// invocation with a type and a message that say the setup must change, and
// write nothing.
func TestFCPermanentErrors(t *testing.T) {
	wrongSecret := fcCreds
	wrongSecret.AccessKeySecret = "guess"
	tests := []struct {
		name  string
		env   []string
		oss   []osstest.Opt
		creds *fcemu.Credentials
		topic string // default fcTopic
		typ   string
		words []string
	}{
		{"wrong secret", nil, nil, &wrongSecret, "", "AccessDeniedError",
			[]string{`bucket "sink"`, "SignatureDoesNotMatch", "RAM policy", "template.yaml", "acs:oss:*:*:sink/fc/*"}},
		{"policy denies writes", nil, []osstest.Opt{osstest.WithDeny(osstest.Deny{Ops: []osstest.Op{osstest.OpPut, osstest.OpAppend}})}, nil, "",
			"AccessDeniedError", []string{"ErrorCode=AccessDenied", "oss:PutObject", "template.yaml"}},
		{"no such bucket", []string{"OSS_BUCKET=nope"}, nil, nil, "", "NoSuchBucketError", []string{`bucket "nope"`, "OSS_BUCKET", "OSS_ENDPOINT"}},
		{"no credentials", nil, nil, &fcemu.Credentials{}, "", "ConfigError", []string{"no OSS credentials", "role", "template.yaml"}},
		// A topic no Kafka can have (keys would pass 1,023 bytes, or leave the
		// prefix): refused with the event, before any request.
		{"topic too long", nil, nil, nil, strings.Repeat("t", 1100), "BadEventError", []string{"not a Kafka topic name", "1 to 249", "retrying cannot help"}},
		{"bad routing settings", []string{"SINK_FOLDER={topic}/{hour}/", `SINK_FILTER=keep value ~ "("`}, nil, nil, "", "ConfigError",
			[]string{"SINK_FOLDER", "position 9", "{hour}", "SINK_FILTER", "rule 1"}},
		// Under SINK_INVALID=fail a record without the field fails its
		// batch for good, writing nothing for its partition.
		{"unroutable record", []string{"SINK_FOLDER={topic}/{value:user.id}/", "SINK_INVALID=fail"}, nil, nil, "", "UnroutableError",
			[]string{"offset 0", "{value:user.id}", "SINK_INVALID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFCHarness(t, fcSetup{env: tt.env, oss: tt.oss})
			if tt.creds != nil {
				h.emu.SetCredentials(*tt.creds)
			}
			ctx := fcCtx(t, 30*time.Second)
			topic := tt.topic
			if topic == "" {
				topic = fcTopic
			}
			var recs [][2]int64
			for o := range int64(10) {
				recs = append(recs, [2]int64{0, o}, [2]int64{1, o})
			}
			for i := range 2 { // the redelivery fails the same way
				res, err := h.emu.Invoke(ctx, cloudEvents(topic, recs), fcemu.RetryCount(i))
				if err != nil {
					t.Fatal(err)
				}
				permanent(t, res, tt.typ, tt.words...)
			}
			if keys := h.oss.Keys(fcBucket, ""); len(keys) != 0 {
				t.Fatalf("wrote %v", keys)
			}
		})
	}
}

// TestFCObjectNotAppendable: someone PUTs over the partition's open data
// object; the next batch, and its redeliveries, fail with a
// StateConflictError that says what happened.
func TestFCObjectNotAppendable(t *testing.T) {
	h := newFCHarness(t, fcSetup{})
	ctx := fcCtx(t, 30*time.Second)
	streams := fcStreams(9, 1, 20)
	first := fcBatch(streams, 0, 0, 10)
	if _, err := fcCheckSummary(first, h.invoke(ctx, first)); err != nil {
		t.Fatal(err)
	}
	overwriteOpenObject(t, h.oss, fcPrefix+"/")
	for i := range 2 {
		res := h.invoke(ctx, fcBatch(streams, 0, 5, 20), fcemu.RetryCount(i))
		permanent(t, res, "StateConflictError", "overwritten by a normal PUT", "ObjectNotAppendable")
	}
}

// overwriteOpenObject replaces the open data objects under prefix with
// normal objects of the same bytes, through the SDK, as a careless user would.
func overwriteOpenObject(t *testing.T, srv *osstest.Server, prefix string) {
	t.Helper()
	st := osskit.Store(t, srv.Endpoint(), fcBucket,
		ossstore.Credentials{AccessKeyID: fcCreds.AccessKeyID, AccessKeySecret: fcCreds.AccessKeySecret, SecurityToken: fcCreds.SecurityToken})
	n := 0
	for _, k := range srv.Keys(fcBucket, prefix) {
		if info, _ := srv.ObjectInfo(fcBucket, k); !strings.Contains(k, ".oss_meta_file_") && info.Appendable {
			data, err := st.Get(t.Context(), k)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(t.Context(), k, data); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no open data object under %s", prefix)
	}
}

// TestFCEndpointPassword: an OSS_ENDPOINT with a password is refused as a
// ConfigError, and the password shows nowhere: not in the error reply, not
// in the initializer's or any other log line, not on stdout.
func TestFCEndpointPassword(t *testing.T) {
	const pw = "Pa55-w0rd-in-the-endpoint"
	h := newFCHarness(t, fcSetup{env: []string{"OSS_ENDPOINT=http://admin:" + pw + "@127.0.0.1:9"}})
	ctx := fcCtx(t, 30*time.Second)
	inst := h.sup.Current()
	var replies []string
	r, err := inst.Initialize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replies = append(replies, string(r.Body), r.ErrorMessage)
	res := h.invoke(ctx, fcBatch(map[int32][]int64{0: {1, 2}}, 0, 0, 2))
	permanent(t, res, "ConfigError", "OSS_ENDPOINT", "must not contain a user name or password", "http://REDACTED@127.0.0.1:9")
	replies = append(replies, string(res.Body), res.ErrorMessage)
	if r, err := inst.PreStop(ctx); err != nil || r.Status != fcemu.StatusOK {
		t.Fatalf("PreStop: %s, %v", r, err)
	}
	out := strings.Join(append(replies, h.logs.Tail(1<<30)), "\n")
	if !strings.Contains(out, "configuration invalid") {
		t.Fatalf("the log does not report the configuration:\n%s", out)
	}
	if strings.Contains(out, pw) {
		t.Fatalf("the password shows:\n%s", out)
	}
}

// invokeBinary runs the compiled `function invoke` on file with the
// function's environment (fcProcessEnv) plus extra.
func invokeBinary(t *testing.T, endpoint string, extra []string, file string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), "invoke", file)
	cmd.Env = fcProcessEnv(endpoint, "jsonl", extra)
	r := bintest.Run(t, time.Minute, cmd)
	return r.Code, r.Stdout, r.Stderr
}

// TestInvokeExitCodes: `function invoke` exits 2 with one line on stderr
// for configuration, credential and permission errors (whatever the number
// of partitions failing), 1 with its log for failed writes and conflicts;
// no output shows a secret.
func TestInvokeExitCodes(t *testing.T) {
	const pw = "Pa55-w0rd-in-the-endpoint"
	srv := osskit.NewServer(t, osstest.WithBucket(fcBucket), osstest.WithCredentials(fcCreds.AccessKeyID, fcCreds.AccessKeySecret, ""))
	creds := []string{"ALIBABA_CLOUD_ACCESS_KEY_ID=" + fcCreds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + fcCreds.AccessKeySecret, "LOG_LEVEL=info"}
	// Two partitions: their errors, joined, must still make one line.
	batch := func(from, to int64) [][2]int64 {
		var recs [][2]int64
		for o := from; o < to; o++ {
			recs = append(recs, [2]int64{0, o}, [2]int64{1, o})
		}
		return recs
	}
	first, second := batch(0, 5), batch(5, 10)
	tests := []struct {
		name  string
		env   []string
		setup func()
		code  int
		words []string
		recs  [][2]int64 // default first
	}{
		{"wrong secret", []string{creds[0], "ALIBABA_CLOUD_ACCESS_KEY_SECRET=guess", "LOG_LEVEL=info"}, nil, 2,
			[]string{"OSS denied access", "permanent", "template.yaml", "SignatureDoesNotMatch"}, nil},
		{"no such bucket", append([]string{"OSS_BUCKET=nope"}, creds...), nil, 2, []string{`bucket "nope" does not exist`}, nil},
		{"no credentials", []string{"LOG_LEVEL=info"}, nil, 2, []string{"no OSS credentials", "ALIBABA_CLOUD_ACCESS_KEY_ID"}, nil},
		{"invalid variables", append([]string{"SINK_FLUSH_BYTES=lots", "SINK_FORMAT=xml"}, creds...), nil, 2,
			[]string{"SINK_FLUSH_BYTES", "SINK_FORMAT"}, nil},
		{"password in the endpoint", append([]string{"OSS_ENDPOINT=http://admin:" + pw + "@" + strings.TrimPrefix(srv.Endpoint(), "http://")}, creds...), nil, 2,
			[]string{"OSS_ENDPOINT", "REDACTED"}, nil},
		{"failed write", creds, func() { srv.SetFault(osstest.OpAppend, osstest.Fault{Before: 1}) }, 1,
			[]string{"retry will resume", `"invocation done"`}, nil},
		{"stored", creds, srv.ClearFaults, 0, []string{`"invocation done"`}, nil},
		{"state conflict", creds, func() { overwriteOpenObject(t, srv, fcPrefix+"/"+fcTopic+"/") }, 1,
			[]string{"overwritten by a normal PUT", `"invocation done"`}, second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			recs := tt.recs
			if recs == nil {
				recs = first
			}
			file := filepath.Join(t.TempDir(), "events.json")
			if err := os.WriteFile(file, cloudEvents(fcTopic, recs), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := invokeBinary(t, srv.Endpoint(), tt.env, file)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, tt.code, stderr)
			}
			if code == 2 && (strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "function invoke: ")) {
				t.Fatalf("want one line on stderr, got:\n%s", stderr)
			}
			for _, w := range tt.words {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			for _, secret := range []string{pw, fcCreds.AccessKeySecret, "guess"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Fatalf("the output shows %q:\n%s\n%s", secret, stdout, stderr)
				}
			}
		})
	}
}
