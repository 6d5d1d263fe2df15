package sinkctl_test

import (
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

// TestEveryCommandLine: every command treats help, misspelled and renamed
// flags alike: -h prints its help on stdout and exits 0, the help ends
// with examples and prints each default once; a misspelled flag is one
// line naming the closest flag, exit 2; --connect-timeout is refused
// naming both replacements.
func TestEveryCommandLine(t *testing.T) {
	for _, tc := range []struct {
		cmd, typo, want string
	}{
		{"verify", "--topc", "--topic"},
		{"consume", "--kafka-timout", "--kafka-timeout"},
		{"restore", "--target-topik", "--target-topic"},
		{"new-epoch", "--all-partition", "--all-partitions"},
		{"status", "--wach", "--watch"},
		{"ls", "--partiton", "--partition"},
		{"cat", "--jsno", "--json"},
		{"version", "--jsn", "--json"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			r := run(nil, false, tc.cmd, "-h")
			if r.code != sinkctl.ExitOK || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: sinkctl "+tc.cmd) {
				t.Fatalf("-h: exit %d, stderr %q, stdout %.80q", r.code, r.stderr, r.stdout)
			}
			if i := strings.LastIndex(r.stdout, "\nExamples:\n  sinkctl "); i < 0 || strings.Contains(r.stdout[i:], "\n\n") {
				t.Errorf("help does not end with examples:\n%s", r.stdout)
			}
			for _, ln := range strings.Split(r.stdout, "\n") {
				if strings.Count(ln, "(default") > 1 {
					t.Errorf("a default printed twice: %q", ln)
				}
			}
			if strings.Contains(r.stdout, " --connect-timeout") {
				t.Errorf("help lists a removed flag:\n%s", r.stdout)
			}
			r = run(nil, false, tc.cmd, tc.typo, "x")
			want := "unknown flag " + tc.typo + " (did you mean " + tc.want + "?)"
			if r.code != sinkctl.ExitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) || r.stdout != "" {
				t.Errorf("%s: exit %d, stderr %q; want 2 and one line with %q", tc.typo, r.code, r.stderr, want)
			}
			if tc.cmd == "version" {
				return
			}
			r = run(nil, false, tc.cmd, "--connect-timeout", "3s")
			if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, "--oss-timeout") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("--connect-timeout: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
	if r := run(nil, false, "help", "status"); r.code != sinkctl.ExitOK || !strings.HasPrefix(r.stdout, "Usage: sinkctl status") {
		t.Errorf("help status: exit %d, %.60q", r.code, r.stdout)
	}
	r := run(nil, false, "-h")
	if i := strings.LastIndex(r.stdout, "\nExamples:\n  sinkctl "); r.code != sinkctl.ExitOK || i < 0 || strings.Contains(r.stdout[i:], "\n\n") {
		t.Errorf("sinkctl -h: exit %d, does not end with examples:\n%s", r.code, r.stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verfy"}, `unknown command "verfy" (did you mean verify?)`},
		{[]string{"stauts"}, `(did you mean status?)`},
		{[]string{"--dir", "x"}, "a command comes first"},
	} {
		r := run(nil, false, tc.args...)
		if r.code != sinkctl.ExitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := run(nil, false, args...)
		if r.code != sinkctl.ExitOK || !strings.HasPrefix(r.stdout, "sinkctl ") || !strings.Contains(r.stdout, " go1.") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%q: exit %d, %q", args, r.code, r.stdout)
		}
	}
	r := run(nil, false, "version", "--json")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, `"program":"sinkctl"`) || !strings.Contains(r.stdout, `"go_version":"go1.`) {
		t.Errorf("--json: exit %d, %q", r.code, r.stdout)
	}
}

// TestDeprecatedAlias: --kafka-connect-timeout still works, with a notice
// naming its new name.
func TestDeprecatedAlias(t *testing.T) {
	r := run(nil, false, "verify", "--dir", t.TempDir(), "--kafka-connect-timeout", "2s")
	if r.code != sinkctl.ExitOK || !strings.Contains(r.stderr, "--kafka-connect-timeout is deprecated; use --kafka-timeout") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
