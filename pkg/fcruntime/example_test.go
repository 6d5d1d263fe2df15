package fcruntime_test

import (
	"context"
	"fmt"
	"io"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcemu"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcruntime"
)

// A function served by fcruntime, here against the emulator in the same
// process (FC gives the address in FC_RUNTIME_API). The handler reads the
// call's context with fccontext, as under fc.Start.
func ExampleServe() {
	emu, _ := fcemu.New(fcemu.WithCredentials("ak", "sk", "token"), fcemu.WithFunction("fn", "main", 128))
	defer emu.Close()
	inst, _ := emu.NewInstance()

	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- fcruntime.Serve(ctx, inst.Addr(), func(ctx context.Context, payload []byte) ([]byte, error) {
			fc, _ := fccontext.FromContext(ctx)
			return fmt.Appendf(nil, `{"bytes":%d,"key":%q,"memory":%q}`, len(payload), fc.Credentials.AccessKeyId, fc.Function.Memory), nil
		}, fcruntime.WithOutput(io.Discard),
			fcruntime.WithSetMemoryLimit(func(int64) int64 { return 0 })) // leave this process's limit alone
	}()

	res, _ := emu.Invoke(context.Background(), []byte(`[{"data":{}}]`))
	fmt.Println(res.Status, string(res.Body))
	stop()
	fmt.Println(<-served)
	fmt.Println(fcruntime.MemoryLimit(128)>>20, "MiB")
	// Output:
	// ok {"bytes":13,"key":"ak","memory":"128"}
	// <nil>
	// 96 MiB
}
