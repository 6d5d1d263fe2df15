package ossstore

import (
	"context"
	"fmt"
	"hash/crc64"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// Pool hands out Stores for one endpoint and bucket, caching an SDK client
// per Credentials. It is safe for concurrent use.
type Pool struct {
	cfg      Config
	endpoint string
	o        options
	hc       *http.Client
	crcTab   *crc64.Table
	stats    counters // every request of every Store from this pool

	mu      sync.Mutex
	clients []*cachedClient // most recently used first
	created int             // SDK clients made so far
}

type cachedClient struct {
	creds  Credentials
	bucket *oss.Bucket
}

// NewPool validates cfg and opts and prepares the shared HTTP transport. It
// makes no request.
func NewPool(cfg Config, opts ...Opt) (*Pool, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	endpoint, _ := normalizeEndpoint(cfg.Endpoint) // validated above
	return &Pool{
		cfg:      cfg,
		endpoint: endpoint,
		o:        o,
		hc:       newHTTPClient(o),
		crcTab:   crc64.MakeTable(crc64.ECMA),
	}, nil
}

// New is NewPool followed by Pool.Store, for callers with fixed credentials.
func New(cfg Config, creds Credentials, opts ...Opt) (*Store, error) {
	p, err := NewPool(cfg, opts...)
	if err != nil {
		return nil, err
	}
	return p.Store(creds)
}

// Store returns a Store that signs with creds. Each call returns a new
// handle with its own Stats (so an invocation can report its own requests),
// but handles for the same creds share one cached SDK client.
func (p *Pool) Store(creds Credentials) (*Store, error) {
	if err := creds.validate(); err != nil {
		return nil, err
	}
	b, err := p.client(creds)
	if err != nil {
		return nil, err
	}
	return &Store{pool: p, bucket: b}, nil
}

// Stats sums the requests of every Store the pool handed out.
func (p *Pool) Stats() Stats { return p.stats.snapshot() }

// CloseIdleConnections closes the shared transport's idle connections, e.g.
// before the runtime freezes the instance. Stores stay usable.
func (p *Pool) CloseIdleConnections() { p.hc.CloseIdleConnections() }

func (p *Pool) String() string {
	return fmt.Sprintf("ossstore.Pool{%s/%s}", p.endpoint, p.cfg.Bucket)
}

// client returns the cached SDK bucket handle for creds, making one (and
// dropping the least recently used) if needed.
func (p *Pool) client(creds Credentials) (*oss.Bucket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, c := range p.clients {
		if c.creds == creds {
			copy(p.clients[1:i+1], p.clients[:i])
			p.clients[0] = c
			return c.bucket, nil
		}
	}
	opts := []oss.ClientOption{
		oss.HTTPClient(p.hc),
		oss.UserAgent("kafka-oss-sink"),
		// The SDK can check an append's CRC-64 only when given the CRC of
		// the object before it, which this store does not know; without it
		// the SDK would hash every upload for nothing (a quarter of an
		// invocation's CPU on a full batch). Whole-object reads and writes
		// are checked here instead (crcMatches).
		oss.EnableCRC(false),
	}
	if creds.SecurityToken != "" {
		opts = append(opts, oss.SecurityToken(creds.SecurityToken))
	}
	if p.cfg.PathStyle {
		opts = append(opts, oss.ForcePathStyle(true))
	}
	client, err := oss.New(p.endpoint, creds.AccessKeyID, creds.AccessKeySecret, opts...)
	if err != nil {
		// The SDK's message may quote its configuration; keep only the endpoint.
		return nil, fmt.Errorf("ossstore: client for %s: %w", p.endpoint, err)
	}
	b, err := client.Bucket(p.cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("ossstore: bucket %q: %w", p.cfg.Bucket, err)
	}
	p.created++
	c := &cachedClient{creds: creds, bucket: b}
	p.clients = append([]*cachedClient{c}, p.clients...)
	if len(p.clients) > p.o.cacheSize {
		p.clients[len(p.clients)-1] = nil
		p.clients = p.clients[:len(p.clients)-1]
	}
	return b, nil
}

// newHTTPClient builds the client all SDK clients of a pool share. Its
// transport records each reply's status for the retry logic and the logs
// (the SDK drops it for error replies it cannot parse).
func newHTTPClient(o options) *http.Client {
	if o.httpClient != nil {
		c := *o.httpClient
		next := c.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		c.Transport = observingTransport{next}
		return &c
	}
	dialer := &net.Dialer{Timeout: o.connTimeout, KeepAlive: 30 * time.Second}
	ioTimeout := o.ioTimeout
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleTimeoutConn{Conn: conn, timeout: ioTimeout}, nil
		},
		TLSHandshakeTimeout:   o.connTimeout,
		ResponseHeaderTimeout: o.ioTimeout,
		IdleConnTimeout:       50 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   64,
		// Object bytes must arrive as stored: no transparent gzip.
		DisableCompression: true,
	}
	return &http.Client{
		Transport: observingTransport{tr},
		// OSS answers with redirects only for misaddressed buckets; following
		// them would re-send a request signed for another resource.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// idleTimeoutConn fails a read or write that makes no progress for timeout,
// so a stalled connection cannot hang an operation whose context has no
// deadline.
type idleTimeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *idleTimeoutConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(b)
}

func (c *idleTimeoutConn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(b)
}

// attemptKey marks the context of one HTTP attempt; its value is the
// *attempt the transport reports the status into.
type attemptKey struct{}

type observingTransport struct{ next http.RoundTripper }

func (t observingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if a, ok := req.Context().Value(attemptKey{}).(*attempt); ok && resp != nil {
		a.setStatus(resp.StatusCode)
	}
	return resp, err
}
