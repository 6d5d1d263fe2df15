package cliflag_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/cliflag"
)

func TestClosest(t *testing.T) {
	cands := []string{"brokers", "group", "topic", "kafka-timeout", "oss-timeout", "dir", "json", "until-caught-up"}
	for _, tc := range []struct{ name, want string }{
		{"kafka-timout", "kafka-timeout"},
		{"brokres", "brokers"}, // transposition
		{"broker", "brokers"},
		{"grup", "group"},
		{"topics", "topic"},
		{"oss-timeot", "oss-timeout"},
		{"until-caught", "until-caught-up"}, // unique prefix
		{"jsn", "json"},
		{"zzzzzz", ""},
		{"x", ""},
		{"timeout", ""}, // two candidates contain it, none within 2 edits
	} {
		if got := cliflag.Closest(tc.name, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func newSet(notice *bytes.Buffer) (*flag.FlagSet, *time.Duration, *bool, *string) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	d := fs.Duration("kafka-timeout", 10*time.Second, "bound on a Kafka request")
	b := fs.Bool("json", false, "print JSON")
	s := fs.String("topic", "", "the `topic`")
	cliflag.Deprecated(fs, "connect-timeout", "kafka-timeout", notice, "prog: ")
	return fs, d, b, s
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		unknown  string // the UnknownFlagError's Name
		suggest  string
		help     bool
		otherErr bool
		notice   string
	}{
		{name: "ok", args: []string{"--topic", "t", "--json", "-kafka-timeout=3s"}},
		{name: "misspelled", args: []string{"--topic", "t", "--kafka-timout", "3s"}, unknown: "kafka-timout", suggest: "kafka-timeout"},
		{name: "misspelled with value", args: []string{"--jsn=true"}, unknown: "jsn", suggest: "json"},
		{name: "far", args: []string{"--qqqqqqq"}, unknown: "qqqqqqq"},
		{name: "value that looks like a flag", args: []string{"--topic", "--nope"}},
		{name: "after the arguments", args: []string{"--json", "file", "--nope"}},
		{name: "after --", args: []string{"--", "--nope"}},
		{name: "help short", args: []string{"-h"}, help: true},
		{name: "help long", args: []string{"--topic", "t", "--help"}, help: true},
		{name: "bad value", args: []string{"--kafka-timeout", "ten"}, otherErr: true},
		{name: "missing value", args: []string{"--topic"}, otherErr: true},
		{name: "deprecated", args: []string{"--connect-timeout", "4s", "--connect-timeout=5s"}, notice: "prog: --connect-timeout is deprecated; use --kafka-timeout (same meaning)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var notice bytes.Buffer
			fs, _, _, _ := newSet(&notice)
			err := cliflag.Parse(fs, tc.args)
			var ue *cliflag.UnknownFlagError
			switch {
			case tc.unknown != "":
				if !errors.As(err, &ue) || ue.Name != tc.unknown || ue.Suggestion != tc.suggest {
					t.Fatalf("err = %v, want unknown %q suggesting %q", err, tc.unknown, tc.suggest)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("message is not one line: %q", err)
				}
			case tc.help:
				if !cliflag.IsHelp(err) {
					t.Fatalf("err = %v, want ErrHelp", err)
				}
			case tc.otherErr:
				var ve *cliflag.ValueError
				if !errors.As(err, &ve) || errors.As(err, &ue) || cliflag.IsHelp(err) {
					t.Fatalf("err = %v, want a flag package error", err)
				}
				if !strings.Contains(err.Error(), " --") || strings.Contains(err.Error(), " -k") || strings.Contains(err.Error(), " -t") {
					t.Errorf("err %q does not name the flag --name", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
			}
			if notice.String() != tc.notice {
				t.Errorf("notice = %q, want %q", notice.String(), tc.notice)
			}
			if out := fs.Output().(*bytes.Buffer); out.Len() != 0 {
				t.Errorf("Parse printed %q", out.String())
			}
		})
	}
}

func TestDeprecatedSetsTheNewFlag(t *testing.T) {
	var notice bytes.Buffer
	fs, d, _, _ := newSet(&notice)
	if err := cliflag.Parse(fs, []string{"--connect-timeout", "7s"}); err != nil {
		t.Fatal(err)
	}
	if *d != 7*time.Second {
		t.Fatalf("kafka-timeout = %v, want 7s through its deprecated alias", *d)
	}
}

func TestUsage(t *testing.T) {
	var notice, w bytes.Buffer
	fs, _, _, _ := newSet(&notice)
	cliflag.Usage(&w, fs, "Usage: prog [flags]\n", "prog --topic t")
	got := w.String()
	for _, want := range []string{
		"  --kafka-timeout duration\n    \tbound on a Kafka request (default 10s)\n",
		"  --topic topic\n    \tthe topic\n",
		"  --json\n    \tprint JSON\n",
		"Deprecated names, still accepted: --connect-timeout (use --kafka-timeout)\n",
		"\nExamples:\n  prog --topic t\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("usage lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "connect-timeout") != 1 {
		t.Errorf("the alias is listed more than once:\n%s", got)
	}
	if strings.Count(got, "(default 10s)") != 1 {
		t.Errorf("a default is printed more than once:\n%s", got)
	}
}

func TestRemoved(t *testing.T) {
	var notice bytes.Buffer
	fs, _, _, _ := newSet(&notice)
	cliflag.Removed(fs, "timeout", "use --kafka-timeout (Kafka) or --oss-timeout (OSS)")
	for _, args := range [][]string{{"--timeout", "3s"}, {"--json", "--timeout=3s"}} {
		err := cliflag.Parse(fs, args)
		var re *cliflag.RemovedFlagError
		if !errors.As(err, &re) || re.Name != "timeout" || !strings.Contains(err.Error(), "--oss-timeout") {
			t.Errorf("Parse(%q) = %v, want the removed flag's reason", args, err)
		}
	}
	var w bytes.Buffer
	cliflag.PrintDefaults(&w, fs)
	if strings.Contains(w.String(), "--timeout") {
		t.Errorf("help lists the removed flag:\n%s", w.String())
	}
	if got := cliflag.Closest("timeot", []string{"kafka-timeout"}); got != "" {
		t.Errorf("Closest = %q", got)
	}
}
