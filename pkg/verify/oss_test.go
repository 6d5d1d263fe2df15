package verify_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// TestOSS runs the engine and verify through the SDK against the OSS test
// server: a clean bucket, then a line duplicated on the server behind the
// record index's back, then wrong credentials.
func TestOSS(t *testing.T) {
	const bucket = "sink"
	srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials("STS.ak", "sk", "token"))
	fast := ossstore.WithRetry(2, time.Millisecond, 5*time.Millisecond)
	st := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "token"}, fast)
	ctx := context.Background()
	s := setups[1] // jsonl
	w := fill(t, st, s)

	rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithChunkSize(100))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Records != int64(w.records) || rep.Total.Partitions != 3 {
		t.Fatalf("clean bucket: total %+v, defects %v", rep.Total, rep.AllDefects())
	}

	l := layoutOf(t, st)
	b, _ := srv.Object(bucket, l.sealed[0])
	first := b[:bytes.IndexByte(b, '\n')+1]
	if err := srv.PutObjectDirect(bucket, l.sealed[0], append(b, first...), true); err != nil {
		t.Fatal(err)
	}
	rep, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithChunkSize(100))
	if err != nil {
		t.Fatal(err)
	}
	// The line is no append the index announced: the index says so, and
	// the object, read by its lines, holds offset 100 twice.
	_, inconsistent := find(rep, verify.CodeIndexInconsistent, l.sealed[0])
	if _, ok := find(rep, verify.CodeDuplicateOffset, l.sealed[0]); !ok || !inconsistent || rep.OK() || len(rep.AllDefects()) != 2 {
		t.Errorf("planted duplicate: %v", codes(rep))
	}

	bad := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "wrong-secret", SecurityToken: "token"}, fast)
	_, err = verify.Run(ctx, bad, verify.WithPrefix(prefix))
	if !errors.Is(err, store.ErrAccessDenied) {
		t.Errorf("wrong credentials: %v", err)
	}
}

// TestOSSIndexed: objects with record indexes (appendable data and index
// objects) through the SDK against the OSS test server: clean, then a
// byte changed on the server is a crc_mismatch and a deleted object is
// named by its offsets.
func TestOSSIndexed(t *testing.T) {
	const bucket = "sink"
	srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials("STS.ak", "sk", "token"))
	st := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "token"},
		ossstore.WithRetry(2, time.Millisecond, 5*time.Millisecond))
	ctx := context.Background()
	v2fill(t, st, v2setups[0], true) // raw, values holding '\n'
	rep, err := verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithChunkSize(100))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Records != 23+12+6 {
		t.Fatalf("clean bucket: total %+v, defects %v", rep.Total, rep.AllDefects())
	}

	l := v2layoutOf(t, st)
	b, _ := srv.Object(bucket, l.sealed[0])
	i := bytes.Index(b, []byte("VALUE"))
	b = bytes.Clone(b)
	b[i] = 'W'
	if err := srv.PutObjectDirect(bucket, l.sealed[0], b, true); err != nil {
		t.Fatal(err)
	}
	del(t, st, l.sealed[2])
	rep, err = verify.Run(ctx, st, verify.WithPrefix(prefix), verify.WithChunkSize(100))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := find(rep, verify.CodeCRCMismatch, l.sealed[0]); !ok || rep.OK() {
		t.Errorf("changed byte: %v", codes(rep))
	}
	if d, ok := find(rep, verify.CodeDataMissing, l.sealed[2]); !ok || len(d.Ranges) == 0 || d.Ranges[0].First != nameOffset(l.sealed[2]) {
		t.Errorf("deleted object: %v", codes(rep))
	}
	if len(rep.AllDefects()) != 2 {
		t.Errorf("defects: %v", codes(rep))
	}
}

// TestOSSRouted: a routed store (tenant folders shared by two topics, time
// folders across midnight, invalidRuleData/) through the SDK against the
// OSS test server: clean, then an object deleted on the server in one
// folder is named with exactly its offsets.
func TestOSSRouted(t *testing.T) {
	const bucket = "sink"
	srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials("STS.ak", "sk", "token"))
	st := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "token"},
		ossstore.WithRetry(2, time.Millisecond, 5*time.Millisecond))
	ctx := context.Background()
	tm := fixture.Template{Shared: true, Loc: shanghai}
	rs := routedFill(t, st, v2setups[1], tm, 2, true) // raw/base64, folders closed past 2
	opts := []verify.Option{verify.WithPrefix(prefix), verify.WithTopics(topic), verify.WithDirs(tm.StaticDir(topic)), verify.WithChunkSize(100)}
	rep, err := verify.Run(ctx, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.AllDefects()) != 0 || rep.Total.Records != int64(rs.records[topic+"/0"]+rs.records[topic+"/1"]) ||
		rep.Total.InvalidRecords == 0 || rep.OtherObjects == 0 {
		t.Fatalf("clean bucket: total %+v, others %d, defects %v", rep.Total, rep.OtherObjects, rep.AllDefects())
	}

	// The second object of a tenant folder, sealed with the third.
	objs := objectsIn(t, st, "tenant-b/dt=2026-11-24/", 0)
	if len(objs) < 3 {
		t.Fatalf("objects of a tenant-b folder: %v", objs)
	}
	gone := objs[1]
	del(t, st, gone)
	del(t, st, indexOf(gone))
	rep, err = verify.Run(ctx, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := find(rep, verify.CodeObjectMissing, gone)
	if !ok || rep.OK() || len(d.Ranges) == 0 || d.Ranges[0].First != nameOffset(gone) {
		t.Fatalf("deleted %s: %v", gone, rep.AllDefects())
	}
}
