package osstest_test

import (
	"bytes"
	"errors"
	"fmt"

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
