package events

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit, kept the same so that both
// accept the same payloads; it also bounds the recursion of skipValue.
const maxDepth = 10000

// SWAR (SIMD within a register) constants: the string scanner tests eight
// bytes per word, since string bodies (the values) are most of a payload.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
	swarCtrl  = swarOnes * 0x20
)

// stringSpecial returns a word whose byte lanes have their high bit set where
// w holds a byte that a string scan must stop at: '"', '\\', a control
// character or a non-ASCII byte. The lowest flagged lane is exact; lanes above
// it may be false positives (borrows), which is all nextSpecial needs.
func stringSpecial(w uint64) uint64 {
	q := w ^ (swarOnes * '"')
	s := w ^ (swarOnes * '\\')
	return ((q-swarOnes)&^q | (s-swarOnes)&^s | (w - swarCtrl) | w) & swarHighs
}

// nextSpecial returns the index of the first byte at or after i that is '"',
// '\\', a control character or non-ASCII, or len(b) if there is none.
//
// Short strings (names, keys, topics, the CloudEvents attributes) end
// within the first 64 bytes, tested a word at a time. Past those, it takes windows of up to 1 KB: the
// assembly of bytes.IndexByte finds the window's first quote and first
// backslash (at memory speed), and only the bytes before them are tested
// for control and non-ASCII bytes, with three operations per word. The
// window bounds the rescans of text where non-ASCII runes interrupt long
// ASCII runs.
func nextSpecial(b []byte, i int) int {
	for k := 0; k < 8 && i+8 <= len(b); k++ {
		if m := stringSpecial(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) {
		win := b[i:min(len(b), i+1024)]
		end := len(win)
		if q := bytes.IndexByte(win, '"'); q >= 0 {
			end = q
		}
		if k := bytes.IndexByte(win[:end], '\\'); k >= 0 {
			end = k
		}
		if j := ctrlOrHigh(win[:end]); j < end || end < len(win) {
			return i + j
		}
		i += len(win)
	}
	return len(b)
}

// ctrlOrHigh returns the index of the first control character or non-ASCII
// byte in b, or len(b). A lane below 0x20 borrows in w-0x20..., setting its
// high bit; a non-ASCII lane has it already. A borrow can flag lanes above
// a flagged one, never below, so the lowest flag is exact.
func ctrlOrHigh(b []byte) int {
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w0 := binary.LittleEndian.Uint64(b[i:])
		w1 := binary.LittleEndian.Uint64(b[i+8:])
		w2 := binary.LittleEndian.Uint64(b[i+16:])
		w3 := binary.LittleEndian.Uint64(b[i+24:])
		if ((w0-swarCtrl)|w0|(w1-swarCtrl)|w1|(w2-swarCtrl)|w2|(w3-swarCtrl)|w3)&swarHighs != 0 {
			break
		}
	}
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if m := ((w - swarCtrl) | w) & swarHighs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipWS returns the index of the first non-whitespace byte at or after i,
// noting in d.ws whether it skipped any (which makes a JSON value non-compact).
func (d *decoder) skipWS(i int) int {
	b := d.buf
	if i < len(b) && b[i] > ' ' {
		return i // compact JSON: one comparison
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ' ', '\t', '\n', '\r':
			j++
			continue
		}
		break
	}
	if j != i {
		d.ws = true
	}
	return j
}

// scanString scans a string body starting at i, just after the opening quote.
// It returns the index of the closing quote, whether the body holds escapes,
// and how many bytes are not valid UTF-8 (each becomes a 3-byte U+FFFD when
// unescaped). The string is fully validated: unescaping it cannot fail.
func (d *decoder) scanString(i int) (end int, escaped bool, bad int, err error) {
	b := d.buf
	for {
		i = nextSpecial(b, i)
		if i >= len(b) {
			return 0, false, 0, d.syntaxErr(i, msgEOF)
		}
		switch c := b[i]; {
		case c == '"':
			return i, escaped, bad, nil
		case c == '\\':
			escaped = true
			if i, err = d.escape(i); err != nil {
				return 0, false, 0, err
			}
		case c < 0x20:
			return 0, false, 0, d.syntaxErr(i, "invalid character "+quoteChar(c)+" in string literal")
		default:
			// A run of non-ASCII text (say, CJK) is checked rune by rune, as
			// encoding/json does, to learn whether it needs U+FFFD repairs.
			for i < len(b) && b[i] >= utf8.RuneSelf {
				r, n := utf8.DecodeRune(b[i:])
				if r == utf8.RuneError && n == 1 {
					bad++
				}
				i += n
			}
		}
	}
}

