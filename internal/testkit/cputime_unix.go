//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// ProcessCPU returns the user+system CPU time of the process so far, so that
// benchmarks can report throughput per CPU second, which a loaded machine
// disturbs far less than wall time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
