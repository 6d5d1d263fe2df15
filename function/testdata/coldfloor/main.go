// Command coldfloor is the floor BenchmarkFCColdStart compares the
// function's cold start with: a program that only polls the FC runtime API
// for its first call (net/http, as the function) and answers it.
package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
)

func main() {
	base := "http://" + os.Getenv("FC_RUNTIME_API") + "/2020-11-11/runtime/invocation/"
	resp, err := http.Get(base + "next")
	if err != nil {
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("x-fc-request-id")
	r, err := http.Post(base+id+"/response", "application/json", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		os.Exit(1)
	}
	r.Body.Close()
}
