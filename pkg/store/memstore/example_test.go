package memstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()

	// Data objects grow by fenced appends.
	key := "prefix/topic/partition_3_offset_120_ab12cd34"
	n, _ := s.Append(ctx, key, 0, []byte("record 120\n"))
	n, _ = s.Append(ctx, key, n, []byte("record 121\n"))

	// A retry that appends at a stale position writes nothing and learns
	// the real length.
	_, err := s.Append(ctx, key, 11, []byte("record 121\n"))
	if pe, ok := store.AsPositionError(err); ok {
		fmt.Println("stale position, object length is", pe.Length)
	}

	// State lives in a meta object replaced whole.
	_ = s.Put(ctx, "prefix/topic/.oss_meta_file_partition_3", fmt.Appendf(nil, `{"position":%d}`, n))

	_, err = s.Get(ctx, "prefix/topic/.oss_meta_file_partition_4")
	fmt.Println("missing meta:", errors.Is(err, store.ErrNotFound))

	// Test helpers look inside without a context.
	fmt.Println(s.Keys())
	data, _ := s.Object(key)
	fmt.Printf("%q\n", data)
	// Output:
	// stale position, object length is 22
	// missing meta: true
	// [prefix/topic/.oss_meta_file_partition_3 prefix/topic/partition_3_offset_120_ab12cd34]
	// "record 120\nrecord 121\n"
}
