package osstest

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// putObject handles PutObject (PUT /bucket/key).
//
// Supports: x-oss-forbid-overwrite: true (409 FileAlreadyExists if the key
// exists), Content-MD5 (400 InvalidDigest on mismatch), Content-Type (kept
// and returned by GET/HEAD). Replacing an appendable object is allowed and
// leaves a normal one.
// Ignores: ACL, storage class, user metadata, encryption, tagging, callbacks.
func (s *Server) putObject(c *call) reply {
	if md := c.r.Header.Get("Content-MD5"); md != "" {
		sum := md5.Sum(c.body)
		if base64.StdEncoding.EncodeToString(sum[:]) != md {
			return errReply(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
	}
	forbid := strings.EqualFold(c.r.Header.Get("X-Oss-Forbid-Overwrite"), "true")
	o := &object{
		data:        contentOf(c.body),
		crc:         s.crc(0, c.body),
		modified:    time.Now().UTC(),
		contentType: c.r.Header.Get("Content-Type"),
	}
	s.mu.Lock()
	b := s.buckets[c.bucket]
	if _, exists := b.objects[c.key]; exists && forbid {
		s.mu.Unlock()
		return errReply(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.",
			field("Key", c.key))
	}
	b.set(c.key, o)
	s.mu.Unlock()
	return reply{status: http.StatusOK, header: http.Header{
		"Etag":                 {o.etag()},
		"X-Oss-Hash-Crc64ecma": {strconv.FormatUint(o.crc, 10)},
	}}
}
