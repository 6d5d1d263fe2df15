package ossstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/rs/zerolog"
)

// Config says where the objects live.
type Config struct {
	// Endpoint is the OSS endpoint: a URL ("https://oss-cn-hangzhou.aliyuncs.com",
	// "http://127.0.0.1:9000") or a bare host name, which gets https://.
	Endpoint string
	// Bucket is the bucket name.
	Bucket string
	// PathStyle addresses a host-name endpoint as host/bucket/key instead of
	// bucket.host/key. IP endpoints are always path-style.
	PathStyle bool
}

// DefaultEndpoint is the internal (VPC) endpoint of region, e.g.
// "oss-cn-hangzhou-internal.aliyuncs.com" for "cn-hangzhou".
func DefaultEndpoint(region string) string {
	return "oss-" + region + "-internal.aliyuncs.com"
}

func (c Config) validate() error {
	if _, err := normalizeEndpoint(c.Endpoint); err != nil {
		return err
	}
	if err := oss.CheckBucketName(c.Bucket); err != nil {
		return fmt.Errorf("ossstore: invalid bucket name %q", c.Bucket)
	}
	return nil
}

// normalizeEndpoint returns endpoint as a URL with a scheme and a host and
// nothing else. Its errors never quote the endpoint whole: user info
// ("https://ak:secret@host") is refused and shown as "***", and whatever
// follows the host is elided, since either may carry a secret.
func normalizeEndpoint(endpoint string) (string, error) {
	e := strings.TrimSpace(endpoint)
	if e == "" {
		return "", errors.New("ossstore: no endpoint")
	}
	shown, hasUser := redactEndpoint(e)
	if hasUser {
		return "", fmt.Errorf("ossstore: endpoint %q holds user info; give the endpoint as scheme://host and the credentials separately", shown)
	}
	if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
		if strings.Contains(e, "://") {
			return "", fmt.Errorf("ossstore: endpoint %q: scheme must be http or https", shown)
		}
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		// A *url.Error quotes the whole URL; keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("ossstore: endpoint %q is not a valid URL: %w", shown, err)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("ossstore: endpoint %q must be a scheme and a host only", shown)
	}
	return u.Scheme + "://" + u.Host, nil
}

// redactEndpoint returns endpoint as far as its host, with any user info
// replaced by "***" and anything after the host by "...", for error
// messages; and whether it has user info. Any '@' counts as the end of user
// info: no OSS endpoint has one elsewhere, and a password holding a '/' or
// '?' would otherwise be taken for a host and a path and be shown.
func redactEndpoint(endpoint string) (shown string, hasUser bool) {
	head, rest := "", endpoint
	if i := strings.LastIndexByte(endpoint, '@'); i >= 0 {
		// Whatever precedes the '@', scheme included, may hold the secret.
		head, rest, hasUser = "***@", endpoint[i+1:], true
	} else if scheme, after, ok := strings.Cut(endpoint, "://"); ok {
		head, rest = scheme+"://", after
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	if tail != "" && tail != "/" {
		tail = "/..."
	}
	return head + host + tail, hasUser
}

// Credentials are an access key pair and, for temporary STS keys, the
// security token. They format and marshal without the secret and the token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

func (c Credentials) validate() error {
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return errors.New("ossstore: credentials need an access key id and secret")
	}
	return nil
}

// String shows a prefix of the key id only.
func (c Credentials) String() string {
	id := c.AccessKeyID
	if len(id) > 6 {
		id = id[:6] + "…"
	}
	tok := "none"
	if c.SecurityToken != "" {
		tok = "set"
	}
	return fmt.Sprintf("ossstore.Credentials{AccessKeyID: %q, AccessKeySecret: redacted, SecurityToken: %s}", id, tok)
}

// GoString keeps %#v from printing the fields.
func (c Credentials) GoString() string { return c.String() }

// MarshalJSON keeps structured loggers from printing the fields.
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// Opt configures a Pool.
type Opt func(*options)

type options struct {
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	connTimeout time.Duration
	ioTimeout   time.Duration
	cacheSize   int
	logger      zerolog.Logger
	hook        func(RequestEvent)
	httpClient  *http.Client
}

func defaultOptions() options {
	return options{
		maxAttempts: 6,
		backoffBase: 50 * time.Millisecond,
		backoffMax:  2 * time.Second,
		connTimeout: 5 * time.Second,
		ioTimeout:   60 * time.Second,
		cacheSize:   4,
		logger:      zerolog.Nop(),
	}
}

func (o options) validate() error {
	switch {
	case o.maxAttempts < 1:
		return errors.New("ossstore: max attempts must be at least 1")
	case o.backoffBase <= 0 || o.backoffMax < o.backoffBase:
		return errors.New("ossstore: backoff needs 0 < base <= max")
	case o.connTimeout <= 0 || o.ioTimeout <= 0:
		return errors.New("ossstore: timeouts must be positive")
	case o.cacheSize < 1:
		return errors.New("ossstore: client cache size must be at least 1")
	}
	return nil
}

// WithRetry sets how often and how patiently transient failures are
// retried: at most maxAttempts requests per operation (1 disables retries),
// sleeping about base, 2*base, 4*base, ... but never more than max, with
// jitter. Default 6 attempts, 50 ms, 2 s.
func WithRetry(maxAttempts int, base, max time.Duration) Opt {
	return func(o *options) { o.maxAttempts, o.backoffBase, o.backoffMax = maxAttempts, base, max }
}

// WithTimeouts sets the TCP (and TLS) connect timeout and the longest a
// connection may sit without sending or receiving a byte, including the wait
// for a reply's headers. Default 5 s and 60 s. The context bounds the whole
// operation independently.
func WithTimeouts(connect, io time.Duration) Opt {
	return func(o *options) { o.connTimeout, o.ioTimeout = connect, io }
}

// WithClientCacheSize sets how many SDK clients (one per distinct
// Credentials) a Pool keeps; the least recently used is dropped first.
// Default 4.
func WithClientCacheSize(n int) Opt { return func(o *options) { o.cacheSize = n } }

// WithLogger logs every HTTP request at debug level. Default: no logging.
func WithLogger(l zerolog.Logger) Opt { return func(o *options) { o.logger = l } }

// WithRequestHook calls fn after every HTTP request, retries included, from
// the goroutine that made it. Default: none.
func WithRequestHook(fn func(RequestEvent)) Opt { return func(o *options) { o.hook = fn } }

// WithHTTPClient makes the pool send requests through c (its Transport is
// wrapped to observe status codes; c itself is not modified). WithTimeouts
// then has no effect. Meant for tests and proxies. Default: a client of the
// pool's own.
func WithHTTPClient(c *http.Client) Opt { return func(o *options) { o.httpClient = c } }
