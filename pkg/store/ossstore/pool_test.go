package ossstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/rs/zerolog"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		endpoint string // "" means validation fails
	}{
		{"test server", Config{Endpoint: "http://127.0.0.1:9000", Bucket: "b-1"}, "http://127.0.0.1:9000"},
		{"bare host gets https", Config{Endpoint: "oss-cn-hangzhou-internal.aliyuncs.com", Bucket: "sink"}, "https://oss-cn-hangzhou-internal.aliyuncs.com"},
		{"https kept", Config{Endpoint: "https://oss-cn-beijing.aliyuncs.com/", Bucket: "sink"}, "https://oss-cn-beijing.aliyuncs.com"},
		{"spaces trimmed", Config{Endpoint: " oss.example.com ", Bucket: "sink"}, "https://oss.example.com"},
		{"no endpoint", Config{Bucket: "sink"}, ""},
		{"other scheme", Config{Endpoint: "ftp://x", Bucket: "sink"}, ""},
		{"path", Config{Endpoint: "https://x/y", Bucket: "sink"}, ""},
		{"no bucket", Config{Endpoint: "https://x"}, ""},
		{"bad bucket", Config{Endpoint: "https://x", Bucket: "Upper_Case"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.cfg)
			if tt.endpoint == "" {
				if err == nil {
					t.Fatalf("NewPool(%+v) succeeded", tt.cfg)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPool: %v", err)
			}
			if p.endpoint != tt.endpoint {
				t.Fatalf("endpoint = %q, want %q", p.endpoint, tt.endpoint)
			}
		})
	}
	if got := DefaultEndpoint("cn-hangzhou"); got != "oss-cn-hangzhou-internal.aliyuncs.com" {
		t.Fatalf("DefaultEndpoint = %q", got)
	}
}

// TestEndpointNeverEchoesSecrets: an endpoint with user info is refused,
// and no error quotes the user info, a path or a query, which may hold a
// secret.
func TestEndpointNeverEchoesSecrets(t *testing.T) {
	const secret = "s3cr3t-pw"
	tests := []struct {
		endpoint string
		shows    string // what the error shows instead
	}{
		{"http://user:" + secret + "@127.0.0.1:9000", `"***@127.0.0.1:9000"`},
		{"https://ak:" + secret + "@oss-cn-hangzhou.aliyuncs.com/", `"***@oss-cn-hangzhou.aliyuncs.com/"`},
		{"user:" + secret + "@oss.example.com", `"***@oss.example.com"`},
		{"https://" + secret + "@host", `"***@host"`},
		{"https://user:" + secret + "/with/slash@host", `"***@host"`},
		{"https://user:" + secret + "?q@host", `"***@host"`},
		{"https://user:" + secret + "%zz@host", `"***@host"`},
		{"ftp://user:" + secret + "@host", `"***@host"`},
		{"user:" + secret + "@http://host", `"***@http:/..."`},
		{"https://host/?token=" + secret, `"https://host/..."`},
		{"https://host/" + secret, `"https://host/..."`},
		{"https://host#" + secret, `"https://host/..."`},
		{"https://host:" + secret, `"https://host:` + secret + `"`}, // a port, not a secret; shown as given
	}
	for _, tt := range tests {
		t.Run(tt.shows, func(t *testing.T) {
			_, err := NewPool(Config{Endpoint: tt.endpoint, Bucket: "sink"})
			if err == nil {
				t.Fatalf("NewPool accepted endpoint %q", tt.endpoint)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.shows) {
				t.Errorf("error %q does not show %s", msg, tt.shows)
			}
			if strings.Contains(tt.shows, "***@") && !strings.Contains(msg, "user info") {
				t.Errorf("error %q does not say what is wrong", msg)
			}
			if !strings.Contains(tt.shows, secret) && strings.Contains(msg, secret) {
				t.Errorf("error leaks the secret: %s", msg)
			}
		})
	}
}

