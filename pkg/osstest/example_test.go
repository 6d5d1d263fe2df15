package osstest_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
)

// An append whose reply is lost: the data lands, the client sees an error,
// and a retry at the same position is fenced off.
func Example_faultInjection() {
	srv, err := osstest.NewServer(
		osstest.WithBucket("sink"),
		osstest.WithCredentials("ak", "sk", "token"),
	)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := oss.New(srv.Endpoint(), "ak", "sk", oss.SecurityToken("token"))
	if err != nil {
		panic(err)
	}
	bucket, _ := client.Bucket("sink")

	// Apply the first append, then reset the connection instead of replying.
	srv.SetFault(osstest.OpAppend, osstest.Fault{After: 1, Limit: 1, Reset: true})

	_, err = bucket.AppendObject("log", bytes.NewReader([]byte("hello")), 0)
	fmt.Println("first append failed:", err != nil)

	_, err = bucket.AppendObject("log", bytes.NewReader([]byte("hello")), 0)
	var se oss.ServiceError
	if errors.As(err, &se) {
		fmt.Println("retry:", se.StatusCode, se.Code)
	}
	data, _ := srv.Object("sink", "log")
	fmt.Printf("object: %q\n", data)
	fmt.Println("append requests:", srv.Requests(osstest.OpAppend))
	// Output:
	// first append failed: true
	// retry: 409 PositionNotEqualToLength
	// object: "hello"
	// append requests: 2
}

// An archived object read back: GET is refused until the restore the test
// completes, on a clock the test moves, so no test sleeps.
func Example_restore() {
	clock := osstest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, err := osstest.NewServer(osstest.WithBucket("sink"), osstest.WithClock(clock.Now))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := oss.New(srv.Endpoint(), "ak", "sk")
	if err != nil {
		panic(err)
	}
	bucket, _ := client.Bucket("sink")
	_ = bucket.PutObject("old", bytes.NewReader([]byte("records")), oss.ObjectStorageClass(oss.StorageArchive))

	code := func(err error) string {
		var se oss.ServiceError
		if errors.As(err, &se) {
			return fmt.Sprint(se.StatusCode, " ", se.Code)
		}
		return fmt.Sprint(err)
	}
	_, err = bucket.GetObject("old")
	fmt.Println("get:", code(err))
	fmt.Println("restore:", code(bucket.RestoreObject("old")))
	fmt.Println("restore again:", code(bucket.RestoreObject("old")))
	clock.Advance(osstest.DefaultRestoreDelay(osstest.ClassArchive, ""))
	h, _ := bucket.GetObjectDetailedMeta("old")
	fmt.Println("x-oss-restore:", h.Get("X-Oss-Restore"))
	rc, err := bucket.GetObject("old")
	if err == nil {
		rc.Close()
	}
	fmt.Println("get after the restore:", code(err))
	// Output:
	// get: 403 InvalidObjectState
	// restore: <nil>
	// restore again: 409 RestoreAlreadyInProgress
	// x-oss-restore: ongoing-request="false", expiry-date="Fri, 02 Jan 2026 00:01:00 GMT"
	// get after the restore: <nil>
}
