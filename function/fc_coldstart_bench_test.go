package main

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
)

// BenchmarkFCColdStart is the instance's cold start as FC sees it: from
// just before exec to the process's first runtime API request (its poll
// for work, as fcemu's request log times it, with an invocation already
// waiting), for
//
//	floor      testdata/coldfloor: a program that only makes that request
//	           (and answers the call), with net/http as the function
//	fcruntime  the deployed binary (pkg/fcruntime)
//	sdk        the binary with fc-runtime-go-sdk's loop (-tags fcsdkloop)
//
// Each iteration starts a new process; the binary runs the default
// configuration with an OSS bucket (no request is made before the poll).
// It reports the median and the fastest start, in ms:
//
//	go test -run XXX -bench FCColdStart -benchtime 50x ./function/
func BenchmarkFCColdStart(b *testing.B) {
	for _, c := range []struct {
		name  string
		pkg   string
		flags []string
	}{
		{"floor", "./testdata/coldfloor", []string{"-trimpath"}},
		{"fcruntime", ".", []string{"-trimpath"}},
		{"sdk", ".", []string{"-trimpath", "-tags", "fcsdkloop"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bin := bins.Build(b, c.pkg, c.flags...)
			emu, err := fcemu.New(fcemu.WithCredentials(benchCreds.AccessKeyID, benchCreds.AccessKeySecret, benchCreds.SecurityToken),
				fcemu.WithFunction("kafka-oss-sink", "main", fcMemoryMB), fcemu.WithTimeout(30*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer emu.Close()
			env := memProcessEnv("http://127.0.0.1:1", "cold") // never reached: the batch is empty
			var starts []time.Duration
			for i := 0; i < b.N; i++ {
				done := make(chan fcemu.Result, 1)
				go func() {
					res, err := emu.Invoke(context.Background(), []byte("[]"))
					if err != nil {
						b.Error(err)
					}
					done <- res
				}()
				for emu.Pending() == 0 { // queued before the process starts
					time.Sleep(time.Millisecond)
				}
				cmd := exec.Command(bin)
				cmd.Env = env
				start := time.Now()
				inst, err := emu.StartProcess(cmd)
				if err != nil {
					b.Fatal(err)
				}
				res := <-done
				if res.Failed() {
					b.Fatalf("%s", res)
				}
				for _, r := range emu.Requests() {
					if r.Instance == inst.ID() && r.Op == fcemu.OpNext {
						starts = append(starts, r.Time.Sub(start))
						break
					}
				}
				_ = inst.Close()
			}
			slices.Sort(starts)
			b.ReportMetric(float64(starts[len(starts)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(starts[0].Microseconds())/1000, "ms-min")
		})
	}
}
