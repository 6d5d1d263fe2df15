package fcemu

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Credentials are the temporary keys FC hands a function with each call
// (x-fc-access-key-id, x-fc-access-key-secret, x-fc-security-token).
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Opt configures an Emulator.
type Opt func(*config)

type config struct {
	creds          Credentials
	region         string
	accountID      string
	functionName   string
	handler        string
	memoryMB       int
	timeout        time.Duration
	grace          time.Duration
	concurrency    int
	initializer    bool
	initTimeout    time.Duration
	preStopTimeout time.Duration
	header         http.Header
}

func defaultCfg() config {
	return config{
		region:         "cn-hangzhou",
		accountID:      "1234567890123456",
		functionName:   "fcemu-function",
		handler:        "main",
		memoryMB:       512,
		timeout:        60 * time.Second,
		grace:          time.Second,
		concurrency:    1,
		initTimeout:    60 * time.Second,
		preStopTimeout: 10 * time.Second,
		header:         http.Header{},
	}
}

func (c *config) validate() error {
	var errs []error
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %v: must be positive", c.timeout))
	}
	if c.initTimeout <= 0 {
		errs = append(errs, fmt.Errorf("initializer timeout %v: must be positive", c.initTimeout))
	}
	if c.preStopTimeout <= 0 {
		errs = append(errs, fmt.Errorf("PreStop timeout %v: must be positive", c.preStopTimeout))
	}
	if c.grace < 0 {
		errs = append(errs, fmt.Errorf("grace %v: must not be negative", c.grace))
	}
	if c.concurrency < 1 {
		errs = append(errs, fmt.Errorf("instance concurrency %d: must be at least 1", c.concurrency))
	}
	if c.memoryMB < 1 {
		errs = append(errs, fmt.Errorf("memory %d MB: must be positive", c.memoryMB))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fcemu: %w", err)
	}
	return nil
}

// WithCredentials sets the credentials handed out with every call (until
// SetCredentials changes them). Default: none, the x-fc-access-key-*
// headers are empty and the function must find keys elsewhere.
func WithCredentials(accessKeyID, accessKeySecret, securityToken string) Opt {
	return func(c *config) { c.creds = Credentials{accessKeyID, accessKeySecret, securityToken} }
}

// WithRegion sets x-fc-region. Default "cn-hangzhou".
func WithRegion(region string) Opt { return func(c *config) { c.region = region } }

// WithAccountID sets x-fc-account-id. Default "1234567890123456".
func WithAccountID(id string) Opt { return func(c *config) { c.accountID = id } }

// WithFunction sets x-fc-function-name, x-fc-function-handler and
// x-fc-function-memory (MB). Default "fcemu-function", "main", 512.
func WithFunction(name, handler string, memoryMB int) Opt {
	return func(c *config) { c.functionName, c.handler, c.memoryMB = name, handler, memoryMB }
}

// WithTimeout sets the function timeout: a call's deadline
// (x-fc-function-deadline) is its dispatch time plus d, and
// x-fc-function-timeout is d rounded up to whole seconds. Default 60s.
// InvokeTimeout overrides it for one invocation.
func WithTimeout(d time.Duration) Opt { return func(c *config) { c.timeout = d } }

// WithGrace sets how long after its deadline an unanswered call ends with
// StatusTimeout. Default 1s.
func WithGrace(d time.Duration) Opt { return func(c *config) { c.grace = d } }

// WithInstanceConcurrency sets how many invocations one instance runs at
// once (FC's instanceConcurrency). Lifecycle calls do not count. Default 1.
func WithInstanceConcurrency(n int) Opt { return func(c *config) { c.concurrency = n } }

// WithInitializer says the function has an initializer with the given
// timeout: every new instance is sent an initializer call first and gets
// no invocation until it succeeded; if it fails or times out the instance is
// lost. Default: no initializer (Instance.Initialize still sends one on
// demand).
func WithInitializer(timeout time.Duration) Opt {
	return func(c *config) { c.initializer, c.initTimeout = true, timeout }
}

// WithPreStopTimeout sets the deadline of PreStop calls (dispatch time plus
// d). Default 10s.
func WithPreStopTimeout(d time.Duration) Opt { return func(c *config) { c.preStopTimeout = d } }

// WithHeader adds a header sent with every call, e.g. x-fc-service-name or
// a tracing header. Repeatable. It cannot replace the headers the emulator
// computes (use InvokeHeader for that).
func WithHeader(name, value string) Opt { return func(c *config) { c.header.Add(name, value) } }

// InvokeOpt configures one Invoke.
type InvokeOpt func(*invokeCfg)

type invokeCfg struct {
	retryCount int
	creds      *Credentials
	timeout    time.Duration
	requestID  string
	header     http.Header
}

// RetryCount sets x-fc-retry-count, the number of earlier attempts of this
// event. Default 0.
func RetryCount(n int) InvokeOpt { return func(c *invokeCfg) { c.retryCount = n } }

// InvokeCredentials hands out c instead of the emulator's credentials.
func InvokeCredentials(c Credentials) InvokeOpt { return func(ic *invokeCfg) { ic.creds = &c } }

// InvokeTimeout overrides the function timeout (WithTimeout) for one call.
func InvokeTimeout(d time.Duration) InvokeOpt { return func(c *invokeCfg) { c.timeout = d } }

// RequestID sets x-fc-request-id; it must be unique and safe in a URL path.
// Default: generated.
func RequestID(id string) InvokeOpt { return func(c *invokeCfg) { c.requestID = id } }

// InvokeHeader sets a header on this call, replacing any value the
// emulator would send (so a test can send a malformed x-fc-* header).
func InvokeHeader(name, value string) InvokeOpt {
	return func(c *invokeCfg) {
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Set(name, value)
	}
}
