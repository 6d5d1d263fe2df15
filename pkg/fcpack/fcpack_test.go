package fcpack

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteZipShapeAndDeterminism(t *testing.T) {
	binary := bytes.Repeat([]byte("not really an executable\n"), 1000)
	var a, b bytes.Buffer
	if err := WriteZip(&a, binary); err != nil {
		t.Fatal(err)
	}
	if err := WriteZip(&b, binary); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two archives of the same binary differ")
	}

	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("%d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != EntryName || f.Mode() != EntryMode || f.CreatorVersion>>8 != creatorUnix {
		t.Errorf("entry %q mode %v creator %d, want %q %v %d", f.Name, f.Mode(), f.CreatorVersion>>8, EntryName, EntryMode, creatorUnix)
	}
	// S_IFREG|0755 in the high half of the external attributes: what unzip
	// and FC's code loader read.
	if got, want := f.ExternalAttrs>>16, uint32(0o100755); got != want {
		t.Errorf("external attributes %o, want %o", got, want)
	}
	if !f.Modified.Equal(ModTime) {
		t.Errorf("modified %v, want %v", f.Modified, ModTime)
	}
	got, err := ReadZip(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, binary) {
		t.Error("ReadZip returned other bytes than were zipped")
	}
}

func TestReadZipRejects(t *testing.T) {
	archive := func(entries ...*zip.FileHeader) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, h := range entries {
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("x"))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	withMode := func(name string, mode os.FileMode) *zip.FileHeader {
		h := &zip.FileHeader{Name: name}
		h.SetMode(mode)
		return h
	}
	for name, tc := range map[string]struct {
		archive []byte
		want    string
	}{
		"not a zip":          {[]byte("PK?"), "zip"},
		"no unix attributes": {archive(&zip.FileHeader{Name: "main"}), "unix attributes"},
		"not executable":     {archive(withMode("main", 0o644)), "mode"},
		"wrong name":         {archive(withMode("bootstrap", 0o755)), `"bootstrap"`},
		"in a folder":        {archive(withMode("target/main", 0o755)), `"target/main"`},
		"two entries":        {archive(withMode("main", 0o755), withMode("README", 0o644)), "exactly"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadZip(tc.archive)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ReadZip: %v, want an error mentioning %s", err, tc.want)
			}
		})
	}
}

// Verify on real builds of a tiny program: accepted as Build makes it,
// refused as a plain "go build" makes it.
func TestVerifyOnBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.21\n",
		"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good")
	if err := Build(t.Context(), dir, good, ".", ""); err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Verify(binary)
	if err != nil {
		t.Fatalf("Verify(Build output): %v", err)
	}
	if info.Path != "example.com/hello" || info.Size != len(binary) || info.GoVersion == "" {
		t.Errorf("Info = %+v", info)
	}

	plain := filepath.Join(dir, "plain")
	cmd := exec.Command("go", "build", "-o", plain, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+GOOS, "GOARCH="+GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	binary, err = os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(binary)
	if err == nil {
		t.Fatal("Verify accepted an unstripped build without -trimpath")
	}
	for _, want := range []string{"symbol table", "DWARF", "-trimpath"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Verify: %v\nwant a problem mentioning %q", err, want)
		}
	}
}

func TestVerifyRejectsNonELF(t *testing.T) {
	if _, err := Verify([]byte("#!/bin/sh\necho hi\n")); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("Verify(script) = %v, want not an ELF", err)
	}
}

func TestPackageLeavesNoPartialArchive(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "main")
	out := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(bin, []byte("not an executable"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Package(bin, out); err == nil {
		t.Fatal("Package accepted a non-executable")
	}
	if got, _ := os.ReadFile(out); string(got) != "previous" {
		t.Errorf("the previous archive was replaced by %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestBuildArgs(t *testing.T) {
	got := strings.Join(BuildArgs("target/main", "./function", "0123abcd"), " ")
	if want := "build -trimpath -ldflags -s -w -X github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo.commit=0123abcd -o target/main ./function"; got != want {
		t.Errorf("BuildArgs = %q, want %q", got, want)
	}
	if got := strings.Join(BuildEnv(), " "); got != "CGO_ENABLED=0 GOOS=linux GOARCH=amd64" {
		t.Errorf("BuildEnv = %q", got)
	}
}
