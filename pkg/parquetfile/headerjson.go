package parquetfile

import "unicode/utf8"

// appendHeader appends one element of the canonical headers text,
// {"key":k,"value":v} or {"key":k,"value":null}.
func appendHeader(dst, key, value []byte, hasValue bool) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendJSONString(dst, key)
	dst = append(dst, `,"value":`...)
	if hasValue {
		dst = appendJSONString(dst, value)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string with the fewest escapes: `"`
// and `\` escaped, \n \r \t by their short forms, other control characters
// as \u00XX, everything else as it is (non-ASCII included) — the escaping
// of pkg/format's JSONL, so that a header reads the same from either.
// Invalid UTF-8 (a file another writer wrote) becomes \ufffd, so the text
// is always valid JSON.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendCanonicalHeaders appends to dst the canonical text of the headers
// text h (see the package doc): what a Reader returns for a row that a
// Writer wrote with Row.Headers h. Comparing it with what a Reader
// returned tells whether the file kept the row's headers.
func AppendCanonicalHeaders(dst, h []byte) []byte {
	hs, buf := parseHeaders(nil, nil, h)
	dst = append(dst, '[')
	for i, e := range hs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendHeader(dst, e.key.of(buf), e.value.of(buf), e.hasValue)
	}
	return append(dst, ']')
}
