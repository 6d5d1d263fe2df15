package fcemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
)

// testfuncPath is the compiled internal/testfunc, built once in TestMain.
var testfuncPath string

func TestMain(m *testing.M) {
	var bins bintest.Cache
	var err error
	if testfuncPath, err = bins.Path("./internal/testfunc"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// newEmu returns an emulator closed at the end of the test.
func newEmu(t *testing.T, opts ...Opt) *Emulator {
	t.Helper()
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// testfuncCmd returns a command running testfunc, its stderr logged if the
// test fails.
func testfuncCmd(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(testfuncPath)
	logs := &testkit.SyncBuffer{}
	cmd.Stderr = logs
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testfunc stderr:\n%s", logs.String())
		}
	})
	return cmd
}

// startTestfunc starts testfunc as a new instance of e.
func startTestfunc(t *testing.T, e *Emulator) *Instance {
	t.Helper()
	inst, err := e.StartProcess(testfuncCmd(t))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// ctxFor returns a context that ends with the test (or after d).
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// reply is testfunc's answer.
type reply struct {
	RequestID       string `json:"request_id"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	SecurityToken   string `json:"security_token"`
	Region          string `json:"region"`
	AccountID       string `json:"account_id"`
	RetryCount      int    `json:"retry_count"`
	FunctionName    string `json:"function_name"`
	Handler         string `json:"handler"`
	Memory          string `json:"memory"`
	EnvMemory       string `json:"env_memory"`
	TimeoutSeconds  int    `json:"timeout_seconds"`
	DeadlineMS      int64  `json:"deadline_ms"`
	Initialized     bool   `json:"initialized"`
}

func decodeReply(t *testing.T, r Result) reply {
	t.Helper()
	if r.Status != StatusOK {
		t.Fatalf("want a response, got %s", r)
	}
	var rep reply
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatalf("reply %q: %v", r.Body, err)
	}
	return rep
}
