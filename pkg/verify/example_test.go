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

// Write a few records with the sink, check them, then delete an object.
func ExampleRun() {
	ctx := context.Background()
	st := memstore.New()
	sk, _ := sink.New(sink.WithPrefix("backup"), sink.WithEncoder(format.Encoder{Format: format.JSONL}), sink.WithFlushRecords(2))
	var recs []events.Record
	for _, off := range []int64{0, 1, 2, 5, 6} { // offsets 3 and 4: a Kafka gap
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

	// The second data object is deleted; its record index is left, and
	// names the records it held.
	if err := st.Delete(ctx, sink.ObjectKey("backup/", "orders", "", 3, 2, 0)); err != nil {
		panic(err)
	}
	rep, _ = verify.Run(ctx, st, verify.WithPrefix("backup"))
	for _, d := range rep.AllDefects() {
		fmt.Println(d.Code, d.Object, d.Ranges)
	}
	fmt.Println("ok", rep.OK())
	// Output:
	// orders/3: 3 objects, 5 records, offsets 0-6, ok true
	// data_missing backup/orders/partition_3_offset_2_e09c6b4c [2 5]
	// ok false
}
