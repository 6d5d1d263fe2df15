package ossstore_test

import (
	"context"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// One pool per process; one Store per invocation, with that invocation's
// temporary credentials, so its Stats count its own requests.
func ExamplePool() {
	srv, err := osstest.NewServer(osstest.WithBucket("sink"), osstest.WithCredentials("STS.ak", "sk", "token"))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	pool, err := ossstore.NewPool(ossstore.Config{Endpoint: srv.Endpoint(), Bucket: "sink"})
	if err != nil {
		panic(err)
	}
	s, err := pool.Store(ossstore.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "token"})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	n, _ := s.Append(ctx, "topic/partition_0_offset_0", 0, []byte("record 0\n"))
	_, err = s.Append(ctx, "topic/partition_0_offset_0", 0, []byte("record 0\n"))
	if pe, ok := store.AsPositionError(err); ok {
		fmt.Println("fenced: object length is", pe.Length, "=", n)
	}
	st := s.Stats()
	fmt.Println("requests:", st.Requests, st.ByOperation)
	// Output:
	// fenced: object length is 9 = 9
	// requests: 2 map[AppendObject:2]
}
