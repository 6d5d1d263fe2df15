// Package cliflag gives the project's command lines (sinkctl, the
// function binary) one behaviour around the standard flag package:
//
//   - Parse never prints: a misspelled flag comes back as an
//     *UnknownFlagError whose one-line message names the flag and the
//     closest defined flag (edit distance), so the caller prints one line
//     and exits 2 instead of dumping the whole help; -h / -help / --help
//     come back as flag.ErrHelp, so the caller prints its help to stdout
//     and exits 0.
//   - Deprecated registers an old flag name as an alias of a new one: the
//     value goes to the new flag and one notice line goes to the writer
//     given, naming the new flag. PrintDefaults hides aliases from the flag
//     list and names them once at its end.
//   - Removed makes Parse refuse a flag name with a reason naming its
//     replacements (for a name whose old meaning was ambiguous).
//   - PrintDefaults lists flags in the one style the help and README use
//     (--name), each default printed once.
//   - Closest picks the nearest candidate for an unknown name; commands use
//     it for unknown subcommands too.
//
// Nothing here holds state outside the FlagSet it is given.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// UnknownFlagError is a flag on the command line that the FlagSet does not
// define.
type UnknownFlagError struct {
	Name       string // as typed, without dashes
	Suggestion string // the closest defined flag, "" when none is close
}

func (e *UnknownFlagError) Error() string {
	if e.Suggestion == "" {
		return fmt.Sprintf("unknown flag --%s", e.Name)
	}
	return fmt.Sprintf("unknown flag --%s (did you mean --%s?)", e.Name, e.Suggestion)
}

// Parse parses args with fs without printing anything. It returns nil,
// flag.ErrHelp when -h, -help or --help was given (and fs defines no such
// flag), an *UnknownFlagError for an undefined flag, a *RemovedFlagError
// for a flag Removed, or a *ValueError for the rest (a bad value, a
// missing argument): the flag package's one-line message, flags written
// --name. fs should be flag.ContinueOnError; its Usage and Output are
// restored before Parse returns.
func Parse(fs *flag.FlagSet, args []string) error {
	if name, ok := unknownFlag(fs, args); ok {
		if f := fs.Lookup(name); f != nil {
			return &RemovedFlagError{Name: name, Reason: f.Value.(*removed).reason}
		}
		return &UnknownFlagError{Name: name, Suggestion: Closest(name, flagNames(fs))}
	}
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return &ValueError{msg: dashes(err.Error()), err: err}
	}
	return err
}

// ValueError is the flag package's own error (a bad value, a missing
// argument), its flag names written in the --name style of the help.
type ValueError struct {
	msg string
	err error
}

func (e *ValueError) Error() string { return e.msg }
func (e *ValueError) Unwrap() error { return e.err }

// dashes rewrites the flag names in the flag package's messages ("for
// flag -n", "argument: -n", "for -n") as --n. Presentation only.
func dashes(msg string) string {
	for _, p := range []string{"for flag -", "flag needs an argument: -", " for -"} {
		if i := strings.Index(msg, p); i >= 0 && !strings.HasPrefix(msg[i+len(p):], "-") {
			return msg[:i+len(p)] + "-" + msg[i+len(p):]
		}
	}
	return msg
}

// unknownFlag walks args as flag.Parse does (flags up to the first
// non-flag argument or "--") and returns the first flag name fs does not
// define. -h and -help are not unknown: flag.Parse turns them into ErrHelp.
func unknownFlag(fs *flag.FlagSet, args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return "", false
		}
		if a == "--" {
			return "", false
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if name == "" || name[0] == '-' || name[0] == '=' {
			return "", false // bad syntax: flag.Parse says so
		}
		hasValue := false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, hasValue = name[:j], true
		}
		f := fs.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				return "", false
			}
			return name, true
		}
		if _, ok := f.Value.(*removed); ok {
			return name, true
		}
		if hasValue {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the flag's value
	}
	return "", false
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *alias, *removed:
		default:
			names = append(names, f.Name)
		}
	})
	return names
}