// TestSignatureErrorHidesToken: OSS answers a bad signature with the string
// it signed, security token included; neither the error (in any format),
// nor the request hook, nor the debug log may carry it.
func TestSignatureErrorHidesToken(t *testing.T) {
	srv := newServer(t, osstest.WithBucket("sig"))
	var buf bytes.Buffer
	var events []RequestEvent
	s, err := New(Config{Endpoint: srv.Endpoint(), Bucket: "sig"},
		Credentials{AccessKeyID: testAK, AccessKeySecret: "wrong-secret", SecurityToken: testToken},
		fastRetry(), WithLogger(zerolog.New(&buf).Level(zerolog.DebugLevel)),
		WithRequestHook(func(e RequestEvent) { events = append(events, e) }))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Put(t.Context(), "k", []byte("x"))
	var se oss.ServiceError
	if !errors.As(err, &se) || se.Code != "SignatureDoesNotMatch" || !errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("err = %v, want a SignatureDoesNotMatch wrapping store.ErrAccessDenied", err)
	}
	if len(events) != 1 {
		t.Fatalf("%d request events, want 1", len(events))
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v", err),
		"%+v":         fmt.Sprintf("%+v", err),
		"%#v":         fmt.Sprintf("%#v", err),
		"RawMessage":  se.RawMessage,
		"hook %#v":    fmt.Sprintf("%#v", events[0].Err),
		"debug log":   buf.String(),
		"hook event":  fmt.Sprintf("%+v", events[0]),
		"wrapped %#v": fmt.Sprintf("%#v", fmt.Errorf("outer: %w", err)),
	}
	for name, out := range outputs {
		if strings.Contains(out, testToken) || strings.Contains(out, "wrong-secret") {
			t.Errorf("%s leaks a credential: %s", name, out)
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	cfg := Config{Endpoint: "http://127.0.0.1:1", Bucket: "sink"}
	bad := map[string]Opt{
		"zero attempts":   WithRetry(0, 1, 2),
		"base above max":  WithRetry(3, 2, 1),
		"zero timeout":    WithTimeouts(0, 1),
		"zero cache size": WithClientCacheSize(0),
	}
	for name, opt := range bad {
		if _, err := NewPool(cfg, opt); err == nil {
			t.Errorf("%s: NewPool succeeded", name)
		}
	}
	if _, err := NewPool(cfg); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	p, _ := NewPool(cfg)
	if _, err := p.Store(Credentials{AccessKeyID: "x"}); err == nil {
		t.Fatal("Store accepted credentials without a secret")
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	c := Credentials{AccessKeyID: "STS.NUxyzLongKeyID", AccessKeySecret: "s3cr3t-value", SecurityToken: "t0k3n-value"}
	j, _ := json.Marshal(c)
	wrapped, _ := json.Marshal(struct{ C Credentials }{c})
	outputs := []string{
		c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), string(j), string(wrapped),
		fmt.Sprintf("%+v", struct{ C Credentials }{c}),
	}
	for _, out := range outputs {
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, "t0k3n") || strings.Contains(out, "LongKeyID") {
			t.Errorf("leaks: %s", out)
		}
	}
}

func TestCredentials(t *testing.T) {
	srv := newServer(t, osstest.WithBucket("creds"), osstest.WithCredentials("plain-ak", "plain-sk", ""))
	tests := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{"sts with token", testCreds, true},
		{"plain key", Credentials{AccessKeyID: "plain-ak", AccessKeySecret: "plain-sk"}, true},
		{"wrong secret", Credentials{AccessKeyID: testAK, AccessKeySecret: "wrong-secret-xyz", SecurityToken: testToken}, false},
		{"unknown key", Credentials{AccessKeyID: "nobody", AccessKeySecret: testSK, SecurityToken: testToken}, false},
		{"stale token", Credentials{AccessKeyID: testAK, AccessKeySecret: testSK, SecurityToken: "stale-token-xyz"}, false},
		{"missing token", Credentials{AccessKeyID: testAK, AccessKeySecret: testSK}, false},
	}
	p, err := NewPool(Config{Endpoint: srv.Endpoint(), Bucket: "creds"}, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := p.Store(tt.creds)
			if err != nil {
				t.Fatal(err)
			}
			srv.ResetStats()
			err = s.Put(t.Context(), "k", []byte("x"))
			if tt.ok {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrAccessDenied) || !errors.Is(err, store.ErrAccessDenied) || !store.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent one wrapping store.ErrAccessDenied", err)
			}
			var se oss.ServiceError
			if !errors.As(err, &se) || se.StatusCode != 403 {
				t.Fatalf("err = %v, want the 403 in the chain", err)
			}
			msg := err.Error()
			if strings.Contains(msg, tt.creds.AccessKeySecret) || (tt.creds.SecurityToken != "" && strings.Contains(msg, tt.creds.SecurityToken)) {
				t.Fatalf("error leaks a credential: %s", msg)
			}
			if srv.Requests(osstest.OpPut) != 1 {
				t.Fatalf("a 403 was retried: %d requests", srv.Requests(osstest.OpPut))
			}
		})
	}
}

