package handler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/handlertest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

const (
	bucket = "sink"
	ak, sk = "test-ak", "test-secret-must-not-leak"
)

func newServer(t *testing.T) *osstest.Server {
	t.Helper()
	return osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials(ak, sk, ""))
}

// newHandler returns a handler on OSS at endpoint; env overrides the
// defaults (bucket, right credentials, raw format).
func newHandler(t *testing.T, endpoint string, kv ...string) *handler.Handler {
	t.Helper()
	return handlertest.New(t, testkit.Env(append([]string{config.EnvBucket, bucket, config.EnvEndpoint, endpoint, config.EnvPrefix, "p",
		"ALIBABA_CLOUD_ACCESS_KEY_ID", ak, "ALIBABA_CLOUD_ACCESS_KEY_SECRET", sk}, kv...)...))
}

func batch(from, to int64) []byte { return batchOf("t", "value", from, to) }

func batchOf(topic, value string, from, to int64) []byte {
	var recs []events.Record
	for o := from; o < to; o++ {
		recs = append(recs, events.Record{Topic: topic, Partition: 0, Offset: o, Timestamp: 1700000000000 + o,
			Value: []byte(value), ValueKind: events.ValueBytes})
	}
	return eventstest.Encode(eventstest.CloudEvents, recs, events.Text)
}

// errorCase is what an error must be: its type (FC's errorType), whether
// it is a setup error and retryable, and words of its message.
type errorCase struct {
	typ       string
	setup     bool
	retryable bool
	words     []string
}

func (c errorCase) check(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	// As FC's runtime names it: the type's name, without its package.
	typ := reflect.TypeOf(err)
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ.PkgPath() != reflect.TypeOf(handler.WriteError{}).PkgPath() {
		t.Fatalf("%T is not a handler error: %v", err, err)
	}
	msg := err.Error()
	t.Logf("%s: %s", typ.Name(), msg)
	if typ.Name() != c.typ || handler.SetupError(err) != c.setup || handler.Retryable(err) != c.retryable {
		t.Fatalf("got %s (setup %v, retryable %v), want %s (setup %v, retryable %v): %s",
			typ.Name(), handler.SetupError(err), handler.Retryable(err), c.typ, c.setup, c.retryable, msg)
	}
	promise := strings.Contains(msg, "retry will resume")
	if promise != c.retryable || (!c.retryable && !strings.Contains(msg, "permanent")) {
		t.Fatalf("%s: the message does not say whether a retry helps: %s", c.typ, msg)
	}
	for _, w := range c.words {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: message does not mention %q: %s", c.typ, w, msg)
		}
	}
	if strings.Contains(msg, sk) {
		t.Fatalf("the message shows the secret: %s", msg)
	}
}

var (
	accessDenied = errorCase{"AccessDeniedError", true, false,
		[]string{`bucket "sink"`, "template.yaml", "oss:PutObject", "acs:oss:*:*:sink/p/*", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"}}
	noSuchBucket = errorCase{"NoSuchBucketError", true, false, []string{`bucket "nope"`, "OSS_BUCKET", "OSS_ENDPOINT"}}
	noCreds      = errorCase{"ConfigError", true, false, []string{"no OSS credentials", "ALIBABA_CLOUD_ACCESS_KEY_ID"}}
)

// TestInvokeErrors: each way an invocation fails against a real OSS
// protocol peer gets the type and message that say whether a retry helps.
func TestInvokeErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		name string
		env  []string
		want errorCase
	}{
		{"wrong secret", []string{"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "guess"}, accessDenied},
		{"unknown key id", []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "who"}, accessDenied},
		{"no such bucket", []string{config.EnvBucket, "nope"}, noSuchBucket},
		{"no credentials", []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""}, noCreds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, srv.Endpoint(), tt.env...)
			_, err := h.Invoke(t.Context(), "req", batch(0, 3))
			tt.want.check(t, err)
			tt.want.check(t, h.Check(t.Context()))
		})
	}
	if keys := srv.Keys(bucket, ""); len(keys) != 0 {
		t.Fatalf("failed invocations wrote %v", keys)
	}
}

