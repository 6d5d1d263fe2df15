package osstest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// listObjects handles ListObjectsV2 (GET /bucket/?list-type=2).
//
// Supports: prefix, delimiter (keys sharing the part up to the next delimiter
// after the prefix fold into one CommonPrefixes entry, which counts against
// max-keys), start-after (exclusive, need not be a key), continuation-token /
// NextContinuationToken paging with IsTruncated (true exactly when entries
// remain), max-keys (1..1000, default 100; anything else is 400
// InvalidArgument), encoding-type=url (Key, Prefix, Delimiter, StartAfter and
// CommonPrefixes are URL-encoded in the reply). Keys are ordered by their
// UTF-8 bytes. As on OSS, a continuation token overrides start-after, which
// is then ignored (but still echoed), and a prefix or start-after of 1,024
// bytes or more is 400 InvalidArgument.
// Ignores: fetch-owner (no Owner is returned).
func (s *Server) listObjects(c *call) reply {
	q := c.query
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	encode := q.Get("encoding-type") == "url"
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return errReply(400, "InvalidArgument", "encoding-type must be url.", field("ArgumentName", "encoding-type"))
	}
	maxKeys := 100
	if v, ok := q["max-keys"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 1000 {
			return errReply(400, "InvalidArgument", "max-keys must be between 1 and 1000.", field("ArgumentName", "max-keys"))
		}
		maxKeys = n
	}
	for _, arg := range []string{"prefix", "start-after"} {
		if len(q.Get(arg)) > maxKeyLen {
			return errReply(400, "InvalidArgument", arg+" must be shorter than 1024 bytes.", field("ArgumentName", arg))
		}
	}

	// marker: list keys strictly after it; skipPrefix: and not under it (the
	// common prefix the previous page ended with).
	marker, skipPrefix := startAfter, ""
	token := q.Get("continuation-token")
	if token != "" {
		k, cp, err := decodeToken(token)
		if err != nil {
			return errReply(400, "InvalidArgument", "The continuation token is invalid.", field("ArgumentName", "continuation-token"))
		}
		marker, skipPrefix = k, cp
	}

	type entry struct {
		key        string
		size       int64
		appendable bool
		modified   time.Time
		etag       string
		class      string
	}
	var (
		contents  []entry
		prefixes  []string
		truncated bool
		lastKey   string // the last entry returned, for the next token
		lastIsCP  bool
	)

	s.mu.RLock()
	b := s.buckets[c.bucket]
	from := max(prefix, marker)
	i, found := slices.BinarySearch(b.keys, from)
	if found && from == marker {
		i++ // start-after and tokens are exclusive
	}
	for ; i < len(b.keys); i++ {
		k := b.keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if skipPrefix != "" && strings.HasPrefix(k, skipPrefix) {
			continue
		}
		cp := ""
		if delim != "" {
			if j := strings.Index(k[len(prefix):], delim); j >= 0 {
				cp = k[:len(prefix)+j+len(delim)]
			}
		}
		if cp != "" && lastIsCP && cp == lastKey {
			continue // folded into the common prefix already returned
		}
		if len(contents)+len(prefixes) == maxKeys {
			truncated = true
			break
		}
		if cp != "" {
			prefixes = append(prefixes, cp)
			lastKey, lastIsCP = cp, true
			continue
		}
		o := b.objects[k]
		contents = append(contents, entry{k, int64(o.data.len()), o.appendable, o.modified, o.etag(), o.attrs.class})
		lastKey, lastIsCP = k, false
	}
	s.mu.RUnlock()

	enc := func(v string) string {
		if !encode {
			return v
		}
		return urlEncode(v)
	}
	type xmlContents struct {
		Key          string
		LastModified string
		ETag         string
		Type         string
		Size         int64
		StorageClass string
	}
	type xmlPrefix struct {
		Prefix string
	}
	doc := struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		Name                  string
		Prefix                string
		StartAfter            string `xml:",omitempty"`
		ContinuationToken     string `xml:",omitempty"`
		MaxKeys               int
		Delimiter             string
		EncodingType          string `xml:",omitempty"`
		IsTruncated           bool
		NextContinuationToken string `xml:",omitempty"`
		KeyCount              int
		Contents              []xmlContents
		CommonPrefixes        []xmlPrefix
	}{
		Name: c.bucket, Prefix: enc(prefix), StartAfter: enc(startAfter), ContinuationToken: token,
		MaxKeys: maxKeys, Delimiter: enc(delim), IsTruncated: truncated,
		KeyCount: len(contents) + len(prefixes),
	}
	if encode {
		doc.EncodingType = "url"
	}
	if truncated {
		doc.NextContinuationToken = encodeToken(lastKey, lastIsCP)
	}
	for _, e := range contents {
		t := "Normal"
		if e.appendable {
			t = "Appendable"
		}
		doc.Contents = append(doc.Contents, xmlContents{
			Key: enc(e.key), LastModified: e.modified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag: e.etag, Type: t, Size: e.size, StorageClass: e.class,
		})
	}
	for _, p := range prefixes {
		doc.CommonPrefixes = append(doc.CommonPrefixes, xmlPrefix{enc(p)})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(doc); err != nil {
		// Keys that are not valid UTF-8 cannot go into XML unencoded.
		return errReply(400, "InvalidArgument", "keys cannot be listed without encoding-type=url: "+err.Error())
	}
	return reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/xml"}}, body: buf.Bytes()}
}

// urlEncode encodes v the way OSS does for encoding-type=url: like a query
// component, but with %20 for spaces, so that url.QueryUnescape (which the SDK
// uses) restores '+' and ' ' correctly, and with '/' left readable.
func urlEncode(v string) string {
	e := url.QueryEscape(v)
	e = strings.ReplaceAll(e, "+", "%20")
	return strings.ReplaceAll(e, "%2F", "/")
}

// Continuation tokens are opaque to clients: the base64url form of the last
// returned entry, tagged as key ("k") or common prefix ("p"). base64url needs
// no URL encoding, so the token survives the SDK's unescaping unchanged.
func encodeToken(last string, isPrefix bool) string {
	tag := "k"
	if isPrefix {
		tag = "p"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(tag + last))
}

func decodeToken(tok string) (key, commonPrefix string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) == 0 {
		return "", "", errBadToken
	}
	v := string(raw[1:])
	switch raw[0] {
	case 'k':
		return v, "", nil
	case 'p':
		return v, v, nil
	}
	return "", "", errBadToken
}

var errBadToken = errors.New("invalid continuation token")
