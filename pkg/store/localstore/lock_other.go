//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package localstore

import (
	"context"
	"errors"
	"os"
)

// locksSupported is false where there is no flock(2); New refuses to make a
// store there rather than give up the fence between processes.
const locksSupported = false

func lockFile(context.Context, *os.File, bool) error { return errors.ErrUnsupported }
