package main

// The command line itself: flags before and after the event file, one-line
// errors naming the closest flag, help on stdout ending in examples, the
// refusal to take a directory and a bucket at once, and the version.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

func runCLIArgs(getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runCLI(args, strings.NewReader(""), &out, &errb, getenv)
	return code, out.String(), errb.String()
}

// storedFiles lists the files under dir, relative, sorted.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files
}

// TestInvokeFlagPositions: flags work before and after the event file and
// after "--" everything is a file name; the objects are the same wherever
// the flags stood.
func TestInvokeFlagPositions(t *testing.T) {
	const sample = "../testdata/multi-partition.json"
	var want []string
	for _, tc := range []struct {
		name string
		args func(dir string) []string
	}{
		{"flags first", func(dir string) []string { return []string{"--dir", dir, "--request-id", "r1", sample} }},
		{"flags after the file", func(dir string) []string { return []string{sample, "--dir", dir, "-request-id=r1"} }},
		{"both sides", func(dir string) []string { return []string{"-request-id", "r1", sample, "-dir", dir} }},
		{"after --", func(dir string) []string { return []string{"--dir", dir, "--", sample} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := invokeCLI(t, testkit.Env("SINK_FORMAT", "jsonl"), tc.args(dir)...)
			if r.code != 0 || r.resp.Written == 0 {
				t.Fatalf("exit %d, wrote %d\n%s", r.code, r.resp.Written, r.stderr)
			}
			got := storedFiles(t, dir)
			if len(got) == 0 {
				t.Fatal("nothing stored in --dir")
			}
			if want == nil {
				want = got
			} else if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("stored %v, the first case %v", got, want)
			}
		})
	}
}

// TestCLIUsageLines: every mistake is one line on stderr naming what was
// wrong (and the closest flag or command), exit 2, nothing on stdout;
// help goes to stdout with exit 0.
func TestCLIUsageLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the one line
	}{
		{"misspelled invoke flag", []string{"invoke", "--dri", "/tmp/x", "../testdata/cloudevents.json"}, []string{"unknown flag --dri", "did you mean --dir?"}},
		{"misspelled after the file", []string{"invoke", "../testdata/cloudevents.json", "-timout", "1m"}, []string{"--timout", "--timeout"}},
		{"bad value", []string{"invoke", "--timeout", "soon", "../testdata/cloudevents.json"}, []string{"soon", "timeout"}},
		{"two files", []string{"invoke", "a.json", "b.json"}, []string{"one event file at most", "a.json b.json"}},
		{"misspelled command", []string{"invokee", "x.json"}, []string{`unknown command "invokee"`, `did you mean "invoke"?`}},
		{"unknown command", []string{"deploy"}, []string{`unknown command "deploy"`, "invoke, version, help"}},
		{"help on an unknown command", []string{"help", "invok"}, []string{`unknown command "invok"`, `did you mean "invoke"?`}},
		{"misspelled top flag", []string{"--verison"}, []string{"unknown flag --verison", "did you mean --version?"}},
		{"version flag", []string{"version", "--jsn"}, []string{"unknown flag --jsn", "--json"}},
		{"version argument", []string{"version", "now"}, []string{`unexpected argument "now"`}},
		{"empty dir", []string{"invoke", "--dir", "", "../testdata/cloudevents.json"}, []string{"--dir is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLIArgs(testkit.Env(), tc.args...)
			if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q: want exit 2 and one line on stderr", code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
}

func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"help", "invoke"}, {"invoke", "-h"}, {"invoke", "x.json", "--help"},
		{"version", "-h"}, {"help", "version"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLIArgs(testkit.Env(), args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q: want help on stdout, exit 0", code, stderr)
			}
			// Help ends with examples: the last section, one command per
			// indented line.
			_, ex, ok := strings.Cut(stdout, "\nExamples:\n")
			if !ok {
				t.Fatalf("no Examples section:\n%s", stdout)
			}
			for _, l := range strings.Split(strings.TrimRight(ex, "\n"), "\n") {
				if !strings.HasPrefix(l, "  ") || !strings.Contains(l, "function") && !strings.Contains(l, "main") {
					t.Errorf("after Examples: %q is not an example command line", l)
				}
			}
			if strings.Count(stdout, "(default 10m0s)") > 1 {
				t.Errorf("a default printed twice:\n%s", stdout)
			}
		})
	}
}

