// Package handlertest builds the invocation handler (pkg/handler) for tests
// from an environment, the way the binaries build it: configuration from
// config.FromEnv, credentials from the same environment. A configuration
// the environment does not make fails the test, naming what was wrong;
// logs go nowhere.
package handlertest

import (
	"io"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// New returns the handler that the environment getenv configures,
// credentials included (testkit.Env makes one from pairs).
func New(tb testing.TB, getenv func(string) string) *handler.Handler {
	tb.Helper()
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		tb.Fatalf("handler configuration: %v", err)
	}
	h, err := handler.New(cfg, io.Discard, handler.EnvCredentials(getenv))
	if err != nil {
		tb.Fatalf("handler: %v", err)
	}
	return h
}
