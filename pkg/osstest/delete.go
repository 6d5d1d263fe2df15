package osstest

import "net/http"

// deleteObject handles DeleteObject (DELETE /bucket/key): 204 whether or not
// the key existed.
// Ignores: versionId.
func (s *Server) deleteObject(c *call) reply {
	s.mu.Lock()
	s.buckets[c.bucket].remove(c.key)
	s.mu.Unlock()
	return reply{status: http.StatusNoContent}
}
