package osstest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// getObject handles GetObject (GET /bucket/key).
//
// Supports: one byte range ("bytes=a-b", "bytes=a-", "bytes=-n") answered
// with 206 and Content-Range. OSS by default ignores a range it cannot
// satisfy exactly (start or end beyond the object, or malformed) and returns
// the whole object with 200; with "x-oss-range-behavior: standard" a start
// beyond the end is 416 InvalidRange and an end beyond the end is clamped.
// Malformed and multi-range headers are ignored in both modes.
// The reply carries the object's Content-Type and Content-Encoding and its
// bytes as stored.
// Ignores: conditional headers (If-Match, ...), response-* overrides,
// image processing, versionId, Accept-Encoding (OSS may gzip a reply to a
// request that accepts gzip; osstest never does).
func (s *Server) getObject(c *call) reply {
	o, ok := s.lookup(c.bucket, c.key)
	if !ok {
		return noSuchKey(c.key)
	}
	now := s.now()
	if !o.readable(now) {
		return errReply(http.StatusForbidden, "InvalidObjectState", "The operation is not valid for the object's state.", field("Key", c.key))
	}
	h := s.objectHeaders(&o, now)
	size := int64(o.data.len())
	spec := c.r.Header.Get("Range")
	if spec == "" {
		return reply{status: http.StatusOK, header: h, body: o.data.all()}
	}
	standard := strings.EqualFold(c.r.Header.Get("X-Oss-Range-Behavior"), "standard")
	start, end, ok := parseRange(spec, size)
	if !ok {
		return reply{status: http.StatusOK, header: h, body: o.data.all()}
	}
	switch {
	case start >= size:
		if standard {
			rep := errReply(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied.")
			rep.header = http.Header{"Content-Range": {fmt.Sprintf("bytes */%d", size)}}
			return rep
		}
		return reply{status: http.StatusOK, header: h, body: o.data.all()}
	case end >= size:
		if !standard {
			return reply{status: http.StatusOK, header: h, body: o.data.all()}
		}
		end = size - 1
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	return reply{status: http.StatusPartialContent, header: h, body: o.data.bytes(int(start), int(end+1))}
}

// parseRange parses a single-range Range header. For a suffix range
// ("bytes=-n") it resolves against size. ok is false for anything malformed
// or unsupported, which OSS treats as no range at all.
func parseRange(spec string, size int64) (start, end int64, ok bool) {
	r, found := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !found || strings.Contains(r, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(r), "-")
	if !found {
		return 0, 0, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "" && last == "":
		return 0, 0, false
	case first == "": // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		if n >= size {
			return 0, max(size-1, 0), size > 0
		}
		return size - n, size - 1, true
	case last == "":
		a, err := strconv.ParseInt(first, 10, 64)
		if err != nil || a < 0 {
			return 0, 0, false
		}
		// An open end is always satisfiable up to the object's end.
		return a, max(size-1, a), true
	default:
		a, err1 := strconv.ParseInt(first, 10, 64)
		b, err2 := strconv.ParseInt(last, 10, 64)
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return 0, 0, false
		}
		return a, b, true
	}
}

// headObject handles HeadObject and GetObjectMeta (HEAD /bucket/key, with or
// without ?objectMeta). The reply is GetObject's headers without a body.
// Ignores: conditional headers, versionId.
func (s *Server) headObject(c *call) reply {
	o, ok := s.lookup(c.bucket, c.key)
	if !ok {
		return noSuchKey(c.key)
	}
	h := s.objectHeaders(&o, s.now())
	h.Set("Content-Length", strconv.Itoa(o.data.len()))
	return reply{status: http.StatusOK, header: h}
}

func noSuchKey(key string) reply {
	return errReply(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", field("Key", key))
}

// objectHeaders are GetObject's and HeadObject's headers for o at now.
func (s *Server) objectHeaders(o *object, now time.Time) http.Header {
	ct := o.contentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := http.Header{
		"Content-Type":         {ct},
		"Etag":                 {o.etag()},
		"Last-Modified":        {o.modified.UTC().Format(http.TimeFormat)},
		"X-Oss-Object-Type":    {o.objectType()},
		"X-Oss-Hash-Crc64ecma": {strconv.FormatUint(o.crc, 10)},
		"X-Oss-Storage-Class":  {o.attrs.class},
		"Accept-Ranges":        {"bytes"},
	}
	if o.contentEncoding != "" {
		h.Set("Content-Encoding", o.contentEncoding)
	}
	if o.appendable {
		h.Set("X-Oss-Next-Append-Position", strconv.Itoa(o.data.len()))
	}
	if o.attrs.sse != "" {
		h.Set("X-Oss-Server-Side-Encryption", o.attrs.sse)
	}
	if o.attrs.sseKeyID != "" {
		h.Set("X-Oss-Server-Side-Encryption-Key-Id", o.attrs.sseKeyID)
	}
	if n := len(o.attrs.tags); n > 0 {
		h.Set("X-Oss-Tagging-Count", strconv.Itoa(n))
	}
	for _, m := range o.attrs.meta {
		h.Set("X-Oss-Meta-"+m.Key, m.Value)
	}
	if v := o.restoreHeader(now); v != "" {
		h.Set("X-Oss-Restore", v)
	}
	return h
}
