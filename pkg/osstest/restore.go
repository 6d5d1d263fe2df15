package osstest

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ManualRestore, returned by a RestoreDelay function, makes a restore wait
// until the test completes it (Server.CompleteRestore, CompleteRestores).
const ManualRestore time.Duration = -1

// The restore tiers of RestoreObject's JobParameters.
const (
	TierExpedited = "Expedited"
	TierStandard  = "Standard"
	TierBulk      = "Bulk"
)

// DefaultRestoreDelay is how long a restore takes unless WithRestoreDelay
// says otherwise: the upper end of the times OSS documents (Archive about a
// minute; Cold Archive Expedited 1 h, Standard 5 h, Bulk 12 h; Deep Cold
// Archive Expedited 12 h, Standard 48 h), on the server's clock
// (WithClock), so that code under test cannot count on a fast restore.
func DefaultRestoreDelay(class, tier string) time.Duration {
	switch class {
	case ClassArchive:
		return time.Minute
	case ClassColdArchive:
		switch tier {
		case TierExpedited:
			return time.Hour
		case TierBulk:
			return 12 * time.Hour
		}
		return 5 * time.Hour
	}
	if tier == TierExpedited {
		return 12 * time.Hour
	}
	return 48 * time.Hour
}

// WithRestoreDelay sets how long a restore of an object of class takes with
// tier ("" for Archive objects and requests without JobParameters), on the
// server's clock. A delay of 0 finishes the restore at once (the request
// still answers 202); ManualRestore (or any negative delay) waits for
// CompleteRestore. Default: DefaultRestoreDelay.
func WithRestoreDelay(delay func(class, tier string) time.Duration) Opt {
	return func(c *config) { c.restoreDelay = delay }
}

// WithManualRestores makes every restore wait until the test completes it
// with CompleteRestore or CompleteRestores: tests then decide exactly when a
// restore finishes, without sleeping.
func WithManualRestores() Opt {
	return WithRestoreDelay(func(string, string) time.Duration { return ManualRestore })
}

// WithClock sets the server's clock: Last-Modified, restore completion and
// the expiry of restored copies follow it. Default time.Now. A ManualClock
// lets a test move time forward explicitly.
func WithClock(now func() time.Time) Opt { return func(c *config) { c.now = now } }

// WithDefaultStorageClass sets the class of objects written without
// x-oss-storage-class, as a bucket's storage class does. Default
// ClassStandard. An AppendObject without the header then meets the same
// refusal of ColdArchive and DeepColdArchive as one that names the class.
func WithDefaultStorageClass(class string) Opt { return func(c *config) { c.defaultClass = class } }

// ManualClock is a clock that moves only when told, for WithClock. It is
// safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock that reads start until it is advanced.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now reads the clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (s *Server) now() time.Time {
	if s.cfg.now != nil {
		return s.cfg.now()
	}
	return time.Now()
}

// restoreState is where a restore of one archived object stands. Nothing
// moves it along in the background: its state at a given time is computed
// from it (at), so a ManualClock moves every restore at once.
type restoreState struct {
	requested bool
	// readyAt is when the restore finishes; zero while a manual restore
	// waits for CompleteRestore.
	readyAt time.Time
	days    int
	// expiry is when the restored copy stops being readable.
	expiry time.Time
}

// Restore states, as at reports them.
const (
	restoreNone = iota
	restoreOngoing
	restoreDone
)

func (r restoreState) at(now time.Time) int {
	switch {
	case !r.requested:
		return restoreNone
	case r.readyAt.IsZero() || now.Before(r.readyAt):
		return restoreOngoing
	case now.Before(r.expiry):
		return restoreDone
	}
	return restoreNone // the restored copy expired
}

// readable reports whether o's bytes may be read at now.
func (o *object) readable(now time.Time) bool {
	return !archived(o.attrs.class) || o.restore.at(now) == restoreDone
}

// restoreHeader is HeadObject's x-oss-restore for o at now ("" for none).
func (o *object) restoreHeader(now time.Time) string {
	switch o.restore.at(now) {
	case restoreOngoing:
		return `ongoing-request="true"`
	case restoreDone:
		return fmt.Sprintf(`ongoing-request="false", expiry-date="%s"`, o.restore.expiry.UTC().Format(http.TimeFormat))
	}
	return ""
}