// TestInvokeDirWithBucket: a directory (--dir or SINK_LOCAL_DIR) together
// with OSS_BUCKET is refused before anything is written anywhere: the
// bucket receives no request, the directory no file.
func TestInvokeDirWithBucket(t *testing.T) {
	srv := osskit.NewServer(t, osstest.WithBucket("prod"), osstest.WithCredentials("ak", "sk", ""))
	env := []string{"OSS_BUCKET", "prod", "OSS_ENDPOINT", srv.Endpoint(), "ALIBABA_CLOUD_ACCESS_KEY_ID", "ak", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sk"}
	for _, tc := range []struct {
		name string
		env  []string
		args func(dir string) []string
		want string
	}{
		{"--dir", env, func(dir string) []string { return []string{"--dir", dir, "../testdata/cloudevents.json"} }, "--dir"},
		{"--dir after the file", env, func(dir string) []string { return []string{"../testdata/cloudevents.json", "-dir", dir} }, "--dir"},
		{"SINK_LOCAL_DIR", nil, func(string) []string { return []string{"../testdata/cloudevents.json"} }, "SINK_LOCAL_DIR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			e := tc.env
			if e == nil {
				e = append(append([]string(nil), env...), "SINK_LOCAL_DIR", dir)
			}
			code, stdout, stderr := runCLIArgs(testkit.Env(e...), append([]string{"invoke"}, tc.args(dir)...)...)
			if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "OSS_BUCKET") {
				t.Fatalf("exit %d, stdout %q, stderr %q: want exit 2, one line naming %s and OSS_BUCKET", code, stdout, stderr, tc.want)
			}
			if keys := srv.Keys("prod", ""); len(keys) != 0 {
				t.Fatalf("the bucket received %v", keys)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the directory was created: %v", err)
			}
		})
	}
	// Without the directory, the same shell writes to the bucket.
	if r := invokeCLI(t, testkit.Env(env...), "../testdata/cloudevents.json"); r.code != 0 || len(srv.Keys("prod", "")) == 0 {
		t.Fatalf("bucket alone: exit %d, keys %v\n%s", r.code, srv.Keys("prod", ""), r.stderr)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, stdout, stderr := runCLIArgs(testkit.Env(), args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "main ") || !strings.Contains(stdout, runtime.Version()) || strings.Count(stdout, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := runCLIArgs(testkit.Env(), "--version", "--json")
	var in buildinfo.Info
	if err := json.Unmarshal([]byte(stdout), &in); code != 0 || err != nil || in.Program != "main" || in.GoVersion != runtime.Version() || in.Commit == "" {
		t.Fatalf("--version --json: exit %d, %v, %q", code, err, stdout)
	}
}

// TestVersionStampedCommit builds the binary with the commit stamped as
// the Makefile does (-X, for builds without a VCS stamp) and runs it as a
// user would.
func TestVersionStampedCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	bin := bintest.Build(t, ".", "-buildvcs=false", "-ldflags", "-X github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo.commit="+commit)
	r := bintest.Run(t, 2*time.Minute, exec.Command(bin, "--version", "--json"))
	var in buildinfo.Info
	if err := json.Unmarshal([]byte(r.Stdout), &in); r.Code != 0 || err != nil || in.Commit != commit {
		t.Fatalf("exit %d, %v, %q", r.Code, err, r.Stdout)
	}
	r = bintest.Run(t, 2*time.Minute, exec.Command(bin, "version"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "commit "+commit[:12]) {
		t.Fatalf("exit %d, %q", r.Code, r.Stdout)
	}
}

// TestInteractive: the terminal hint is not printed for the null device,
// a pipe or a reader (a terminal needs a pty: tried by hand).
func TestInteractive(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, in := range map[string]any{"null": null, "pipe": r, "reader": strings.NewReader("")} {
		if interactive(in.(interface{ Read([]byte) (int, error) })) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}
