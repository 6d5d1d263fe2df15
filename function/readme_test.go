package main

// The README's "Try it" and "Run locally" say what the commands print and
// take: the summary's counts and the objects listed are those of a real
// run, every function command line there parses, and the Go version is
// go.mod's.

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
)

// readmeSection returns the README's section under heading (up to the
// next heading of the same level or above).
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n"+heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	sec := text[i+1:]
	level := strings.Index(heading, " ")
	if j := regexp.MustCompile(`\n#{1,` + string(rune('0'+level)) + `} `).FindStringIndex(sec[len(heading):]); j != nil {
		sec = sec[:len(heading)+j[0]]
	}
	return sec
}

// readmeBlocks returns the fenced code blocks of text with the info string
// lang ("" for none).
func readmeBlocks(text, lang string) []string {
	var blocks []string
	var cur []string
	in, keep := false, false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case !in && strings.HasPrefix(l, "```"):
			in, keep, cur = true, strings.TrimPrefix(l, "```") == lang, nil
		case in && l == "```":
			if keep {
				blocks = append(blocks, strings.Join(cur, "\n"))
			}
			in = false
		case in:
			cur = append(cur, l)
		}
	}
	return blocks
}

// readmeFunctionCommands returns the arguments of every target/function
// command line of the sections' sh blocks (continuations joined).
func readmeFunctionCommands(t *testing.T, sections ...string) [][]string {
	var cmds [][]string
	for _, sec := range sections {
		for _, b := range readmeBlocks(readmeSection(t, sec), "sh") {
			for _, line := range strings.Split(strings.ReplaceAll(b, "\\\n", " "), "\n") {
				line, _, _ = strings.Cut(line, "#")
				line, _, _ = strings.Cut(line, "<")
				f := strings.Fields(line)
				for i, w := range f {
					if w == "target/function" && (i == 0 || f[i-1] != "-o") {
						cmds = append(cmds, f[i+1:])
						break
					}
				}
			}
		}
	}
	return cmds
}

func TestReadmeTryIt(t *testing.T) {
	sec := readmeSection(t, "## Try it")
	var args []string
	for _, c := range readmeFunctionCommands(t, "## Try it") {
		if len(c) > 0 && c[0] == "invoke" && strings.HasSuffix(c[len(c)-1], "cloudevents.json") {
			args = c
		}
	}
	if args == nil {
		t.Fatal("Try it runs no target/function invoke on testdata/cloudevents.json")
	}
	// As the README runs it from the module root, into ./oss-local (here
	// a directory of the test's).
	for i, a := range args {
		if strings.HasPrefix(a, "testdata/") {
			args[i] = "../" + a
		}
	}
	dir := t.TempDir()
	r := invokeCLI(t, testkit.Env("SINK_LOCAL_DIR", dir), args[1:]...)
	if r.code != 0 {
		t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(sec, "json")
	if len(blocks) == 0 {
		t.Fatal("Try it shows no summary")
	}
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^  "(\w+)": ("[^"]*"|[0-9]+),?$`).FindAllStringSubmatch(blocks[0], -1) {
		var want any
		_ = json.Unmarshal([]byte(m[2]), &want)
		if m[1] == "duration_ms" {
			continue // the README says it varies
		}
		if v, ok := got[m[1]]; !ok || v != want {
			t.Errorf("README shows %q: %s, the command prints %v", m[1], m[2], v)
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d summary fields in the README's block", n)
	}
	var listed []string
	for _, b := range readmeBlocks(sec, "") {
		for _, l := range strings.Split(b, "\n") {
			if strings.HasPrefix(l, "oss-local/") {
				listed = append(listed, strings.TrimPrefix(l, "oss-local/"))
			}
		}
	}
	if stored := storedFiles(t, dir); strings.Join(stored, "\n") != strings.Join(listed, "\n") {
		t.Errorf("README lists\n%s\nthe command stores\n%s", strings.Join(listed, "\n"), strings.Join(stored, "\n"))
	}
}

// TestReadmeCommandLines: every target/function command line of "Try it"
// and "Run locally" is one the command accepts.
func TestReadmeCommandLines(t *testing.T) {
	cmds := readmeFunctionCommands(t, "## Try it", "## Run locally")
	if len(cmds) < 4 {
		t.Fatalf("only %d command lines found", len(cmds))
	}
	for _, c := range cmds {
		switch {
		case len(c) == 0:
			t.Error("a bare target/function")
		case c[0] == "invoke":
			if _, _, err := parseInvoke(c[1:], &strings.Builder{}); err != nil {
				t.Errorf("README: function %s: %v", strings.Join(c, " "), err)
			}
		case c[0] == "--version" || c[0] == "version":
		default:
			t.Errorf("README: function %s: not a command", strings.Join(c, " "))
		}
	}
}

// TestReadmeGoVersion: the README asks for the Go version go.mod does.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	want := "Go " + string(m[1]) + " or newer"
	for _, sec := range []string{"## Try it", "## Deploy"} {
		text := strings.Join(strings.Fields(readmeSection(t, sec)), " ")
		if !strings.Contains(text, want) {
			t.Errorf("README %s does not say %q", sec, want)
		}
		if regexp.MustCompile(`Go ≥ ?1\.`).MatchString(text) {
			t.Errorf("README %s names another Go version than go.mod's", sec)
		}
	}
}
