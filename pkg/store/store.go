// Package store is the contract between the sink engine and object storage.
//
// A Store is a flat namespace of byte objects addressed by key, with the
// handful of operations the exactly-once protocol needs (see package sink):
// whole and ranged reads, a size lookup, an atomic whole-object replace, a
// position-fenced append, a prefix listing and a delete.
//
// Every implementation must pass the acceptance suite in package storetest.
// The contract, per method, is documented on the interface. In short:
//
//   - "Not found" is always reported as an error wrapping ErrNotFound, so
//     callers test it with errors.Is(err, store.ErrNotFound).
//   - Put is atomic: a reader sees the old object or the new one, never a mix
//     or a prefix. Put is idempotent.
//   - Append is fenced: it succeeds only if the object's current length equals
//     the given position (0 creates a new appendable object). Otherwise it fails
//     with a *PositionError carrying the object's actual length, and writes
//     nothing. An append either lands whole or not at all.
//   - Implementations may retry transient failures internally. An operation
//     that returns an error may still have taken effect (a write acknowledged by
//     the server whose reply was lost); the protocol above the store is built
//     to tolerate that.
//
// Implementations must be safe for concurrent use by multiple goroutines.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is one bucket (or directory) of objects. See the package doc.
type Store interface {
	// Get returns the whole content of the object at key.
	// It fails with an error wrapping ErrNotFound if there is no such object.
	Get(ctx context.Context, key string) ([]byte, error)

	// GetRange returns n bytes of the object at key starting at byte off.
	// It fails with ErrNotFound if the object is absent, and with an error if
	// the object holds fewer than off+n bytes. n == 0 returns an empty slice.
	GetRange(ctx context.Context, key string, off, n int64) ([]byte, error)

	// Stat returns the object's size and kind, or ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Put atomically creates or replaces the object at key with data.
	// The object is a normal (not appendable) object afterwards.
	Put(ctx context.Context, key string, data []byte) error

	// Append appends data to the appendable object at key, provided its
	// current length is exactly pos; pos 0 on an absent key creates an
	// appendable object. It returns the object's length after the append.
	//
	// If the length is not pos (including pos > 0 on an absent key, whose
	// length is taken as 0), it writes nothing and fails with a *PositionError
	// holding the actual length. Appending to an object created by Put fails
	// with an error wrapping ErrNotAppendable.
	Append(ctx context.Context, key string, pos int64, data []byte) (int64, error)

	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)

	// Delete removes the object at key. Deleting an absent key succeeds.
	Delete(ctx context.Context, key string) error
}

// Info describes one object.
type Info struct {
	Key        string
	Size       int64
	Appendable bool      // created by Append rather than Put
	Modified   time.Time // last write, as the store reports it (may be zero)
}

// ErrNotFound is wrapped by every error that reports an absent object.
var ErrNotFound = errors.New("object not found")

// ErrNotAppendable is wrapped by the error Append returns when the object
// exists but was written by Put.
var ErrNotAppendable = errors.New("object is not appendable")

// PositionError is returned by Append when the object's length is not the
// position the caller gave. Nothing was written.
type PositionError struct {
	Key      string
	Position int64 // the position the caller asked for
	Length   int64 // the object's actual length (0 if absent)
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("append to %q at position %d: object length is %d", e.Key, e.Position, e.Length)
}

// IsNotFound reports whether err says an object is absent.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// AsPositionError returns the *PositionError in err's chain, if any.
func AsPositionError(err error) (*PositionError, bool) {
	var pe *PositionError
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}
