package filter

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

// SyntaxError is Parse's error: what is wrong in which rule, at which
// column (see the package doc). Err is the regexp or strconv error behind
// it, if any.
type SyntaxError struct {
	Rule, Column int
	Msg          string
	Err          error
}

func (e *SyntaxError) Error() string {
	return "SINK_FILTER: rule " + strconv.Itoa(e.Rule) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
}

func (e *SyntaxError) Unwrap() error { return e.Err }

type subjectKind uint8

const (
	subjValue subjectKind = iota
	subjKey
	subjField
	subjHeader
)

type opKind uint8

const (
	opContains opKind = iota
	opMatch
	opEqual
	opNotEqual
	opExists
	opMissing
)

type term struct {
	not  bool
	subj subjectKind
	name string     // header name
	path field.Path // field path
	op   opKind
	arg  string
	re   *regexp.Regexp

	argBytes []byte   // arg, for bytes.Contains without a conversion per record
	lits     [][]byte // for ~: one of them is in every match (see prefilter.go); nil if unknown
}

type rule struct {
	keep  bool
	num   int
	terms []term
}

// Filter is a parsed SINK_FILTER. A nil *Filter keeps every record.
type Filter struct {
	spec  string
	drops []rule
	keeps []rule
}

// String returns the filter as given to Parse.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.spec
}

// Parse parses a SINK_FILTER (see the package doc). A spec without rules
// (empty or blank) gives a nil Filter, which keeps everything.
func Parse(spec string) (*Filter, error) {
	f := &Filter{spec: spec}
	lx := lexer{s: spec}
	for num := 1; ; {
		toks, more, err := lx.rule(num)
		if err != nil {
			return nil, err
		}
		if len(toks) > 0 {
			r, err := parseRule(toks, num)
			if err != nil {
				return nil, err
			}
			if r.keep {
				f.keeps = append(f.keeps, r)
			} else {
				f.drops = append(f.drops, r)
			}
			num++
		}
		if !more {
			break
		}
	}
	if len(f.keeps)+len(f.drops) == 0 {
		return nil, nil
	}
	return f, nil
}

type tokKind uint8

const (
	tWord tokKind = iota
	tString
	tOp
)

type token struct {
	kind tokKind
	text string // as written
	val  string // a string's value
	col  int
}

type lexer struct {
	s string
	i int
}

const opChars = "~=!<>"

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// rule returns the tokens of the next rule and whether more rules follow.
func (lx *lexer) rule(num int) (toks []token, more bool, err error) {
	s := lx.s
	for lx.i < len(s) && isSpace(s[lx.i]) {
		lx.i++
	}
	start := lx.i
	for lx.i < len(s) {
		c := s[lx.i]
		col := lx.i - start + 1
		switch {
		case c == ';' || c == '\n':
			lx.i++
			return toks, true, nil
		case isSpace(c):
			lx.i++
		case c == '"' || c == '`':
			j := lx.i + 1
			for j < len(s) && s[j] != c && (c == '`' || s[j] != '\n') {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) || s[j] != c {
				return nil, false, &SyntaxError{Rule: num, Column: col, Msg: "unterminated string"}
			}
			raw := s[lx.i : j+1]
			val, err := strconv.Unquote(raw)
			if err != nil {
				return nil, false, &SyntaxError{Rule: num, Column: col, Msg: "bad string " + raw + ": " + err.Error() + " (Go string syntax)", Err: err}
			}
			toks = append(toks, token{kind: tString, text: raw, val: val, col: col})
			lx.i = j + 1
		case strings.IndexByte(opChars, c) >= 0:
			j := lx.i
			for j < len(s) && strings.IndexByte(opChars, s[j]) >= 0 {
				j++
			}
			toks = append(toks, token{kind: tOp, text: s[lx.i:j], col: col})
			lx.i = j
		default:
			j := lx.i
			for j < len(s) && !isSpace(s[j]) && strings.IndexByte(";\n\"`"+opChars, s[j]) < 0 {
				j++
			}
			toks = append(toks, token{kind: tWord, text: s[lx.i:j], col: col})
			lx.i = j
		}
	}
	return toks, false, nil
}

const (
	wantOp      = "want contains, ~, =, !=, exists or missing"
	wantSubject = "want value, key, value:PATH or header:NAME"
)

