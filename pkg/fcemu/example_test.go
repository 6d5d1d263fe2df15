package fcemu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
)

// A function binary served by the emulator, invoked once.
func Example() {
	emu, err := fcemu.New(
		fcemu.WithCredentials("ak", "sk", "sts-token"),
		fcemu.WithTimeout(5*time.Second),
		fcemu.WithInstanceConcurrency(2),
	)
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	// StartProcess sets FC_RUNTIME_API; the binary calls fc.Start.
	if _, err := emu.StartProcess(exec.Command("./main")); err != nil {
		panic(err)
	}
	res, err := emu.Invoke(context.Background(), []byte(`[]`), fcemu.RetryCount(0))
	if err != nil {
		panic(err) // the context ended or the emulator closed
	}
	switch res.Status {
	case fcemu.StatusOK:
		fmt.Printf("%s\n", res.Body)
	case fcemu.StatusError:
		fmt.Println(res.ErrorType, res.ErrorMessage)
	default: // StatusTimeout, StatusLost
		fmt.Println(res)
	}
}

// A Kafka trigger over a supervised function: batches with random
// boundaries, redelivered until every record is acknowledged.
func ExampleTrigger() {
	emu, err := fcemu.New(fcemu.WithInstanceConcurrency(4))
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	sup, err := emu.Supervise(func() *exec.Cmd { return exec.Command("./main") })
	if err != nil {
		panic(err)
	}
	defer sup.Stop()

	tr, err := fcemu.NewTrigger(emu, fcemu.TriggerConfig{
		Streams: map[int32][]int64{0: {10, 11, 12, 14}, 1: {7, 8, 9}},
		Render: func(batch []fcemu.Record) []byte {
			b, _ := json.Marshal(batch) // a real test renders CloudEvents
			return b
		},
		Seed:        1,
		Concurrency: 2,
		AfterInvoke: func(d fcemu.Delivery) error {
			fmt.Println(d.N, len(d.Batch), d.RetryCount, d.Result.Status)
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	stats, err := tr.Run(context.Background())
	fmt.Println(stats.Invocations, err)
}
