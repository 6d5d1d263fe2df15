package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/buildinfo"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/cliflag"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// usage is the top-level help: what the command is, its commands, exit
// codes and configuration, ending in examples as every help does.
const usage = `Usage: function <command> [flags]

The Kafka → OSS sink. Under Function Compute (FC_RUNTIME_API set, no
arguments) it serves the Kafka trigger and the seal-idle timer; anywhere
else it is this command line, which runs the same handler.

Commands:
  invoke [flags] [FILE|-]   run the handler once on a trigger event and print
                            its JSON summary (function invoke -h)
  version [--json]          the version, commit and Go version it was built
                            from (also: function --version)
  help [COMMAND]            this help, or a command's

Exit codes: 0 stored; 1 the batch failed (bad event, failed write, partition
state conflict, a record SINK_FOLDER cannot place under SINK_INVALID=fail:
see the JSON summary and the log); 2 usage, configuration, credentials or
permission error (one line on stderr; fix the setup, retrying cannot help).

Configuration comes from the environment (see README): OSS_BUCKET,
OSS_ENDPOINT, OSS_PREFIX, SINK_FORMAT, SINK_FIELDS, SINK_COMPRESSION,
SINK_VALUE_ENCODING, SINK_FINALIZE, SINK_STORAGE_CLASS, SINK_SSE,
SINK_SSE_KMS_KEY_ID, SINK_TAGS, SINK_FLUSH_BYTES, SINK_FLUSH_RECORDS,
SINK_FLUSH_INTERVAL, SINK_FLUSH_IDLE, SINK_FOLDER, SINK_TIMEZONE,
SINK_INVALID, SINK_FILTER, SINK_LOCAL_DIR, LOG_LEVEL; OSS credentials from
ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and
ALIBABA_CLOUD_SECURITY_TOKEN.

Examples:
  function invoke testdata/cloudevents.json
  function invoke --dir /tmp/oss testdata/multi-partition.json
  function --version
`

// invokeHead is the part of invoke's help above its flags.
const invokeHead = `Usage: function invoke [flags] [FILE|-]

Runs the handler once on a trigger event, a JSON file (stdin with - or no
FILE), and prints the invocation's JSON summary on stdout and its log on
stderr. The event is a Kafka trigger batch, or the idle-sealing timer's
event (testdata/timer/seal-idle.json; its triggerTime is "now"), which with
SINK_FLUSH_IDLE set seals and finalizes idle objects. Flags may come before
or after FILE.

Where it writes: with OSS_BUCKET set, to that bucket (OSS_ENDPOINT,
credentials from ALIBABA_CLOUD_*); without, to a local directory laid out
as the bucket would be: --dir, else SINK_LOCAL_DIR, else ./oss-local.
--dir or SINK_LOCAL_DIR together with OSS_BUCKET is refused (exit 2), so
that a shell with a production bucket exported never receives test data
meant for a directory: unset one of them.

Exit codes: 0 stored; 1 the batch failed (the summary and the log say
where); 2 usage, configuration, credentials or permission error.
`

var invokeExamples = []string{
	"function invoke testdata/cloudevents.json",
	"function invoke testdata/multi-partition.json --dir /tmp/oss",
	"SINK_FORMAT=jsonl function invoke --request-id try-1 - < testdata/rawdata.json",
}

const versionHead = `Usage: function version [--json]   (or: function --version [--json])

Prints the version of the main module, the commit and the Go version the
binary was built from, read from its build information ("unknown" when the
build recorded none; the Makefile stamps the commit).
`

var versionExamples = []string{"function --version", "main version --json"}

// commands are the subcommands, for suggestions on a misspelled one.
var commands = []string{"invoke", "version", "help"}

func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "invoke":
		return runInvoke(args[1:], stdin, stdout, stderr, getenv)
	case "version", "-version", "--version":
		return runVersion(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			switch args[1] {
			case "invoke":
				return runInvoke([]string{"-h"}, stdin, stdout, stderr, getenv)
			case "version":
				return runVersion([]string{"-h"}, stdout, stderr)
			case "help":
			default:
				return unknownCommand(stderr, args[1])
			}
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	if name, ok := strings.CutPrefix(args[0], "-"); ok {
		name = strings.TrimPrefix(name, "-")
		if s := cliflag.Closest(name, []string{"version", "help"}); s != "" {
			fmt.Fprintf(stderr, "function: unknown flag %s (did you mean --%s?); see function -h\n", args[0], s)
		} else {
			fmt.Fprintf(stderr, "function: unknown flag %s; see function -h\n", args[0])
		}
		return 2
	}
	return unknownCommand(stderr, args[0])
}

// unknownCommand says in one line that name is no command, naming the
// closest one or all of them, and returns exit code 2.
func unknownCommand(stderr io.Writer, name string) int {
	if s := cliflag.Closest(name, commands); s != "" {
		fmt.Fprintf(stderr, "function: unknown command %q (did you mean %q?); see function -h\n", name, s)
	} else {
		fmt.Fprintf(stderr, "function: unknown command %q (commands: %s); see function -h\n", name, strings.Join(commands, ", "))
	}
	return 2
}

