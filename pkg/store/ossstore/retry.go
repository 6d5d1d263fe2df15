package ossstore

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// errTruncated marks a reply body shorter than its Content-Length: the
// connection broke mid-transfer, which a retry may fix.
var errTruncated = errors.New("reply body shorter than its Content-Length")

// errCorrupt marks a download whose CRC-64 differs from the one OSS reports.
var errCorrupt = errors.New("downloaded data does not match the object's CRC-64")

// do runs fn, one HTTP request per call, until it succeeds, fails for good,
// runs out of attempts or would outlive ctx. It returns fn's last error.
func (s *Store) do(ctx context.Context, o op, key string, fn func(ctx context.Context, a *attempt) error) error {
	opts := &s.pool.o
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := &attempt{n: n}
		start := time.Now()
		err := scrub(fn(context.WithValue(ctx, attemptKey{}, a), a))
		s.observe(o, key, a, time.Since(start), err)
		if err == nil || n >= opts.maxAttempts || !retryable(ctx, err, int(a.status.Load())) {
			return err
		}
		wait := backoff(n, opts.backoffBase, opts.backoffMax)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err // the retry could not finish in time anyway
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// backoff is the sleep before retry number n (n >= 1): base doubling per
// retry up to max, with "equal jitter" (half fixed, half random) so that
// concurrent invocations hitting the same throttle spread out.
func backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(half+1)
}

// retryable reports whether err, from a request whose reply (if any) had
// HTTP status status, is worth repeating.
func retryable(ctx context.Context, err error, status int) bool {
	// Only the operation's own context ending is final. A deadline error
	// while ctx lives is the transport's timeout ("timeout awaiting response
	// headers" is context.DeadlineExceeded too): a network failure like any
	// other, retried below.
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	// PutReader's source failed: OSS is not to blame, and the source will
	// most likely fail again (a short source certainly does).
	var srcErr *sourceError
	if errors.As(err, &srcErr) {
		return false
	}
	var se oss.ServiceError
	if errors.As(err, &se) {
		if se.StatusCode >= 500 || se.StatusCode == 429 {
			return true
		}
		switch se.Code {
		case "RequestTimeout", "Throttling", "SlowDown", "TooManyRequests", "ServerBusy", "QpsLimitExceeded":
			return true
		}
		return false
	}
	var use oss.UnexpectedStatusCodeError
	if errors.As(err, &use) {
		return use.Got() >= 500 || use.Got() == 429
	}
	var crcErr oss.CRCCheckError
	if errors.As(err, &crcErr) || errors.Is(err, errCorrupt) || errors.Is(err, errTruncated) {
		return true
	}
	// An error reply the SDK could not parse (an HTML page from a proxy, say)
	// arrives as a plain error; the transport saw its status.
	if status >= 500 || status == 429 {
		return true
	}
	return isNetworkError(err)
}

// isNetworkError reports whether err is a transport failure: a timeout, a
// reset or refused connection, an EOF. The HTTP client wraps everything in
// *url.Error, which is itself a net.Error, so that wrapper is looked through.
func isNetworkError(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
