package verify_test

import (
	"context"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// Write a few records with the sink, check them, then plant a duplicate.
func ExampleRun() {
	ctx := context.Background()
	st := memstore.New()
	sk, _ := sink.New(sink.WithPrefix("backup"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(2))
	var recs []events.Record
	for off := range int64(5) {
		recs = append(recs, events.Record{Topic: "orders", Partition: 3, Offset: off, Value: []byte("hello")})
	}
	if _, err := sk.Write(ctx, st, recs); err != nil {
		panic(err)
	}

	rep, err := verify.Run(ctx, st, verify.WithPrefix("backup"))
	if err != nil {
		panic(err)
	}
	p := rep.Partitions[0]
	fmt.Printf("%s/%d: %d objects, %d records, offsets %d-%d, ok %v\n", p.Topic, p.Partition, p.Objects, p.Records, p.FirstOffset, p.LastOffset, rep.OK())

	// A second copy of the first object's first line, at the end of the second object.
	first := sink.ObjectKey("backup/", "orders", "", 3, 0, 0)
	second := sink.ObjectKey("backup/", "orders", "", 3, 2, 0)
	line := []byte(`{"topic":"orders","partition":3,"offset":0,"timestamp":0,"key":null,"value":"hello","headers":[]}` + "\n")
	info, _ := st.Stat(ctx, second)
	if _, err := st.Append(ctx, second, info.Size, line); err != nil {
		panic(err)
	}
	rep, _ = verify.Run(ctx, st, verify.WithPrefix("backup"))
	for _, d := range rep.AllDefects() {
		fmt.Println(d.Code, d.Object, "other:", d.Other == first)
	}
	fmt.Println("ok", rep.OK())
	// Output:
	// orders/3: 3 objects, 5 records, offsets 0-4, ok true
	// duplicate_offset backup/orders/partition_3_offset_2_e09c6b4c other: true
	// ok false
}
