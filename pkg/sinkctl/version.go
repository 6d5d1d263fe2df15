package sinkctl

import (
	"context"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo"
)

const versionUsage = `Usage: sinkctl version [--json]   (or sinkctl --version)

Prints the version, commit and Go version this binary was built from (its
embedded build information; "unknown" where the build recorded none).
`

// runVersion is `sinkctl version` and `sinkctl --version`.
func runVersion(_ context.Context, args []string, env Env) int {
	fs := newCmdFlags("version", versionUsage, "sinkctl version", "sinkctl version --json")
	asJSON := fs.Bool("json", false, "print it as JSON")
	if code, ok := fs.parse(args, env, false); !ok {
		return code
	}
	in := buildinfo.Read("sinkctl")
	if *asJSON {
		fmt.Fprintf(env.Stdout, "%s\n", in.JSON())
		return ExitOK
	}
	fmt.Fprintln(env.Stdout, in.String())
	return ExitOK
}
