//go:build !fcsdkloop

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcruntime"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// serveFC serves invocations through the FC runtime API with
// pkg/fcruntime: bodies read into reused buffers of their size, the Go
// memory limit set from the function's memory size, and batches admitted
// so that those in flight fit it (see that package). It returns only if the
// runtime API stays unreachable; the process then exits and FC starts
// another instance.
func serveFC() {
	inst := newInstance(os.Getenv, os.Stderr)
	err := fcruntime.Serve(context.Background(), os.Getenv("FC_RUNTIME_API"), inst.serve,
		fcruntime.WithInitializer(inst.initialize), fcruntime.WithPreStop(inst.preStop),
		// A batch that waited for memory until its deadline is retried by
		// the trigger like any transient failure.
		fcruntime.WithWaitError(func(err error) error { return &handler.WriteError{Err: err} }))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// serve is handle answering with the JSON summary, as fc.Start would
// marshal it. handler.Invoke keeps nothing pointing into payload once it
// returns, as fcruntime requires: the buffer is reused.
func (inst *instance) serve(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := inst.handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}