// escape validates the escape sequence at j (a backslash) and returns the
// index after it.
func (d *decoder) escape(j int) (int, error) {
	b := d.buf
	if j+1 >= len(b) {
		return 0, d.syntaxErr(j+1, msgEOF)
	}
	switch b[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return j + 2, nil
	case 'u':
		for k := j + 2; k < j+6; k++ {
			if k >= len(b) {
				return 0, d.syntaxErr(k, msgEOF)
			}
			if !isHex(b[k]) {
				return 0, d.syntaxErr(k, "invalid character "+quoteChar(b[k])+" in \\u hexadecimal character escape")
			}
		}
		return j + 6, nil
	}
	return 0, d.syntaxErr(j+1, "invalid character "+quoteChar(b[j+1])+" in string escape code")
}

// scanNumber validates the JSON number starting at i and returns the index
// after it and whether it is an integer (no fraction, no exponent).
func (d *decoder) scanNumber(i int) (end int, isInt bool, err error) {
	b := d.buf
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j >= len(b):
		return 0, false, d.syntaxErr(j, msgEOF)
	case b[j] == '0':
		j++
	case '1' <= b[j] && b[j] <= '9':
		j++
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return 0, false, d.syntaxErr(j, "invalid character "+quoteChar(b[j])+" in numeric literal")
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		j++
		if j, err = d.digits(j); err != nil {
			return 0, false, err
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j, err = d.digits(j); err != nil {
			return 0, false, err
		}
	}
	return j, isInt, nil
}

// digits consumes one or more decimal digits.
func (d *decoder) digits(j int) (int, error) {
	b := d.buf
	if j >= len(b) {
		return 0, d.syntaxErr(j, msgEOF)
	}
	if !isDigit(b[j]) {
		return 0, d.syntaxErr(j, "invalid character "+quoteChar(b[j])+" in numeric literal")
	}
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	return j, nil
}

// literal consumes the literal lit ("true", "false" or "null") at i.
func (d *decoder) literal(i int, lit string) (int, error) {
	b := d.buf
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, d.syntaxErr(i+k, msgEOF)
		}
		if b[i+k] != lit[k] {
			return 0, d.syntaxErr(i+k, "invalid character "+quoteChar(b[i+k])+" in literal "+lit)
		}
	}
	return i + len(lit), nil
}

// push enters an object or array at i, enforcing maxDepth.
func (d *decoder) push(i int) error {
	d.depth++
	if d.depth > maxDepth {
		return d.syntaxErr(i, "exceeded max depth")
	}
	return nil
}

// skipValue validates the JSON value at i without keeping it and returns the
// index after it. It allocates nothing.
func (d *decoder) skipValue(i int) (int, error) {
	b := d.buf
	if i >= len(b) {
		return 0, d.syntaxErr(i, msgEOF)
	}
	switch c := b[i]; c {
	case '"':
		end, _, _, err := d.scanString(i + 1)
		if err != nil {
			return 0, err
		}
		return end + 1, nil
	case '{':
		return d.object(i, nil)
	case '[':
		return d.skipArray(i)
	case 't':
		return d.literal(i, "true")
	case 'f':
		return d.literal(i, "false")
	case 'n':
		return d.literal(i, "null")
	default:
		if c == '-' || isDigit(c) {
			j, _, err := d.scanNumber(i)
			return j, err
		}
		return 0, d.syntaxErr(i, "invalid character "+quoteChar(c)+" looking for beginning of value")
	}
}

