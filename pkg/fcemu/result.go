package fcemu

import (
	"fmt"
	"net/http"
	"time"
)

// Kind is the kind of a call, as sent in x-fc-function-type.
type Kind uint8

// Kinds of call.
const (
	KindInvoke      Kind = 0
	KindInitializer Kind = 1
	KindPreStop     Kind = 2
)

func (k Kind) String() string {
	switch k {
	case KindInvoke:
		return "invoke"
	case KindInitializer:
		return "initializer"
	case KindPreStop:
		return "prestop"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Status is how a call ended.
type Status uint8

// Statuses of a finished call.
const (
	// StatusOK: the function posted .../response.
	StatusOK Status = iota + 1
	// StatusError: the function posted .../error (a returned error, a
	// panic, a missing lifecycle hook).
	StatusError
	// StatusTimeout: no answer by the deadline plus the grace.
	StatusTimeout
	// StatusLost: the instance the call was sent to (or meant for) went
	// away before answering.
	StatusLost
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	case StatusTimeout:
		return "timeout"
	case StatusLost:
		return "lost"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Result is how one call ended.
type Result struct {
	RequestID string
	Kind      Kind
	Instance  int // ID of the instance it was sent to; 0 if never dispatched
	Status    Status

	// Body is what the function posted: the response payload, or the raw
	// error document.
	Body []byte
	// ErrorType and ErrorMessage come from the error document
	// ({"errorType","errorMessage"}); for a timeout or a lost instance,
	// ErrorMessage says so and ErrorType is empty.
	ErrorType    string
	ErrorMessage string

	Header     http.Header // the headers the call was dispatched with
	Dispatched time.Time   // when the function received it
	Deadline   time.Time   // x-fc-function-deadline
	Answered   time.Time   // when it ended (answer, timeout or loss)
	Duration   time.Duration
}

// Failed reports whether the call did not end with a response.
func (r Result) Failed() bool { return r.Status != StatusOK }

func (r Result) String() string {
	s := fmt.Sprintf("%s %s: %s after %v", r.Kind, r.RequestID, r.Status, r.Duration.Round(time.Millisecond))
	if r.ErrorType != "" || r.ErrorMessage != "" {
		s += fmt.Sprintf(" (%s: %s)", r.ErrorType, r.ErrorMessage)
	}
	return s
}

// Op names a runtime API operation in the request log.
type Op string

// Runtime API operations.
const (
	OpNext     Op = "next"
	OpResponse Op = "response"
	OpError    Op = "error"
	OpUnknown  Op = "unknown"
)

// Request is one runtime API request, as logged.
type Request struct {
	Time      time.Time
	Instance  int
	Op        Op
	Method    string
	Path      string
	RequestID string // the call dispatched (next) or answered (response, error); "" for an aborted poll
	Kind      Kind   // of that call
	// Header: for next, the headers sent with the call; for answers, those
	// received.
	Header http.Header
	Body   []byte // answers only
	Status int    // HTTP status of the reply; 0 for an aborted poll
	Late   bool   // an answer for a call that had already ended
}