func parseRule(toks []token, num int) (rule, error) {
	fail := func(t token, format string, args ...any) error {
		return &SyntaxError{Rule: num, Column: t.col, Msg: fmt.Sprintf(format, args...)}
	}
	r := rule{num: num}
	switch head := toks[0]; {
	case head.kind == tWord && head.text == "keep":
		r.keep = true
	case head.kind == tWord && head.text == "drop":
	default:
		return r, fail(head, "%s: a rule starts with keep or drop", quote(head))
	}
	end := token{col: toks[len(toks)-1].col + len(toks[len(toks)-1].text)}
	at := func(i int) token {
		if i < len(toks) {
			return toks[i]
		}
		return end
	}
	i := 1
	for {
		var t term
		tk := at(i)
		if i >= len(toks) {
			return r, fail(tk, "missing condition; %s", wantSubject)
		}
		if tk.kind == tWord && tk.text == "not" {
			t.not = true
			i++
			if tk = at(i); i >= len(toks) {
				return r, fail(tk, "missing condition after not; %s", wantSubject)
			}
		}
		if err := parseSubject(&t, tk, num); err != nil {
			return r, err
		}
		i++
		op := at(i)
		if i >= len(toks) {
			return r, fail(op, "missing operator after %s; %s", tk.text, wantOp)
		}
		switch {
		case op.kind == tWord && op.text == "contains":
			t.op = opContains
		case op.kind == tWord && op.text == "exists":
			t.op = opExists
		case op.kind == tWord && op.text == "missing":
			t.op = opMissing
		case op.kind == tOp && op.text == "~":
			t.op = opMatch
		case op.kind == tOp && op.text == "=":
			t.op = opEqual
		case op.kind == tOp && op.text == "!=":
			t.op = opNotEqual
		default:
			return r, fail(op, "unknown operator %s; %s", quote(op), wantOp)
		}
		i++
		if t.op != opExists && t.op != opMissing {
			arg := at(i)
			if arg.kind != tString || i >= len(toks) {
				return r, fail(arg, "%s wants a quoted string (\"...\" or `...`), got %s", op.text, quote(arg))
			}
			t.arg, t.argBytes = arg.val, []byte(arg.val)
			if t.op == opMatch {
				re, err := regexp.Compile(arg.val)
				if err != nil {
					return r, &SyntaxError{Rule: num, Column: arg.col, Msg: "bad regular expression: " + err.Error(), Err: err}
				}
				t.re, t.lits = re, requiredLiterals(arg.val)
			}
			i++
		}
		r.terms = append(r.terms, t)
		if i >= len(toks) {
			return r, nil
		}
		if next := toks[i]; next.kind != tWord || next.text != "and" {
			hint := ""
			if next.text == "or" {
				hint = " (for or, write another rule: keep A; keep B)"
			}
			return r, fail(next, "unexpected %s; want and, ';' or the end of the rule%s", quote(next), hint)
		}
		i++
	}
}

func parseSubject(t *term, tk token, num int) error {
	fail := func(format string, args ...any) error {
		return &SyntaxError{Rule: num, Column: tk.col, Msg: fmt.Sprintf(format, args...)}
	}
	if tk.kind != tWord {
		return fail("unknown subject %s; %s", quote(tk), wantSubject)
	}
	switch w := tk.text; {
	case w == "value":
		t.subj = subjValue
	case w == "key":
		t.subj = subjKey
	case strings.HasPrefix(w, "value:"):
		p, err := field.ParsePath(w[len("value:"):])
		if err != nil {
			pe := err.(*field.PathError)
			return &SyntaxError{Rule: num, Column: tk.col + len("value:") + pe.Offset, Msg: "bad path in " + w + ": " + pe.Reason, Err: err}
		}
		t.subj, t.path = subjField, p
	case strings.HasPrefix(w, "header:"):
		if len(w) == len("header:") {
			return fail("empty header name in %s", w)
		}
		t.subj, t.name = subjHeader, w[len("header:"):]
	default:
		return fail("unknown subject %s; %s", quote(tk), wantSubject)
	}
	return nil
}

// quote shows a token in an error: a string as written, anything else
// quoted, the end of a rule as such.
func quote(t token) string {
	switch {
	case t.text == "":
		return "end of rule"
	case t.kind == tString:
		return t.text
	}
	return strconv.Quote(t.text)
}