func TestNoSuchBucketIsNotNotFound(t *testing.T) {
	srv := newServer(t)
	s, err := New(Config{Endpoint: srv.Endpoint(), Bucket: "never-created"}, testCreds, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"get":       func() error { _, err := s.Get(t.Context(), "k"); return err },
		"stat":      func() error { _, err := s.Stat(t.Context(), "k"); return err },
		"put":       func() error { return s.Put(t.Context(), "k", nil) },
		"append":    func() error { _, err := s.Append(t.Context(), "k", 0, nil); return err },
		"list page": func() error { _, _, err := s.ListPage(t.Context(), "", "", 0); return err },
		"delete":    func() error { return s.Delete(t.Context(), "k") },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			srv.ResetStats()
			err := op()
			if !errors.Is(err, store.ErrNoSuchBucket) || !errors.Is(err, ErrNoSuchBucket) || store.IsNotFound(err) {
				t.Fatalf("err = %v, want store.ErrNoSuchBucket and not store.ErrNotFound", err)
			}
			if !store.IsPermanent(err) {
				t.Errorf("store.IsPermanent(%v) = false", err)
			}
			if n := srv.Stats().Total(); n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestClientCache(t *testing.T) {
	srv := newServer(t, osstest.WithBucket("cache"))
	p, err := NewPool(Config{Endpoint: srv.Endpoint(), Bucket: "cache"}, WithClientCacheSize(2), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	a := testCreds
	b := Credentials{AccessKeyID: "ak-b", AccessKeySecret: "sk-b"}
	c := Credentials{AccessKeyID: "ak-c", AccessKeySecret: "sk-c"}
	// Same key id, new secret and token: a rotated STS credential.
	rotated := Credentials{AccessKeyID: testAK, AccessKeySecret: "sk-rotated", SecurityToken: "tok-rotated"}

	steps := []struct {
		creds   Credentials
		created int // clients made so far, after this step
	}{
		{a, 1},
		{a, 1},       // cached
		{rotated, 2}, // any field differs: new client
		{a, 2},       // still cached (cache holds a and rotated)
		{b, 3},       // evicts rotated, the least recently used
		{a, 3},       // a survived
		{rotated, 4}, // was evicted: made again
		{c, 5},
	}
	var first *Store
	for i, st := range steps {
		s, err := p.Store(st.creds)
		if err != nil {
			t.Fatal(err)
		}
		if p.created != st.created {
			t.Fatalf("step %d: %d clients made, want %d", i, p.created, st.created)
		}
		if len(p.clients) > 2 {
			t.Fatalf("step %d: cache holds %d clients", i, len(p.clients))
		}
		if i == 0 {
			first = s
		}
		if i == 1 && s.bucket != first.bucket {
			t.Fatal("same credentials got a different SDK client")
		}
		if i == 1 && s == first {
			t.Fatal("Store handles are shared; each call should get its own Stats")
		}
	}

	// The token reaches the server: rotated credentials are unknown to it.
	s, _ := p.Store(rotated)
	if err := s.Put(t.Context(), "k", nil); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("rotated credentials: %v", err)
	}
}

func TestClientCacheConcurrent(t *testing.T) {
	srv := newServer(t, osstest.WithBucket("conc"))
	p, err := NewPool(Config{Endpoint: srv.Endpoint(), Bucket: "conc"}, fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			creds := testCreds
			if i%2 == 1 {
				creds.SecurityToken = "other"
			}
			s, err := p.Store(creds)
			if err != nil {
				t.Error(err)
				return
			}
			err = s.Put(t.Context(), fmt.Sprintf("k%d", i), []byte("x"))
			if (err == nil) != (i%2 == 0) {
				t.Errorf("goroutine %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if p.created != 2 {
		t.Fatalf("%d clients made, want 2", p.created)
	}
	if st := p.Stats(); st.Requests != 16 {
		t.Fatalf("pool stats = %+v", st)
	}
}

func TestRequestLogging(t *testing.T) {
	srv := newServer(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	var events []RequestEvent
	logger := zerolog.New(&buf).Level(zerolog.DebugLevel)
	s := newStore(t, srv, "logs", WithLogger(logger), WithRequestHook(func(e RequestEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}))
	secretContent := []byte("CONTENT-THAT-MUST-NOT-BE-LOGGED")
	srv.SetFault(osstest.OpAppend, osstest.Fault{Before: 1, Limit: 1})
	if _, err := s.Append(t.Context(), "dir/obj", 0, secretContent); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "absent"); err == nil {
		t.Fatal("Get(absent) succeeded")
	}

	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		op      string
		attempt int
		status  int
		code    string
	}{
		{"AppendObject", 1, 503, "ServiceUnavailable"},
		{"AppendObject", 2, 200, ""},
		{"GetObject", 1, 404, "NoSuchKey"},
	}
	if len(events) != len(want) {
		t.Fatalf("events = %+v", events)
	}
	for i, w := range want {
		e := events[i]
		if e.Operation != w.op || e.Attempt != w.attempt || e.Status != w.status || e.Code != w.code {
			t.Errorf("event %d = %+v, want %+v", i, e, w)
		}
	}
	if events[1].BytesSent != int64(len(secretContent)) || events[1].Key != "dir/obj" {
		t.Errorf("append event = %+v", events[1])
	}

	logs := buf.String()
	if strings.Count(logs, "\n") != 3 || !strings.Contains(logs, `"op":"AppendObject"`) || !strings.Contains(logs, `"status":503`) {
		t.Fatalf("logs:\n%s", logs)
	}
	for _, secret := range []string{testSK, testToken, string(secretContent)} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
}
