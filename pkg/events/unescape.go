package events

import (
	"bytes"
	"unicode/utf8"
)

// unescapeInto writes the unescaped form of the string body src, which
// scanString has validated, to dst and returns its length. dst must hold
// len(src) bytes, plus 2 per invalid UTF-8 byte when repair is set. dst may
// start at src (unescape in place): the write index never passes the read
// index, as long as no byte needs repair (a repair grows 1 byte to 3).
//
// The result matches encoding/json: invalid UTF-8 bytes and unpaired
// surrogate escapes become U+FFFD.
func unescapeInto(dst, src []byte, repair bool) int {
	w := 0
	if !repair {
		// Fast path: copy the runs between backslashes.
		for {
			k := bytes.IndexByte(src, '\\')
			if k < 0 {
				return w + copy(dst[w:], src)
			}
			w += copy(dst[w:], src[:k])
			n, adv := unescapeOne(dst[w:], src[k:])
			w += n
			src = src[k+adv:]
		}
	}
	for r := 0; r < len(src); {
		switch c := src[r]; {
		case c == '\\':
			n, adv := unescapeOne(dst[w:], src[r:])
			w += n
			r += adv
		case c < utf8.RuneSelf:
			dst[w] = c
			w++
			r++
		default:
			rr, size := utf8.DecodeRune(src[r:])
			if rr == utf8.RuneError && size == 1 {
				w += utf8.EncodeRune(dst[w:], utf8.RuneError)
			} else {
				w += copy(dst[w:], src[r:r+size])
			}
			r += size
		}
	}
	return w
}

// AppendUnescaped appends to dst the content of the JSON string body src
// (between the quotes, validated: every escape complete), as encoding/json
// reads it, except that bytes which are not UTF-8 are kept as they are.
// Package field reads JSON fields with it.
func AppendUnescaped(dst, src []byte) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, len(src))...) // an escape never grows
	return dst[:n+unescapeInto(dst[n:], src, false)]
}

// UnescapeOne is unescapeOne for other packages: dst must hold at least
// utf8.UTFMax bytes.
func UnescapeOne(dst, src []byte) (written, consumed int) { return unescapeOne(dst, src) }

// unescapeOne decodes the escape sequence at the start of src (src[0] is a
// backslash) into dst and returns the bytes written and the bytes consumed.
// It reads everything it needs before writing, so dst may overlap src.
func unescapeOne(dst, src []byte) (written, consumed int) {
	var c byte
	switch src[1] {
	case '"', '\\', '/':
		c = src[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r := hex4(src[2:6])
		consumed = 6
		if 0xD800 <= r && r < 0xE000 {
			// A high surrogate followed by a low one is one rune; anything
			// else surrogate-shaped is U+FFFD, and a following escape is
			// left for the next call, as in encoding/json.
			if r < 0xDC00 && len(src) >= 12 && src[6] == '\\' && src[7] == 'u' && isHex4(src[8:12]) {
				if r2 := hex4(src[8:12]); 0xDC00 <= r2 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					consumed = 12
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		return utf8.EncodeRune(dst, r), consumed
	}
	dst[0] = c
	return 1, 2
}

func isHex4(b []byte) bool {
	return isHex(b[0]) && isHex(b[1]) && isHex(b[2]) && isHex(b[3])
}

// hex4 decodes four hexadecimal digits that isHex has accepted.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// rawOffset maps an offset in the unescaped form of the string body raw back
// to the offset in raw of the escape or character that produced it, so that
// errors inside a string element can name a payload byte.
func rawOffset(raw []byte, out int) int {
	var tmp [utf8.UTFMax]byte
	r, w := 0, 0
	for r < len(raw) && w < out {
		switch c := raw[r]; {
		case c == '\\':
			n, adv := unescapeOne(tmp[:], raw[r:])
			if w+n > out {
				return r
			}
			w += n
			r += adv
		case c < utf8.RuneSelf:
			w++
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			n := size
			if rr == utf8.RuneError && size == 1 {
				n = 3
			}
			if w+n > out {
				return r
			}
			w += n
			r += size
		}
	}
	return r
}
