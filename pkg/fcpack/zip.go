package fcpack

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// EntryName is the binary's name inside the archive: on the go1 runtime the
// function's handler is the name of the executable to run.
const EntryName = "main"

// EntryMode is the binary's mode inside the archive.
const EntryMode fs.FileMode = 0o755

// ModTime is the modification time of the archive entry, fixed so that the
// archive depends on the binary alone. (Zip's DOS time field cannot hold
// anything before 1980.)
var ModTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteZip writes the deployable archive of binary to w: one entry named
// EntryName with mode EntryMode (unix attributes), deflated, timestamped
// ModTime. The same binary always gives the same bytes.
func WriteZip(w io.Writer, binary []byte) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	hdr := &zip.FileHeader{Name: EntryName, Method: zip.Deflate, Modified: ModTime}
	hdr.SetMode(EntryMode) // creator "unix", mode in the high 16 bits of the external attributes
	fw, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("fcpack: zip: %w", err)
	}
	if _, err := fw.Write(binary); err != nil {
		return fmt.Errorf("fcpack: zip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("fcpack: zip: %w", err)
	}
	return nil
}

// Package verifies the executable at binPath (see Verify) and writes its
// archive to zipPath, replacing it atomically: a failed run leaves the
// previous archive, never a partial one.
func Package(binPath, zipPath string) (Info, error) {
	binary, err := os.ReadFile(binPath)
	if err != nil {
		return Info{}, fmt.Errorf("fcpack: %w", err)
	}
	info, err := Verify(binary)
	if err != nil {
		return Info{}, fmt.Errorf("fcpack: %s: %w", binPath, err)
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, binary); err != nil {
		return Info{}, err
	}
	if err := writeFileAtomic(zipPath, buf.Bytes()); err != nil {
		return Info{}, fmt.Errorf("fcpack: %w", err)
	}
	return info, nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadZip opens a deployable archive and returns the binary it holds,
// checking the archive's shape: exactly one entry, EntryName, a regular file
// with mode EntryMode recorded as unix attributes.
func ReadZip(archive []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		return nil, fmt.Errorf("fcpack: %w", err)
	}
	if len(zr.File) != 1 {
		names := make([]string, len(zr.File))
		for i, f := range zr.File {
			names[i] = f.Name
		}
		return nil, fmt.Errorf("fcpack: archive holds %q, want exactly [%q]", names, EntryName)
	}
	f := zr.File[0]
	if f.Name != EntryName {
		return nil, fmt.Errorf("fcpack: archive entry is %q, want %q", f.Name, EntryName)
	}
	if f.CreatorVersion>>8 != creatorUnix {
		return nil, fmt.Errorf("fcpack: entry %q has no unix attributes (creator %d): it would unpack without the execute bit", f.Name, f.CreatorVersion>>8)
	}
	if m := f.Mode(); m != EntryMode {
		return nil, fmt.Errorf("fcpack: entry %q has mode %v, want %v", f.Name, m, EntryMode)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("fcpack: %w", err)
	}
	defer rc.Close()
	binary, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("fcpack: entry %q: %w", f.Name, err)
	}
	if len(binary) == 0 {
		return nil, errors.New("fcpack: entry is empty")
	}
	return binary, nil
}

// creatorUnix is the "version made by" host system of unix attributes.
const creatorUnix = 3
