//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package localstore

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The store's files are never polled, but os.OpenFile tries to register
// every file it opens with the runtime's poller: on Linux four fcntl calls
// and an epoll_ctl that regular files refuse, beside the open itself. With
// four files per partition and invocation that doubled the store's system
// calls; these open with one open(2) (and the one fcntl of os.NewFile).

// openFile opens path like os.OpenFile.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// createTemp creates a new file in dir named by pattern's '*' replaced by
// a random number, like os.CreateTemp.
func createTemp(dir, pattern string) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for range 10000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := openFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &os.PathError{Op: "createtemp", Path: filepath.Join(dir, pattern), Err: fs.ErrExist}
}

// rename is os.Rename without its lstat of newpath first (which only
// turns renaming onto a directory into EEXIST: rename(2) refuses that
// with EISDIR, and explain reports both alike).
func rename(oldpath, newpath string) error {
	for {
		err := syscall.Rename(oldpath, newpath)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
		}
		return nil
	}
}
