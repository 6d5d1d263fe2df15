//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package localstore

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

const locksSupported = true

// lockFile takes a flock(2) lock on f, exclusive or shared, waiting until
// it is free or ctx ends. flock locks belong to the open file, so they fence
// goroutines that open the file separately as well as other processes. It
// polls rather than blocks so that a cancelled context is honoured; holders
// keep the lock only for one write and fsync.
func lockFile(ctx context.Context, f *os.File, exclusive bool) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	delay := 50 * time.Microsecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Millisecond)
	}
}
