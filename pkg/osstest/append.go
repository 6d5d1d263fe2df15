package osstest

import (
	"net/http"
	"strconv"
)

// appendObject handles AppendObject (POST /bucket/key?append&position=N).
//
// Supports: the position fence (409 PositionNotEqualToLength with the
// current length in x-oss-next-append-position, also for an absent key, whose
// length is 0), creation at position 0, 409 ObjectNotAppendable for normal
// objects, and the reply headers x-oss-next-append-position and
// x-oss-hash-crc64ecma (of the whole object, so the SDK's InitCRC check
// passes). Content-Type and Content-Encoding are kept from the request that
// creates the object and ignored on later appends (including position 0 on
// an existing empty object), as OSS does. An empty append succeeds without
// changing anything but the modification time (and creates an empty object
// at position 0).
// The storage class (Standard, IA or Archive: ColdArchive and
// DeepColdArchive are 400 InvalidArgument), server-side encryption (no
// customer key: 400 InvalidArgument), tags and user metadata are checked on
// every append, as OSS checks its headers, and kept from the append that
// creates the object.
// Ignores: Content-MD5, ACL,
// x-oss-forbid-overwrite (not an AppendObject header: the position fence
// already refuses to write over an object), and the 5 GB limit beyond
// rejecting bodies larger than that.
func (s *Server) appendObject(c *call) reply {
	pos, err := strconv.ParseInt(c.query.Get("position"), 10, 64)
	if err != nil || pos < 0 {
		return errReply(400, "InvalidArgument", "position must be a non-negative integer.",
			field("ArgumentName", "position"), field("ArgumentValue", c.query.Get("position")))
	}
	a, rep, ok := writeAttrs(c.r.Header, true, s.cfg.defaultClass)
	if !ok {
		return rep
	}
	now := s.now().UTC()

	s.mu.Lock()
	b := s.buckets[c.bucket]
	o := b.objects[c.key]
	switch {
	case o != nil && !o.appendable:
		s.mu.Unlock()
		return errReply(409, "ObjectNotAppendable", "The object is not appendable.", field("Key", c.key))
	case o == nil && pos != 0, o != nil && int64(o.data.len()) != pos:
		length := int64(0)
		if o != nil {
			length = int64(o.data.len())
		}
		s.mu.Unlock()
		rep := errReply(409, "PositionNotEqualToLength", "Position is not equal to file length.", field("Key", c.key))
		rep.header = http.Header{"X-Oss-Next-Append-Position": {strconv.FormatInt(length, 10)}}
		return rep
	case o == nil:
		o = &object{
			data:            contentOf(c.body),
			appendable:      true,
			crc:             s.crc(0, c.body),
			contentType:     c.r.Header.Get("Content-Type"),
			contentEncoding: c.r.Header.Get("Content-Encoding"),
			attrs:           a,
		}
		b.set(c.key, o)
	default:
		// A new chunk: readers' snapshots are unaffected, and nothing
		// written before is copied.
		o.data.add(c.body)
		o.crc = s.crc(o.crc, c.body)
	}
	o.modified = now
	next, crc, etag := int64(o.data.len()), o.crc, o.etag()
	s.mu.Unlock()

	return reply{status: http.StatusOK, header: http.Header{
		"Etag":                       {etag},
		"X-Oss-Next-Append-Position": {strconv.FormatInt(next, 10)},
		"X-Oss-Hash-Crc64ecma":       {strconv.FormatUint(crc, 10)},
	}}
}
