//go:build !linux

package localstore

import "os"

// readDir calls keep for each directory and regular file in dir and
// returns those it keeps.
func readDir(dir string, keep func(name []byte, isDir bool) bool) ([]dirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	var out []dirEntry
	for _, d := range entries {
		isDir := d.IsDir()
		if (isDir || d.Type().IsRegular()) && keep([]byte(d.Name()), isDir) {
			out = append(out, dirEntry{d.Name(), isDir})
		}
	}
	return out, nil
}
