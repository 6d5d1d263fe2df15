// Package filter implements SINK_FILTER: rules that keep or drop records
// before they are stored.
//
// # Syntax
//
// A filter is a list of rules separated by ';' or newlines; blank rules are
// ignored. Each rule is
//
//	keep COND
//	drop COND
//
// where COND is one or more terms joined by "and", and a term is
//
//	[not] SUBJECT OP [ARG]
//
// SUBJECT is what the term looks at:
//
//	value         the record value: its text, its decoded bytes (Binary
//	              data format) or its JSON text (Json data format)
//	key           the record key
//	value:PATH    a field of a JSON value, PATH a dot path (user.id,
//	              items.0.sku; see pkg/field)
//	header:NAME   the value of the first header named NAME (exact,
//	              case-sensitive)
//
// OP is one of
//
//	contains ARG  the subject holds ARG as a substring (the keyword filter)
//	~ ARG         the RE2 regular expression ARG (Go's regexp) matches
//	              somewhere in the subject; anchor it with ^ and $ to match all
//	= ARG         the subject is exactly ARG
//	!= ARG        the subject exists and is not ARG
//	exists        the subject exists
//	missing       the subject does not exist
//
// ARG is a double-quoted string with Go escapes ("a\tb", "\u00e9", "\x00")
// or a backquoted raw string, handy for regular expressions (`\d+`).
// Keywords are lowercase; words (subjects and keywords) cannot contain
// spaces, ';', quotes, '~', '=', '!', '<' or '>', so such header names and
// field names cannot be written. There is no "or": write several keep rules.
//
// Examples:
//
//	keep value contains "ERROR"
//	drop value:level = "debug"; drop header:source = "healthcheck"
//	keep value:user.id exists and not value:user.test = "true"
//	keep key ~ `^tenant-(a|b)-`
//	drop value missing
//
// # Semantics
//
// A record is stored iff it matches no drop rule and, if there are keep
// rules, at least one of them; the order of rules does not matter. A term
// with "not" is true when the term without it is false.
//
// A subject does not exist when the value is null (a tombstone), the key is
// null, the record has no header NAME, or the value is not JSON or has no
// field PATH. Then exists is false, missing is true, and every other
// operator is false: a missing field does not contain anything, match any
// expression, equal or differ from any string (so `value:x != "a"` keeps
// only records that have an x). A header whose value is null exists but has
// no text: only exists and missing are true and false for it.
//
// The text of a JSON field is a string's unescaped content; a number, true,
// false or null as its literal (1.50 is "1.50", not "1.5"; null is "null");
// an object or array as its compact JSON text, which contains and ~ search
// but which is never equal to a string (= is false, != true).
//
// # Errors
//
// Parse reports the first error as a *SyntaxError naming SINK_FILTER, the
// rule (numbered from 1, blank rules not counted) and the column (bytes
// from the rule's first non-blank character, 1-based), and what was
// expected, e.g.
//
//	SINK_FILTER: rule 2, column 14: unknown operator "=="; want contains, ~, =, !=, exists or missing
//
// A bad regular expression shows Go's regexp error.
//
// A Filter is immutable and safe for concurrent use; Keep allocates nothing
// in steady state (regexp reuses its matchers), except to unescape a JSON
// string field that a regular expression is matched against.
package filter
