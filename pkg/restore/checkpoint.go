package restore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// CheckpointVersion is the schema version of the checkpoint objects Run
// writes. Version 1 (sinkctl before exact resumption) held only
// {"last_offset_produced": N}, keyed by target topic name.
const CheckpointVersion = 2

// CheckpointID is what a checkpoint is about: the restore of one source
// partition's epoch into one partition of a target topic on one cluster.
type CheckpointID struct {
	// Source names the backup when checkpoints are kept outside it ("" for
	// checkpoints kept next to the data, whose place already says).
	Source    string `json:"source,omitempty"`
	Topic     string `json:"topic"`
	Epoch     int64  `json:"epoch"`
	Partition int32  `json:"partition"`
	ClusterID string `json:"target_cluster_id"` // "" if the cluster has none
	Target    string `json:"target_topic"`
}

// CheckpointKey returns the key of the checkpoint object of id under prefix
// (the backup's prefix for checkpoints next to the data):
// {prefix}{topic}/.restore_checkpoint_{target}_partition_{p}_{12 hex}, the
// hex digits derived from every field of id.
func CheckpointKey(prefix string, id CheckpointID) string {
	h := sha256.New()
	for _, s := range []string{id.Source, id.Topic, strconv.FormatInt(id.Epoch, 10), strconv.FormatInt(int64(id.Partition), 10), id.ClusterID, id.Target} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return sink.NormalizePrefix(prefix) + id.Topic + "/.restore_checkpoint_" + id.Target + "_partition_" +
		strconv.FormatInt(int64(id.Partition), 10) + "_" + hex.EncodeToString(h.Sum(nil)[:6])
}

// legacyCheckpointKey is where version 1 kept a checkpoint.
func legacyCheckpointKey(prefix, topic, target string, p int32) string {
	return sink.NormalizePrefix(prefix) + topic + "/.restore_checkpoint_" + target + "_partition_" + strconv.FormatInt(int64(p), 10)
}

