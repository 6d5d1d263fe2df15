package osstest

import (
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// putObject handles PutObject (PUT /bucket/key).
//
// Supports: x-oss-forbid-overwrite: true (409 FileAlreadyExists if the key
// exists, normal or appendable; the object is untouched; a value other than
// true or false is 400 InvalidArgument), Content-MD5 (400
// InvalidDigest on mismatch), Content-Type and Content-Encoding (kept and
// returned by GET/HEAD; the body is stored as sent, whatever the encoding
// says). Replacing an appendable object is allowed and leaves a normal one.
// Ignores: ACL, storage class, user metadata, encryption, tagging, callbacks.
func (s *Server) putObject(c *call) reply {
	if md := c.r.Header.Get("Content-MD5"); md != "" {
		sum := md5.Sum(c.body)
		if base64.StdEncoding.EncodeToString(sum[:]) != md {
			return errReply(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
	}
	fo := c.r.Header.Get("X-Oss-Forbid-Overwrite")
	if fo != "" && !strings.EqualFold(fo, "true") && !strings.EqualFold(fo, "false") {
		return errReply(400, "InvalidArgument", "x-oss-forbid-overwrite must be true or false.",
			field("ArgumentName", "x-oss-forbid-overwrite"), field("ArgumentValue", fo))
	}
	forbid := strings.EqualFold(fo, "true")
	a, rep, ok := writeAttrs(c.r.Header, false, s.cfg.defaultClass)
	if !ok {
		return rep
	}
	o := &object{
		data:            contentOf(c.body),
		crc:             s.crc(0, c.body),
		modified:        s.now().UTC(),
		contentType:     c.r.Header.Get("Content-Type"),
		contentEncoding: c.r.Header.Get("Content-Encoding"),
		attrs:           a,
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
