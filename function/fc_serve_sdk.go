//go:build fcsdkloop

package main

import (
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

// serveFC, in a binary built with -tags fcsdkloop, serves invocations with
// fc-runtime-go-sdk's own loop (fc.Start) as this function did before
// pkg/fcruntime: each body read into a fresh, growing buffer, no memory
// limit and no admission. It exists for BenchmarkFCMemory's baseline only;
// the deployed binary never has it.
func serveFC() {
	inst := newInstance(os.Getenv, os.Stderr)
	fc.RegisterInitializerFunction(inst.initialize)
	fc.RegisterPreStopFunction(inst.preStop)
	fc.Start(inst.handle)
}
