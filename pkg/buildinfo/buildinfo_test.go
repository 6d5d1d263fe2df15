package buildinfo

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{
		{"stamped", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
			Info{Program: "p", Version: "v1.2.3", Commit: "0123456789abcdef0123", Modified: true, CommitTime: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}},
		{"unstamped", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Program: "p", Version: "(devel)", Commit: "unknown", GoVersion: "go1.26.8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fromBuildInfo("p", &tc.bi)
			if tc.want.Platform == "" {
				tc.want.Platform = got.Platform // the running platform
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStringAndJSON(t *testing.T) {
	in := Info{Program: "sinkctl", Version: "(devel)", Commit: "0123456789abcdef", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"}
	if got, want := in.String(), "sinkctl (devel) commit 0123456789ab (modified) go1.26.8 linux/amd64"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	var back Info
	if err := json.Unmarshal(in.JSON(), &back); err != nil || back != in {
		t.Fatalf("JSON round trip: %v, %+v", err, back)
	}
	if r := Read("x"); r.Program != "x" || !strings.HasPrefix(r.GoVersion, "go") {
		t.Fatalf("Read: %+v", r)
	}
}
