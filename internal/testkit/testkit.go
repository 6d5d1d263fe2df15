// Package testkit holds the test helpers that the tests of several packages
// share, so that each exists once. Its sub-packages are grouped by concern:
//
//   - kafkatest: a kfake cluster and the real client (sarama) to produce to
//     it, read it back and look at consumer groups.
//   - osskit: the OSS test server (pkg/osstest) and stores opened on it
//     through the real SDK (pkg/store/ossstore).
//   - fixture: stores as the sink writes them (by the engine itself, or by
//     hand for shapes the engine leaves only after failures) and as earlier
//     versions did.
//   - bintest: the module's commands compiled and run as processes, as a
//     user or Function Compute runs them.
//   - handlertest: the handler configured from an environment, as the
//     binaries configure it.
//
// This package itself imports only the standard library, so that the tests
// of any package may use it: a writer safe for concurrent logging, waits on
// conditions, environments.
//
// The contract of every helper here and below: it takes a testing.TB, fails
// the test (tb.Fatal) with a message saying what it was doing and what it
// saw, and cleans up what it started with tb.Cleanup. Nothing sleeps to
// synchronize: a wait polls its condition, and its deadline is only a
// safety net against a hang, generous enough for a loaded 2-core machine.
// Helpers are for tests only; production code never imports them.
package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers: a process's
// stderr, a logger used by several goroutines. The zero value is ready.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n bytes written (all of them if fewer), for
// failure reports of long logs.
func (s *SyncBuffer) Tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	return string(b[max(0, len(b)-n):])
}

// WaitFor polls cond until it holds. After timeout (a safety net, not a
// synchronization) it fails the test, saying it was waiting for what.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	WaitUntil(tb, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errors.New("the condition does not hold")
	})
}

// WaitUntil polls check until it returns nil; the error it returns
// otherwise says where things stand, and is in the failure message after
// timeout (a safety net, not a synchronization). check may itself fail the
// test (it runs in the caller's goroutine), for instance when what it
// waits on can no longer happen.
func WaitUntil(tb testing.TB, timeout time.Duration, what string, check func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		// Polling, not synchronization: the pause only bounds how often
		// check runs (some checks open connections).
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// RunUntil runs run in a goroutine until cond holds (polled as WaitFor
// does, with timeout as the safety net), then cancels run's context (a
// child of tb.Context()) and returns what run returned. run returning
// before cond holds fails the test: what it waited for can no longer
// happen.
func RunUntil(tb testing.TB, timeout time.Duration, what string, run func(ctx context.Context) error, cond func() bool) error {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	WaitUntil(tb, timeout, what, func() error {
		select {
		case err := <-done:
			tb.Fatalf("waiting for %s: it returned first: %v", what, err)
		default:
		}
		if cond() {
			return nil
		}
		return errors.New("not yet")
	})
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		tb.Fatalf("%s: did not return within %v of being cancelled", what, timeout)
		return nil
	}
}

// Env returns a lookup (as os.Getenv) of the pairs kv: name, value, name,
// value, ... A later pair overrides an earlier one of the same name, so
// that defaults followed by overrides read as one list. Names not in kv
// are "".
func Env(kv ...string) func(string) string {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("testkit.Env: odd number of arguments (%d): a name without a value", len(kv)))
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}
