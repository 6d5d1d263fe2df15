package events

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// Strings are read in one pass (readBody): the scan that validates a string
// body is the one that unescapes it. A body without escapes or invalid UTF-8
// is returned where it lies; at its first escape the scan starts writing the
// content, over the body itself (in place: the content never outgrows what
// was read) or into the arena, and goes on eight bytes at a time, storing
// each word it checked. Non-ASCII text is validated rune by rune only where
// it occurs. Only a body with invalid UTF-8, whose repair (each bad byte
// becomes a 3-byte U+FFFD) outgrows it, takes a second walk (repairBody).

// unescaped maps the character after a backslash to what a two-character
// escape stands for; 0 marks \u (handled apart) and invalid escapes. It is
// read-only lookup data.
var unescaped = [256]byte{
	'"': '"', '\\': '\\', '/': '/',
	'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t',
}

// readBody reads the string body that starts at i (just after its opening
// quote) in d.buf. It returns the content, the index of the closing quote,
// and whether the content was written (unescaped or repaired) rather than
// being buf[i:end] itself. place lets it write over the body; otherwise
// content goes to the arena, whose new buffers, if one is needed, get hint
// bytes. The content's capacity ends at its length.
func (d *decoder) readBody(i int, place bool, hint int) (s []byte, end int, written bool, err error) {
	b := d.buf
	r := i
	for {
		r = nextSpecial(b, r)
		if r >= len(b) {
			return nil, 0, false, d.syntaxErr(r, msgEOF)
		}
		c := b[r]
		if c == '"' {
			return b[i:r:r], r, false, nil
		}
		if c < utf8.RuneSelf {
			break
		}
		n := validRune(b, r)
		if n == 0 {
			return d.repairBody(i, r, false, nil, 0, hint)
		}
		r += n
	}
	if b[r] != '\\' {
		return nil, 0, false, d.ctrlErr(r)
	}

	// The first escape: from here on the content is written.
	var dst []byte
	w := r
	if place {
		dst = b
	} else {
		dst = d.arena.reserve(min(len(b)-i, max(2*(r-i), 256))+utf8.UTFMax, hint)
		w = copy(dst, b[i:r])
	}
	for {
		// Here b[r] is special: a quote, backslash, control or non-ASCII byte.
		if !place && w+8 > len(dst) {
			dst = d.growBody(dst, w, w+8, len(b)-r, hint)
		}
		switch c := b[r]; {
		case c == '"':
			if place {
				return b[i:w:w], r, true, nil
			}
			return d.arena.commit(w), r, true, nil
		case c == '\\':
			if r+1 < len(b) {
				if u := unescaped[b[r+1]]; u != 0 {
					dst[w] = u
					w++
					r += 2
					break
				}
			}
			if _, err := d.escape(r); err != nil {
				return nil, 0, false, err
			}
			n, adv := unescapeOne(dst[w:], b[r:])
			w += n
			r += adv
		case c < utf8.RuneSelf:
			return nil, 0, false, d.ctrlErr(r)
		default:
			n := validRune(b, r)
			if n == 0 {
				return d.repairBody(i, r, place, dst, w, hint)
			}
			for k := range n {
				dst[w+k] = b[r+k]
			}
			w += n
			r += n
		}

		// Copy the run up to the next special byte: dense escapes (JSON
		// text in a string) a word at a time here, decoding the common
		// two-character escapes from the word already loaded; longer runs
		// by nextSpecial and copy.
		run := false
		for clean := 0; ; {
			if r+8 > len(b) || (!place && w+8 > len(dst)) {
				run = true
				break
			}
			x := binary.LittleEndian.Uint64(b[r:])
			m := stringSpecial(x)
			if m == 0 {
				if clean == 2 {
					run = true
					break
				}
				// Storing the whole word is safe in place too: every
				// byte it covers has been read.
				binary.LittleEndian.PutUint64(dst[w:], x)
				w += 8
				r += 8
				clean++
				continue
			}
			n := bits.TrailingZeros64(m) >> 3
			if !place || r-w >= 8 {
				// The word's bytes past the special one land at or
				// beyond w+n, short of the unread bytes at r+n.
				binary.LittleEndian.PutUint64(dst[w:], x)
			} else {
				copy(dst[w:w+n], b[r:r+n])
			}
			w += n
			r += n
			if n < 7 && byte(x>>(8*n)) == '\\' {
				// w < len(dst): the check above left room for the word.
				if u := unescaped[byte(x>>(8*(n+1)))]; u != 0 {
					dst[w] = u
					w++
					r += 2
					clean = 0
					continue
				}
			}
			break
		}
		if run {
			j := nextSpecial(b, r)
			if j >= len(b) {
				return nil, 0, false, d.syntaxErr(j, msgEOF)
			}
			if !place && w+(j-r)+8 > len(dst) {
				dst = d.growBody(dst, w, w+(j-r)+8, len(b)-r, hint)
			}
			w += copy(dst[w:], b[r:j])
			r = j
		}
	}
}

// growBody returns a larger arena reservation, of at least need bytes,
// holding the content dst[:w] written so far. It grows by doubling, up to
// room for the rest of the buffer (rest bytes, which unescape to no more
// than that).
func (d *decoder) growBody(dst []byte, w, need, rest, hint int) []byte {
	n := max(need, min(w+rest, max(2*len(dst), w+1024))+8)
	nd := d.arena.reserve(n, hint)
	if &nd[0] != &dst[0] {
		copy(nd, dst[:w])
	}
	return nd
}

// repairBody finishes reading the body that starts at i, from r (an invalid
// UTF-8 byte) on, when the content so far is dst[:w] (written in place: buf[i:w];
// nil dst: none was written, the content is buf[i:r]). Its repair can
// outgrow the body, so it learns the rest's length and bad bytes first,
// then writes the whole content to the arena.
func (d *decoder) repairBody(i, r int, place bool, dst []byte, w, hint int) ([]byte, int, bool, error) {
	b := d.buf
	end, _, bad, err := d.scanString(r)
	if err != nil {
		return nil, 0, false, err
	}
	var prefix []byte
	switch {
	case dst == nil:
		prefix = b[i:r]
	case place:
		prefix = b[i:w]
	default:
		prefix = dst[:w]
	}
	out := d.arena.reserve(len(prefix)+end-r+2*bad, hint)
	k := copy(out, prefix)
	k += unescapeInto(out[k:], b[r:end], true)
	return d.arena.commit(k), end, true, nil
}

// validRune returns the length of the valid UTF-8 encoding of a non-ASCII
// rune at b[i], or 0 if the bytes there are not one (encoding/json then
// puts U+FFFD for the first byte), by the table of RFC 3629.
func validRune(b []byte, i int) int {
	c := b[i]
	lo, hi := byte(0x80), byte(0xBF)
	var n int
	switch {
	case c < 0xC2:
		return 0
	case c < 0xE0:
		n = 2
	case c < 0xF0:
		n = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c < 0xF5:
		n = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 0
	}
	if i+n > len(b) {
		return 0
	}
	if c1 := b[i+1]; c1 < lo || c1 > hi {
		return 0
	}
	for k := 2; k < n; k++ {
		if c := b[i+k]; c < 0x80 || c > 0xBF {
			return 0
		}
	}
	return n
}

// ctrlErr reports the control character at pos inside a string.
func (d *decoder) ctrlErr(pos int) error {
	return d.syntaxErr(pos, "invalid character "+quoteChar(d.buf[pos])+" in string literal")
}
