// Command osstest-server runs an osstest OSS server from the shell, for
// trying the sink locally against something that behaves like OSS:
//
//	osstest-server -addr 127.0.0.1:9000 -bucket sink \
//		-access-key-id ak -access-key-secret sk -security-token tok \
//		-fail-before 0.1 -fail-after 0.1 -latency 20ms -seed 1
//
// It logs one line per request on stderr and stops on SIGINT or SIGTERM.
// Objects live in memory and vanish when it stops.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

type bucketFlags []string

func (b *bucketFlags) String() string     { return fmt.Sprint(*b) }
func (b *bucketFlags) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	var buckets bucketFlags
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Var(&buckets, "bucket", "bucket to create (repeatable; default \"sink\")")
	ak := flag.String("access-key-id", "", "access key id to accept (empty: accept any signature)")
	sk := flag.String("access-key-secret", "", "secret of -access-key-id")
	token := flag.String("security-token", "", "security token required with -access-key-id (empty: none)")
	failBefore := flag.Float64("fail-before", 0, "probability that a request fails before taking effect")
	failAfter := flag.Float64("fail-after", 0, "probability that a request takes effect and then fails")
	reset := flag.Bool("reset", false, "fail by resetting the connection instead of replying 503")
	latency := flag.Duration("latency", 0, "delay before every reply")
	unresponsive := flag.Bool("unresponsive", false, "accept connections but never answer (for timeout tests)")
	seed := flag.Int64("seed", 1, "seed of the fault RNG")
	restoreDelay := flag.Duration("restore-delay", -1, "how long every restore of an archived object takes (0: at once; default: OSS's documented times, a minute to 48 hours)")
	class := flag.String("storage-class", osstest.ClassStandard, "class of objects written without x-oss-storage-class")
	flag.Parse()
	if len(buckets) == 0 {
		buckets = bucketFlags{"sink"}
	}

	logger := log.New(os.Stderr, "", log.Ltime|log.Lmicroseconds)
	opts := []osstest.Opt{
		osstest.WithAddr(*addr),
		osstest.WithSeed(*seed),
		osstest.WithDefaultStorageClass(*class),
		osstest.WithRequestLog(func(e osstest.LogEntry) {
			status := fmt.Sprint(e.Status)
			if e.Status == 0 {
				status = "reset"
			}
			line := fmt.Sprintf("%-13s %s/%s %s %s", e.Op, e.Bucket, e.Key, status, e.Code)
			if e.Fault != "" {
				line += " fault=" + e.Fault
			}
			logger.Printf("%s in=%d out=%d %v", line, e.BytesIn, e.BytesOut, e.Duration.Round(time.Microsecond))
		}),
	}
	for _, b := range buckets {
		opts = append(opts, osstest.WithBucket(b))
	}
	if d := *restoreDelay; d >= 0 {
		opts = append(opts, osstest.WithRestoreDelay(func(string, string) time.Duration { return d }))
	}
	if *ak != "" {
		opts = append(opts, osstest.WithCredentials(*ak, *sk, *token))
	}
	srv, err := osstest.NewServer(opts...)
	if err != nil {
		logger.Fatal(err)
	}
	if *failBefore > 0 || *failAfter > 0 || *latency > 0 {
		for _, op := range osstest.Ops() {
			srv.SetFault(op, osstest.Fault{Before: *failBefore, After: *failAfter, Latency: *latency, Reset: *reset})
		}
	}
	srv.SetUnresponsive(*unresponsive)
	logger.Printf("osstest-server: endpoint %s, buckets %v", srv.Endpoint(), buckets)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	st := srv.Stats()
	faults := 0
	for _, n := range st.Faults {
		faults += n
	}
	logger.Printf("osstest-server: stopping after %d requests (%d faults injected)", st.Total(), faults)
	_ = srv.Close()
}
