package osstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// authenticate checks a request's V1 signature and security token, and
// records the access key id in c.
//
// Supports: the "Authorization: OSS AccessKeyId:Signature" header, and
// expired temporary credentials (ExpireCredentials: 403
// SecurityTokenExpired, after the signature is checked).
// Ignores: the Date header's age, presigned URLs (signature in the query),
// V2 and V4 signatures (rejected with 400 InvalidArgument).
func (s *Server) authenticate(c *call) (reply, bool) {
	r, bkt, key, q := c.r, c.bucket, c.key, c.query
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errReply(403, "AccessDenied", "AccessDenied: anonymous access is not allowed."), false
	}
	cred, ok := strings.CutPrefix(auth, "OSS ")
	if !ok {
		return errReply(400, "InvalidArgument", "osstest accepts only V1 signatures (Authorization: OSS AccessKeyId:Signature)."), false
	}
	i := strings.LastIndexByte(cred, ':')
	if i <= 0 || i == len(cred)-1 {
		return errReply(400, "InvalidArgument", "Authorization header is invalid."), false
	}
	ak, sig := cred[:i], cred[i+1:]
	c.accessKeyID = ak
	expired := errReply(403, "SecurityTokenExpired", "The security token you provided has expired.")
	if len(s.cfg.creds) == 0 {
		if s.isExpired(ak) {
			return expired, false
		}
		return reply{}, true
	}
	want, ok := s.cfg.creds[ak]
	if !ok {
		return errReply(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
			field("OSSAccessKeyId", ak)), false
	}
	sts := stringToSign(r, canonicalResource(bkt, key, q))
	mac := hmac.New(sha1.New, []byte(want.secret))
	mac.Write([]byte(sts))
	expected := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(expected), []byte(sig)) {
		// As OSS does, echo the string to sign, security token included:
		// clients must keep the reply body out of their errors and logs.
		return errReply(403, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			field("StringToSign", sts), field("OSSAccessKeyId", ak)), false
	}
	if s.isExpired(ak) {
		return expired, false
	}
	if want.token != "" && r.Header.Get("X-Oss-Security-Token") != want.token {
		return errReply(403, "InvalidSecurityToken", "The security token you provided is invalid."), false
	}
	return reply{}, true
}

// stringToSign builds the V1 string to sign:
//
//	VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource
//
// where CanonicalizedOSSHeaders is "name:value\n" for every x-oss-* header,
// names lowercased and sorted, first value only.
func stringToSign(r *http.Request, resource string) string {
	var names []string
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-oss-") {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(r.Header.Get("Content-MD5") + "\n")
	b.WriteString(r.Header.Get("Content-Type") + "\n")
	b.WriteString(r.Header.Get("Date") + "\n")
	for _, k := range names {
		b.WriteString(strings.ToLower(k) + ":" + r.Header[k][0] + "\n")
	}
	b.WriteString(resource)
	return b.String()
}

// canonicalResource is "/bucket/key" followed by the signed sub-resources,
// sorted by name, as "?a&b=v" (a parameter without a value is bare). The key
// is the decoded key, not its URL encoding.
func canonicalResource(bkt, key string, q url.Values) string {
	res := "/"
	if bkt != "" {
		res = "/" + bkt + "/" + key
	}
	var names []string
	for k := range q {
		if isSignedSubresource(k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return res
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(res)
	for i, k := range names {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

// isSignedSubresource reports whether a query parameter belongs to the V1
// canonicalized resource. The set is fixed by the OSS signing specification;
// parameters outside it (prefix, max-keys, list-type, ...) are not signed.
func isSignedSubresource(name string) bool {
	switch name {
	case "acl", "uploads", "location", "cors", "logging", "website", "referer",
		"lifecycle", "delete", "append", "tagging", "objectMeta", "uploadId",
		"partNumber", "security-token", "position", "img", "style", "styleName",
		"replication", "replicationProgress", "replicationLocation", "cname",
		"bucketInfo", "comp", "qos", "live", "status", "vod", "startTime",
		"endTime", "symlink", "x-oss-process", "response-content-type",
		"x-oss-traffic-limit", "response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "udf", "udfName", "udfImage", "udfId",
		"udfImageDesc", "udfApplication", "udfApplicationLog", "restore",
		"callback", "callback-var", "qosInfo", "policy", "stat", "encryption",
		"versions", "versioning", "versionId", "requestPayment",
		"x-oss-request-payer", "sequential", "inventory", "inventoryId",
		"continuation-token", "asyncFetch", "worm", "wormId", "wormExtend",
		"withHashContext", "x-oss-enable-md5", "x-oss-enable-sha1",
		"x-oss-enable-sha256", "x-oss-hash-ctx", "x-oss-md5-ctx",
		"transferAcceleration", "regionList", "cloudboxes", "x-oss-ac-source-ip",
		"x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
		"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader":
		return true
	}
	return false
}
