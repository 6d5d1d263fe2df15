package filter

import (
	"fmt"
	"regexp"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    string // fmt of the literals; "[]" for none
	}{
		{`ERROR`, "[ERROR]"},
		{`ERROR|FATAL`, "[ERROR FATAL]"},
		{`(ERROR|WARN)ING`, "[ERROR WARN]"}, // both at least 4 bytes, longer than ING
		{`^user-\d+$`, "[user-]"},
		{`a+b{2,}c`, "[a]"},
		{`x(abc)+`, "[abc]"},
		{`(?i)error`, "[]"},
		{`err(?i:or)`, "[err]"},
		{`a*`, "[]"},
		{`a?b`, "[b]"},
		{`.`, "[]"},
		{`[ab]c`, "[c]"},
		{`a|.`, "[]"},
		{`\x{FFFD}`, "[]"},
		{`é+`, "[é]"},
		{`a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q`, "[]"}, // too many
		{``, "[]"},
	} {
		got := fmt.Sprintf("%s", requiredLiterals(tc.pattern))
		if got != tc.want {
			t.Errorf("%q: %s, want %s", tc.pattern, got, tc.want)
		}
	}
}

// FuzzPrefilter: the prefilter never rejects a text the expression matches.
// go test -run XXX -fuzz FuzzPrefilter ./pkg/filter/
func FuzzPrefilter(f *testing.F) {
	for _, p := range []string{`ERROR|FATAL`, `^user-\d+$`, `(a|bc)+d`, `é\x{FFFD}`, `x{2}y`, `(?i)a|b`} {
		f.Add(p, []byte("user-12 ERROR abcd é\xff xxy"))
	}
	f.Fuzz(func(t *testing.T, pattern string, text []byte) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		if lits := requiredLiterals(pattern); lits != nil && re.Match(text) && !containsAny(text, lits) {
			t.Fatalf("%q matches %q, but none of %q is in it", pattern, text, lits)
		}
	})
}
