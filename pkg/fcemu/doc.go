// Package fcemu emulates the Function Compute (FC 3.0) runtime API that a
// go1-runtime function talks to through fc-runtime-go-sdk, so that a
// compiled function binary can be tested as FC runs it: started with
// FC_RUNTIME_API pointing at the emulator, it calls fc.Start, long-polls for
// work, and answers each invocation. In the spirit of franz-go's kfake, it is
// a real-protocol fake shipped beside the code it tests:
//
//	emu, err := fcemu.New(fcemu.WithCredentials("ak", "sk", "sts-token"), fcemu.WithTimeout(5*time.Second))
//	defer emu.Close()
//	inst, err := emu.StartProcess(exec.Command("./main")) // sets FC_RUNTIME_API
//	res, err := emu.Invoke(ctx, payload)                  // res.Status: ok, error, timeout or lost
//
// # Model
//
// An Emulator is one function: its configuration, the credentials FC hands
// out, a queue of invocations and a log of every runtime API request. An
// Instance is one FC instance: one runtime API endpoint (its own listener,
// Instance.Addr is the value for FC_RUNTIME_API) served to one process.
// Invocations are queued at the function and taken by whichever live
// instance polls for work and has room (WithInstanceConcurrency);
// lifecycle calls (Initialize, PreStop) target one instance.
//
// # What it emulates
//
// The runtime API version 2020-11-11 as fc-runtime-go-sdk v0.3.1 uses it:
//
//   - GET /2020-11-11/runtime/invocation/next blocks until there is work
//     (long poll) and answers with the payload as body and the x-fc-*
//     headers: x-fc-request-id, x-fc-function-deadline (epoch milliseconds,
//     dispatch time + timeout), x-fc-function-timeout (whole seconds),
//     x-fc-function-type (0 invoke, 1 initializer, 2 PreStop),
//     x-fc-access-key-id, x-fc-access-key-secret, x-fc-security-token,
//     x-fc-region, x-fc-account-id, x-fc-retry-count, x-fc-function-name,
//     x-fc-function-handler, x-fc-function-memory, x-fc-qualifier and any
//     header given with WithHeader or InvokeHeader (service, tracing...).
//   - POST /2020-11-11/runtime/invocation/{id}/response and .../{id}/error
//     end the call (200); the error body {"errorMessage","errorType",
//     "stackTrace"} is parsed into Result.ErrorType and ErrorMessage. An
//     answer for an unknown id, or from an instance the call was not sent to,
//     gets 404; an answer for a call that already ended (timed out, lost)
//     gets 410 and is logged as late.
//   - Lifecycle: the SDK answers an initializer or PreStop call through
//     /response (with an empty body) once the registered hook returns, and
//     through /error if no hook is registered. With WithInitializer every new
//     instance gets an initializer call first and no invocation until it
//     succeeded, as FC does. PreStop stops dispatching invocations to the
//     instance, then sends the PreStop call; invocations already running go
//     on.
//   - Timeouts: a call unanswered at its deadline plus a grace
//     (WithGrace) ends with StatusTimeout. The process is not stopped.
//   - Lost instances: when the process behind an instance goes away, its
//     unanswered calls end with StatusLost at once instead of waiting for
//     their deadlines. The emulator notices it in two ways: the process's
//     pending long poll is aborted (the SDK always keeps one open while it
//     lives; its HTTP client has no timeout), or the process was started by
//     StartProcess and exited. Instance.Lose reports it explicitly for
//     processes started otherwise; Instance.Polls tells a test when a poll
//     waits, so that killing the process will abort it. A lost instance
//     gets no more work.
//   - Credentials are those current when a call is dispatched:
//     SetCredentials rotates them between invocations, InvokeCredentials
//     overrides them for one.
//
// # What it ignores
//
// HTTP functions (x-fc-http-params, StartHttp), PreFreeze (function type 3),
// asynchronous invocation, destinations and FC's own retries (Trigger plays
// a retrying Kafka trigger on top), instance scaling (start instances
// yourself, or let a Supervisor keep one alive), freezing instances between
// invocations, memory limits, billing, the x-fc-log-result and tracing
// machinery, custom-runtime and container APIs, and a failed initializer
// being retried (the instance is lost instead). Responses larger than 32 MiB
// are refused with 413.
//
// # Processes and the trigger
//
// StartProcess runs a function binary as a new instance (its environment
// with FC_RUNTIME_API and FC_FUNCTION_MEMORY_SIZE, as FC sets them) and
// watches its exit; a Supervisor keeps one such process running, replacing it when it
// dies, as FC replaces a crashed instance. Trigger plays FC's Kafka trigger
// on top: it holds per-partition streams of records, sends them in batches
// (random boundaries, partitions interleaved, each partition's order kept,
// one batch per partition in flight), and redelivers failed or timed-out
// batches from at or before their first unacknowledged record, with other
// boundaries and x-fc-retry-count bumped, until every record is
// acknowledged or a partition fails too often in a row. With GiveUpAfter it
// plays errorsTolerance ALL instead: a partition that failed that many
// deliveries in a row has the records of its last failed delivery put on a
// dead-letter list, and goes on after them.
//
// # Records
//
// Requests returns every runtime API request: which instance made it, the
// call it concerned, the headers sent with each dispatched call and the body
// of each answer, so tests can assert which invocation got which
// credentials. Result.Header holds the headers one call was sent with.
//
// The package has no global state; an Emulator is safe for concurrent use.
package fcemu
