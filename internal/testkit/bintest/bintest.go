// Package bintest compiles the module's commands and runs them as
// processes, as a user or Function Compute runs them, for end-to-end tests
// (killed at random moments included).
//
// A build that fails fails the test with go build's output. A started
// process is killed when its test ends, if it still runs, and what it wrote
// to stderr is logged if the test failed. Waits on a process have a
// deadline only as a safety net.
package bintest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
)

// Build compiles the main package pkg (as go build names it, relative to
// the test's package directory) with flags into a directory of the test's
// own and returns the binary's path.
func Build(tb testing.TB, pkg string, flags ...string) string {
	tb.Helper()
	bin, err := build(tb.TempDir(), pkg, flags)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

func build(dir, pkg string, flags []string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(filepath.Clean(pkg)))
	if pkg == "." {
		bin = filepath.Join(dir, "main")
	}
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// Cache builds each command once per test process, for packages whose
// tests start it many times. The zero value is ready; call Remove from
// TestMain once the tests ran.
type Cache struct {
	mu   sync.Mutex
	dir  string
	bins map[string]built
}

type built struct {
	path string
	err  error
}

// Build returns the binary of pkg built with flags (see Build), compiling
// it the first time.
func (c *Cache) Build(tb testing.TB, pkg string, flags ...string) string {
	tb.Helper()
	bin, err := c.Path(pkg, flags...)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Path is Build for code without a testing.TB (a sync.Once, a TestMain).
// A failed build is not tried again.
func (c *Cache) Path(pkg string, flags ...string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.Join(append([]string{pkg}, flags...), "\x00")
	if b, ok := c.bins[key]; ok {
		return b.path, b.err
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "bintest")
		if err != nil {
			return "", err
		}
		c.dir, c.bins = dir, map[string]built{}
	}
	dir, err := os.MkdirTemp(c.dir, "bin")
	var b built
	if err != nil {
		b.err = err
	} else {
		b.path, b.err = build(dir, pkg, flags)
	}
	c.bins[key] = b
	return b.path, b.err
}

// Remove deletes the binaries built.
func (c *Cache) Remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
	c.dir, c.bins = "", nil
}

// Proc is a process started by Start.
type Proc struct {
	Cmd *exec.Cmd
	// Stdout and Stderr hold what the process wrote to them, unless the
	// command came with writers of its own (then they are nil).
	Stdout, Stderr *testkit.SyncBuffer

	done chan struct{}
	err  error // Cmd.Wait's, once done is closed
}

// Start starts cmd. The process is killed when the test ends, if it still
// runs then.
func Start(tb testing.TB, cmd *exec.Cmd) *Proc {
	tb.Helper()
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil {
		p.Stdout = &testkit.SyncBuffer{}
		cmd.Stdout = p.Stdout
	}
	if cmd.Stderr == nil {
		p.Stderr = &testkit.SyncBuffer{}
		cmd.Stderr = p.Stderr
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() && p.Stderr != nil {
			tb.Logf("%s stderr (last 8 KB):\n%s", filepath.Base(cmd.Path), p.Stderr.Tail(8<<10))
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns how the process ended (exec.Cmd.Wait's error); only once
// Done is closed.
func (p *Proc) Err() error { return p.err }

// Wait waits for the process to exit and returns Err. It fails the test if
// the process still runs after timeout (a safety net).
func (p *Proc) Wait(tb testing.TB, timeout time.Duration) error {
	tb.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		tb.Fatalf("%s still runs after %v", filepath.Base(p.Cmd.Path), timeout)
		return nil
	}
}

// Kill sends SIGKILL and waits for the process to exit. It reports whether
// the signal ended it (false: it had exited on its own before).
func (p *Proc) Kill(tb testing.TB) bool {
	tb.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	return Killed(p.err)
}

// Interrupt sends SIGINT (a clean stop, as Ctrl-C) and returns how the
// process ended, failing the test if it still runs after timeout (a safety
// net).
func (p *Proc) Interrupt(tb testing.TB, timeout time.Duration) error {
	tb.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGINT)
	return p.Wait(tb, timeout)
}

// Killed reports whether err (of exec.Cmd.Wait) says a signal ended the
// process.
func Killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// Result is how a process run by Run ended.
type Result struct {
	Code           int // the exit code; -1 if a signal ended it
	Stdout, Stderr string
}

// Run runs cmd to its end and returns its exit code and output. It fails
// the test if cmd cannot start, or still runs after timeout (a safety
// net: the process is killed).
func Run(tb testing.TB, timeout time.Duration, cmd *exec.Cmd) Result {
	tb.Helper()
	p := Start(tb, cmd)
	err := p.Wait(tb, timeout)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("%s: %v", filepath.Base(cmd.Path), err)
	}
	r := Result{Code: cmd.ProcessState.ExitCode()}
	if p.Stdout != nil {
		r.Stdout = p.Stdout.String()
	}
	if p.Stderr != nil {
		r.Stderr = p.Stderr.String()
	}
	return r
}