// Checkpoint is the content of a checkpoint object: what a restore
// produced to its target partition, and what it was about to produce.
type Checkpoint struct {
	Version int          `json:"version"`
	ID      CheckpointID `json:"id"`
	// Produced: every stored record of the source partition's epoch that a
	// range covers is in the target partition (produced by this restore).
	Produced []Range `json:"produced"`
	// NextTargetOffset is the target partition's end offset as this restore
	// last knew it: where the next record it produces lands.
	NextTargetOffset int64 `json:"next_target_offset"`
	// Anchor is the last record this restore produced, if any.
	Anchor *Anchor `json:"anchor,omitempty"`
	// Pending is the chunk announced before it was produced: on the next
	// run the target partition tells how much of it landed.
	Pending   *Pending  `json:"pending,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Range covers the records with offsets First..Last and, when FromTS or
// ToTS is set, a timestamp (ms) in [FromTS, ToTS]; with ValidOnly, only
// those not stored in invalidRuleData/{topic}/ (a run with
// ExcludeInvalid).
type Range struct {
	First     int64  `json:"first"`
	Last      int64  `json:"last"`
	FromTS    *int64 `json:"from_ts,omitempty"`
	ToTS      *int64 `json:"to_ts,omitempty"`
	ValidOnly bool   `json:"valid_only,omitempty"`
}

// Anchor says that the target record at TargetOffset is the source record
// at SourceOffset.
type Anchor struct {
	TargetOffset int64 `json:"target_offset"`
	SourceOffset int64 `json:"source_offset"`
}

// Pending is a chunk announced before it was produced: the Records records
// with offsets From..Last that the filter selects and Produced does not
// cover, in offset order, to land from TargetOffset on.
type Pending struct {
	TargetOffset int64  `json:"target_offset"`
	From         int64  `json:"from"`
	Last         int64  `json:"last"`
	Records      int64  `json:"records"`
	FromTS       *int64 `json:"from_ts,omitempty"`
	ToTS         *int64 `json:"to_ts,omitempty"`
	ValidOnly    bool   `json:"valid_only,omitempty"`
}

// covers reports whether r covers the record. A record stored without a
// timestamp (noTS: raw, or SINK_FIELDS without it) can only be covered
// by ranges without a time filter.
func (r Range) covers(off, ts int64, noTS, invalid bool) bool {
	return off >= r.First && off <= r.Last && (!noTS || !r.timed()) && inTS(ts, r.FromTS, r.ToTS) && !(invalid && r.ValidOnly)
}

func inTS(ts int64, from, to *int64) bool {
	return (from == nil || ts >= *from) && (to == nil || ts <= *to)
}

func (r Range) timed() bool { return r.FromTS != nil || r.ToTS != nil }

func (r Range) filtered() bool { return r.timed() || r.ValidOnly }

func sameFilter(a, b Range) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.FromTS, b.FromTS) && eq(a.ToTS, b.ToTS) && a.ValidOnly == b.ValidOnly
}

func newCheckpoint(id CheckpointID, next int64) *Checkpoint {
	return &Checkpoint{Version: CheckpointVersion, ID: id, Produced: []Range{}, NextTargetOffset: next}
}

// covered reports whether a range covers the record.
func (c *Checkpoint) covered(off, ts int64, noTS, invalid bool) bool {
	for _, r := range c.Produced {
		if r.covers(off, ts, noTS, invalid) {
			return true
		}
	}
	return false
}

// add adds r and merges ranges with the same filter that overlap or touch;
// a filtered range inside an unfiltered one is dropped. It reports whether
// anything changed.
func (c *Checkpoint) add(r Range) bool {
	if r.Last < r.First {
		return false
	}
	before := slices.Clone(c.Produced)
	rs := append(c.Produced, r)
	slices.SortFunc(rs, func(a, b Range) int {
		return cmp.Or(cmp.Compare(filterKey(a), filterKey(b)), cmp.Compare(a.First, b.First))
	})
	out := rs[:0]
	for _, x := range rs {
		if n := len(out); n > 0 && sameFilter(out[n-1], x) && x.First <= out[n-1].Last+1 {
			out[n-1].Last = max(out[n-1].Last, x.Last)
			continue
		}
		out = append(out, x)
	}
	c.Produced = slices.DeleteFunc(out, func(x Range) bool {
		if !x.filtered() {
			return false
		}
		for _, u := range out {
			if !u.filtered() && u.First <= x.First && x.Last <= u.Last {
				return true
			}
		}
		return false
	})
	return !slices.EqualFunc(before, c.Produced, func(a, b Range) bool { return a.First == b.First && a.Last == b.Last && sameFilter(a, b) })
}

func filterKey(r Range) string {
	s := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	if !r.filtered() {
		return ""
	}
	k := s(r.FromTS) + ":" + s(r.ToTS)
	if r.ValidOnly {
		k += ":valid"
	}
	return k
}

// hasProduced reports whether the checkpoint records any produced record.
func (c *Checkpoint) hasProduced() bool { return c.Anchor != nil }

func (c *Checkpoint) check(id CheckpointID) error {
	if c.ID != id {
		return fmt.Errorf("it describes %+v, expected %+v", c.ID, id)
	}
	if c.NextTargetOffset < 0 {
		return fmt.Errorf("next_target_offset %d", c.NextTargetOffset)
	}
	for _, r := range c.Produced {
		if r.First < 0 || r.Last < r.First {
			return fmt.Errorf("produced range %d..%d", r.First, r.Last)
		}
	}
	if a := c.Anchor; a != nil && (a.TargetOffset < 0 || a.TargetOffset >= c.NextTargetOffset || a.SourceOffset < 0) {
		return fmt.Errorf("anchor %+v (next target offset %d)", *a, c.NextTargetOffset)
	}
	if p := c.Pending; p != nil && (p.TargetOffset != c.NextTargetOffset || p.From < 0 || p.Last < p.From || p.Records <= 0 || p.Records > p.Last-p.From+1) {
		return fmt.Errorf("pending chunk %+v (next target offset %d)", *p, c.NextTargetOffset)
	}
	if c.Produced == nil {
		c.Produced = []Range{}
	}
	return nil
}

// checkpoints is where checkpoints are kept.
type checkpoints struct {
	st     store.Store
	prefix string
}

// ErrCheckpoint is wrapped by the errors about checkpoint objects that no
// retry fixes (unreadable, from a newer version, about something else).
var ErrCheckpoint = errors.New("checkpoint unusable")

// load returns the checkpoint of id, nil if there is none.
func (cs checkpoints) load(ctx context.Context, id CheckpointID) (*Checkpoint, string, error) {
	key := CheckpointKey(cs.prefix, id)
	b, err := cs.st.Get(ctx, key)
	if store.IsNotFound(err) {
		return nil, key, nil
	}
	if err != nil {
		return nil, key, fmt.Errorf("read checkpoint %s: %w", key, err)
	}
	var probe struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, key, fmt.Errorf("%w: %s: not JSON: %v", ErrCheckpoint, key, err)
	}
	if probe.Version != CheckpointVersion {
		return nil, key, fmt.Errorf("%w: %s: schema version %d, this build reads version %d (written by a newer sinkctl?)", ErrCheckpoint, key, probe.Version, CheckpointVersion)
	}
	c := new(Checkpoint)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, key, fmt.Errorf("%w: %s: %v", ErrCheckpoint, key, err)
	}
	if err := c.check(id); err != nil {
		return nil, key, fmt.Errorf("%w: %s: %v", ErrCheckpoint, key, err)
	}
	return c, key, nil
}

// save writes c (an atomic whole-object replace). It is not cut short by a
// cancelled ctx: what it records has happened in the target.
func (cs checkpoints) save(ctx context.Context, c *Checkpoint) error {
	c.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	key := CheckpointKey(cs.prefix, c.ID)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cs.st.Put(pctx, key, append(b, '\n')); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", key, err)
	}
	return nil
}
