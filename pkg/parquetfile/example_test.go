package parquetfile_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/parquetfile"
)

func Example() {
	cols, err := parquetfile.ParseColumns("offset,key,value,headers") // SINK_FIELDS
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	w, err := parquetfile.NewWriter(&out, parquetfile.Options{Columns: cols, Codec: "zstd"})
	if err != nil {
		log.Fatal(err)
	}
	rows := []parquetfile.Row{
		{Topic: "orders", Partition: 3, Offset: 42, Timestamp: 1655952591589, Key: []byte("k1"), HasKey: true,
			Value: []byte(`{"id":1}`), Headers: []byte(`[{"key":"trace","value":"ab12"}]`)},
		{Topic: "orders", Partition: 3, Offset: 43, NullValue: true}, // no key, a tombstone
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	b := out.Bytes()
	fmt.Println(string(b[:4]), string(b[len(b)-4:]))
	// Output: PAR1 PAR1
}
