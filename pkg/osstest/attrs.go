package osstest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The OSS storage classes, as x-oss-storage-class spells them.
const (
	ClassStandard        = "Standard"
	ClassIA              = "IA"
	ClassArchive         = "Archive"
	ClassColdArchive     = "ColdArchive"
	ClassDeepColdArchive = "DeepColdArchive"
)

var storageClasses = []string{ClassStandard, ClassIA, ClassArchive, ClassColdArchive, ClassDeepColdArchive}

// archived reports whether objects of class must be restored to be read.
func archived(class string) bool {
	return class == ClassArchive || class == ClassColdArchive || class == ClassDeepColdArchive
}

// Tag is an object tag or a user metadata entry.
type Tag struct {
	Key, Value string
}

// attrs are the attributes the request that creates an object gives it.
type attrs struct {
	class         string
	sse, sseKeyID string
	tags          []Tag // in request order
	meta          []Tag // keys lower-cased, sorted
}

// maxTags, maxTagKey and maxTagValue are OSS's limits on object tags.
const (
	maxTags     = 10
	maxTagKey   = 128
	maxTagValue = 256
	maxUserMeta = 8 << 10
)

// writeAttrs reads and checks the attribute headers of a PutObject or
// AppendObject (appendable: true), as OSS checks them, before the object is
// looked at. defaultClass is the bucket's class for a request without
// x-oss-storage-class.
func writeAttrs(h http.Header, appendable bool, defaultClass string) (attrs, reply, bool) {
	var a attrs
	a.class = defaultClass
	if v, ok := h["X-Oss-Storage-Class"]; ok {
		i := slices.IndexFunc(storageClasses, func(c string) bool { return strings.EqualFold(c, v[0]) })
		if i < 0 {
			return a, errReply(400, "InvalidArgument", "Invalid storage class "+v[0]+".",
				field("ArgumentName", "x-oss-storage-class"), field("ArgumentValue", v[0])), false
		}
		a.class = storageClasses[i]
	}
	if appendable && (a.class == ClassColdArchive || a.class == ClassDeepColdArchive) {
		// OSS EC 0016-00000503: appendable objects cannot be Cold Archive
		// or Deep Cold Archive in any form.
		return a, errReply(400, "InvalidArgument", "Appendable objects do not support the storage class "+a.class+".",
			field("ArgumentName", "x-oss-storage-class"), field("ArgumentValue", a.class)), false
	}

	a.sse = h.Get("X-Oss-Server-Side-Encryption")
	a.sseKeyID = h.Get("X-Oss-Server-Side-Encryption-Key-Id")
	switch a.sse {
	case "", "AES256", "KMS", "SM4":
	default:
		return a, errReply(400, "InvalidEncryptionAlgorithmError", "The encryption method specified is not supported.",
			field("ArgumentName", "x-oss-server-side-encryption"), field("ArgumentValue", a.sse)), false
	}
	if a.sseKeyID != "" {
		if a.sse != "KMS" {
			return a, errReply(400, "InvalidArgument", "x-oss-server-side-encryption-key-id is only allowed with x-oss-server-side-encryption: KMS.",
				field("ArgumentName", "x-oss-server-side-encryption-key-id")), false
		}
		if appendable {
			// AppendObject documents: no CMK ID for appendable objects.
			return a, errReply(400, "InvalidArgument", "Appendable objects do not support a customer master key (x-oss-server-side-encryption-key-id).",
				field("ArgumentName", "x-oss-server-side-encryption-key-id")), false
		}
	}

	if v, ok := h["X-Oss-Tagging"]; ok {
		tags, rep, ok := parseTagging(v[0])
		if !ok {
			return a, rep, false
		}
		a.tags = tags
	}

	total := 0
	for name, v := range h {
		k, ok := strings.CutPrefix(strings.ToLower(name), "x-oss-meta-")
		if !ok {
			continue
		}
		val := ""
		if len(v) > 0 {
			val = v[0]
		}
		if k == "" || strings.IndexFunc(k, func(r rune) bool {
			return !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z')
		}) >= 0 {
			return a, errReply(400, "InvalidArgument", "User metadata keys may hold only letters, digits and '-'.",
				field("ArgumentName", name)), false
		}
		if strings.IndexFunc(val, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			return a, errReply(400, "InvalidArgument", "User metadata values must be printable ASCII.",
				field("ArgumentName", name)), false
		}
		total += len(k) + len(val)
		a.meta = append(a.meta, Tag{k, val})
	}
	if total > maxUserMeta {
		return a, errReply(400, "InvalidArgument", "The user metadata (x-oss-meta-*) exceeds 8 KB."), false
	}
	slices.SortFunc(a.meta, func(x, y Tag) int { return strings.Compare(x.Key, y.Key) })
	return a, reply{}, true
}

// parseTagging parses x-oss-tagging: "k1=v1&k2=v2", keys and values
// percent-encoded. A '+' is taken as a plus sign, not a space: OSS asks for
// URL-encoded tags without saying which reading of '+' it applies, so a
// client must encode a space as %20, which both readings agree on (the
// SDK's SetTagging sends '+', and osstest makes that visible).
func parseTagging(v string) ([]Tag, reply, bool) {
	var tags []Tag
	if v == "" {
		return nil, reply{}, true
	}
	for _, pair := range strings.Split(v, "&") {
		k, val, _ := strings.Cut(pair, "=")
		if strings.Contains(val, "=") {
			return nil, errReply(400, "InvalidArgument", "x-oss-tagging must be key1=value1&key2=value2.",
				field("ArgumentName", "x-oss-tagging"), field("ArgumentValue", v)), false
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(val)
		if err1 != nil || err2 != nil {
			return nil, errReply(400, "InvalidArgument", "x-oss-tagging is not correctly URL-encoded.",
				field("ArgumentName", "x-oss-tagging"), field("ArgumentValue", v)), false
		}
		tags = append(tags, Tag{dk, dv})
	}
	if rep, ok := checkTags(tags); !ok {
		return nil, rep, false
	}
	return tags, reply{}, true
}

// checkTags applies OSS's object tag rules.
func checkTags(tags []Tag) (reply, bool) {
	if len(tags) > maxTags {
		return errReply(400, "InvalidTag", "An object can have at most 10 tags."), false
	}
	for i, t := range tags {
		switch {
		case t.Key == "" || len(t.Key) > maxTagKey:
			return errReply(400, "InvalidTag", "A tag key must be 1 to 128 characters long."), false
		case len(t.Value) > maxTagValue:
			return errReply(400, "InvalidTag", "A tag value must be at most 256 characters long."), false
		case !tagText(t.Key) || !tagText(t.Value):
			return errReply(400, "InvalidTag", "Tag keys and values may hold only letters, digits, spaces and + - = . _ : /."), false
		}
		for _, u := range tags[:i] {
			if u.Key == t.Key {
				return errReply(400, "InvalidTag", "Tag keys must be unique: "+t.Key+"."), false
			}
		}
	}
	return reply{}, true
}

func tagText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(" +-=._:/", c) >= 0) {
			return false
		}
	}
	return true
}
