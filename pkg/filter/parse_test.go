package filter_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/filter"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// badFilters are refused by Parse at rule, column, with a message holding want.
var badFilters = []struct {
	spec      string
	rule, col int
	want      string
}{
	{`keep value:user == "x"`, 1, 17, `unknown operator "=="; want contains, ~, =, !=, exists or missing`},
	{"keep key exists; drop value:user.id == \"x\"", 2, 20, `unknown operator "=="`},
	{"keep key exists\n\n  drop value matches \"x\"", 2, 12, `unknown operator "matches"`},
	{`keep value !~ "x"`, 1, 12, `unknown operator "!~"`},
	{`keep value`, 1, 11, "missing operator after value"},
	{`keep`, 1, 5, "missing condition"},
	{`keep not`, 1, 9, "missing condition after not"},
	{`store value exists`, 1, 1, `"store": a rule starts with keep or drop`},
	{`Keep value exists`, 1, 1, `"Keep": a rule starts with keep or drop`},
	{`"keep" value exists`, 1, 1, `"keep": a rule starts with keep or drop`},
	{`keep body contains "x"`, 1, 6, `unknown subject "body"; want value, key, value:PATH or header:NAME`},
	{`keep "x" contains "x"`, 1, 6, `unknown subject "x"`},
	{`keep value:a..b exists`, 1, 14, "bad path in value:a..b: empty segment"},
	{`keep value: exists`, 1, 12, "bad path in value:: empty path"},
	{`keep header: exists`, 1, 6, "empty header name"},
	{`keep value contains`, 1, 20, `contains wants a quoted string ("..." or ` + "`...`" + `), got end of rule`},
	{`keep value contains x`, 1, 21, `contains wants a quoted string`},
	{`keep value = 'x'`, 1, 14, `= wants a quoted string`},
	{`keep value contains "x`, 1, 21, "unterminated string"},
	{"keep value contains \"x\ny\"", 1, 21, "unterminated string"},
	{"keep value ~ `x", 1, 14, "unterminated string"},
	{`keep value contains "\q"`, 1, 21, `bad string "\q": invalid syntax`},
	{`keep value ~ "(a"`, 1, 14, "bad regular expression: error parsing regexp: missing closing ): `(a`"},
	{"keep value ~ `a{2,1}`", 1, 14, "bad regular expression: error parsing regexp: invalid repeat count"},
	{`keep value exists or key exists`, 1, 19, `unexpected "or"; want and, ';' or the end of the rule (for or, write another rule`},
	{`keep value exists key exists`, 1, 19, `unexpected "key"`},
	{`keep value exists and`, 1, 22, "missing condition"},
	{`keep value contains "a" "b"`, 1, 25, `unexpected "b"`},
	{`keep value exists "x"`, 1, 19, `unexpected "x"`},
	{"\n;\n  keep key exists;; keep value ~ `[`", 2, 14, "bad regular expression"},
}

func TestParseRefuses(t *testing.T) {
	var golden strings.Builder
	for _, tc := range badFilters {
		t.Run(tc.spec, func(t *testing.T) {
			f, err := filter.Parse(tc.spec)
			var se *filter.SyntaxError
			if !errors.As(err, &se) || f != nil {
				t.Fatalf("got %v, %v; want a *SyntaxError", f, err)
			}
			if se.Rule != tc.rule || se.Column != tc.col || !strings.Contains(se.Msg, tc.want) {
				t.Fatalf("got rule %d column %d %q; want %d %d %q", se.Rule, se.Column, se.Msg, tc.rule, tc.col, tc.want)
			}
			if prefix := fmt.Sprintf("SINK_FILTER: rule %d, column %d: ", tc.rule, tc.col); !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("message %q does not start %q", err, prefix)
			}
			fmt.Fprintf(&golden, "%s\n\t%s\n", strconv.Quote(tc.spec), err)
		})
	}
	checkGolden(t, "testdata/bad_filters.golden", golden.String())
}

func TestParseErrorUnwraps(t *testing.T) {
	_, err := filter.Parse(`keep value ~ "(a"`)
	var re *syntax.Error
	if !errors.As(err, &re) || re.Code != syntax.ErrMissingParen {
		t.Fatalf("%v does not unwrap to the regexp error", err)
	}
	_, err = filter.Parse(`keep value contains "\q"`)
	if !errors.Is(err, strconv.ErrSyntax) {
		t.Fatalf("%v does not unwrap to strconv.ErrSyntax", err)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, spec := range []string{"", "  ", ";", "\n\n", " ; \r\n ;"} {
		f, err := filter.Parse(spec)
		if f != nil || err != nil {
			t.Fatalf("%q: %v %v", spec, f, err)
		}
		if !f.Keep(nil) || f.String() != "" {
			t.Fatal("nil Filter does not keep")
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, spec := range []string{
		`keep value contains "ERROR"`,
		"drop value:level = \"debug\"; drop header:source = \"healthcheck\"",
		`keep value:user.id exists and not value:user.test = "true"`,
		"keep key ~ `^tenant-(a|b)-`",
		"drop value missing",
		"keep value contains \"a;b\" ; keep value contains `x\ny`",
		"\tkeep\tkey\t=\t\"k\"\t\r\n",
		`keep value:items.0.sku != "" and header:x-trace-id exists and not key missing`,
		`keep value contains "\u00e9\x00\n"`,
		`keep value ~"a"and key exists`,
		`keep value="a"`,
	} {
		f, err := filter.Parse(spec)
		if err != nil || f == nil || f.String() != spec {
			t.Errorf("%q: %v", spec, err)
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}
