package fcruntime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"
)

// apiVersion is the runtime API version fc-runtime-go-sdk v0.3.1 speaks.
const apiVersion = "2020-11-11"

// Headers of the runtime API (those fc-runtime-go-sdk v0.3.1 reads).
const (
	hRequestID       = "x-fc-request-id"
	hDeadline        = "x-fc-function-deadline" // epoch milliseconds
	hFunctionType    = "x-fc-function-type"     // 0 invoke, 1 initializer, 2 PreStop, 3 PreFreeze
	hAccessKeyID     = "x-fc-access-key-id"
	hAccessKeySecret = "x-fc-access-key-secret"
	hSecurityToken   = "x-fc-security-token"
	hFunctionName    = "x-fc-function-name"
	hFunctionHandler = "x-fc-function-handler"
	hFunctionMemory  = "x-fc-function-memory" // MB
	hFunctionTimeout = "x-fc-function-timeout"
	hServiceName     = "x-fc-service-name"
	hLogProject      = "x-fc-service-logproject"
	hLogStore        = "x-fc-service-logstore"
	hSpanContext     = "x-fc-tracing-opentracing-span-context"
	hSpanBaggages    = "x-fc-tracing-opentracing-span-baggages"
	hJaegerEndpoint  = "x-fc-tracing-jaeger-endpoint"
	hRegion          = "x-fc-region"
	hAccountID       = "x-fc-account-id"
	hQualifier       = "x-fc-qualifier"
	hVersionID       = "x-fc-version-id"
	hRetryCount      = "x-fc-retry-count"
)

// client speaks the runtime API of one instance.
type client struct {
	base      string // http://host:port/2020-11-11/runtime/invocation/
	userAgent string
	http      *http.Client
}

func newClient(addr string, conns int) *client {
	tr := &http.Transport{
		// The API is local: no proxy, no TLS, no compression (a gzip
		// reader would hide Content-Length, and the body is read into a
		// buffer of that size).
		Proxy:              nil,
		DialContext:        (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		DisableCompression: true,
		// One poll plus the calls in flight, each with its body or answer:
		// keep that many connections rather than redial per call.
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &client{
		base:      "http://" + addr + "/" + apiVersion + "/runtime/invocation/",
		userAgent: "aliyun-fc-go/" + runtime.Version(), // as the SDK, so FC sees a go1 runtime
		// No timeout: the poll for the next call waits as long as there is
		// no work (a frozen instance included).
		http: &http.Client{Transport: tr},
	}
}

// next waits for the next call. Its body is left unread: the caller reads
// it once there is memory for it, and must close it.
func (c *client) next(ctx context.Context) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"next", nil)
	if err != nil {
		return nil, fmt.Errorf("fcruntime: runtime API request: %w", err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fcruntime: polling the runtime API for the next call: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp.Body)
		return nil, fmt.Errorf("fcruntime: polling the runtime API for the next call: status %d", resp.StatusCode)
	}
	if resp.Header.Get(hRequestID) == "" {
		drain(resp.Body)
		return nil, errors.New("fcruntime: the runtime API sent a call without " + hRequestID)
	}
	return resp, nil
}

// answer posts a call's response (op "response") or error document (op
// "error"). The runtime API answers 200; anything else means the call
// already ended (410: timed out) or is not this instance's (404), which
// retrying cannot change.
func (c *client) answer(requestID, op string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, c.base+requestID+"/"+op, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("fcruntime: answer for %s: %w", requestID, err)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("fcruntime: posting the %s of %s: %w", op, requestID, err)
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("fcruntime: posting the %s of %s: status %d: %s", op, requestID, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// drain reads a little of what is left of a body, so the connection can be
// reused, and closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// deadline parses x-fc-function-deadline (epoch milliseconds).
func deadline(h http.Header) (time.Time, error) {
	v := h.Get(hDeadline)
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("fcruntime: header %s %q is not epoch milliseconds", hDeadline, v)
	}
	return time.UnixMilli(ms), nil
}
