// Command function is the Kafka → OSS sink. Under Function Compute
// (FC_RUNTIME_API set) it serves invocations of the Kafka trigger and of
// the idle-sealing timer trigger; anywhere
// else it is the local command line:
//
//	function invoke [--dir DIR] [FILE|-]   run the handler once on an event file (or stdin)
//	function version [--json]             what it was built from (also --version)
//
// Both paths run the same handler: decode the trigger payload, write it with
// package sink to OSS (OSS_BUCKET set) or to a local directory laid out as
// the bucket would be, and return a JSON summary. The command line never
// writes to a bucket when given a directory: --dir (or SINK_LOCAL_DIR)
// with OSS_BUCKET is refused. Flags follow package cliflag: a misspelled
// one is one line naming the closest, -h is help on stdout.
package main

import (
	"os"
)

func main() {
	if os.Getenv("FC_RUNTIME_API") != "" && len(os.Args) == 1 {
		serveFC()
		return
	}
	os.Exit(runCLI(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