func (d *decoder) skipArray(i int) (int, error) {
	if err := d.push(i); err != nil {
		return 0, err
	}
	b := d.buf
	i = d.skipWS(i + 1)
	if i < len(b) && b[i] == ']' {
		d.depth--
		return i + 1, nil
	}
	for {
		j, err := d.skipValue(i)
		if err != nil {
			return 0, err
		}
		i = d.skipWS(j)
		if i >= len(b) {
			return 0, d.syntaxErr(i, msgEOF)
		}
		switch b[i] {
		case ',':
			i = d.skipWS(i + 1)
		case ']':
			d.depth--
			return i + 1, nil
		default:
			return 0, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" after array element")
		}
	}
}

// memberFunc decodes the value of the member name, which starts at index i,
// and returns the index after it.
type memberFunc func(name []byte, i int) (int, error)

// object walks the object at i, calling fn for each member (or skipping every
// value when fn is nil), and returns the index after the object. Member names
// are unescaped when needed, into scratch memory that the next name reuses.
// While fn runs, d.prefix and d.name name the member for error messages.
func (d *decoder) object(i int, fn memberFunc) (int, error) {
	if err := d.push(i); err != nil {
		return 0, err
	}
	b := d.buf
	prefix := d.prefix
	// Escaped names are unescaped onto d.names as onto a stack, so that an
	// enclosing object's current name survives a nested object's names.
	mark := len(d.names)
	i = d.skipWS(i + 1)
	if i < len(b) && b[i] == '}' {
		d.depth--
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return 0, d.syntaxErr(i, msgEOF)
		}
		if b[i] != '"' {
			return 0, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" looking for beginning of object key string")
		}
		end, escaped, bad, err := d.scanString(i + 1)
		if err != nil {
			return 0, err
		}
		var name []byte
		if fn != nil {
			name = b[i+1 : end]
			if escaped || bad > 0 {
				n := len(name) + 2*bad
				d.names = slices.Grow(d.names[:mark], n)[:mark+n]
				n = unescapeInto(d.names[mark:], name, bad > 0)
				d.names = d.names[:mark+n]
				name = d.names[mark:]
			}
			d.prefix, d.name = prefix, name
		}
		i = d.skipWS(end + 1)
		if i >= len(b) {
			return 0, d.syntaxErr(i, msgEOF)
		}
		if b[i] != ':' {
			return 0, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" after object key")
		}
		i = d.skipWS(i + 1)
		if i >= len(b) {
			return 0, d.syntaxErr(i, msgEOF)
		}
		if fn != nil {
			i, err = fn(name, i)
			d.prefix, d.name = prefix, name
		} else {
			i, err = d.skipValue(i)
		}
		if err != nil {
			return 0, err
		}
		i = d.skipWS(i)
		if i >= len(b) {
			return 0, d.syntaxErr(i, msgEOF)
		}
		switch b[i] {
		case ',':
			i = d.skipWS(i + 1)
		case '}':
			d.depth--
			d.names = d.names[:mark]
			return i + 1, nil
		default:
			return 0, d.syntaxErr(i, "invalid character "+quoteChar(b[i])+" after object key:value pair")
		}
	}
}

// compact returns the JSON value v (already validated) without whitespace
// outside strings. v itself is returned when it was already compact (d.ws
// false since the value started); otherwise the result goes to the arena, or
// over v itself when v lives in the arena.
func (d *decoder) compact(v []byte, pos int) []byte {
	if !d.ws {
		return v
	}
	var dst []byte
	if d.inPlace {
		dst = v
	} else {
		dst = d.arena.reserve(len(v), d.remaining(pos))
	}
	w := 0
	for r := 0; r < len(v); r++ {
		switch c := v[r]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			// Copy the string verbatim; it was validated, so a quote that
			// does not follow a backslash ends it.
			dst[w] = c
			w++
			for r++; ; r++ {
				c = v[r]
				dst[w] = c
				w++
				if c == '\\' {
					r++
					dst[w] = v[r]
					w++
				} else if c == '"' {
					break
				}
			}
		default:
			dst[w] = c
			w++
		}
	}
	if d.inPlace {
		return v[:w:w]
	}
	return d.arena.commit(w)
}

