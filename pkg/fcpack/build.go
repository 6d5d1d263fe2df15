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

// BuildArgs are the arguments of the go command that builds package pkg into
// the executable out: without build machine paths (-trimpath), without symbol
// table and DWARF (-ldflags "-s -w").
func BuildArgs(out, pkg string) []string {
	return []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg}
}

// Build runs "go BuildArgs(out, pkg)" with BuildEnv in directory dir (the
// module, or any directory inside it). The go command's output is included
// in the error.
func Build(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", BuildArgs(out, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), BuildEnv()...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("fcpack: go %v: %w\n%s", BuildArgs(out, pkg), err, output.Bytes())
	}
	return nil
}
