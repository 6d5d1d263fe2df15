// Command sinkctl inspects what the Kafka → OSS sink wrote: `sinkctl
// verify` checks that every record is stored exactly once. See package
// sinkctl for the commands, flags, environment and exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := sinkctl.Main(ctx, os.Args[1:], sinkctl.OSEnv())
	stop()
	os.Exit(code)
}
