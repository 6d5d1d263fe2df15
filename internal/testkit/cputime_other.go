//go:build !unix

package testkit

import "time"

// ProcessCPU returns 0: there is no rusage to read.
func ProcessCPU() time.Duration { return 0 }
