package osstest

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func head(t *testing.T, b *oss.Bucket, key string) http.Header {
	t.Helper()
	h, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatalf("HeadObject(%q): %v", key, err)
	}
	return h
}

func TestStorageClass(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	for _, class := range storageClasses {
		if err := b.PutObject("put/"+class, strings.NewReader("x"), oss.ObjectStorageClass(oss.StorageClassType(class))); err != nil {
			t.Fatalf("PutObject %s: %v", class, err)
		}
		if got := head(t, b, "put/"+class).Get("X-Oss-Storage-Class"); got != class {
			t.Errorf("HEAD of a %s object: x-oss-storage-class %q", class, got)
		}
		_, err := b.AppendObject("append/"+class, strings.NewReader("x"), 0, oss.ObjectStorageClass(oss.StorageClassType(class)))
		switch class {
		case ClassColdArchive, ClassDeepColdArchive:
			wantServiceError(t, err, 400, "InvalidArgument")
			if _, ok := srv.ObjectInfo(testBucket, "append/"+class); ok {
				t.Errorf("a refused %s append created the object", class)
			}
		default:
			if err != nil {
				t.Fatalf("AppendObject %s: %v", class, err)
			}
			if info, _ := srv.ObjectInfo(testBucket, "append/"+class); info.StorageClass != class {
				t.Errorf("appended %s object has class %q", class, info.StorageClass)
			}
		}
	}
	if err := b.PutObject("plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if got := head(t, b, "plain").Get("X-Oss-Storage-Class"); got != ClassStandard {
		t.Errorf("default class %q, want Standard", got)
	}
	// A later append keeps the class of the one that created the object.
	if _, err := b.AppendObject("append/IA", strings.NewReader("y"), 1, oss.ObjectStorageClass(oss.StorageArchive)); err != nil {
		t.Fatal(err)
	}
	if info, _ := srv.ObjectInfo(testBucket, "append/IA"); info.StorageClass != ClassIA {
		t.Errorf("after a later append the class is %q, want IA", info.StorageClass)
	}
	err := b.PutObject("bad", strings.NewReader("x"), oss.ObjectStorageClass("Glacier"))
	wantServiceError(t, err, 400, "InvalidArgument")

	res, err := b.ListObjectsV2(oss.Prefix("put/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if want := strings.TrimPrefix(o.Key, "put/"); o.StorageClass != want {
			t.Errorf("ListObjectsV2: %q has StorageClass %q", o.Key, o.StorageClass)
		}
	}
}

