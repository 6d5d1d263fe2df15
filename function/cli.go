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

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

const usage = `Usage: function <command> [flags]

Commands:
  invoke [-dir DIR] [-request-id ID] [-timeout D] [FILE|-]
        Run the handler once on a trigger event (a JSON file, or stdin) and
        print its JSON summary. Without OSS_BUCKET it writes to a local
        directory laid out as the bucket would be (default ./oss-local).
        The event is a Kafka trigger batch, or the idle-sealing timer's
        event (testdata/timer/seal-idle.json; its triggerTime is "now"),
        which with SINK_FLUSH_IDLE set seals and finalizes idle objects.

Exit codes: 0 stored; 1 the batch failed (bad event, failed write, partition
state conflict, a record SINK_FOLDER cannot place under SINK_INVALID=fail: see
the JSON summary and the log); 2 usage, configuration,
credentials or permission error (one line on stderr; fix the setup, retrying
cannot help).

Configuration comes from the environment (see README): OSS_BUCKET,
OSS_ENDPOINT, OSS_PREFIX, SINK_FORMAT, SINK_FIELDS, SINK_COMPRESSION,
SINK_VALUE_ENCODING, SINK_FLUSH_BYTES,
SINK_FLUSH_RECORDS, SINK_FLUSH_INTERVAL, SINK_FLUSH_IDLE, SINK_FOLDER, SINK_TIMEZONE,
SINK_INVALID, SINK_FILTER, SINK_LOCAL_DIR, LOG_LEVEL; OSS
credentials from ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET
and ALIBABA_CLOUD_SECURITY_TOKEN.
`

func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "invoke":
		return runInvoke(args[1:], stdin, stdout, stderr, getenv)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "function: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func runInvoke(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "local store directory (default $SINK_LOCAL_DIR or ./oss-local); ignored with OSS_BUCKET")
	reqID := fs.String("request-id", "", "request id to log and record (default: generated)")
	timeout := fs.Duration("timeout", 10*time.Minute, "deadline for the invocation, as FC's function timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "function invoke: one event file at most")
		return 2
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return failLine(stderr, err)
	}
	for _, w := range cfg.Warnings {
		// As the function's start-up log says them.
		fmt.Fprintln(stderr, "function invoke: warning:", w)
	}
	if *dir != "" {
		cfg.LocalDir = *dir
	}

	var payload []byte
	if name := fs.Arg(0); name == "" || name == "-" {
		payload, err = io.ReadAll(stdin)
	} else {
		payload, err = os.ReadFile(name)
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
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	id := *reqID
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
