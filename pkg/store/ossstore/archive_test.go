package ossstore

import (
	"errors"
	"hash/crc64"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// statusesOf collects the HTTP status of every request of one operation,
// from the request hook.
func statusesOf(operation string, into *[]int) Opt {
	return WithRequestHook(func(ev RequestEvent) {
		if ev.Operation == operation {
			*into = append(*into, ev.Status)
		}
	})
}

// TestRestoreStates drives one restore through 202, 409 and 200 replies
// (the SDK reports all three as success or a ServiceError; Restore tells
// 202 from 200 by the status the transport recorded), on a clock the test
// moves.
func TestRestoreStates(t *testing.T) {
	clock := osstest.NewManualClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	srv := newServer(t, osstest.WithClock(clock.Now))
	var statuses []int
	s := newStore(t, srv, "restore", statusesOf("RestoreObject", &statuses))
	ctx := t.Context()
	if err := s.Put(ctx, "cold", []byte("frozen"), store.WithStorageClass(store.ColdArchive)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "cold")
	if !errors.Is(err, store.ErrNotRestored) || errors.Is(err, store.ErrAccessDenied) {
		t.Fatalf("Get of an unrestored object: %v, want ErrNotRestored and not ErrAccessDenied", err)
	}
	var se oss.ServiceError
	if !errors.As(err, &se) || se.Code != "InvalidObjectState" || se.StatusCode != 403 {
		t.Fatalf("Get of an unrestored object: %v, want the 403 InvalidObjectState in the chain", err)
	}
	if _, err := s.GetRange(ctx, "cold", 0, 2); !errors.Is(err, store.ErrNotRestored) {
		t.Fatalf("GetRange of an unrestored object: %v", err)
	}

	steps := []struct {
		advance time.Duration
		want    store.RestoreState
		status  int
		stat    store.RestoreState
	}{
		{0, store.RestoreRequested, 202, store.RestoreInProgress},
		{time.Hour - time.Second, store.RestoreInProgress, 409, store.RestoreInProgress},
		{time.Second, store.RestoreDone, 200, store.RestoreDone},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		got, err := s.Restore(ctx, "cold", 3, store.TierExpedited)
		if err != nil || got != st.want {
			t.Fatalf("step %d: Restore = %v, %v; want %v", i, got, err, st.want)
		}
		if statuses[len(statuses)-1] != st.status {
			t.Fatalf("step %d: RestoreObject status %d, want %d", i, statuses[len(statuses)-1], st.status)
		}
		info, err := s.Stat(ctx, "cold")
		if err != nil {
			t.Fatal(err)
		}
		if info.Restore != st.stat || info.StorageClass != store.ColdArchive {
			t.Fatalf("step %d: Stat = {Restore %v, StorageClass %q}, want {%v, ColdArchive}", i, info.Restore, info.StorageClass, st.stat)
		}
		if st.stat == store.RestoreDone {
			// The 200 moved the expiry to now + 3 days.
			if want := clock.Now().Add(72 * time.Hour); !info.RestoreExpiry.Equal(want) {
				t.Fatalf("RestoreExpiry = %v, want %v", info.RestoreExpiry, want)
			}
		}
	}
	if got, err := s.Get(ctx, "cold"); err != nil || string(got) != "frozen" {
		t.Fatalf("Get after the restore = %q, %v", got, err)
	}
	if n := s.Stats().ByOperation["RestoreObject"]; n != 3 {
		t.Errorf("Stats: %d RestoreObject requests, want 3", n)
	}

	if _, err := s.Restore(ctx, "cold", 0, ""); !errors.Is(err, store.ErrUnsupported) {
		t.Errorf("Restore for 0 days: %v, want ErrUnsupported before any request", err)
	}
	if n := s.Stats().ByOperation["RestoreObject"]; n != 3 {
		t.Errorf("Restore for 0 days made a request")
	}
	// Days beyond OSS's limit: the server's 400 InvalidArgument.
	if err := s.Put(ctx, "archive", []byte("x"), store.WithStorageClass(store.Archive)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, "archive", 8, ""); !errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err) {
		t.Errorf("Restore of an Archive object for 8 days: %v, want ErrUnsupported", err)
	}
	if err := s.Put(ctx, "standard", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Restore(ctx, "standard", 1, "")
	if !errors.Is(err, store.ErrUnsupported) || !errors.As(err, &se) || se.Code != "OperationNotSupported" {
		t.Errorf("Restore of a Standard object: %v, want ErrUnsupported from OperationNotSupported", err)
	}
	if _, err := s.Restore(ctx, "absent", 1, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Restore of an absent key: %v, want ErrNotFound", err)
	}
}

// TestRestoreLostReply: a restore whose 202 is lost is retried, and the
// retry's 409 reports the restore that the lost request started.
func TestRestoreLostReply(t *testing.T) {
	srv := newServer(t, osstest.WithManualRestores())
	s := newStore(t, srv, "restore-lost")
	ctx := t.Context()
	if err := s.Put(ctx, "k", []byte("x"), store.WithStorageClass(store.Archive)); err != nil {
		t.Fatal(err)
	}
	srv.SetFault(osstest.OpRestore, osstest.Fault{After: 1, Limit: 1})
	got, err := s.Restore(ctx, "k", 1, "")
	if err != nil || got != store.RestoreInProgress {
		t.Fatalf("Restore after a lost reply = %v, %v; want in progress", got, err)
	}
	if st := s.Stats(); st.Retries != 1 {
		t.Errorf("%d retries, want 1", st.Retries)
	}
	if !srv.CompleteRestore("restore-lost", "k") {
		t.Fatal("no restore running")
	}
	if got, err := s.Restore(ctx, "k", 1, ""); err != nil || got != store.RestoreDone {
		t.Fatalf("Restore once done = %v, %v", got, err)
	}
}

// TestStatReportsAttributes checks every attribute HeadObject carries.
func TestStatReportsAttributes(t *testing.T) {
	srv := newServer(t)
	s := newStore(t, srv, "attrs")
	ctx := t.Context()
	data := []byte("some bytes")
	err := s.Put(ctx, "k", data, store.WithStorageClass(store.IA), store.WithSSE("KMS", "cmk-1"),
		store.WithMetadata(store.Tag{Key: "Topic", Value: "orders"}, store.Tag{Key: "a", Value: "1"}),
		store.WithTags(store.Tag{Key: "z", Value: "last one"}, store.Tag{Key: "a", Value: "x+y"}))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if info.StorageClass != store.IA || info.SSE != "KMS" || info.SSEKeyID != "cmk-1" ||
		!slices.Equal(info.Metadata, []store.Tag{{Key: "a", Value: "1"}, {Key: "topic", Value: "orders"}}) ||
		!info.HasCRC64 || info.CRC64 != crc64.Checksum(data, crc64.MakeTable(crc64.ECMA)) || info.Restore != store.RestoreNone {
		t.Fatalf("Stat = %+v", info)
	}
	tags, err := s.Tags(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Tag{{Key: "a", Value: "x+y"}, {Key: "z", Value: "last one"}}; !slices.Equal(tags, want) {
		t.Fatalf("Tags = %v, want %v", tags, want)
	}
	// What osstest stored is what was asked, spaces and plus signs apart.
	if oi, _ := srv.ObjectInfo("attrs", "k"); !slices.Equal(oi.Tags, []osstest.Tag{{Key: "z", Value: "last one"}, {Key: "a", Value: "x+y"}}) {
		t.Fatalf("stored tags %v", oi.Tags)
	}
	if n := s.Stats().ByOperation["GetObjectTagging"]; n != 1 {
		t.Errorf("Stats: %d GetObjectTagging requests, want 1", n)
	}
	if _, err := s.Tags(ctx, "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Tags of an absent key: %v", err)
	}
}

// TestTaggingNeedsPutObjectTagging: a role without oss:PutObjectTagging
// cannot write tagged objects, and the refusal is permanent.
func TestTaggingNeedsPutObjectTagging(t *testing.T) {
	srv := newServer(t, osstest.WithDeny(osstest.Deny{Ops: []osstest.Op{osstest.OpPutTagging, osstest.OpGetTagging}}))
	s := newStore(t, srv, "tag-policy")
	ctx := t.Context()
	tag := store.WithTags(store.Tag{Key: "k", Value: "v"})
	if err := s.Put(ctx, "plain", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "tagged", []byte("x"), tag); !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("tagged Put without oss:PutObjectTagging: %v, want ErrAccessDenied", err)
	}
	if _, err := s.Append(ctx, "tagged", 0, []byte("x"), tag); !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("tagged Append without oss:PutObjectTagging: %v, want ErrAccessDenied", err)
	}
	if _, err := s.Tags(ctx, "plain"); !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("Tags without oss:GetObjectTagging: %v, want ErrAccessDenied", err)
	}
	if st := s.Stats(); st.Retries != 0 {
		t.Errorf("%d retries of permanent refusals", st.Retries)
	}
}