func TestDefaultStorageClass(t *testing.T) {
	srv := newTestServer(t, WithDefaultStorageClass(ClassColdArchive))
	b := testClient(t, srv)
	if err := b.PutObject("k", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if got := head(t, b, "k").Get("X-Oss-Storage-Class"); got != ClassColdArchive {
		t.Errorf("class %q, want the bucket's ColdArchive", got)
	}
	_, err := b.AppendObject("a", strings.NewReader("x"), 0)
	wantServiceError(t, err, 400, "InvalidArgument")
	if _, err := b.AppendObject("a", strings.NewReader("x"), 0, oss.ObjectStorageClass(oss.StorageStandard)); err != nil {
		t.Fatalf("append naming Standard in a ColdArchive bucket: %v", err)
	}
	if _, err := NewServer(WithDefaultStorageClass("Glacier")); err == nil {
		t.Error("NewServer accepted an unknown default class")
	}
}

func TestEncryption(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	for _, alg := range []string{"AES256", "KMS", "SM4"} {
		if err := b.PutObject("put/"+alg, strings.NewReader("x"), oss.ServerSideEncryption(alg)); err != nil {
			t.Fatalf("PutObject %s: %v", alg, err)
		}
		if _, err := b.AppendObject("append/"+alg, strings.NewReader("x"), 0, oss.ServerSideEncryption(alg)); err != nil {
			t.Fatalf("AppendObject %s: %v", alg, err)
		}
		for _, k := range []string{"put/" + alg, "append/" + alg} {
			if got := head(t, b, k).Get("X-Oss-Server-Side-Encryption"); got != alg {
				t.Errorf("HEAD %q: encryption %q, want %q", k, got, alg)
			}
		}
	}
	if err := b.PutObject("cmk", strings.NewReader("x"), oss.ServerSideEncryption("KMS"), oss.ServerSideEncryptionKeyID("key-1")); err != nil {
		t.Fatal(err)
	}
	if got := head(t, b, "cmk").Get("X-Oss-Server-Side-Encryption-Key-Id"); got != "key-1" {
		t.Errorf("HEAD: key id %q", got)
	}
	_, err := b.AppendObject("cmk-append", strings.NewReader("x"), 0, oss.ServerSideEncryption("KMS"), oss.ServerSideEncryptionKeyID("key-1"))
	wantServiceError(t, err, 400, "InvalidArgument")
	err = b.PutObject("bad", strings.NewReader("x"), oss.ServerSideEncryption("DES"))
	wantServiceError(t, err, 400, "InvalidEncryptionAlgorithmError")
	err = b.PutObject("bad", strings.NewReader("x"), oss.ServerSideEncryption("AES256"), oss.ServerSideEncryptionKeyID("key-1"))
	wantServiceError(t, err, 400, "InvalidArgument")
}

func TestTagging(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	tagHeader := func(v string) oss.Option { return oss.SetHeader("X-Oss-Tagging", v) }
	if err := b.PutObject("put", strings.NewReader("x"), tagHeader("b=2&a=x%20y%2Bz&empty=&bare")); err != nil {
		t.Fatal(err)
	}
	res, err := b.GetObjectTagging("put")
	if err != nil {
		t.Fatal(err)
	}
	want := []oss.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "x y+z"}, {Key: "empty"}, {Key: "bare"}}
	if len(res.Tags) != len(want) {
		t.Fatalf("GetObjectTagging = %+v, want %+v", res.Tags, want)
	}
	for i := range want {
		if res.Tags[i].Key != want[i].Key || res.Tags[i].Value != want[i].Value {
			t.Fatalf("GetObjectTagging[%d] = %+v, want %+v", i, res.Tags[i], want[i])
		}
	}
	if got := head(t, b, "put").Get("X-Oss-Tagging-Count"); got != "4" {
		t.Errorf("x-oss-tagging-count %q", got)
	}

	// Tags go with the append that creates the object only.
	if _, err := b.AppendObject("app", strings.NewReader("x"), 0, tagHeader("k=1")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendObject("app", strings.NewReader("y"), 1, tagHeader("k=2")); err != nil {
		t.Fatal(err)
	}
	if info, _ := srv.ObjectInfo(testBucket, "app"); !slices.Equal(info.Tags, []Tag{{"k", "1"}}) {
		t.Errorf("appended object's tags %v, want k=1", info.Tags)
	}

	// '+' is a plus sign: the SDK's SetTagging encodes spaces that way.
	if err := b.PutObject("sdk", strings.NewReader("x"), oss.SetTagging(oss.Tagging{Tags: []oss.Tag{{Key: "k", Value: "a b"}}})); err != nil {
		t.Fatal(err)
	}
	if info, _ := srv.ObjectInfo(testBucket, "sdk"); !slices.Equal(info.Tags, []Tag{{"k", "a+b"}}) {
		t.Errorf("SDK-encoded tags %v", info.Tags)
	}

	var eleven []string
	for i := range 11 {
		eleven = append(eleven, string(rune('a'+i))+"=v")
	}
	bad := []struct {
		header, code string
	}{
		{strings.Join(eleven, "&"), "InvalidTag"},
		{"a=1&a=2", "InvalidTag"},
		{strings.Repeat("k", 129) + "=v", "InvalidTag"},
		{"k=" + strings.Repeat("v", 257), "InvalidTag"},
		{"k=a%21", "InvalidTag"},
		{"=v", "InvalidTag"},
		{"aa=bb=cc", "InvalidArgument"},
		{"k=%zz", "InvalidArgument"},
	}
	for _, tc := range bad {
		err := b.PutObject("bad", strings.NewReader("x"), tagHeader(tc.header))
		wantServiceError(t, err, 400, tc.code)
		_, err = b.AppendObject("bad", strings.NewReader("x"), 0, tagHeader(tc.header))
		wantServiceError(t, err, 400, tc.code)
	}
	if _, ok := srv.ObjectInfo(testBucket, "bad"); ok {
		t.Error("a refused write created the object")
	}
	if err := b.PutObject("ok", strings.NewReader("x"), tagHeader(strings.Repeat("k", 128)+"="+strings.Repeat("v", 256)+"&"+"a-b.c_d:e/f+g=h")); err != nil {
		t.Errorf("tags at the limits: %v", err)
	}

	// PutObjectTagging replaces the set.
	if err := b.PutObjectTagging("put", oss.Tagging{Tags: []oss.Tag{{Key: "new", Value: "v w"}}}); err != nil {
		t.Fatal(err)
	}
	if info, _ := srv.ObjectInfo(testBucket, "put"); !slices.Equal(info.Tags, []Tag{{"new", "v w"}}) {
		t.Errorf("after PutObjectTagging: %v", info.Tags)
	}
	err = b.PutObjectTagging("put", oss.Tagging{Tags: []oss.Tag{{Key: "x!", Value: "v"}}})
	wantServiceError(t, err, 400, "InvalidTag")
	_, err = b.GetObjectTagging("absent")
	wantServiceError(t, err, 404, "NoSuchKey")
	err = b.PutObjectTagging("absent", oss.Tagging{Tags: []oss.Tag{{Key: "k", Value: "v"}}})
	wantServiceError(t, err, 404, "NoSuchKey")
	if err := b.DeleteObjectTagging("put"); err == nil {
		t.Error("DeleteObjectTagging succeeded; osstest does not implement it")
	}
}

