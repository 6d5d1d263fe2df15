package osstest

import (
	"strings"
	"unicode/utf8"
)

// maxKeyLen is the longest object name OSS accepts, in bytes; prefix and
// start-after of ListObjectsV2 must be shorter than 1,024 bytes too.
const maxKeyLen = 1023

// checkObjectName applies the OSS object naming rules to the key of an
// object request: 1 to 1,023 bytes of UTF-8, not starting with '/' or a
// backslash. OSS refuses other names with 400 InvalidObjectName before
// looking at the object.
func checkObjectName(key string) (reply, bool) {
	var why string
	switch {
	case len(key) > maxKeyLen:
		why = "The length of the object name must be less than 1024 bytes."
	case !utf8.ValidString(key):
		why = "The object name must be valid UTF-8."
	case strings.HasPrefix(key, "/") || strings.HasPrefix(key, "\\"):
		why = "The object name must not start with '/' or '\\'."
	default:
		return reply{}, true
	}
	return errReply(400, "InvalidObjectName", why), false
}
