package parquetfile_test

import (
	"bytes"
	"fmt"
	"io"
	"log"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/parquetfile"
)

func ExampleReader() {
	var file bytes.Buffer
	w, err := parquetfile.NewWriter(&file, parquetfile.Options{
		Columns: []parquetfile.Column{parquetfile.Offset, parquetfile.Key, parquetfile.Value, parquetfile.Headers}})
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range []parquetfile.Row{
		{Offset: 42, Key: []byte("k1"), HasKey: true, Value: []byte(`{"id":1}`),
			Headers: []byte(`[ {"value":"ab12", "key":"trace"} ]`)},
		{Offset: 43, NullValue: true}, // no key, a tombstone
	} {
		if err := w.Write(&row); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := parquetfile.NewReader(bytes.NewReader(file.Bytes()), int64(file.Len()))
	if err != nil {
		log.Fatal(err)
	}
	first, last, _ := r.OffsetRange()
	fmt.Println(r.Columns(), r.NumRows(), "rows, offsets", first, "to", last)
	var row parquetfile.Row
	for {
		if err := r.Next(&row); err == io.EOF {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d key=%q(%v) value=%q(null %v) headers=%s\n",
			row.Offset, row.Key, row.HasKey, row.Value, row.NullValue, row.Headers)
	}
	// Output:
	// [offset key value headers] 2 rows, offsets 42 to 43
	// 42 key="k1"(true) value="{\"id\":1}"(null false) headers=[{"key":"trace","value":"ab12"}]
	// 43 key=""(false) value=""(null true) headers=[]
}
