package localstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
)

func Example() {
	tmp, err := os.MkdirTemp("", "localstore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	ctx := context.Background()
	s, err := localstore.New(filepath.Join(tmp, "oss-local"))
	if err != nil {
		log.Fatal(err)
	}

	key := "myprefix/mytopic/partition_3_offset_120_ab12cd34"
	n, err := s.Append(ctx, key, 0, []byte("record 120\n"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Append(ctx, key, n, []byte("record 121\n")); err != nil {
		log.Fatal(err)
	}
	// A second run that starts from stale state is fenced off.
	_, err = s.Append(ctx, key, n, []byte("record 121\n"))
	if pe, ok := store.AsPositionError(err); ok {
		fmt.Println("fenced: object length is", pe.Length)
	}
	if err := s.Put(ctx, "myprefix/mytopic/.oss_meta_file_partition_3", []byte(`{"offset":121}`)); err != nil {
		log.Fatal(err)
	}

	// The directory is laid out like the bucket.
	data, err := os.ReadFile(filepath.Join(s.Dir(), "myprefix", "mytopic", "partition_3_offset_120_ab12cd34"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", data)

	infos, err := s.List(ctx, "myprefix/mytopic/")
	if err != nil {
		log.Fatal(err)
	}
	for _, info := range infos {
		fmt.Println(info.Key, info.Size, info.Appendable)
	}
	// Output:
	// fenced: object length is 22
	// "record 120\nrecord 121\n"
	// myprefix/mytopic/.oss_meta_file_partition_3 14 false
	// myprefix/mytopic/partition_3_offset_120_ab12cd34 22 true
}
