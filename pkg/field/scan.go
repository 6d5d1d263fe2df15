package field

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// MaxDepth is the deepest nesting of objects and arrays that Lookup
// accepts, encoding/json's limit (and events.Decode's), so that every value
// events.Decode delivers can be read.
const MaxDepth = 10000

// The string scanner tests eight bytes per word (SWAR): string bodies are
// most of a typical value.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// stringStop returns a word whose byte lanes have their high bit set where w
// holds '"', '\\' or a control character. The lowest flagged lane is exact;
// lanes above it may be false positives (borrows), which is all
// scanString needs.
func stringStop(w uint64) uint64 {
	q := w ^ (swarOnes * '"')
	s := w ^ (swarOnes * '\\')
	return ((q-swarOnes)&^q | (s-swarOnes)&^s | (w-swarOnes*0x20)&^w) & swarHighs
}

// skipWS returns the index of the first byte at or after i that is not
// JSON whitespace. Compact JSON has none, so the first test is inlined.
func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i
	}
	return skipWSSlow(b, i)
}

func skipWSSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanString validates the string whose opening quote is at i and returns
// the index after its closing quote (or -1) and whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		// The SWAR loop is written out here, not called: most strings are
		// short, and a call costs about as much as their scan.
		found := false
		for i+8 <= len(b) {
			if m := stringStop(binary.LittleEndian.Uint64(b[i : i+8])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				found = true
				break
			}
			i += 8
		}
		if !found {
			for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
				i++
			}
			if i >= len(b) {
				return -1, false
			}
		}
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			if i = skipEscape(b, i); i < 0 {
				return -1, false
			}
		default: // a control character
			return -1, false
		}
	}
}

// skipEscape validates the escape sequence at i (a backslash) and returns
// the index after it, or -1.
func skipEscape(b []byte, i int) int {
	if i+1 >= len(b) {
		return -1
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2
	case 'u':
		if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
			return -1
		}
		return i + 6
	}
	return -1
}

// scanNumber validates the number at i and returns the index after it, or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(b, i+1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(b, i); i < 0 {
			return -1
		}
	}
	return i
}

// digits consumes one or more decimal digits, or returns -1.
func digits(b []byte, i int) int {
	if i >= len(b) || !isDigit(b[i]) {
		return -1
	}
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// memberColon scans the member name at i (a quote) and the colon after it,
// and returns the index after the colon, or -1.
func memberColon(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i, _ = scanString(b, i); i < 0 {
		return -1
	}
	if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// kindStack records, per open container, whether it is an object. The
// first 128 levels need no allocation; deeper (rare) documents grow hi.
type kindStack struct {
	lo [2]uint64
	hi []uint64
	n  int
}

func (s *kindStack) push(obj bool) {
	w, bit := s.n>>6, uint(s.n&63)
	if w >= len(s.lo) && w-len(s.lo) >= len(s.hi) {
		s.hi = append(s.hi, 0)
	}
	word := &s.lo[0]
	if w < len(s.lo) {
		word = &s.lo[w]
	} else {
		word = &s.hi[w-len(s.lo)]
	}
	if obj {
		*word |= 1 << bit
	} else {
		*word &^= 1 << bit
	}
	s.n++
}

func (s *kindStack) topIsObject() bool {
	k := s.n - 1
	w, bit := k>>6, uint(k&63)
	if w < len(s.lo) {
		return s.lo[w]>>bit&1 == 1
	}
	return s.hi[w-len(s.lo)]>>bit&1 == 1
}

// skipValue validates the value at i (after optional whitespace) and
// returns the index after it, or -1 if it is not JSON. depth is the nesting
// of the value, for MaxDepth.
func skipValue(b []byte, i, depth int) int {
	if i = skipWS(b, i); i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		i, _ = scanString(b, i)
		return i
	case '{', '[':
		return skipContainer(b, i, depth)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	return scanNumber(b, i)
}

// skipContainer validates the object or array at i. It is iterative, so
// that hostile nesting cannot exhaust the stack.
func skipContainer(b []byte, i, depth int) int {
	var st kindStack
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+st.n >= MaxDepth {
				return -1
			}
			j := skipWS(b, i+1)
			if j < len(b) && b[j] == c+2 { // '}' and ']' follow '{' and '[' by two
				i = j + 1
				break
			}
			st.push(c == '{')
			if c == '{' {
				if i = memberColon(b, j); i < 0 {
					return -1
				}
			} else {
				i = j
			}
			continue
		case '"':
			i, _ = scanString(b, i)
		case 't':
			i = literal(b, i, "true")
		case 'f':
			i = literal(b, i, "false")
		case 'n':
			i = literal(b, i, "null")
		default:
			i = scanNumber(b, i)
		}
		if i < 0 {
			return -1
		}
		// After a value: close containers, or go on to the next element.
		for {
			if st.n == 0 {
				return i
			}
			if i = skipWS(b, i); i >= len(b) {
				return -1
			}
			obj := st.topIsObject()
			if b[i] == ',' {
				if obj {
					if i = memberColon(b, skipWS(b, i+1)); i < 0 {
						return -1
					}
				} else {
					i++
				}
				break
			}
			if obj && b[i] == '}' || !obj && b[i] == ']' {
				st.n--
				i++
				continue
			}
			return -1
		}
	}
}

// nameEqual reports whether the validated string body raw, unescaped, is
// name. escaped says whether raw holds escapes.
func nameEqual(raw []byte, escaped bool, name string) bool {
	if !escaped {
		return string(raw) == name
	}
	j := 0
	for k := 0; k < len(raw); {
		if raw[k] != '\\' {
			if j >= len(name) || raw[k] != name[j] {
				return false
			}
			k++
			j++
			continue
		}
		var u [utf8.UTFMax]byte
		n, used := events.UnescapeOne(u[:], raw[k:])
		if j+n > len(name) || string(u[:n]) != name[j:j+n] {
			return false
		}
		k += used
		j += n
	}
	return j == len(name)
}