// Closest returns the candidate nearest to name by edit distance
// (insertions, deletions, substitutions and adjacent transpositions each
// count 1), or "" when even the nearest is too far to be a plausible
// misspelling: more than a third of the name's length, at least 2. A name
// that is a prefix of exactly one candidate gets that candidate. Ties go
// to the candidate first in sorted order.
func Closest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	var prefixed []string
	for _, c := range sorted {
		if len(name) >= 2 && strings.HasPrefix(c, name) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	limit := len(name) / 3
	if limit < 2 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range sorted {
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// alias is a deprecated flag name: it sets the new flag's value and says
// so once.
type alias struct {
	target   flag.Value
	old, new string
	notice   io.Writer
	prefix   string
	said     bool
}

func (a *alias) String() string {
	if a == nil || a.target == nil {
		return ""
	}
	return a.target.String()
}

func (a *alias) Set(s string) error {
	if !a.said {
		fmt.Fprintf(a.notice, "%s--%s is deprecated; use --%s (same meaning)\n", a.prefix, a.old, a.new)
		a.said = true
	}
	return a.target.Set(s)
}

func (a *alias) IsBoolFlag() bool {
	b, ok := a.target.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Deprecated defines old as an alias of the already defined flag newName:
// setting it sets newName's value and writes one notice line to notice,
// prefixed with prefix (e.g. "sinkctl verify: "). It panics when newName is
// not defined, a programming error.
func Deprecated(fs *flag.FlagSet, old, newName string, notice io.Writer, prefix string) {
	f := fs.Lookup(newName)
	if f == nil {
		panic(fmt.Sprintf("cliflag: alias %s of undefined flag %s", old, newName))
	}
	fs.Var(&alias{target: f.Value, old: old, new: newName, notice: notice, prefix: prefix}, old,
		"deprecated: use --"+newName)
}

// RemovedFlagError is a flag name that is no longer accepted; Reason says
// what replaces it.
type RemovedFlagError struct {
	Name   string
	Reason string
}

func (e *RemovedFlagError) Error() string {
	return fmt.Sprintf("flag --%s is no longer accepted: %s", e.Name, e.Reason)
}

// removed is a flag name refused with a reason (Removed).
type removed struct{ reason string }

func (r *removed) String() string   { return "" }
func (r *removed) Set(string) error { return errors.New(r.reason) }
func (r *removed) IsBoolFlag() bool { return true } // refused before its value matters

// Removed makes Parse refuse the flag name old with a *RemovedFlagError
// carrying reason (which should name the flag or flags that replace it),
// rather than calling it unknown: for a name whose old meaning was
// ambiguous, so that no alias would be right in every command. It is not
// listed in help.
func Removed(fs *flag.FlagSet, old, reason string) {
	fs.Var(&removed{reason: reason}, old, "removed: "+reason)
}

// PrintDefaults writes fs's flags to w, sorted, one style (--name TYPE,
// then the usage indented, the default once when it is not the zero
// value), and the deprecated aliases in one line at the end.
func PrintDefaults(w io.Writer, fs *flag.FlagSet) {
	var deprecated []string
	fs.VisitAll(func(f *flag.Flag) {
		if a, ok := f.Value.(*alias); ok {
			deprecated = append(deprecated, fmt.Sprintf("--%s (use --%s)", a.old, a.new))
			return
		}
		if _, ok := f.Value.(*removed); ok {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		usage = strings.ReplaceAll(usage, "\n", "\n    \t")
		if !isZeroValue(f) && !strings.Contains(usage, "(default") {
			if _, ok := f.Value.(interface{ IsBoolFlag() bool }); ok || !isStringish(f) {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			} else {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			}
		}
		fmt.Fprintf(w, "    \t%s\n", usage)
	})
	if len(deprecated) > 0 {
		fmt.Fprintf(w, "\nDeprecated names, still accepted: %s\n", strings.Join(deprecated, ", "))
	}
}

func isStringish(f *flag.Flag) bool {
	name, _ := flag.UnquoteUsage(f)
	return name == "string"
}

// isZeroValue reports whether f's default is its type's zero value, which
// help does not print (as flag.PrintDefaults).
func isZeroValue(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// Usage is the common shape of a command's help: head (the synopsis and
// description, ending in a newline), the flags, then examples (each one a
// command line). It writes to w.
func Usage(w io.Writer, fs *flag.FlagSet, head string, examples ...string) {
	fmt.Fprint(w, head)
	fmt.Fprint(w, "\nFlags:\n")
	PrintDefaults(w, fs)
	if len(examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, e := range examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// IsHelp reports whether err is the help request Parse returns.
func IsHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }
