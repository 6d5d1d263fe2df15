//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package localstore

import (
	"io/fs"
	"os"
)

// Without flock the store is not available (New fails); these keep the
// package building.

func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}

func createTemp(dir, pattern string) (*os.File, error) { return os.CreateTemp(dir, pattern) }

func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
