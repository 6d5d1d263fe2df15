package route_test

import (
	"errors"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
)

func Example() {
	loc, err := route.LoadZone("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	r, err := route.New("{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}", loc)
	if err != nil {
		panic(err)
	}
	rec := events.Record{Topic: "orders", Partition: 3, Offset: 1000, Timestamp: 1795479327318} // 2026-11-24 08:15:27 +08:00
	dir, _ := r.AppendFolder(nil, &rec)
	fmt.Println(string(dir))
	fmt.Println(r.StaticDir("orders", 3))

	byUser, _ := route.New("users/{value:user.id}/", nil)
	rec.ValueKind, rec.Value = events.ValueJSON, []byte(`{"user":{"id":"a/b"}}`)
	dir, _ = byUser.AppendFolder(nil, &rec)
	fmt.Println(string(dir))

	rec.Value = []byte(`{"user":{}}`)
	_, err = byUser.AppendFolder(nil, &rec)
	var re *route.Error
	if errors.As(err, &re) {
		fmt.Println(re.Token, re.Reason) // the sink then applies SINK_INVALID
	}

	_, err = route.New("{topic}/{hour}/", nil)
	fmt.Println(err)
	// Output:
	// orders/dt=2026-11-24/hh=08/
	// orders/
	// users/a%2Fb/
	// {value:user.id} field missing
	// SINK_FOLDER: position 9: unknown token {hour}; known: {topic} {partition} {yyyy} {MM} {dd} {HH} {mm} {key} {header:NAME} {value:PATH}
}
