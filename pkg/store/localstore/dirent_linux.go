//go:build linux

package localstore

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
)

// readDir calls keep for each directory and regular file in dir and
// returns those it keeps. It reads the entries with getdents64 into one
// buffer and hands keep the name in place, so an entry that keep refuses
// costs no allocation: a listing of one partition's objects in a
// directory of thousands (one per partition) costs about what the kernel
// takes to read the directory (~0.2 µs an entry on tmpfs), against 3 µs
// through os.ReadDir, which makes a DirEntry of each and sorts them.
func readDir(dir string, keep func(name []byte, isDir bool) bool) ([]dirEntry, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer syscall.Close(fd)
	buf := make([]byte, 32<<10)
	var out []dirEntry
	for {
		n, err := syscall.Getdents(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
		// d_type u8, d_name NUL-terminated.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return nil, &os.PathError{Op: "getdents", Path: dir, Err: syscall.EIO}
			}
			typ, name := b[18], b[19:reclen]
			b = b[reclen:]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
				continue
			}
			if typ == syscall.DT_UNKNOWN {
				// File systems that do not fill in d_type.
				var st syscall.Stat_t
				if err := syscall.Lstat(filepath.Join(dir, string(name)), &st); err != nil {
					continue // gone since
				}
				switch st.Mode & syscall.S_IFMT {
				case syscall.S_IFDIR:
					typ = syscall.DT_DIR
				case syscall.S_IFREG:
					typ = syscall.DT_REG
				}
			}
			if typ != syscall.DT_DIR && typ != syscall.DT_REG {
				continue // symbolic links and the rest are no objects
			}
			if isDir := typ == syscall.DT_DIR; keep(name, isDir) {
				out = append(out, dirEntry{string(name), isDir})
			}
		}
	}
}
