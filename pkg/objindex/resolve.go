package objindex

import (
	"errors"
	"fmt"
)

// ErrInconsistent is wrapped by Resolve's errors: the index and the data
// object's length cannot both be right (an entry beyond every possible
// position, a length no announced append explains, data beyond a seal).
var ErrInconsistent = errors.New("index inconsistent with the data object")

// Resolver applies the rule of the package doc to entries fed in index
// order, starting at data position start (the data length an earlier
// resolution established; 0 for a whole index). It holds only the pending
// alternatives of the current position, so resolving a long index takes
// little memory when the caller consumes Landed as it goes.
type Resolver struct {
	end    int64     // data position after the appends landed so far
	cands  []*Append // alternatives at end, in index order (one per size and CRC)
	runOff int64     // index position of the first entry of the run at end
	landed []*Append
	seal   *Seal
	void   int
	verify func(a *Append) (bool, error)
}

// NewResolver returns a Resolver from data position start. verify reports
// whether the data object's bytes [a.Pos, a.Pos+a.Bytes) have a's CRC; it
// is called to tell apart alternatives of the same size, and to check the
// last append, which no later entry vouches for. verify may be nil when the
// caller checks every landed append's CRC itself; ties then go to the last
// alternative, as writers resolve them.
func NewResolver(start int64, verify func(a *Append) (bool, error)) *Resolver {
	return &Resolver{end: start, verify: verify, runOff: -1}
}

// Add feeds the next entry.
func (r *Resolver) Add(e Entry) error {
	if r.seal != nil {
		r.void++
		return nil
	}
	switch {
	case e.Append != nil:
		a := e.Append
		switch {
		case a.Pos == r.end:
			return r.addCand(a, e.Off)
		case a.Pos > r.end:
			if err := r.settle(a.Pos, fmt.Sprintf("an append at %d", a.Pos), false); err != nil {
				return err
			}
			r.cands, r.runOff = r.cands[:0], -1
			return r.addCand(a, e.Off)
		default:
			r.void++
		}
	case e.Seal != nil:
		if e.Seal.At < r.end {
			return fmt.Errorf("%w: seal at %d, below the %d bytes already resolved", ErrInconsistent, e.Seal.At, r.end)
		}
		if err := r.settle(e.Seal.At, fmt.Sprintf("a seal at %d", e.Seal.At), false); err != nil {
			return err
		}
		r.cands, r.runOff = r.cands[:0], -1
		r.seal = e.Seal
	}
	return nil
}

// addCand adds an alternative at the current position. One that announces
// the same bytes (size and CRC) as an earlier one replaces it: they cannot
// be told apart by the data, the later one wins ties anyway, and a run of
// retries of one failing append costs memory once.
func (r *Resolver) addCand(a *Append, off int64) error {
	if r.runOff < 0 {
		r.runOff = off
	}
	if len(r.cands) >= MaxAlternatives {
		return fmt.Errorf("%w: more than %d different appends announced at position %d (the sink's retries announce a handful)", ErrInconsistent, MaxAlternatives, r.end)
	}
	for i, c := range r.cands {
		if c.Bytes == a.Bytes && c.CRC32C == a.CRC32C {
			copy(r.cands[i:], r.cands[i+1:])
			r.cands[len(r.cands)-1] = a
			r.void++
			return nil
		}
	}
	r.cands = append(r.cands, a)
	return nil
}

// MaxAlternatives bounds the different appends an index may announce at
// one position before Resolve calls it inconsistent: each is held until
// the position is settled, and retries of one failing append announce the
// same bytes again (kept once).
const MaxAlternatives = 1024

// settle decides which alternative at r.end landed, given that the data
// object is known to be at least at (or, for a seal, exactly) pos.
func (r *Resolver) settle(pos int64, why string, final bool) error {
	if pos == r.end {
		r.cands = r.cands[:0]
		return nil
	}
	r.runOff = -1
	c, err := r.pick(pos-r.end, final)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("%w: %s, but no append announced at %d has %d bytes", ErrInconsistent, why, r.end, pos-r.end)
	}
	r.landed = append(r.landed, c)
	r.end = pos
	return nil
}

// pick returns the alternative of n bytes that landed: the only one, or the
// last of several whose CRC matches the data. For the last run (final),
// which no later entry vouches for, even a single alternative must match.
func (r *Resolver) pick(n int64, final bool) (*Append, error) {
	var match []*Append
	for _, c := range r.cands {
		if c.Bytes == n {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		return nil, nil
	}
	if len(match) == 1 && (!final || r.verify == nil) {
		return match[0], nil
	}
	if r.verify == nil {
		return match[len(match)-1], nil
	}
	for i := len(match) - 1; i >= 0; i-- {
		ok, err := r.verify(match[i])
		if err != nil {
			return nil, err
		}
		if ok {
			return match[i], nil
		}
	}
	return nil, fmt.Errorf("%w: none of %d appends announced at %d with %d bytes matches the data", ErrInconsistent, len(match), r.end, n)
}

// Finish resolves the last alternatives against the data object's length
// (-1 if it does not exist) and returns the result.
func (r *Resolver) Finish(dataLen int64) (Result, error) {
	if dataLen < 0 {
		dataLen = 0
	}
	if r.seal != nil {
		if dataLen != r.seal.At && !(dataLen == 0 && r.seal.At == 0) {
			return Result{}, fmt.Errorf("%w: sealed at %d but the data object has %d bytes", ErrInconsistent, r.seal.At, dataLen)
		}
	}
	pending := int64(-1)
	if r.seal == nil {
		if dataLen < r.end {
			return Result{}, fmt.Errorf("%w: %d bytes resolved but the data object has %d", ErrInconsistent, r.end, dataLen)
		}
		if len(r.cands) > 0 && dataLen == r.end {
			pending = r.runOff
		}
		if err := r.settle(dataLen, fmt.Sprintf("a data object of %d bytes", dataLen), true); err != nil {
			return Result{}, err
		}
		r.cands = r.cands[:0]
	}
	res := Result{Landed: r.landed, Seal: r.seal, End: r.end, Void: r.void, Pending: pending}
	return res, nil
}

// Sealed reports whether a seal entry was seen: Finish then needs no data
// length beyond the seal's own.
func (r *Resolver) Sealed() (*Seal, bool) { return r.seal, r.seal != nil }

// Landed returns the appends known to have landed so far and forgets them,
// for callers that consume them as the index is read.
func (r *Resolver) Landed() []*Append {
	l := r.landed
	r.landed = nil
	return l
}

// Result is what a resolved index says.
type Result struct {
	Landed []*Append // the appends that landed, in data order
	Seal   *Seal     // the seal, if the object is sealed
	End    int64     // data position after the landed appends
	Void   int       // entries that did not take effect
	// Pending is the index position of the first of the last alternatives,
	// announced at End, of which none has landed (yet: a request that was
	// cut may still land), or -1. A later resolution that must consider a
	// late landing starts reading the index there.
	Pending int64
}

// Resolve resolves entries (in index order) from data position start
// against the data object's length. See Resolver.
func Resolve(entries []Entry, start, dataLen int64, verify func(a *Append) (bool, error)) (Result, error) {
	r := NewResolver(start, verify)
	for _, e := range entries {
		if err := r.Add(e); err != nil {
			return Result{}, err
		}
	}
	return r.Finish(dataLen)
}