// runVersion prints the build information of the running binary.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object (program, version, commit, go_version, platform)")
	err := cliflag.Parse(fs, args)
	if cliflag.IsHelp(err) {
		cliflag.Usage(stdout, fs, versionHead, versionExamples...)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "function version: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "function version: unexpected argument %q (only --json)\n", fs.Arg(0))
		return 2
	}
	// "main": the executable's name in the deployed archive (the handler).
	info := buildinfo.Read("main")
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", info.JSON())
	} else {
		fmt.Fprintln(stdout, info.String())
	}
	return 0
}

// invokeFlags are invoke's options.
type invokeFlags struct {
	dir     string
	dirSet  bool
	reqID   string
	timeout time.Duration
	file    string // "" or "-": stdin
}

// parseInvoke parses invoke's arguments, flags before and after the event
// file alike (flag.Parse alone stops at the first argument that is not a
// flag, which would take "--dir X" after the file for more file names).
// Everything after "--" is an argument. The error is one line.
func parseInvoke(args []string, stdout io.Writer) (invokeFlags, bool, error) {
	var f invokeFlags
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.StringVar(&f.dir, "dir", "", "local store `directory` (default $SINK_LOCAL_DIR, else ./oss-local); refused with OSS_BUCKET")
	fs.StringVar(&f.reqID, "request-id", "", "request `id` to log and record (default local-<time>)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Minute, "deadline of the invocation, as FC's function timeout")
	var files []string
	rest := args
	for {
		err := cliflag.Parse(fs, rest)
		if cliflag.IsHelp(err) {
			cliflag.Usage(stdout, fs, invokeHead, invokeExamples...)
			return f, true, nil
		}
		if err != nil {
			return f, false, err
		}
		left := fs.Args()
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			files = append(files, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		files = append(files, left[0])
		rest = left[1:]
	}
	fs.Visit(func(fl *flag.Flag) { f.dirSet = f.dirSet || fl.Name == "dir" })
	if len(files) > 1 {
		return f, false, fmt.Errorf("one event file at most, got %d (%s)", len(files), strings.Join(files, " "))
	}
	if len(files) == 1 {
		f.file = files[0]
	}
	return f, false, nil
}

func runInvoke(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fl, help, err := parseInvoke(args, stdout)
	if help {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "function invoke: %v\n", err)
		return 2
	}
	// A directory and a bucket together: which one was meant cannot be
	// told, and guessing the bucket would put test data in production.
	if bucket := getenv(config.EnvBucket); bucket != "" {
		switch {
		case fl.dirSet:
			fmt.Fprintf(stderr, "function invoke: --dir %q and %s=%q are both set: refusing to guess between the directory and the bucket; unset %s to write to the directory, or drop --dir to write to the bucket\n",
				fl.dir, config.EnvBucket, bucket, config.EnvBucket)
			return 2
		case getenv(config.EnvLocalDir) != "":
			fmt.Fprintf(stderr, "function invoke: %s=%q and %s=%q are both set: refusing to guess between the directory and the bucket; unset one of them\n",
				config.EnvLocalDir, getenv(config.EnvLocalDir), config.EnvBucket, bucket)
			return 2
		}
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return failLine(stderr, err)
	}
	for _, w := range cfg.Warnings {
		// As the function's start-up log says them.
		fmt.Fprintln(stderr, "function invoke: warning:", w)
	}
	if fl.dirSet {
		if fl.dir == "" {
			fmt.Fprintln(stderr, "function invoke: --dir is empty: give a directory, or leave --dir out for $SINK_LOCAL_DIR or ./oss-local")
			return 2
		}
		cfg.LocalDir = fl.dir
	}

	var payload []byte
	if fl.file == "" || fl.file == "-" {
		if interactive(stdin) {
			// Otherwise a user who forgot the file sees a command that hangs.
			fmt.Fprintln(stderr, "function invoke: reading the event from the terminal (end it with Ctrl-D; or give FILE)")
		}
		payload, err = io.ReadAll(stdin)
	} else {
		payload, err = os.ReadFile(fl.file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "function invoke: read event: %v\n", err)
		return 2
	}

	// The log is held until the invocation ends: a setup problem is then
	// told in one line instead of among log lines that repeat it.
	logs := &lockedBuffer{}
	h, err := handler.New(cfg, logs, handler.EnvCredentials(getenv))
	if err != nil {
		return failLine(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, fl.timeout)
	defer cancel()
	id := fl.reqID
	if id == "" {
		id = fmt.Sprintf("local-%d", time.Now().UnixNano())
	}
	resp, err := h.Invoke(ctx, id, payload)
	if err == nil || !handler.SetupError(err) || cfg.LogLevel <= zerolog.DebugLevel {
		logs.WriteTo(stderr)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if eerr := enc.Encode(resp); eerr != nil {
		fmt.Fprintf(stderr, "function invoke: %v\n", eerr)
		return 1
	}
	if err != nil {
		if handler.SetupError(err) {
			return failLine(stderr, err)
		}
		fmt.Fprintf(stderr, "function invoke: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

// interactive reports whether r is a terminal: a character device other
// than the null device (no dependency for a hint).
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// failLine reports a usage or setup error in one line and returns exit
// code 2.
func failLine(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "function invoke: %s\n", oneLine(err.Error()))
	return 2
}

// oneLine joins the lines of a message (errors.Join puts one partition's
// error per line) with "; ".
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}

// lockedBuffer collects log lines written from concurrent goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) WriteTo(w io.Writer) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.WriteTo(w)
}