// growLen returns b resliced to length n, reallocated if it is too small.
func growLen(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/2)
	}
	return b[:n]
}

const msgEOF = "unexpected end of JSON input"

// quoteChar formats a byte for an error message as encoding/json does.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	if c >= 0x20 && c < 0x7f {
		return "'" + string(rune(c)) + "'"
	}
	const hex = "0123456789abcdef"
	return `'\x` + string(hex[c>>4]) + string(hex[c&0xf]) + "'"
}

// skipFast validates the JSON value at i as skipValue does, but in a loop
// rather than by recursion through object and its member callbacks: JSON
// values (the trigger's Json data format) are most of such a batch. It
// gives up (ok false), having decided nothing, on anything malformed and on
// nesting deeper than 64 levels; the caller then calls skipValue, which finds
// the same end or reports the error as encoding/json would.
func (d *decoder) skipFast(i int) (end int, ok bool) {
	const maxFast = 64
	if d.depth+maxFast > maxDepth {
		return 0, false
	}
	b := d.buf
	var objects uint64 // bit k set: level k+1 is an object
	depth := 0
	for {
		// A value starts at i.
		if i >= len(b) {
			return 0, false
		}
		switch c := b[i]; {
		case c == '"':
			if j, ok := shortString(b, i); ok {
				i = j
				break
			}
			j, _, _, err := d.scanString(i + 1)
			if err != nil {
				return 0, false
			}
			i = j + 1
		case c == '{' || c == '[':
			if depth == maxFast {
				return 0, false
			}
			obj := c == '{'
			if obj {
				objects |= 1 << depth
			} else {
				objects &^= 1 << depth
			}
			depth++
			if i = d.skipWS(i + 1); i >= len(b) {
				return 0, false
			}
			if obj && b[i] == '}' || !obj && b[i] == ']' {
				depth--
				i++
				break
			}
			if obj {
				if i, ok = d.fastKey(i); !ok {
					return 0, false
				}
			}
			continue
		case c == 't':
			if i, ok = hasLiteral(b, i, "true"); !ok {
				return 0, false
			}
		case c == 'f':
			if i, ok = hasLiteral(b, i, "false"); !ok {
				return 0, false
			}
		case c == 'n':
			if i, ok = hasLiteral(b, i, "null"); !ok {
				return 0, false
			}
		case c == '-' || isDigit(c):
			j, _, err := d.scanNumber(i)
			if err != nil {
				return 0, false
			}
			i = j
		default:
			return 0, false
		}
		// After a value: close containers, or move on to the next one.
		for {
			if depth == 0 {
				return i, true
			}
			if i = d.skipWS(i); i >= len(b) {
				return 0, false
			}
			obj := objects&(1<<(depth-1)) != 0
			c := b[i]
			if c == ',' {
				i = d.skipWS(i + 1)
				if obj {
					if i, ok = d.fastKey(i); !ok {
						return 0, false
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				depth--
				i++
				continue
			}
			return 0, false
		}
	}
}

// fastKey reads an object member's name and colon at i for skipFast and
// returns the index of the value.
func (d *decoder) fastKey(i int) (int, bool) {
	b := d.buf
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	j, ok := shortString(b, i)
	if !ok {
		end, _, _, err := d.scanString(i + 1)
		if err != nil {
			return 0, false
		}
		j = end + 1
	}
	if i = d.skipWS(j); i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return d.skipWS(i + 1), true
}

// shortString returns the index after the string whose opening quote is at
// i if the string ends within the next eight bytes with nothing to check
// in between (most keys and many values of JSON documents), without calls.
func shortString(b []byte, i int) (int, bool) {
	if i+9 > len(b) {
		return 0, false
	}
	m := stringSpecial(binary.LittleEndian.Uint64(b[i+1:]))
	if m == 0 {
		return 0, false
	}
	j := i + 1 + bits.TrailingZeros64(m)>>3
	return j + 1, b[j] == '"'
}

// hasLiteral reports whether lit is at b[i], and the index after it.
func hasLiteral(b []byte, i int, lit string) (int, bool) {
	if i+len(lit) > len(b) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}
