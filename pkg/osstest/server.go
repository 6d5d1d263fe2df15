package osstest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxObjectSize is the largest object OSS accepts through a single PUT or
// that an appendable object may grow to.
const maxObjectSize = 5 << 30

// Opt configures a Server.
type Opt func(*config)

type credential struct {
	secret string
	token  string
}

type config struct {
	addr    string
	buckets []string
	creds   map[string]credential
	seed    uint64
	logf    func(LogEntry)
	denies  []Deny

	now          func() time.Time                       // nil: time.Now
	restoreDelay func(class, tier string) time.Duration // nil: DefaultRestoreDelay
	defaultClass string
}

func defaultConfig() config {
	return config{addr: "127.0.0.1:0", seed: 1, creds: map[string]credential{}, defaultClass: ClassStandard}
}

// WithAddr sets the listen address. Default "127.0.0.1:0" (a free port).
func WithAddr(addr string) Opt { return func(c *config) { c.addr = addr } }

// WithBucket pre-creates a bucket. Repeatable. Default: no buckets.
func WithBucket(name string) Opt {
	return func(c *config) { c.buckets = append(c.buckets, name) }
}

// WithCredentials registers an access key. Requests signed with it must carry
// securityToken in x-oss-security-token, unless securityToken is "" (then any
// or no token is accepted). Repeatable; registering a key again replaces it.
// Default: none registered, and then signatures are not checked at all.
func WithCredentials(accessKeyID, accessKeySecret, securityToken string) Opt {
	return func(c *config) {
		c.creds[accessKeyID] = credential{secret: accessKeySecret, token: securityToken}
	}
}

// WithSeed seeds the RNG behind probabilistic faults. Default 1, so a run is
// reproducible unless the test asks otherwise.
func WithSeed(seed int64) Opt { return func(c *config) { c.seed = uint64(seed) } }

// WithRequestLog calls fn after every request (from the request's goroutine,
// so fn must be safe for concurrent use). Default: no logging.
func WithRequestLog(fn func(LogEntry)) Opt { return func(c *config) { c.logf = fn } }

// LogEntry describes one handled request.
type LogEntry struct {
	Op       Op
	Method   string
	Bucket   string
	Key      string
	Status   int    // 0 if the connection was reset instead of answered
	Code     string // OSS error code, if the reply was an error
	Fault    string // "before" or "after" if a fault was injected
	BytesIn  int
	BytesOut int
	Duration time.Duration
}

// Server is an in-memory OSS server. See the package doc.
type Server struct {
	cfg      config
	ln       net.Listener
	hs       *http.Server
	endpoint string
	crcTab   *crc64.Table
	nonce    uint32
	reqSeq   atomic.Uint64

	mu      sync.RWMutex
	buckets map[string]*bucket

	faultMu sync.Mutex
	faults  [numOps]faultState
	rng     *rand.Rand

	unresponsive atomic.Bool
	closed       chan struct{} // closed by Close, to release held requests
	closeOnce    sync.Once

	policyMu sync.RWMutex
	denies   []Deny
	expired  map[string]bool // access key ids whose token has expired

	counters [numOps]struct{ requests, faults atomic.Int64 }
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
}

// NewServer starts a server listening on 127.0.0.1 (see WithAddr).
func NewServer(opts ...Opt) (*Server, error) {
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("osstest: listen: %w", err)
	}
	s.ln = ln
	s.endpoint = "http://" + ln.Addr().String()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go s.hs.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

func newServer(opts []Opt) (*Server, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	known := false
	for _, c := range storageClasses {
		known = known || c == cfg.defaultClass
	}
	if !known {
		return nil, fmt.Errorf("osstest: unknown default storage class %q", cfg.defaultClass)
	}
	s := &Server{
		cfg:     cfg,
		crcTab:  crc64.MakeTable(crc64.ECMA),
		buckets: map[string]*bucket{},
		rng:     rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15)),
		nonce:   rand.Uint32(),
		closed:  make(chan struct{}),
		denies:  cfg.denies,
		expired: map[string]bool{},
	}
	for _, b := range cfg.buckets {
		if err := s.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Endpoint is the server's base URL, "http://127.0.0.1:PORT", ready for
// oss.New. The SDK addresses an IP endpoint path-style.
func (s *Server) Endpoint() string { return s.endpoint }

// Handler returns the server as an http.Handler, for mounting under
// httptest or another server (Endpoint then still names the server's own
// listener, not the other one). A Server from NewServer already serves it.
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener and closes every connection, including those
// of requests held without an answer (Fault.Hang, SetUnresponsive).
func (s *Server) Close() error {
	var err error
	if s.hs != nil {
		err = s.hs.Close()
	}
	s.closeOnce.Do(func() { close(s.closed) })
	return err
}

func (s *Server) crc(init uint64, p []byte) uint64 { return crc64.Update(init, s.crcTab, p) }

// call is the state of one request as it moves through ServeHTTP.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	op     Op
	bucket string
	key    string
	query  url.Values
	body   []byte
	reqID  string

	accessKeyID string // of an authenticated request

	// outcome, for the log
	status   int
	code     string
	fault    when
	bytesOut int
}

