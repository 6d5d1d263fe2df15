package osstest

import (
	"slices"
	"strings"
)

// Deny is an access rule: the server refuses every request it matches with
// 403 AccessDenied, as OSS does for a request that a RAM or bucket policy
// does not allow. A request matches when it is signed with AccessKeyID, is
// for Bucket, names an object key (for ListObjectsV2, a prefix parameter)
// that starts with KeyPrefix, and is one of Ops; an empty field matches
// every request. Rules are checked after authentication and after the
// bucket is found to exist, as on OSS, where a policy cannot hide a missing
// bucket.
//
// Ops name the operations as OSS's RAM actions do: a PutObject or
// AppendObject that sets tags (x-oss-tagging) needs oss:PutObjectTagging as
// well as oss:PutObject, so a rule with OpPutTagging refuses it (and every
// later append carrying the header); OpGetTagging is oss:GetObjectTagging,
// OpRestore oss:RestoreObject.
//
// This is a model of a policy, not the policy language: a rule on a key
// prefix does not stop a ListObjectsV2 with a shorter prefix from listing
// the keys under it.
type Deny struct {
	AccessKeyID string
	Bucket      string
	KeyPrefix   string
	Ops         []Op
}

func (d Deny) matches(ak, bkt, key string, op Op) bool {
	return (d.AccessKeyID == "" || d.AccessKeyID == ak) &&
		(d.Bucket == "" || d.Bucket == bkt) &&
		strings.HasPrefix(key, d.KeyPrefix) &&
		(len(d.Ops) == 0 || slices.Contains(d.Ops, op))
}

// WithDeny adds an access rule (see Deny). Repeatable. Default: none, every
// registered key may do everything.
func WithDeny(d Deny) Opt {
	return func(c *config) { c.denies = append(c.denies, d) }
}

// SetDenies replaces every access rule, those from WithDeny included, with
// rules; SetDenies() removes them all. Requests already authorized are not
// affected.
func (s *Server) SetDenies(rules ...Deny) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	s.denies = slices.Clone(rules)
}

// ExpireCredentials makes every later request signed with accessKeyID fail
// with 403 SecurityTokenExpired, as OSS answers once temporary (STS)
// credentials have outlived their validity. It lasts until the server
// stops; register fresh credentials with WithCredentials to model rotation.
func (s *Server) ExpireCredentials(accessKeyID string) {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	s.expired[accessKeyID] = true
}

func (s *Server) isExpired(ak string) bool {
	s.policyMu.RLock()
	defer s.policyMu.RUnlock()
	return s.expired[ak]
}

// authorize applies the access rules to an authenticated request.
func (s *Server) authorize(c *call) (reply, bool) {
	key := c.key
	if c.op == OpList {
		key = c.query.Get("prefix")
	}
	s.policyMu.RLock()
	defer s.policyMu.RUnlock()
	// The RAM actions the request needs: its own, and for a write that
	// sets tags oss:PutObjectTagging too.
	ops := []Op{c.op}
	if _, tagged := c.r.Header["X-Oss-Tagging"]; tagged && (c.op == OpPut || c.op == OpAppend) {
		ops = append(ops, OpPutTagging)
	}
	for _, d := range s.denies {
		for _, op := range ops {
			if d.matches(c.accessKeyID, c.bucket, key, op) {
				return errReply(403, "AccessDenied", "You have no right to access this object because of bucket acl or policy."), false
			}
		}
	}
	return reply{}, true
}