// restoreObject handles RestoreObject (POST /bucket/key?restore).
//
// Supports: the RestoreRequest body with Days (1-7 for Archive, 1-365 for
// the cold classes; default 1) and JobParameters/Tier (Expedited, Standard,
// Bulk; Deep Cold Archive has no Bulk; ignored for Archive; default
// Standard). 202 when a restore starts, 409 RestoreAlreadyInProgress while
// one runs, 200 on a restored object (its expiry moves to now + Days); 400
// OperationNotSupported for an object not in an archive class, 404 NoSuchKey
// for an absent one. A restored copy expires Days days after the restore
// finished, and the object is then archived again.
// Ignores: versionId, CleanRestoredObject, real-time access of Archive
// objects.
func (s *Server) restoreObject(c *call) reply {
	req := struct {
		XMLName xml.Name `xml:"RestoreRequest"`
		Days    *int     `xml:"Days"`
		Tier    string   `xml:"JobParameters>Tier"`
	}{}
	if len(c.body) > 0 {
		if err := xml.Unmarshal(c.body, &req); err != nil {
			return errReply(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		}
	}
	days := 1
	if req.Days != nil {
		days = *req.Days
	}
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.buckets[c.bucket].objects[c.key]
	if o == nil {
		return noSuchKey(c.key)
	}
	class := o.attrs.class
	if !archived(class) {
		return errReply(400, "OperationNotSupported", "The operation is not supported for this resource: the object's storage class is "+class+".")
	}
	maxDays := 365
	if class == ClassArchive {
		maxDays = 7
	}
	if days < 1 || days > maxDays {
		return errReply(400, "InvalidArgument", fmt.Sprintf("Days must be between 1 and %d for a %s object.", maxDays, class),
			field("ArgumentName", "Days"))
	}
	tier := req.Tier
	switch {
	case class == ClassArchive:
		tier = "" // Archive restores have no tiers
	case tier == "":
		tier = TierStandard
	case tier == TierExpedited || tier == TierStandard || tier == TierBulk && class == ClassColdArchive:
	default:
		return errReply(400, "InvalidArgument", "Invalid restore tier "+tier+" for a "+class+" object.",
			field("ArgumentName", "Tier"))
	}

	switch o.restore.at(now) {
	case restoreOngoing:
		return errReply(409, "RestoreAlreadyInProgress", "The restore operation is in progress.")
	case restoreDone:
		o.restore.days = days
		o.restore.expiry = now.Add(time.Duration(days) * 24 * time.Hour)
		return reply{status: http.StatusOK}
	}
	delay := DefaultRestoreDelay(class, tier)
	if s.cfg.restoreDelay != nil {
		delay = s.cfg.restoreDelay(class, tier)
	}
	o.restore = restoreState{requested: true, days: days}
	if delay >= 0 {
		o.restore.readyAt = now.Add(delay)
		o.restore.expiry = o.restore.readyAt.Add(time.Duration(days) * 24 * time.Hour)
	}
	return reply{status: http.StatusAccepted}
}

// CompleteRestore finishes the running restore of bkt/key now (by the
// server's clock), whatever its delay, and reports whether one was running.
// The restored copy is readable for the Days the request asked for.
func (s *Server) CompleteRestore(bkt, key string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bkt]
	if b == nil {
		return false
	}
	o := b.objects[key]
	return o != nil && o.completeRestore(now)
}

// CompleteRestores finishes every running restore in every bucket now and
// returns how many there were.
func (s *Server) CompleteRestores() int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.buckets {
		for _, o := range b.objects {
			if o.completeRestore(now) {
				n++
			}
		}
	}
	return n
}

// completeRestore finishes o's running restore; the caller holds s.mu.
func (o *object) completeRestore(now time.Time) bool {
	if o.restore.at(now) != restoreOngoing {
		return false
	}
	o.restore.readyAt = now
	o.restore.expiry = now.Add(time.Duration(o.restore.days) * 24 * time.Hour)
	return true
}

// SetStorageClassDirect moves bkt/key to class behind the protocol's back,
// as a lifecycle rule does, dropping any restored copy. Like a lifecycle
// rule it refuses to move an appendable object to ColdArchive or
// DeepColdArchive.
func (s *Server) SetStorageClassDirect(bkt, key, class string) error {
	known := false
	for _, c := range storageClasses {
		known = known || c == class
	}
	if !known {
		return fmt.Errorf("osstest: unknown storage class %q", class)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bkt]
	if b == nil {
		return fmt.Errorf("osstest: no bucket %q", bkt)
	}
	o := b.objects[key]
	if o == nil {
		return fmt.Errorf("osstest: no object %q in bucket %q", key, bkt)
	}
	if o.appendable && (class == ClassColdArchive || class == ClassDeepColdArchive) {
		return fmt.Errorf("osstest: appendable object %q cannot move to %s", key, class)
	}
	// Copy the object rather than modify it: readers hold snapshots.
	n := *o
	n.attrs.class = class
	n.restore = restoreState{}
	b.objects[key] = &n
	return nil
}
