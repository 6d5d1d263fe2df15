//go:build linux

package localstore_test

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// Linux ioctls on 64-bit platforms for a file's attribute flags, and the
// immutable flag: even root cannot write to, create in, or remove from an
// immutable file or directory.
const (
	fsIocGetFlags = 0x80086601
	fsIocSetFlags = 0x40086602
	fsImmutableFl = 0x10
)

// denyWrites makes paths refuse writes for the rest of the test. As root it
// sets the immutable flag (EPERM), and reports true; otherwise it removes
// the write bits of the first path, a directory (EACCES), and reports false:
// the files' own modes carry the object kind and must stay.
func denyWrites(t *testing.T, dir string, files ...string) (filesToo bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return false
	}
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the ioctl numbers here are those of 64-bit Linux")
	}
	for _, p := range append([]string{dir}, files...) {
		if err := setImmutable(p, true); err != nil {
			t.Skipf("cannot make %s immutable (file system or capability): %v", p, err)
		}
		t.Cleanup(func() {
			if err := setImmutable(p, false); err != nil {
				t.Errorf("clearing the immutable flag of %s: %v", p, err)
			}
		})
	}
	return true
}

func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	if on {
		flags |= fsImmutableFl
	} else {
		flags &^= fsImmutableFl
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	return nil
}
