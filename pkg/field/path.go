package field

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxSegments is the most segments a Path may have. It bounds the recursion
// of Lookup, which descends one level per segment.
const MaxSegments = 64

// Path is a parsed dot path (see the package doc). The zero Path is empty
// and finds nothing; make Paths with ParsePath.
type Path struct {
	text string
	segs []segment
}

type segment struct {
	name  string
	index int // the array index for a canonical decimal name, else -1
}

// PathError is ParsePath's error. Offset is the 0-based byte offset in the
// path of what is wrong, for callers that report positions in a larger text.
type PathError struct {
	Path   string
	Offset int
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("path %q: byte %d: %s", e.Path, e.Offset+1, e.Reason)
}

// ParsePath parses a dot path such as "user.id" or "items.0.sku".
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, &PathError{Path: s, Offset: 0, Reason: "empty path"}
	}
	if !utf8.ValidString(s) {
		off := 0
		for off < len(s) {
			r, n := utf8.DecodeRuneInString(s[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return Path{}, &PathError{Path: s, Offset: off, Reason: "not UTF-8"}
	}
	n := strings.Count(s, ".") + 1
	if n > MaxSegments {
		return Path{}, &PathError{Path: s, Offset: 0, Reason: fmt.Sprintf("%d segments (at most %d)", n, MaxSegments)}
	}
	segs := make([]segment, 0, n)
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		if i == start {
			return Path{}, &PathError{Path: s, Offset: i, Reason: "empty segment (paths are dot-separated names; a name cannot contain '.')"}
		}
		name := s[start:i]
		segs = append(segs, segment{name: name, index: arrayIndex(name)})
		start = i + 1
	}
	return Path{text: s, segs: segs}, nil
}

// arrayIndex returns the index a segment names, or -1 if it is not a
// canonical decimal number that fits an int32 (no array is longer).
func arrayIndex(name string) int {
	if len(name) > 10 || (len(name) > 1 && name[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > 1<<31-1 {
		return -1
	}
	return n
}

// String returns the path as written.
func (p Path) String() string { return p.text }

// Len returns the number of segments.
func (p Path) Len() int { return len(p.segs) }
