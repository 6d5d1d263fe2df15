package osstest

import (
	"bytes"
	"encoding/xml"
	"net/http"
)

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlTagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Tags    []xmlTag `xml:"TagSet>Tag"`
}

// getObjectTagging handles GetObjectTagging (GET /bucket/key?tagging): the
// object's tags, in the order they were set, or 404 NoSuchKey. It works on
// archived objects too (tags are metadata).
// Ignores: versionId.
func (s *Server) getObjectTagging(c *call) reply {
	o, ok := s.lookup(c.bucket, c.key)
	if !ok {
		return noSuchKey(c.key)
	}
	doc := xmlTagging{Tags: []xmlTag{}}
	for _, t := range o.attrs.tags {
		doc.Tags = append(doc.Tags, xmlTag(t))
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(doc); err != nil {
		return errReply(500, "InternalError", "osstest: encoding tags: "+err.Error())
	}
	return reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/xml"}}, body: buf.Bytes()}
}

// putObjectTagging handles PutObjectTagging (PUT /bucket/key?tagging): it
// replaces the object's tags with the body's TagSet, under the rules of
// x-oss-tagging (400 InvalidTag), or answers 404 NoSuchKey.
// Ignores: versionId.
func (s *Server) putObjectTagging(c *call) reply {
	var doc xmlTagging
	if err := xml.Unmarshal(c.body, &doc); err != nil {
		return errReply(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	tags := make([]Tag, 0, len(doc.Tags))
	for _, t := range doc.Tags {
		tags = append(tags, Tag(t))
	}
	if rep, ok := checkTags(tags); !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.buckets[c.bucket].objects[c.key]
	if o == nil {
		return noSuchKey(c.key)
	}
	o.attrs.tags = tags // a new slice: snapshots keep the old one
	return reply{status: http.StatusOK}
}
