package restore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Data objects the sink writes final may be in an archive class (Archive,
// ColdArchive, DeepColdArchive; SINK_STORAGE_CLASS, or a lifecycle rule),
// which OSS refuses to read until a restore (RestoreObject) made a
// readable copy: minutes for Archive, hours to two days for the colder
// classes. Before reading anything, Run finds the archived objects it will
// read (the listing gives every object's class), asks the store where
// each one's restore stands (Stat: one HEAD request), requests a restore
// of those that have none (never of those restored or restoring, which
// would only be billed again), and polls Stat with a growing interval
// until every one is readable. Only then are records read and produced,
// checkpointed as ever: a run killed while waiting, or later, is run
// again and finds the restores it requested done or still running.
//
// The sink writes index, staging, meta and checkpoint objects Standard,
// but a lifecycle rule on the prefix moves index objects along with their
// data objects: an archived index object of an object read is restored
// as the data objects are (and the encodings of objects whose index was
// archived are checked once it is readable). Meta objects are read before
// (an archived one is unreadable, as a missing one, and the restore goes
// by the listing), and staging and checkpoint objects live too briefly
// for a lifecycle rule.

// Defaults of the archive restore.
const (
	// DefaultRestoreDays is how long a restored copy stays readable:
	// seven days, the longest OSS allows for Archive objects, so that a
	// request made with NoWait is still readable when the user comes
	// back after a weekend, and a DeepColdArchive wait (up to 48 hours)
	// leaves days for producing. Each day of a restored copy is billed.
	DefaultRestoreDays = 7
	// DefaultRestorePoll is the first wait between two looks at the
	// restores; each wait doubles, up to 30 times the first and at most
	// MaxRestorePoll (but never below the first).
	DefaultRestorePoll = time.Minute
	// MaxRestorePoll bounds the wait between two looks.
	MaxRestorePoll = 15 * time.Minute
	// archiveDaysMax is the longest restore OSS accepts for Archive
	// objects (ColdArchive and DeepColdArchive: 365 days).
	archiveDaysMax = 7
	coldDaysMax    = 365
	// restoreCalls bounds the Stat and Restore requests made at once.
	restoreCalls = 8
)

// ErrRestoresPending is wrapped by the error Run returns when archived
// objects it must read are not readable yet and it did not wait for them
// (NoWait, or a dry run, which requests nothing): nothing was produced.
// Running again later (the Summary's Archive says how long to expect)
// picks up the restores requested, without requesting them again.
var ErrRestoresPending = errors.New("archived objects are not restored yet")

// RestoreTier sets the tier of the restores requested for ColdArchive and
// DeepColdArchive objects (default store.TierStandard; Archive objects
// have no tiers, and DeepColdArchive objects no Bulk tier: they are
// requested with Standard then). Faster tiers cost more per GB.
func RestoreTier(t store.RestoreTier) Option { return func(o *options) { o.tier = t } }

// RestoreDays sets how many days a restored copy stays readable (default
// DefaultRestoreDays; 1 to 365, and at most 7 for Archive objects, which
// are requested for 7 when more is asked).
func RestoreDays(n int) Option { return func(o *options) { o.days = n } }

// RestorePoll sets the first wait between two looks at the restores
// (default DefaultRestorePoll); see DefaultRestorePoll for how it grows.
func RestorePoll(d time.Duration) Option { return func(o *options) { o.poll = d } }

// NoWait makes Run request the restores the archived objects it needs and
// return (ErrRestoresPending) instead of waiting, unless every one is
// readable already: then it restores as without it.
func NoWait(b bool) Option { return func(o *options) { o.noWait = b } }

// OnArchive sets a callback for the archive restore's progress: called
// after the first look at the archived objects and after every poll,
// from one goroutine at a time. Not called when no archived object is
// read.
func OnArchive(f func(ArchiveSummary)) Option { return func(o *options) { o.onArchive = f } }

// ArchiveSummary is where the restores of the archived objects a run
// reads stand.
type ArchiveSummary struct {
	// Objects counts the archived objects the run reads, Bytes their size.
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
	// Classes counts them by storage class.
	Classes map[store.StorageClass]int `json:"classes"`
	Tier    store.RestoreTier          `json:"tier"`
	Days    int                        `json:"days"`
	// Requested counts the restores this run requested (accepted: OSS
	// 202); Restoring the objects whose restore is running at the last
	// look (requested by this run or an earlier one), Ready those
	// readable, Unrequested those a dry run would request.
	Requested   int `json:"requested"`
	Restoring   int `json:"restoring"`
	Ready       int `json:"ready"`
	Unrequested int `json:"unrequested,omitempty"`
	// Failed counts requests and looks that failed with an error that
	// retrying may cure (tried again at the next poll; a later run tries
	// again too); LastError is one of them.
	Failed    int    `json:"failed,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Polls counts the looks after the first, Waited the time spent
	// waiting; NextPoll is the wait before the next look (0: none).
	Polls    int           `json:"polls"`
	Waited   time.Duration `json:"waited_ns"`
	NextPoll time.Duration `json:"next_poll_ns,omitempty"`
	// Estimate is how long OSS documents a restore of the slowest class
	// present takes at the tier ("about a minute", "2-5 h", ...).
	Estimate string `json:"estimate"`
	// Expiry is the earliest expiry of a restored copy seen (zero when
	// unknown): records must be read before it.
	Expiry time.Time `json:"expiry,omitzero"`
}

// Pending is the number of archived objects not readable yet.
func (a *ArchiveSummary) Pending() int { return a.Objects - a.Ready }

// String says in one line where the restores stand.
func (a *ArchiveSummary) String() string {
	var cs []string
	for _, c := range store.StorageClasses {
		if n := a.Classes[c]; n > 0 {
			cs = append(cs, fmt.Sprintf("%d %s", n, c))
		}
	}
	s := fmt.Sprintf("%d archived objects to read (%s; %s): %d requested now, %d restoring, %d ready",
		a.Objects, strings.Join(cs, ", "), a.Estimate, a.Requested, a.Restoring, a.Ready)
	if a.Unrequested > 0 {
		s += fmt.Sprintf(", %d not requested", a.Unrequested)
	}
	if a.Failed > 0 {
		s += fmt.Sprintf(", %d failed (%s; tried again)", a.Failed, a.LastError)
	}
	return s
}

// EstimateRestore says how long OSS documents a restore of an object of
// class c to take at tier t (its upper bound, for comparing, and its
// text). OSS gives them as guidance only.
func EstimateRestore(c store.StorageClass, t store.RestoreTier) (time.Duration, string) {
	switch c {
	case store.Archive:
		return time.Minute, "Archive: about a minute"
	case store.ColdArchive:
		switch t {
		case store.TierExpedited:
			return time.Hour, "ColdArchive, Expedited: within 1 h"
		case store.TierBulk:
			return 12 * time.Hour, "ColdArchive, Bulk: 5-12 h"
		}
		return 5 * time.Hour, "ColdArchive, Standard: 2-5 h"
	case store.DeepColdArchive:
		switch t {
		case store.TierExpedited:
			return 12 * time.Hour, "DeepColdArchive, Expedited: within 12 h"
		case store.TierBulk:
			return 48 * time.Hour, "DeepColdArchive, Standard (it has no Bulk tier): within 48 h"
		}
		return 48 * time.Hour, "DeepColdArchive, Standard: within 48 h"
	}
	return 0, "readable now"
}

// restoreTier is the tier a restore of an object of class c is requested
// with when t is asked for: none for Archive objects (they have no tiers),
// Standard for a Bulk restore of a DeepColdArchive object (OSS has no Bulk
// tier for them and refuses such a request with 400 InvalidArgument).
func restoreTier(c store.StorageClass, t store.RestoreTier) store.RestoreTier {
	switch {
	case c == store.Archive:
		return ""
	case c == store.DeepColdArchive && t == store.TierBulk:
		return store.TierStandard
	}
	return t
}

func cmpTier(t store.RestoreTier) store.RestoreTier {
	if t == "" {
		return store.TierStandard
	}
	return t
}

// checkArchive checks the options of the archive restore.
func (o *options) checkArchive() []error {
	var errs []error
	switch o.tier {
	case store.TierExpedited, store.TierStandard, store.TierBulk:
	default:
		errs = append(errs, fmt.Errorf("restore: restore tier %q: want Expedited, Standard or Bulk", o.tier))
	}
	if o.days < 1 || o.days > coldDaysMax {
		errs = append(errs, fmt.Errorf("restore: restore days %d: OSS keeps a restored copy 1 to %d days (Archive objects at most %d)", o.days, coldDaysMax, archiveDaysMax))
	}
	if o.poll <= 0 {
		errs = append(errs, fmt.Errorf("restore: restore poll interval %v: must be positive", o.poll))
	}
	return errs
}

// frozen is one archived object to read, and where its restore stands.
type frozen struct {
	key   string
	class store.StorageClass
	size  int64
	state store.RestoreState // RestoreNone until looked at
	// requested: this run's request was accepted; err: the last look or
	// request failed (retryable; tried again at the next poll).
	requested bool
	err       error
	expiry    time.Time
}

// thaw makes the archived objects the jobs read readable (see the top of
// this file). It returns nil (and a nil summary) when none is archived.
func thaw(ctx context.Context, st store.Store, o *options, jobs []*partJob, tgt *target, cks checkpoints) (*ArchiveSummary, error) {
	objs, err := needed(ctx, o, jobs, tgt, cks)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, nil
	}
	a := &ArchiveSummary{Objects: len(objs), Classes: map[store.StorageClass]int{}, Tier: o.tier, Days: o.days}
	var slowest time.Duration
	for _, f := range objs {
		a.Bytes += f.size
		a.Classes[f.class]++
		if d, s := EstimateRestore(f.class, o.tier); d > slowest {
			slowest, a.Estimate = d, s
		}
	}
	if o.tier == store.TierBulk && a.Classes[store.DeepColdArchive] > 0 {
		o.log.Warn().Int("deep_cold_archive_objects", a.Classes[store.DeepColdArchive]).
			Msg("OSS has no Bulk restore tier for DeepColdArchive objects: those are requested with the Standard tier")
	}
	if o.days > archiveDaysMax && a.Classes[store.Archive] > 0 {
		o.log.Warn().Int("days", o.days).Int("archive_objects", a.Classes[store.Archive]).
			Msgf("OSS keeps a restored Archive object at most %d days: those are requested for %d", archiveDaysMax, archiveDaysMax)
	}
	o.log.Info().Int("objects", a.Objects).Int64("bytes", a.Bytes).Str("estimate", a.Estimate).Msg("archived objects to read: restoring them first")

	wait := o.poll
	maxWait := max(o.poll, min(30*o.poll, MaxRestorePoll))
	start := time.Now()
	for {
		if err := look(ctx, st, o, objs, a); err != nil {
			return a, err
		}
		if a.Pending() == 0 {
			a.NextPoll = 0
			o.report(a)
			return a, nil
		}
		if o.noWait || o.dryRun {
			a.NextPoll = 0
			o.report(a)
			what := "run again later (the restores requested are not requested again)"
			if o.dryRun {
				what = "a dry run requests no restore: run without --dry-run (with --no-wait to only request them)"
			}
			return a, fmt.Errorf("restore: %w: %s; %s: %s; nothing was produced",
				ErrRestoresPending, a.String(), a.Estimate, what)
		}
		a.NextPoll = wait
		o.report(a)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return a, fmt.Errorf("restore interrupted while waiting for %d archived objects to be restored (run again: the restores requested are not requested again, nothing was produced): %w",
				a.Pending(), context.Cause(ctx))
		case <-t.C:
		}
		a.Polls++
		a.Waited = time.Since(start)
		wait = min(2*wait, maxWait)
	}
}

func (o *options) report(a *ArchiveSummary) {
	if o.onArchive != nil {
		c := *a
		c.Classes = maps.Clone(a.Classes)
		o.onArchive(c)
	}
}

// look asks where the restore of every object not known readable stands
// (Stat), requests one for those without (not in a dry run), and counts.
// A permanent failure (access denied to RestoreObject, say) fails the
// run; others are counted and tried again at the next look.
func look(ctx context.Context, st store.Store, o *options, objs []*frozen, a *ArchiveSummary) error {
	var todo []*frozen
	for _, f := range objs {
		if f.state != store.RestoreDone {
			todo = append(todo, f)
		}
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, restoreCalls)
	for i, f := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f.advance(ctx, st, o)
		}()
	}
	wg.Wait()
	a.Restoring, a.Ready, a.Unrequested, a.Failed, a.LastError = 0, 0, 0, 0, ""
	for i, f := range todo {
		if err := errs[i]; err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("restore interrupted while requesting restores of archived objects (run again: the restores requested are not requested again, nothing was produced): %w", context.Cause(ctx))
			}
			if store.IsPermanent(err) || store.IsNotFound(err) {
				return fmt.Errorf("restore: %w; nothing was produced", err)
			}
			a.Failed++
			a.LastError = err.Error()
			o.log.Warn().Err(err).Str("object", f.key).Msg("restore request or look failed; tried again at the next poll")
		}
	}
	a.Requested = 0
	a.Expiry = time.Time{}
	for _, f := range objs {
		if f.requested {
			a.Requested++
		}
		switch f.state {
		case store.RestoreDone:
			a.Ready++
			if !f.expiry.IsZero() && (a.Expiry.IsZero() || f.expiry.Before(a.Expiry)) {
				a.Expiry = f.expiry
			}
		case store.RestoreInProgress, store.RestoreRequested:
			a.Restoring++
		default:
			if f.err == nil {
				a.Unrequested++
			}
		}
	}
	return nil
}

// advance looks at f's restore and requests one when there is none (its
// copy expired included), unless in a dry run.
func (f *frozen) advance(ctx context.Context, st store.Store, o *options) error {
	f.err = nil
	in, err := st.Stat(ctx, f.key)
	if err != nil {
		f.err = fmt.Errorf("look at the restore of archived object %s: %w", f.key, err)
		return f.err
	}
	if !in.StorageClass.Archived() {
		// Moved out of the archive classes since the listing (a copy
		// to Standard): readable.
		f.state = store.RestoreDone
		return nil
	}
	f.state, f.expiry = in.Restore, in.RestoreExpiry
	if f.state != store.RestoreNone || o.dryRun {
		return nil
	}
	days, tier := o.days, restoreTier(f.class, o.tier)
	if f.class == store.Archive {
		days = min(days, archiveDaysMax)
	}
	s, err := st.Restore(ctx, f.key, days, tier)
	if err != nil {
		f.err = fmt.Errorf("request a restore of archived object %s (%s, %d days, tier %s): %w", f.key, in.StorageClass, days, cmpTier(tier), err)
		return f.err
	}
	if s == store.RestoreRequested {
		f.requested = true
	}
	f.state = s
	return nil
}

// needed returns the archived objects the jobs read: every selected
// object and, for a run that follows a checkpoint, the objects holding
// the checkpoint's last record and announced chunk (compared with the
// target). An object of a staged encoding is read from its staging object
// (Standard) while that exists.
func needed(ctx context.Context, o *options, jobs []*partJob, tgt *target, cks checkpoints) ([]*frozen, error) {
	seen := map[string]bool{}
	var out []*frozen
	add := func(obs []*object) {
		for _, ob := range obs {
			if ikey := objindex.Key(ob.key); ob.index && ob.indexClass.Archived() && !seen[ikey] {
				// Moved by a lifecycle rule with its data: read too.
				seen[ikey] = true
				out = append(out, &frozen{key: ikey, class: ob.indexClass, size: ob.indexSize})
			}
			if !ob.class.Archived() || seen[ob.key] || (ob.staged && ob.stage) {
				continue
			}
			seen[ob.key] = true
			out = append(out, &frozen{key: ob.key, class: ob.class, size: ob.size})
		}
	}
	for _, j := range jobs {
		add(j.selected(o))
		if tgt == nil || o.reset {
			continue
		}
		id := CheckpointID{Source: o.ckSource, Topic: o.topic, Epoch: j.epoch, Partition: j.p, ClusterID: tgt.id, Target: o.target}
		ck, _, err := cks.load(ctx, id)
		if err != nil || ck == nil {
			continue // the partition's run reports an unusable checkpoint
		}
		if a := ck.Anchor; a != nil {
			add(spanned(j.folders, a.SourceOffset, a.SourceOffset))
		}
		if p := ck.Pending; p != nil {
			add(spanned(j.folders, p.From, p.Last))
		}
	}
	slices.SortFunc(out, func(a, b *frozen) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// spanned returns the objects that reading offsets from..to of folders
// loads (see records).
func spanned(folders [][]object, from, to int64) []*object {
	var out []*object
	for _, objs := range folders {
		start, end := span(objs, from, to)
		for i := start; i < end; i++ {
			out = append(out, &objs[i])
		}
	}
	return out
}

// notRestored adds to a read error of an archived object what to do.
func notRestored(key string, err error) error {
	if errors.Is(err, store.ErrNotRestored) {
		return fmt.Errorf("read %s: %w (run sinkctl restore again: it requests a restore of archived objects whose restored copy is missing or expired, and waits for it; --no-wait only requests)", key, err)
	}
	return fmt.Errorf("read %s: %w", key, err)
}
