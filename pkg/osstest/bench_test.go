package osstest

import (
	"bytes"
	"testing"
)

// BenchmarkAppend32MiB builds a 32 MiB appendable object from 256 KiB
// appends through the SDK, the shape of one sink invocation, to keep the
// server's per-append cost flat as the object grows.
func BenchmarkAppend32MiB(b *testing.B) {
	srv, err := NewServer(WithBucket(testBucket), WithCredentials(testAK, testSK, testToken))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	bkt := testClient(b, srv)
	chunk := bytes.Repeat([]byte("x"), 256<<10)
	const total = 32 << 20
	b.SetBytes(total)
	for b.Loop() {
		srv.DeleteObjectDirect(testBucket, "bench")
		var pos int64
		for pos < total {
			next, err := bkt.AppendObject("bench", bytes.NewReader(chunk), pos)
			if err != nil {
				b.Fatal(err)
			}
			pos = next
		}
	}
}
