package main

// Packaging: make package and pkg/fcpack build what FC's go1 runtime runs.

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcpack"
)

// deploySampleCommit stands for the checkout's commit in the build command.
const deploySampleCommit = "0123456789abcdef0123456789abcdef01234567"

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeployPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the deployable binary")
	}
	dir := t.TempDir()
	bin, zipPath := filepath.Join(dir, "main"), filepath.Join(dir, "function.zip")
	if err := fcpack.Build(t.Context(), "..", bin, "./function", deploySampleCommit); err != nil {
		t.Fatal(err)
	}
	if _, err := fcpack.Package(bin, zipPath); err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}

	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "main" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("archive holds %q, want exactly [main] at its root", names)
	}
	f := zr.File[0]
	if f.CreatorVersion>>8 != 3 || f.ExternalAttrs>>16 != 0o100755 || f.Mode() != 0o755 {
		t.Errorf("entry main: creator %d, unix attributes %o, mode %v; want unix, 100755 (regular, rwxr-xr-x)",
			f.CreatorVersion>>8, f.ExternalAttrs>>16, f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}

	ef, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("main is not an ELF file: %v", err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || ef.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("ELF %v %v %v, want a 64-bit linux/amd64 executable", ef.Class, ef.Machine, ef.OSABI)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".symtab", ".debug_info", ".zdebug_info"} {
		if ef.Section(name) != nil {
			t.Errorf("section %s present: want static (no .interp, .dynamic) and stripped (no .symtab, DWARF)", name)
		}
	}
	ef.Close()
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != deployModule+"/function" {
		t.Errorf("main package %s, want %s/function", bi.Path, deployModule)
	}

	// -trimpath: no path of this machine in the binary. Look for the
	// directories a path could start with, then at a sample of the source
	// file names it holds (for tracebacks): module-relative, never absolute.
	root, _ := filepath.Abs("..")
	forbidden := []string{root, "/root/"}
	for _, v := range []string{"GOPATH", "GOROOT", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p != "" {
				forbidden = append(forbidden, p)
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil && len(home) > 1 {
		forbidden = append(forbidden, home+"/")
	}
	for _, p := range forbidden {
		if bytes.Contains(binary, []byte(p)) {
			t.Errorf("the binary contains the build machine path %q: built without -trimpath?", p)
		}
	}
	files := regexp.MustCompile(`[[:graph:]]{3,}\.go\b`).FindAll(binary, -1)
	sample := 0
	for _, fname := range files {
		if !bytes.Contains(fname, []byte("pkg/sink/")) {
			continue
		}
		if !bytes.HasPrefix(fname, []byte(deployModule+"/pkg/sink/")) {
			t.Errorf("source file %s: want it named by import path (-trimpath), not by a directory", fname)
		}
		sample++
	}
	if sample == 0 {
		t.Errorf("no source file of %s/pkg/sink named in the binary: the sample proves nothing", deployModule)
	}

	// The commit stamped by -X is what the binary reports (the build
	// machine's toolchain stamps none: -buildvcs=false here).
	if runtime.GOOS == fcpack.GOOS && runtime.GOARCH == fcpack.GOARCH {
		out, err := exec.Command(bin, "--version", "--json").Output()
		var info struct{ Commit string }
		if err != nil || json.Unmarshal(out, &info) != nil || info.Commit != deploySampleCommit {
			t.Errorf("main --version --json: %v, %q; want commit %s", err, out, deploySampleCommit)
		}
	}
	// Deterministic: the same sources and commit build the same bytes.
	rebuilt := filepath.Join(dir, "main-again")
	if err := fcpack.Build(t.Context(), "..", rebuilt, "./function", deploySampleCommit); err != nil {
		t.Fatal(err)
	}
	if a, b := mustRead(t, bin), mustRead(t, rebuilt); !bytes.Equal(a, b) {
		t.Error("building the same sources twice gave different binaries")
	}

	// Deterministic: packaging the same binary again gives the same bytes.
	again := filepath.Join(dir, "again.zip")
	if _, err := fcpack.Package(bin, again); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, archive) {
		t.Error("packaging the same binary twice gave different archives")
	}
}

// The Makefile spells out the build command; fcpack has it as code. Keep
// them equal, and s.yaml pointed at what `make package` writes.
func TestDeployMakefileMatchesFcpack(t *testing.T) {
	text, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	recipes := map[string][]string{}
	target := ""
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "\t") && target != "":
			recipes[target] = append(recipes[target], strings.TrimSpace(line))
		case regexp.MustCompile(`^[A-Z]+\s*[:?]?=`).MatchString(line):
			k, v, _ := strings.Cut(line, "=")
			vars[strings.TrimRight(k, " :?")] = strings.TrimSpace(v)
			target = ""
		case regexp.MustCompile(`^[a-z]+:`).MatchString(line):
			target, _, _ = strings.Cut(line, ":")
		default:
			target = ""
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\(([A-Z]+)\)`).ReplaceAllStringFunc(s, func(m string) string {
			v, ok := vars[m[2:len(m)-1]]
			if !ok {
				t.Errorf("Makefile: $(%s) undefined", m[2:len(m)-1])
			}
			return v
		})
	}
	// The commit is the checkout's; the recipe must pass it as fcpack does.
	if c := vars["COMMIT"]; !strings.Contains(c, "git rev-parse HEAD") {
		t.Errorf("Makefile: COMMIT = %q, want the checkout's commit (git rev-parse HEAD)", c)
	}
	vars["COMMIT"] = deploySampleCommit
	bin, zipPath := vars["BIN"], vars["ZIP"]
	if bin == "" || zipPath == "" || filepath.Base(bin) != fcpack.EntryName {
		t.Fatalf("Makefile: BIN=%q ZIP=%q; want BIN named %q and ZIP set", bin, zipPath, fcpack.EntryName)
	}

	var build []string
	for _, l := range recipes["build"] {
		if strings.Contains(l, " build ") {
			build = deployShellWords(t, expand(l))
		}
	}
	want := slices.Concat(fcpack.BuildEnv(), []string{"go"}, fcpack.BuildArgs(bin, "./function", deploySampleCommit))
	if !reflect.DeepEqual(build, want) {
		t.Errorf("Makefile build recipe runs\n\t%q\nfcpack builds with\n\t%q", build, want)
	}
	var pack []string
	for _, l := range recipes["package"] {
		pack = deployShellWords(t, expand(l))
	}
	if want := []string{"go", "run", "./pkg/fcpack/cmd/fcpack", "-bin", bin, "-out", zipPath}; !reflect.DeepEqual(pack, want) {
		t.Errorf("Makefile package recipe runs %q, want %q", pack, want)
	}

	props := deploySProps(t, deployLoadS(t))
	if code := props["code"]; code != "./"+zipPath {
		t.Errorf("s.yaml code is %v, want ./%s (what `make package` writes)", code, zipPath)
	}
	var pre []string
	for _, r := range deploySResource(t, deployLoadS(t))["actions"].(map[string]any)["pre-deploy"].([]any) {
		pre = append(pre, r.(map[string]any)["run"].(string))
	}
	if !slices.Contains(pre, "make package") {
		t.Errorf("s.yaml pre-deploy runs %q, want make package", pre)
	}
}

// deployShellWords splits a recipe line as sh would for the simple words and
// double quotes the Makefile uses.