// TestServerRefusalsMapToUnsupported sends, behind CheckWriteOptions'
// back, the writes OSS refuses, to check how the replies are classified.
func TestServerRefusalsMapToUnsupported(t *testing.T) {
	srv := newServer(t)
	newStore(t, srv, "raw")
	client, err := oss.New(srv.Endpoint(), testAK, testSK, oss.SecurityToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.Bucket("raw")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		verb string
		call func() error
	}{
		{"append", func() error {
			_, err := b.AppendObject("k", http.NoBody, 0, oss.ObjectStorageClass(oss.StorageColdArchive))
			return err
		}},
		{"append", func() error {
			_, err := b.AppendObject("k", http.NoBody, 0, oss.ServerSideEncryption("KMS"), oss.ServerSideEncryptionKeyID("cmk"))
			return err
		}},
		{"put", func() error { return b.PutObject("k", http.NoBody, oss.SetHeader(oss.HTTPHeaderOssTagging, "a!=1")) }},
		{"put", func() error { return b.PutObject("k", http.NoBody, oss.ServerSideEncryption("DES")) }},
		{"put", func() error { return b.PutObject("k", http.NoBody, oss.ObjectStorageClass("Glacier")) }},
	}
	for i, tc := range cases {
		err := wrapErr(tc.verb, "k", tc.call())
		if !errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err) {
			t.Errorf("case %d: %v, want ErrUnsupported", i, err)
		}
	}
}
