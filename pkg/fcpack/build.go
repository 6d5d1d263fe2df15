package fcpack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
)

// Target platform of the go1 runtime.
const (
	GOOS   = "linux"
	GOARCH = "amd64"
)

// BuildEnv is the environment the build needs on top of the caller's: no
// cgo (a static binary), the runtime's platform.
func BuildEnv() []string {
	return []string{"CGO_ENABLED=0", "GOOS=" + GOOS, "GOARCH=" + GOARCH}
}

// CommitVar is the variable of package buildinfo that the linker sets to
// the commit (-X), so that a binary built without the toolchain's VCS stamp
// (-buildvcs=false, or outside a checkout) still says where it came from.
const CommitVar = "github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo.commit"

// BuildArgs are the arguments of the go command that builds package pkg into
// the executable out: without build machine paths (-trimpath), without symbol
// table and DWARF (-s -w), with the commit stamped into package buildinfo
// (-X CommitVar=commit; an empty commit leaves it unknown). The same commit
// and sources give the same bytes.
func BuildArgs(out, pkg, commit string) []string {
	return []string{"build", "-trimpath", "-ldflags", "-s -w -X " + CommitVar + "=" + commit, "-o", out, pkg}
}

// Build runs "go BuildArgs(out, pkg, commit)" with BuildEnv in directory dir
// (the module, or any directory inside it). The go command's output is
// included in the error.
func Build(ctx context.Context, dir, out, pkg, commit string) error {
	args := BuildArgs(out, pkg, commit)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), BuildEnv()...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fcpack: go %v: %w\n%s", args, err, output.Bytes())
	}
	return nil
}