func TestTaggingPolicy(t *testing.T) {
	srv := newTestServer(t, WithDeny(Deny{Ops: []Op{OpPutTagging}}))
	b := testClient(t, srv)
	if err := b.PutObject("plain", strings.NewReader("x")); err != nil {
		t.Fatalf("an untagged put needs no oss:PutObjectTagging: %v", err)
	}
	err := b.PutObject("tagged", strings.NewReader("x"), oss.SetHeader("X-Oss-Tagging", "k=v"))
	wantServiceError(t, err, 403, "AccessDenied")
	_, err = b.AppendObject("tagged", strings.NewReader("x"), 0, oss.SetHeader("X-Oss-Tagging", "k=v"))
	wantServiceError(t, err, 403, "AccessDenied")
	err = b.PutObjectTagging("plain", oss.Tagging{Tags: []oss.Tag{{Key: "k", Value: "v"}}})
	wantServiceError(t, err, 403, "AccessDenied")
	if _, err := b.GetObjectTagging("plain"); err != nil {
		t.Fatalf("GetObjectTagging is another action: %v", err)
	}
	srv.SetDenies(Deny{Ops: []Op{OpGetTagging, OpRestore}})
	_, err = b.GetObjectTagging("plain")
	wantServiceError(t, err, 403, "AccessDenied")
	err = b.RestoreObject("plain")
	wantServiceError(t, err, 403, "AccessDenied")
	if err := b.PutObject("tagged", strings.NewReader("x"), oss.SetHeader("X-Oss-Tagging", "k=v")); err != nil {
		t.Fatal(err)
	}
}

