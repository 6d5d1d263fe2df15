// Package field reads parts of a Kafka record — a field of a JSON value, a
// header — without building maps and without allocating, for the routing
// templates (pkg/route) and the filters (pkg/filter) that run on every record.
//
// # Paths
//
// A Path is a dot path into a JSON value: ParsePath("user.id"),
// ParsePath("items.0.sku"). Segments are member names, matched exactly
// (case-sensitively) against the member's unescaped name. A segment of
// decimal digits in canonical form ("0", "17", not "01") also indexes an
// array, 0-based; on an object it matches the member of that name, so
// "items.0" reads both ["a"] and {"0":"a"}. Empty segments ("a..b", ".a",
// "a.") are refused, as are paths that are not UTF-8 and paths of more than
// MaxSegments segments. There is no way to name a member whose name contains
// a '.': such members cannot be read.
//
// # Lookup
//
// Lookup finds a path in JSON text by scanning it once: values that are not
// on the path are skipped, never decoded. When an object repeats a member
// name, the first one wins (encoding/json keeps the last; reading the first
// lets a lookup stop early). The result is a Value: its Kind and Raw, the
// value's JSON text as written. Value.Text gives the text that routing and
// filtering use: a string's content unescaped (an unpaired UTF-16 surrogate
// escape becomes U+FFFD, other bytes are kept as they are), a number, true,
// false or null as its literal, an object or array as compact JSON text.
//
// Lookup validates the whole text: anything that is not exactly one JSON
// value (RFC 8259, surrounding whitespace allowed, nesting at most MaxDepth)
// gives ErrNotJSON, even when the field was found before the error. A field
// that is not there gives ErrMissing. LookupValid trusts that the text is
// valid JSON (as events.Decode guarantees for ValueJSON values) and stops as
// soon as it finds the field; on invalid text it never panics, and what it
// returns depends on the bytes up to the field only (it is a pure function
// of the text, so routing by it stays deterministic). LookupValue uses it
// for record values that open with '{' or '[': a JSON document whose field
// comes early is not read to its end.
//
// # Records
//
// ValueJSON returns the JSON text of a record's value: a ValueJSON value as
// is, a ValueBytes value (text or decoded base64) if its bytes are JSON (a
// Text-format value holding a JSON document is the common case), nothing for
// a null value. LookupValue looks a path up in a record's value the same way
// (ErrNullValue for a tombstone). Header finds a header by name in
// Record.Headers, the trigger's array of {"key":...,"value":...} objects: the
// first element whose key is the name wins; its value is a string or null.
//
// Nothing here allocates, except Value.Text and AppendText when the caller's
// buffer is too small for an unescaped string or a compacted object.
// Everything is safe for concurrent use: there is no state.
package field