// TestInvokeObjectNotAppendable: someone PUTs over the open data object (same
// bytes, so its length still matches the meta object); the next batch's
// append gets ObjectNotAppendable: a state conflict, permanent.
func TestInvokeObjectNotAppendable(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	if _, err := h.Invoke(t.Context(), "first", batch(0, 3)); err != nil {
		t.Fatal(err)
	}
	st := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: ak, AccessKeySecret: sk})
	var data string
	for _, k := range srv.Keys(bucket, "p/") {
		if !strings.Contains(k, ".oss_meta_file_") {
			data = k
		}
	}
	b, err := st.Get(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(t.Context(), data, b); err != nil {
		t.Fatal(err)
	}
	_, err = h.Invoke(t.Context(), "second", batch(3, 6))
	errorCase{"StateConflictError", false, false, []string{"overwritten by a normal PUT", data}}.check(t, err)
	// Redelivery fails the same way.
	_, err = h.Invoke(t.Context(), "third", batch(3, 6))
	errorCase{"StateConflictError", false, false, []string{"ObjectNotAppendable"}}.check(t, err)
}

// TestInvokeTransient: a store that fails every append is a WriteError, the
// one retryable failure; Check, which only lists, still passes.
func TestInvokeTransient(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	srv.SetFault(osstest.OpAppend, osstest.Fault{Before: 1})
	_, err := h.Invoke(t.Context(), "req", batch(0, 3))
	errorCase{"WriteError", false, true, nil}.check(t, err)
	if err := h.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestCheckSilentEndpoint: an endpoint that accepts connections and never
// answers fails Check when its context ends, as a retryable WriteError.
func TestCheckSilentEndpoint(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.SetUnresponsive(true)
	h := newHandler(t, srv.Endpoint())
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	err := h.Check(ctx)
	errorCase{"WriteError", false, true, []string{"deadline"}}.check(t, err)
}

// TestInvokePolicyDenies: the role may list and read but not write (a RAM
// policy without oss:PutObject): Check passes, every invocation fails with
// an AccessDeniedError naming the action the policy must allow.
func TestInvokePolicyDenies(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.SetDenies(osstest.Deny{Ops: []osstest.Op{osstest.OpPut, osstest.OpAppend}})
	h := newHandler(t, srv.Endpoint())
	if err := h.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	_, err := h.Invoke(t.Context(), "req", batch(0, 3))
	errorCase{"AccessDeniedError", true, false, []string{"oss:PutObject", "template.yaml", "AccessDenied"}}.check(t, err)
}

// TestInvokeTopicTooLong: a topic name no Kafka topic can have (here one
// that would make keys longer than OSS allows) is a bad event, refused
// before any request.
func TestInvokeTopicTooLong(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	_, err := h.Invoke(t.Context(), "req", batchOf(strings.Repeat("t", 1100), "value", 0, 3))
	errorCase{"BadEventError", false, false, []string{"not a Kafka topic name", "retrying cannot help"}}.check(t, err)
	if n := srv.Stats().Total(); n != 0 {
		t.Fatalf("%d requests", n)
	}
}

// TestInvokeExpiredToken: an expired STS token is transient, because FC
// brings fresh credentials with the next invocation.
func TestInvokeExpiredToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	srv.ExpireCredentials(ak)
	_, err := h.Invoke(t.Context(), "req", batch(0, 3))
	errorCase{"WriteError", false, true, []string{"SecurityTokenExpired"}}.check(t, err)
}

// TestInvokeLocalDirGone: the local store's directory vanished: a
// NoSuchBucketError that names the directory, not a bucket.
func TestInvokeLocalDirGone(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	h := handlertest.New(t, testkit.Env(config.EnvLocalDir, dir))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	_, err := h.Invoke(t.Context(), "req", batch(0, 3))
	errorCase{"NoSuchBucketError", true, false, []string{"store directory", "SINK_LOCAL_DIR"}}.check(t, err)
	errorCase{"NoSuchBucketError", true, false, []string{"store directory"}}.check(t, h.Check(t.Context()))
}

// TestInvokeOffsetsReset: the topic was recreated, so offsets start again
// at 0 with other records: a state conflict (sink.ErrOffsetsReset), never
// records dropped as duplicates.
func TestInvokeOffsetsReset(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	h := newHandler(t, srv.Endpoint())
	if _, err := h.Invoke(t.Context(), "old topic", batch(0, 6)); err != nil {
		t.Fatal(err)
	}
	_, err := h.Invoke(t.Context(), "new topic", batchOf("t", "another record", 0, 3))
	errorCase{"StateConflictError", false, false, []string{"sinkctl new-epoch"}}.check(t, err)
	if !errors.Is(err, sink.ErrOffsetsReset) {
		t.Fatalf("%v does not wrap sink.ErrOffsetsReset", err)
	}
}
