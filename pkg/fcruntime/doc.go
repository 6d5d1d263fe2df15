// Package fcruntime serves a go1-runtime function's invocations through the
// Function Compute runtime API, in place of fc-runtime-go-sdk's fc.Start,
// so that a full batch fits a small instance:
//
//	err := fcruntime.Serve(ctx, os.Getenv("FC_RUNTIME_API"), handle,
//		fcruntime.WithInitializer(initialize), fcruntime.WithPreStop(preStop))
//
// # Protocol
//
// The one fc-runtime-go-sdk v0.3.1 speaks (pkg/fcemu emulates it and
// documents it in full): GET /2020-11-11/runtime/invocation/next waits for
// a call; its x-fc-* headers (request id, deadline, credentials, function,
// service, tracing, region, account, retry count) become an
// fccontext.FcContext in the call's context, so handler code keeps using
// fccontext.FromContext; the context's deadline is x-fc-function-deadline.
// The answer is POSTed to .../{id}/response, or an error document
// {"errorMessage","errorType"} (errorType: the error's type name without
// package or pointer, as the SDK names it; "stackTrace" too after a panic)
// to .../{id}/error. x-fc-function-type 1 (initializer) and 2 (PreStop) run
// the registered hook and answer with an empty response, or with an error
// if none is registered (as does 3, PreFreeze). One poll is open at a time;
// each call runs in a goroutine of its own, so with instance concurrency K
// up to K run at once.
//
// Where it differs from the SDK: a call with a malformed x-fc-* header is
// answered with an error at once (the SDK leaves it to time out); a
// panicking handler is answered with an error and the instance keeps
// serving (as the SDK v0.3.1 does); failed polls are retried with a
// growing pause (10 ms to 1 s) and Serve gives up after 30 s of them (the
// SDK retries at once, forever). HTTP functions are not served.
//
// # Memory
//
// The memory size is FC_FUNCTION_MEMORY_SIZE (MB, set by FC in every
// instance's environment), read before the first poll; without it, the
// first call's x-fc-function-memory. From it:
//
//   - The Go memory limit (runtime/debug.SetMemoryLimit) is the memory less
//     a reserve of max(32 MiB, memory/8) for what the Go runtime does not
//     manage (the binary's text, ~12 MiB resident; the kernel's page cache
//     charged to the instance) and for the runtime overshooting its limit
//     while a collection runs (peaks ~8 MiB above it): 96 MiB for 128 MB,
//     224 MiB for 256 MB, 448 MiB for 512 MB (MemoryLimit). A GOMEMLIMIT set in the environment is kept as
//     it is (and is the limit below, if smaller).
//   - Admission: a batch of n body bytes counts its body buffer plus 1.5 n
//     (the sink's encoding buffers, records, request buffers), and runs
//     only while the batches in flight plus the body buffers kept for
//     reuse, with it, stay within the budget: the memory limit less
//     16 MiB held whatever runs. Batches are admitted in the order they
//     came; one that does not fit waits (its body unread) until others
//     end, or until its deadline, when it is answered with a
//     *MemoryWaitError (WithWaitError wraps it) that the trigger retries.
//     A batch larger than the budget still runs, alone. With instance
//     concurrency K, K batches in flight thus never count more than the
//     memory size; at 128 MB a full 32 MB batch runs alone, 8 MB ones
//     four at once.
//   - Bodies: a body of 64 KiB or more is read into a buffer of its
//     Content-Length (rounded up to a MiB), reused for later calls: no
//     growing buffer, no copy. At most 34 MiB of such buffers (the largest
//     body FC sends and some) are kept between calls, and kept buffers
//     that a batch cannot use are dropped when it needs room, so that
//     batches of other sizes do not ratchet memory up.
//
// The handler must not keep the payload (or slices of it) after returning.
//
// Without a memory size nothing is limited and every batch is admitted at
// once; buffers are still reused.
package fcruntime
