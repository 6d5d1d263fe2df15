// Package buildinfo reports what a binary was built from: the module
// version, the commit and the Go version, read from the build information
// the Go toolchain embeds (runtime/debug.ReadBuildInfo).
//
// The commit comes from the toolchain's VCS stamp (vcs.revision,
// vcs.modified), present when the binary was built inside a git checkout
// with -buildvcs on; a build may instead set it with
// -ldflags "-X github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo.commit=…"
// (the Makefile does, so that packages built with -buildvcs=false still
// say where they came from). Unknown parts are reported as "unknown",
// never guessed.
package buildinfo

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// commit is set by the linker (-X) when the build knows the commit and
// the toolchain's VCS stamp is off. It is written only at link time.
var commit string

// Info describes one binary.
type Info struct {
	// Program is the binary's name as its caller gives it (sinkctl, main).
	Program string `json:"program"`
	// Version is the main module's version: a tag (v1.2.3), a pseudo
	// version, or "(devel)" for a build from a working tree.
	Version string `json:"version"`
	// Commit is the VCS revision, "unknown" when the build recorded none.
	Commit string `json:"commit"`
	// Modified says the working tree had uncommitted changes (VCS stamp).
	Modified bool `json:"modified,omitempty"`
	// CommitTime is the revision's time (RFC 3339), when recorded.
	CommitTime string `json:"commit_time,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read returns the build information of the running binary.
func Read(program string) Info {
	in := Info{Program: program, Version: "unknown", Commit: "unknown", GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		in = fromBuildInfo(program, bi)
	}
	if in.Commit == "unknown" && commit != "" {
		in.Commit = commit
	}
	return in
}

func fromBuildInfo(program string, bi *debug.BuildInfo) Info {
	in := Info{Program: program, Version: "unknown", Commit: "unknown", GoVersion: bi.GoVersion,
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if in.GoVersion == "" {
		in.GoVersion = runtime.Version()
	}
	if v := bi.Main.Version; v != "" {
		in.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "vcs.time":
			in.CommitTime = s.Value
		case "GOOS":
			goos := s.Value
			for _, t := range bi.Settings {
				if t.Key == "GOARCH" {
					in.Platform = goos + "/" + t.Value
				}
			}
		}
	}
	return in
}

// String is the one-line human form: "sinkctl (devel) commit 1a2b3c4d (modified) go1.26.8 linux/amd64".
func (in Info) String() string {
	c := in.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if in.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("%s %s commit %s %s %s", in.Program, in.Version, c, in.GoVersion, in.Platform)
}

// JSON is the machine form, one line without a trailing newline.
func (in Info) JSON() []byte {
	b, _ := json.Marshal(in) // a struct of strings and a bool cannot fail
	return b
}
