package filter

import (
	"bytes"
	"regexp/syntax"
	"unicode/utf8"
)

// Go's regexp runs at a few tens of MB/s on text it does not match, about
// a hundred times slower than bytes.Contains; a keep or drop rule matched
// against every value of a 32 MB batch would cost seconds. Most expressions
// name literal text that every match contains ("ERROR|FATAL", `user-\d+`),
// so the regular expression runs only on values that contain one of them.

// maxLiterals bounds the alternatives a prefilter checks.
const maxLiterals = 16

// requiredLiterals returns byte strings one of which occurs in every text
// that pattern (valid, Perl syntax as regexp.Compile) matches, or nil when
// it cannot tell.
func requiredLiterals(pattern string) [][]byte {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return required(re.Simplify())
}

func required(re *syntax.Regexp) [][]byte {
	switch re.Op {
	case syntax.OpLiteral:
		// A case-folded literal has many spellings. A literal U+FFFD
		// matches any byte that is not UTF-8, which bytes.Contains would
		// not find.
		if re.Flags&syntax.FoldCase != 0 || len(re.Rune) == 0 {
			return nil
		}
		var lit []byte
		for _, r := range re.Rune {
			if r == utf8.RuneError {
				return nil
			}
			lit = utf8.AppendRune(lit, r)
		}
		return [][]byte{lit}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every match contains a match of each part: take the part whose
		// literals are the most selective (the longest shortest one).
		var best [][]byte
		for _, sub := range re.Sub {
			if lits := required(sub); lits != nil && (best == nil || shortest(lits) > shortest(best)) {
				best = lits
			}
		}
		return best
	case syntax.OpAlternate:
		var all [][]byte
		for _, sub := range re.Sub {
			lits := required(sub)
			if lits == nil || len(all)+len(lits) > maxLiterals {
				return nil
			}
			all = append(all, lits...)
		}
		return all
	}
	return nil
}

func shortest(lits [][]byte) int {
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}

// containsAny reports whether text contains one of lits.
func containsAny(text []byte, lits [][]byte) bool {
	for _, l := range lits {
		if bytes.Contains(text, l) {
			return true
		}
	}
	return false
}
