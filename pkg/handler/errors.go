package handler

import (
	"errors"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// The error types an invocation fails with. Function Compute reports the type
// name as errorType, so the name says what failed and whether the trigger's
// retry can help.

// BadEventError: the batch is malformed (which element, which field is in
// the message). Nothing was written; redelivering the same batch fails the
// same way, so the trigger's retries only end in its dead-letter queue or
// stop the task, depending on its errorsTolerance.
type BadEventError struct{ Err error }

func (e *BadEventError) Error() string {
	return "bad event, nothing written (retrying cannot help): " + e.Err.Error()
}
func (e *BadEventError) Unwrap() error { return e.Err }

// WriteError: storing the batch failed part-way (OSS unreachable, throttled,
// the invocation's time ran out, the process told to stop). The partitions'
// state is consistent; redelivery resumes where this attempt stopped.
type WriteError struct{ Err error }

func (e *WriteError) Error() string {
	return "write failed, the trigger's retry will resume it: " + e.Err.Error()
}
func (e *WriteError) Unwrap() error { return e.Err }

// StateConflictError: a partition's objects disagree with its meta object in
// a way no retry of this batch explains (a concurrent writer, objects edited
// by hand, a lost meta object, SINK_FORMAT changed while a batch was
// pending). Nothing was written for that partition; an operator must look.
type StateConflictError struct{ Err error }

func (e *StateConflictError) Error() string {
	return "partition state conflict, nothing written for it (retrying will not help until resolved): " + e.Err.Error()
}
func (e *StateConflictError) Unwrap() error { return e.Err }

// ConfigError: the function's configuration is invalid; every invocation
// fails the same way until it is fixed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string {
	return "kafka-oss-sink is misconfigured (fix the function's environment variables): " + e.Err.Error()
}
func (e *ConfigError) Unwrap() error { return e.Err }

// classifyWrite wraps an error of sink.Write.
func classifyWrite(err error) error {
	if errors.Is(err, sink.ErrConflict) || errors.Is(err, sink.ErrMetaMissing) || errors.Is(err, sink.ErrMetaInvalid) {
		return &StateConflictError{err}
	}
	return &WriteError{err}
}
