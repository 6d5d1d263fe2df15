package sinkctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/cliflag"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Exit codes.
const (
	ExitOK     = 0 // success; verify: no error-level defect; consume: stopped cleanly
	ExitFailed = 1 // verify: at least one error-level defect; consume: a batch failed past its retries
	ExitUsage  = 2 // usage, configuration, store or broker access error
	// ExitPending: restore: archived objects it must read are not
	// restored yet (--no-wait, or --dry-run); nothing was produced, and
	// running again later picks up the restores requested.
	ExitPending = 3
)

// Env is the process environment a command runs in.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the configuration (os.Getenv for the real command).
	Getenv func(string) string
	// Terminal says that Stderr is an interactive terminal; progress is
	// drawn there only then.
	Terminal bool

	// store, when set (by this package's tests), is the store every
	// command uses instead of --dir or OSS: a store that models what
	// neither can here (archive classes whose restores take a while).
	store store.Store
}

// OSEnv is the environment of the running process.
func OSEnv() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Terminal: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// command is one subcommand.
type command struct {
	name     string
	synopsis string
	run      func(ctx context.Context, args []string, env Env) int
}

// commands lists the subcommands, in the order usage shows them.
func commands() []command {
	return []command{
		{"verify", "check that every record is stored exactly once (objects vs meta objects)", runVerify},
		{"consume", "run the handler behind a Kafka consumer group (the FC trigger, locally)", runConsume},
		{"restore", "produce the stored records of a topic back to Kafka (resumable)", runRestore},
		{"new-epoch", "start a new epoch for partitions of a recreated topic (offsets restarted)", runNewEpoch},
		{"status", "per partition: Kafka's high watermark, the group's and the store's committed offsets, the open object, the lag", runStatus},
		{"ls", "list the data objects (offsets, records, size, storage class, format)", runLs},
		{"cat", "print the records of data objects, decompressed, as values or JSON lines", runCat},
		{"version", "print the version, commit and Go version of this binary", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: sinkctl <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.synopsis)
	}

	fmt.Fprint(w, "\nRun 'sinkctl <command> -h' for a command's flags. The store comes from --dir, or from the\n"+
		"function's environment (OSS_BUCKET, OSS_ENDPOINT, OSS_PREFIX, ALIBABA_CLOUD_ACCESS_KEY_ID,\n"+
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN; SINK_LOCAL_DIR without a bucket).\n"+
		"Exit codes: 0 ok, 1 defects found (verify) or a batch failed past its retries (consume),\n2 usage, configuration, store or broker error, 3 archived objects still being restored (restore --no-wait).\n")
	fmt.Fprint(w, "\nExamples:\n  sinkctl verify --dir ./oss-local\n  sinkctl status --topic orders --brokers kafka:9092 --group oss-sink\n")
}

// Main runs the command line args (without the program name) and returns
// the exit code. ctx cancels a running command (the binary cancels it on
// SIGINT and SIGTERM).
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" { // sinkctl help consume
			return Main(ctx, []string{args[1], "-h"}, env)
		}
		usage(env.Stdout)
		return ExitOK
	case "--version", "-version":
		return runVersion(ctx, args[1:], env)
	}
	var names []string
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args[1:], env)
		}
		names = append(names, c.name)
	}
	name = strings.TrimSpace(name)
	switch guess := cliflag.Closest(strings.TrimLeft(name, "-"), names); {
	case strings.HasPrefix(name, "-"):
		fmt.Fprintf(env.Stderr, "sinkctl: %q: a command comes first (sinkctl <command> [flags]); run sinkctl -h for the commands\n", name)
	case guess != "":
		fmt.Fprintf(env.Stderr, "sinkctl: unknown command %q (did you mean %s?); run sinkctl -h for the commands\n", name, guess)
	default:
		fmt.Fprintf(env.Stderr, "sinkctl: unknown command %q; run sinkctl -h for the commands\n", name)
	}
	return ExitUsage
}
