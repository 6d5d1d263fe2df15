package events_test

import (
	"errors"
	"fmt"
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

func ExampleDecode() {
	payload := []byte(`[
	  {"specversion":"1.0","id":"8e215af8-ca18-4249-8645-f96c1026a4b1","source":"acs:alikafka",
	   "type":"alikafka:Topic:Message","subject":"acs:alikafka:alikafka_pre-cn-i7m2t7t1a00b:topic:mytopic",
	   "datacontenttype":"application/json; charset=utf-8","time":"2022-06-23T02:49:51.589Z","aliyunaccountid":"1649015465372381",
	   "data":{"topic":"mytopic","partition":7,"offset":25,"timestamp":1655952591589,
	           "headers":{"headers":[],"isReadOnly":false},"key":"keytest","value":"hello kafka msg"}},
	  {"topic":"mytopic","partition":7,"offset":26,"timestamp":1655952591602,"value":{"n":1}}
	]`)
	recs, err := events.Decode(payload)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Printf("%s/%d@%d key=%q(%v) %v value=%s\n", r.Topic, r.Partition, r.Offset, r.Key, r.HasKey, r.ValueKind, r.Value)
	}
	// Output:
	// mytopic/7@25 key="keytest"(true) bytes value=hello kafka msg
	// mytopic/7@26 key=""(false) json value={"n":1}
}

func ExampleDecodeError() {
	payload := []byte(`[{"data":{"topic":"t","partition":0,"offset":1}},{"data":{"topic":"t","partition":0,"offset":-1}}]`)
	_, err := events.Decode(payload)
	var de *events.DecodeError
	if errors.As(err, &de) {
		fmt.Println(de.Index, de.Field, de.Syntax)
	}
	fmt.Println(err)
	// Output:
	// 1 data.offset false
	// event[1]: data.offset: byte 93: negative offset -1
}

// A handler that runs invocations concurrently keeps one Decoder per
// goroutine, so that each batch reuses the memory of an earlier one.
func ExampleDecoder() {
	pool := sync.Pool{New: func() any {
		dec, err := events.NewDecoder(events.WithValueEncoding(events.Base64))
		if err != nil {
			panic(err) // only an invalid option fails
		}
		return dec
	}}
	handle := func(payload []byte) error {
		dec := pool.Get().(*events.Decoder)
		defer pool.Put(dec) // after the last use of the records
		recs, err := dec.Decode(payload)
		if err != nil {
			return err
		}
		for _, r := range recs {
			fmt.Printf("%d: %q\n", r.Offset, r.Value)
		}
		return nil
	}
	_ = handle([]byte(`[{"topic":"img","partition":0,"offset":412,"value":"aGVsbG8="}]`))
	_ = handle([]byte(`{"topic":"img","partition":0,"offset":413,"value":"AAEC"}`))
	// Output:
	// 412: "hello"
	// 413: "\x00\x01\x02"
}