// reply is what a handler wants sent. The fault logic may replace it.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    *ossError
}

// ossError is an OSS error reply.
type ossError struct {
	status int
	code   string
	msg    string
	extra  []xmlField // additional elements, e.g. the key
}

type xmlField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

func errReply(status int, code, msg string, extra ...xmlField) reply {
	return reply{status: status, err: &ossError{status: status, code: code, msg: msg, extra: extra}}
}

func field(name, value string) xmlField {
	return xmlField{XMLName: xml.Name{Local: name}, Value: value}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{w: w, r: r, reqID: fmt.Sprintf("%08X%016X", s.nonce, s.reqSeq.Add(1))}
	h := w.Header()
	h.Set("X-Oss-Request-Id", c.reqID)
	h.Set("Server", "AliyunOSS")
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))
	defer func() {
		if s.cfg.logf != nil {
			s.cfg.logf(LogEntry{
				Op: c.op, Method: r.Method, Bucket: c.bucket, Key: c.key,
				Status: c.status, Code: c.code, Fault: c.fault.String(),
				BytesIn: len(c.body), BytesOut: c.bytesOut, Duration: time.Since(start),
			})
		}
	}()

	c.bucket, c.key = s.route(r)
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	c.query = q
	c.op = classify(r.Method, c.bucket, c.key, q)
	s.counters[c.op].requests.Add(1)
	if s.unresponsive.Load() {
		s.hang(c)
		return
	}

	// Read uploads before anything can reject them: replying while the client
	// is still sending makes it see a broken pipe instead of the reply.
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		body, rep, ok := readBody(r)
		if !ok {
			return // the client went away
		}
		c.body = body
		s.bytesIn.Add(int64(len(body)))
		if rep.status != 0 {
			s.write(c, rep)
			return
		}
	}
	if qerr != nil {
		s.write(c, errReply(400, "InvalidArgument", "malformed query string"))
		return
	}
	if rep, ok := s.authenticate(c); !ok {
		s.write(c, rep)
		return
	}
	if c.op == OpOther {
		s.write(c, errReply(501, "NotImplemented", "osstest does not implement "+r.Method+" "+r.URL.RequestURI()))
		return
	}
	if c.op != OpList {
		if rep, ok := checkObjectName(c.key); !ok {
			s.write(c, rep)
			return
		}
	}
	if !s.hasBucket(c.bucket) {
		s.write(c, errReply(404, "NoSuchBucket", "The specified bucket does not exist.", field("BucketName", c.bucket)))
		return
	}
	if rep, ok := s.authorize(c); !ok {
		s.write(c, rep)
		return
	}

	faultKey := c.key
	if c.op == OpList {
		faultKey = q.Get("prefix")
	}
	latency, w8, f := s.decide(c.op, faultKey)
	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}
	if w8 == before {
		c.fault = before
		s.counters[c.op].faults.Add(1)
		s.fail(c, f, reply{})
		return
	}

	var rep reply
	switch c.op {
	case OpPut:
		rep = s.putObject(c)
	case OpAppend:
		rep = s.appendObject(c)
	case OpGet:
		rep = s.getObject(c)
	case OpHead:
		rep = s.headObject(c)
	case OpDelete:
		rep = s.deleteObject(c)
	case OpList:
		rep = s.listObjects(c)
	case OpRestore:
		rep = s.restoreObject(c)
	case OpGetTagging:
		rep = s.getObjectTagging(c)
	case OpPutTagging:
		rep = s.putObjectTagging(c)
	}

	if w8 == after {
		c.fault = after
		s.counters[c.op].faults.Add(1)
		s.fail(c, f, rep)
		return
	}
	s.write(c, rep)
}

// route splits a request into bucket and key, accepting both path style
// (/bucket/key) and virtual-host style (bucket.endpoint/key).
func (s *Server) route(r *http.Request) (bkt, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil {
		if label, _, ok := strings.Cut(host, "."); ok && s.hasBucket(label) {
			return label, path
		}
	}
	bkt, key, _ = strings.Cut(path, "/")
	return bkt, key
}

