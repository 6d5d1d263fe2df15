package fcpack

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
)

// Info describes a verified binary.
type Info struct {
	Size      int
	GoVersion string // toolchain that built it
	Path      string // main package
}

// Verify checks that binary runs on the go1 runtime as built by BuildArgs
// and BuildEnv: a 64-bit linux/amd64 ELF executable, static (no PT_INTERP,
// no dynamic section: cgo off), stripped (no .symtab, no DWARF), built with
// -trimpath and CGO_ENABLED=0 according to its embedded build information.
// The error lists every problem found.
func Verify(binary []byte) (Info, error) {
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return Info{}, fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 {
		bad("built for %v/%v, want ELFCLASS64/EM_X86_64 (GOARCH=%s)", f.Class, f.Machine, GOARCH)
	}
	if f.Type != elf.ET_EXEC {
		bad("ELF type %v, want ET_EXEC (a plain static executable)", f.Type)
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			bad("has a PT_INTERP program header: dynamically linked (build with CGO_ENABLED=0)")
		case elf.PT_DYNAMIC:
			bad("has a PT_DYNAMIC program header: dynamically linked (build with CGO_ENABLED=0)")
		}
	}
	for _, s := range f.Sections {
		switch {
		case s.Name == ".interp" || s.Name == ".dynamic":
			bad("has a %s section: dynamically linked (build with CGO_ENABLED=0)", s.Name)
		case s.Name == ".symtab":
			bad("has a symbol table: not stripped (build with -ldflags \"-s -w\")")
		case strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_"):
			bad("has DWARF section %s: not stripped (build with -ldflags \"-s -w\")", s.Name)
		}
	}

	info := Info{Size: len(binary)}
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		bad("no Go build information: %v", err)
	} else {
		info.GoVersion, info.Path = bi.GoVersion, bi.Path
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		want := map[string]string{"GOOS": GOOS, "GOARCH": GOARCH, "CGO_ENABLED": "0", "-trimpath": "true"}
		for _, k := range []string{"GOOS", "GOARCH", "CGO_ENABLED", "-trimpath"} {
			if settings[k] != want[k] {
				bad("build setting %s=%q, want %q", k, settings[k], want[k])
			}
		}
	}
	return info, errors.Join(problems...)
}