func TestUserMetadata(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	if err := b.PutObject("k", strings.NewReader("x"), oss.Meta("Topic", "orders"), oss.Meta("first-offset", "42")); err != nil {
		t.Fatal(err)
	}
	h := head(t, b, "k")
	if h.Get("X-Oss-Meta-Topic") != "orders" || h.Get("X-Oss-Meta-First-Offset") != "42" {
		t.Errorf("HEAD metadata: %v", h)
	}
	if info, _ := srv.ObjectInfo(testBucket, "k"); !slices.Equal(info.Metadata, []Tag{{"first-offset", "42"}, {"topic", "orders"}}) {
		t.Errorf("ObjectInfo.Metadata = %v", info.Metadata)
	}
	rc, err := b.GetObject("k", oss.GetResponseHeader(&h))
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if h.Get("X-Oss-Meta-Topic") != "orders" {
		t.Errorf("GET lacks the metadata: %v", h)
	}
	if _, err := b.AppendObject("a", strings.NewReader("x"), 0, oss.Meta("m", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AppendObject("a", strings.NewReader("x"), 1, oss.Meta("m", "2")); err != nil {
		t.Fatal(err)
	}
	if got := head(t, b, "a").Get("X-Oss-Meta-M"); got != "1" {
		t.Errorf("appended object's metadata %q, want the creating append's", got)
	}
	err = b.PutObject("big", strings.NewReader("x"), oss.Meta("a", strings.Repeat("v", 8<<10)))
	wantServiceError(t, err, 400, "InvalidArgument")
	err = b.PutObject("bad", strings.NewReader("x"), oss.Meta("under_score", "v"))
	wantServiceError(t, err, 400, "InvalidArgument")
	if err := b.PutObject("limit", strings.NewReader("x"), oss.Meta("a", strings.Repeat("v", 8<<10-1))); err != nil {
		t.Errorf("8 KB of metadata exactly: %v", err)
	}
}

func TestCRC64OnHead(t *testing.T) {
	srv := newTestServer(t)
	b := testClient(t, srv)
	if err := b.PutObject("k", strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	info, _ := srv.ObjectInfo(testBucket, "k")
	if got := head(t, b, "k").Get("X-Oss-Hash-Crc64ecma"); got == "" || got != strings.TrimSpace(got) || got != strconv.FormatUint(info.CRC64, 10) {
		t.Errorf("HEAD x-oss-hash-crc64ecma = %q, want %d", got, info.CRC64)
	}
}

// restoreStatus reports RestoreObject's HTTP status through the SDK (which
// hides 200 versus 202) with a request log.
type statusLog struct{ last chan int }

func newStatusLog() (*statusLog, Opt) {
	l := &statusLog{last: make(chan int, 100)}
	return l, WithRequestLog(func(e LogEntry) {
		if e.Op == OpRestore {
			l.last <- e.Status
		}
	})
}

func (l *statusLog) next(t *testing.T) int {
	t.Helper()
	select {
	case s := <-l.last:
		return s
	default:
		t.Fatal("no RestoreObject was logged")
		return 0
	}
}

func TestRestore(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	log, logOpt := newStatusLog()
	srv := newTestServer(t, WithClock(clock.Now), logOpt)
	b := testClient(t, srv)
	for _, class := range []string{ClassArchive, ClassColdArchive, ClassDeepColdArchive} {
		t.Run(class, func(t *testing.T) {
			key := "obj/" + class
			if err := b.PutObject(key, strings.NewReader("archived bytes"), oss.ObjectStorageClass(oss.StorageClassType(class))); err != nil {
				t.Fatal(err)
			}
			_, err := b.GetObject(key)
			wantServiceError(t, err, 403, "InvalidObjectState")
			_, err = b.GetObject(key, oss.Range(0, 3))
			wantServiceError(t, err, 403, "InvalidObjectState")
			if h := head(t, b, key); h.Get("X-Oss-Restore") != "" {
				t.Errorf("x-oss-restore before any restore: %q", h.Get("X-Oss-Restore"))
			}

			if err := b.RestoreObjectDetail(key, oss.RestoreConfiguration{Days: 2, Tier: TierExpedited}); err != nil {
				t.Fatal(err)
			}
			if s := log.next(t); s != 202 {
				t.Errorf("first restore: status %d, want 202", s)
			}
			if h := head(t, b, key); h.Get("X-Oss-Restore") != `ongoing-request="true"` {
				t.Errorf("x-oss-restore while running: %q", h.Get("X-Oss-Restore"))
			}
			err = b.RestoreObject(key)
			wantServiceError(t, err, 409, "RestoreAlreadyInProgress")
			log.next(t)
			_, err = b.GetObject(key)
			wantServiceError(t, err, 403, "InvalidObjectState")

			clock.Advance(DefaultRestoreDelay(class, TierExpedited) - time.Second)
			err = b.RestoreObject(key)
			wantServiceError(t, err, 409, "RestoreAlreadyInProgress")
			log.next(t)
			clock.Advance(time.Second)
			readyAt := clock.Now()
			wantExpiry := readyAt.Add(48 * time.Hour)
			h := head(t, b, key)
			if want := `ongoing-request="false", expiry-date="` + wantExpiry.Format(http.TimeFormat) + `"`; h.Get("X-Oss-Restore") != want {
				t.Errorf("x-oss-restore once done: %q, want %q", h.Get("X-Oss-Restore"), want)
			}
			if got := mustGetAll(t, b, key); string(got) != "archived bytes" {
				t.Errorf("GET after the restore: %q", got)
			}
			rc, err := b.GetObject(key, oss.Range(0, 7))
			if err != nil {
				t.Fatalf("ranged GET after the restore: %v", err)
			}
			rc.Close()

			// A restore of a restored object moves the expiry: 200.
			clock.Advance(time.Hour)
			if err := b.RestoreObjectDetail(key, oss.RestoreConfiguration{Days: 3}); err != nil {
				t.Fatal(err)
			}
			if s := log.next(t); s != 200 {
				t.Errorf("restore of a restored object: status %d, want 200", s)
			}
			info, _ := srv.ObjectInfo(testBucket, key)
			if want := clock.Now().Add(72 * time.Hour); info.Restore != "done" || !info.RestoreExpiry.Equal(want) {
				t.Errorf("ObjectInfo = {Restore %q, RestoreExpiry %v}, want done until %v", info.Restore, info.RestoreExpiry, want)
			}
			// Once the copy expires the object is archived again.
			clock.Advance(72 * time.Hour)
			_, err = b.GetObject(key)
			wantServiceError(t, err, 403, "InvalidObjectState")
			if h := head(t, b, key); h.Get("X-Oss-Restore") != "" {
				t.Errorf("x-oss-restore after expiry: %q", h.Get("X-Oss-Restore"))
			}
		})
	}
	if err := b.PutObject("standard", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	wantServiceError(t, b.RestoreObject("standard"), 400, "OperationNotSupported")
	wantServiceError(t, b.RestoreObject("absent"), 404, "NoSuchKey")
	if err := b.PutObject("deep", strings.NewReader("x"), oss.ObjectStorageClass(oss.StorageDeepColdArchive)); err != nil {
		t.Fatal(err)
	}
	wantServiceError(t, b.RestoreObjectDetail("deep", oss.RestoreConfiguration{Days: 1, Tier: TierBulk}), 400, "InvalidArgument")
	wantServiceError(t, b.RestoreObjectDetail("deep", oss.RestoreConfiguration{Days: 366}), 400, "InvalidArgument")
	if err := b.PutObject("archive", strings.NewReader("x"), oss.ObjectStorageClass(oss.StorageArchive)); err != nil {
		t.Fatal(err)
	}
	wantServiceError(t, b.RestoreObjectDetail("archive", oss.RestoreConfiguration{Days: 8}), 400, "InvalidArgument")
	wantServiceError(t, b.RestoreObjectXML("archive", "<RestoreRequest><Days>"), 400, "MalformedXML")
}

func TestManualRestore(t *testing.T) {
	srv := newTestServer(t, WithManualRestores())
	b := testClient(t, srv)
	for _, k := range []string{"a", "b"} {
		if _, err := b.AppendObject(k, strings.NewReader("bytes"), 0, oss.ObjectStorageClass(oss.StorageArchive)); err != nil {
			t.Fatal(err)
		}
	}
	if srv.CompleteRestore(testBucket, "a") {
		t.Error("CompleteRestore without a restore running reported one")
	}
	for _, k := range []string{"a", "b"} {
		if err := b.RestoreObject(k); err != nil {
			t.Fatal(err)
		}
	}
	wantServiceError(t, b.RestoreObject("a"), 409, "RestoreAlreadyInProgress")
	if !srv.CompleteRestore(testBucket, "a") {
		t.Fatal("CompleteRestore found no restore running")
	}
	if got := mustGetAll(t, b, "a"); string(got) != "bytes" {
		t.Errorf("GET after CompleteRestore: %q", got)
	}
	_, err := b.GetObject("b")
	wantServiceError(t, err, 403, "InvalidObjectState")
	if n := srv.CompleteRestores(); n != 1 {
		t.Errorf("CompleteRestores = %d, want 1", n)
	}
	if got := mustGetAll(t, b, "b"); string(got) != "bytes" {
		t.Errorf("GET after CompleteRestores: %q", got)
	}
	// Appends to an archived appendable object work without a restore.
	if _, err := b.AppendObject("b", strings.NewReader("!"), 5); err != nil {
		t.Fatal(err)
	}
}

func TestImmediateRestore(t *testing.T) {
	log, logOpt := newStatusLog()
	srv := newTestServer(t, WithRestoreDelay(func(class, tier string) time.Duration { return 0 }), logOpt)
	b := testClient(t, srv)
	if err := b.PutObject("k", strings.NewReader("x"), oss.ObjectStorageClass(oss.StorageColdArchive)); err != nil {
		t.Fatal(err)
	}
	if err := b.RestoreObject("k"); err != nil {
		t.Fatal(err)
	}
	if s := log.next(t); s != 202 {
		t.Errorf("status %d, want 202", s)
	}
	if got := mustGetAll(t, b, "k"); string(got) != "x" {
		t.Errorf("GET: %q", got)
	}
}

func TestSetStorageClassDirect(t *testing.T) {
	srv := newTestServer(t, WithManualRestores())
	b := testClient(t, srv)
	if _, err := b.AppendObject("a", strings.NewReader("x"), 0); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetStorageClassDirect(testBucket, "a", ClassColdArchive); err == nil {
		t.Error("an appendable object moved to ColdArchive")
	}
	if err := srv.SetStorageClassDirect(testBucket, "a", ClassArchive); err != nil {
		t.Fatal(err)
	}
	_, err := b.GetObject("a")
	wantServiceError(t, err, 403, "InvalidObjectState")
	if err := srv.SetStorageClassDirect(testBucket, "absent", ClassArchive); err == nil {
		t.Error("moved an absent object")
	}
}

func TestNewOpsFaults(t *testing.T) {
	srv := newTestServer(t, WithRestoreDelay(func(string, string) time.Duration { return 0 }))
	b := testClient(t, srv)
	if err := b.PutObject("k", strings.NewReader("x"), oss.ObjectStorageClass(oss.StorageArchive), oss.SetHeader("X-Oss-Tagging", "a=b")); err != nil {
		t.Fatal(err)
	}
	for _, op := range []Op{OpRestore, OpGetTagging, OpPutTagging} {
		srv.SetFault(op, Fault{Before: 1, Limit: 1})
	}
	wantServiceError(t, b.RestoreObject("k"), 503, "ServiceUnavailable")
	_, err := b.GetObjectTagging("k")
	wantServiceError(t, err, 503, "ServiceUnavailable")
	wantServiceError(t, b.PutObjectTagging("k", oss.Tagging{Tags: []oss.Tag{{Key: "c", Value: "d"}}}), 503, "ServiceUnavailable")
	if info, _ := srv.ObjectInfo(testBucket, "k"); info.Restore != "" || !slices.Equal(info.Tags, []Tag{{"a", "b"}}) {
		t.Errorf("a request failed before taking effect changed the object: %+v", info)
	}
	st := srv.Stats()
	for _, op := range []Op{OpRestore, OpGetTagging, OpPutTagging} {
		if st.Requests[op] != 1 || st.Faults[op] != 1 {
			t.Errorf("%v: %d requests, %d faults; want 1, 1", op, st.Requests[op], st.Faults[op])
		}
	}
	// After: the restore happened although the reply failed.
	srv.SetFault(OpRestore, Fault{After: 1, Limit: 1})
	wantServiceError(t, b.RestoreObject("k"), 503, "ServiceUnavailable")
	if info, _ := srv.ObjectInfo(testBucket, "k"); info.Restore != "done" {
		t.Errorf("after an After fault the restore is %q, want done", info.Restore)
	}
	var se oss.ServiceError
	if err := b.RestoreObject("k"); err != nil && !errors.As(err, &se) {
		t.Fatal(err)
	}
}

func mustGetAll(t *testing.T, b *oss.Bucket, key string) []byte {
	t.Helper()
	got, err := getAll(b, key)
	if err != nil {
		t.Fatalf("GetObject(%q): %v", key, err)
	}
	return got
}