func classify(method, bkt, key string, q url.Values) Op {
	if bkt == "" {
		return OpOther
	}
	if key == "" {
		if method == http.MethodGet && q.Get("list-type") == "2" && !hasUnsupportedSubresource(q) {
			return OpList
		}
		return OpOther
	}
	if hasUnsupportedSubresource(q) {
		return OpOther
	}
	_, isAppend := q["append"]
	_, isRestore := q["restore"]
	_, isTagging := q["tagging"]
	switch {
	case isRestore && isAppend, isTagging && (isAppend || isRestore):
		return OpOther
	case isRestore:
		if method == http.MethodPost {
			return OpRestore
		}
		return OpOther
	case isTagging:
		switch method {
		case http.MethodGet:
			return OpGetTagging
		case http.MethodPut:
			return OpPutTagging
		}
		return OpOther // DeleteObjectTagging is not implemented
	}
	switch method {
	case http.MethodPut:
		if !isAppend {
			return OpPut
		}
	case http.MethodPost:
		if isAppend {
			return OpAppend
		}
	case http.MethodGet:
		return OpGet
	case http.MethodHead:
		return OpHead
	case http.MethodDelete:
		return OpDelete
	}
	return OpOther
}

// hasUnsupportedSubresource reports whether q names a sub-resource (ACL,
// multipart, versionId, ...) of an operation the server does not implement, so
// that such requests fail loudly instead of being mistaken for a plain
// GET/PUT.
func hasUnsupportedSubresource(q url.Values) bool {
	for k := range q {
		if !isSignedSubresource(k) {
			continue
		}
		switch k {
		case "append", "position", "objectMeta", "continuation-token", "security-token", "restore", "tagging",
			"response-content-type", "response-content-language", "response-expires",
			"response-cache-control", "response-content-disposition", "response-content-encoding":
		default:
			return true
		}
	}
	return false
}

func readBody(r *http.Request) ([]byte, reply, bool) {
	if r.ContentLength > maxObjectSize {
		return nil, errReply(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."), true
	}
	if r.ContentLength >= 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, reply{}, false
		}
		return buf, reply{}, true
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxObjectSize+1))
	if err != nil {
		return nil, reply{}, false
	}
	if len(buf) > maxObjectSize {
		return nil, errReply(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size."), true
	}
	return buf, reply{}, true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// write sends rep.
func (s *Server) write(c *call, rep reply) {
	h := c.w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	body := rep.body
	if rep.err != nil {
		c.code = rep.err.code
		body = s.errorXML(c, rep.err)
		h.Set("Content-Type", "application/xml")
		if c.r.Method == http.MethodHead {
			// A HEAD reply has no body; OSS (and the SDK) carry the error
			// document base64-encoded in a header instead.
			h.Set("X-Oss-Err", base64.StdEncoding.EncodeToString(body))
			body = nil
		}
	}
	if c.r.Method == http.MethodHead {
		if h.Get("Content-Length") == "" {
			h.Set("Content-Length", "0")
		}
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	c.status = rep.status
	c.w.WriteHeader(rep.status)
	if c.r.Method != http.MethodHead && len(body) > 0 {
		n, _ := c.w.Write(body)
		c.bytesOut = n
		s.bytesOut.Add(int64(n))
	}
}

func (s *Server) errorXML(c *call, e *ossError) []byte {
	doc := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		RequestID string `xml:"RequestId"`
		HostID    string `xml:"HostId"`
		Extra     []xmlField
	}{Code: e.code, Message: e.msg, RequestID: c.reqID, HostID: c.r.Host, Extra: e.extra}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(doc); err != nil {
		// Only reachable with invalid UTF-8 in a message; keep the reply valid.
		buf.Reset()
		fmt.Fprintf(&buf, "%s<Error><Code>%s</Code><RequestId>%s</RequestId></Error>", xml.Header, e.code, c.reqID)
	}
	return buf.Bytes()
}

// fail answers c with an injected failure: an OSS error reply or a
// connection reset. rep is what the request would have returned (for a GET
// failed after the fact, whose body is then truncated).
func (s *Server) fail(c *call, f Fault, rep reply) {
	if f.Hang {
		s.hang(c)
		return
	}
	if f.Reset && s.reset(c, rep) {
		return
	}
	s.write(c, errReply(f.Status, f.Code, "osstest: injected "+c.fault.String()+" fault"))
}

// reset resets the connection. For a successful GET failed after the fact it
// first sends the headers and half the body, so the client sees a
// truncated download. It reports false if the connection cannot be hijacked.
func (s *Server) reset(c *call, rep reply) bool {
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		return false
	}
	c.status = 0
	if c.fault == after && c.op == OpGet && rep.err == nil && len(rep.body) > 1 {
		var hdr bytes.Buffer
		fmt.Fprintf(&hdr, "HTTP/1.1 %d %s\r\n", rep.status, http.StatusText(rep.status))
		h := c.w.Header().Clone()
		for k, v := range rep.header {
			h[k] = v
		}
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
		_ = h.Write(&hdr)
		hdr.WriteString("\r\n")
		half := rep.body[:len(rep.body)/2]
		_, _ = conn.Write(hdr.Bytes())
		n, _ := conn.Write(half)
		c.bytesOut = n
		s.bytesOut.Add(int64(n))
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	_ = conn.Close()
	return true
}
