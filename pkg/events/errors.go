package events

import (
	"strconv"
	"strings"
)

// DecodeError reports a payload that Decode could not turn into records.
//
// Every error returned by Decode for bad input is a *DecodeError; use
// errors.As to get at its position.
type DecodeError struct {
	// Index is the position of the offending element in the batch (0-based; a
	// single-object payload is element 0), or -1 when the error is about the
	// payload as a whole (not JSON, bad array syntax, trailing data).
	Index int
	// Field is the dotted path of the member at fault inside the element, such
	// as "data.offset" (CloudEvent) or "offset" (RawData), or "" when the error
	// is about the element itself.
	Field string
	// Offset is the byte offset in the payload where the problem was found.
	// Inside a string element it is mapped back from the unescaped text to
	// the payload.
	Offset int
	// Msg says what is wrong.
	Msg string
	// Syntax is true when the payload is not well-formed JSON, false when it is
	// JSON that breaks a rule of the trigger's format (a missing or negative
	// offset, a wrong type, bad base64...).
	Syntax bool
	// Err is the underlying cause, if any (for example a
	// base64.CorruptInputError).
	Err error
}

// Error reads like "event[3]: data.offset: byte 1042: negative offset -1" or
// "payload: byte 17: unexpected end of JSON input".
func (e *DecodeError) Error() string {
	var sb strings.Builder
	if e.Index < 0 {
		sb.WriteString("payload")
	} else {
		sb.WriteString("event[")
		sb.WriteString(strconv.Itoa(e.Index))
		sb.WriteByte(']')
	}
	if e.Field != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Field)
	}
	sb.WriteString(": byte ")
	sb.WriteString(strconv.Itoa(e.Offset))
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	return sb.String()
}

// Unwrap returns the underlying cause, if any.
func (e *DecodeError) Unwrap() error { return e.Err }
