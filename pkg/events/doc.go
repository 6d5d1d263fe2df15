// Package events decodes the body of a Function Compute invocation made by a
// Kafka trigger (an EventBridge event-streaming task) into Kafka records.
//
// # Shapes
//
// Decode accepts a JSON array whose elements may be, each independently:
//
//   - a CloudEvents object (eventSchema CloudEvents, the trigger's default):
//     {"specversion","id","source","type","subject","datacontenttype","time",
//     "aliyunaccountid","data":{...}}; any object with a "data" member is taken
//     as one, and only its data member is read;
//   - a JSON string holding a serialized CloudEvent (the form shown in
//     fc-runtime-go-sdk's README): the string is unescaped and its text must be
//     one JSON object, read by the same rules as an array element;
//   - a RawData object (eventSchema RawData): the bare data object, recognised
//     by a "topic", "partition" or "offset" member.
//
// A single object of either kind may stand in place of the array. An empty
// array decodes to no records. Unknown members are skipped, in any position.
// Member names are matched exactly (case-sensitively), after unescaping; when
// a member is repeated the last one wins, as with encoding/json.
//
// # Fields of data
//
//   - topic: a non-empty string; required.
//   - partition: an integer in [0, 2^31); required.
//   - offset: an integer in [0, 2^63); required.
//   - timestamp: milliseconds since the epoch, as an integer number or a string
//     holding one (an optional sign and decimal digits); absent or null gives 0.
//   - key: a string (Record.HasKey), or absent or null (no key).
//   - value: a JSON string gives ValueBytes: its text, or with
//     WithValueEncoding(Base64) the bytes of its standard, padded base64. Any
//     other JSON value (object, array, number, boolean) gives ValueJSON with its
//     compact JSON text (whitespace outside strings removed). Null or absent
//     gives ValueNull.
//   - headers: absent or null, or an object whose "headers" member is a JSON
//     array (kept verbatim, compacted, in Record.Headers) or null;
//     "isReadOnly" and other members are ignored.
//
// Numbers with a fraction or an exponent are not integers, even when their
// value is whole (1.0, 1e3). Strings are unescaped as encoding/json does:
// invalid UTF-8 bytes and unpaired UTF-16 surrogate escapes become U+FFFD.
// JSON values and header lists are kept as written apart from whitespace, as
// json.Compact does: their strings stay escaped. Control characters inside
// strings, invalid escapes, nesting deeper than 10000 and anything else
// encoding/json rejects as syntax are errors.
//
// # Aliasing
//
// Records point into the payload and into an arena that Decode allocates for
// the strings it had to unescape (one allocation, sized from the payload, in
// the common case). Strings without escapes, compact JSON values and headers
// are sub-slices of the payload; the inner strings of a string element alias
// the arena. Callers must not modify Key, Value or Headers, and must keep the
// payload unmodified for as long as they use the records. Each slice's
// capacity ends at its length, so appending to one copies it. A Decoder
// reuses its arena and records slice: what one call returns is valid until
// the next.
//
// # Errors
//
// Any malformed input makes Decode return no records and a *DecodeError
// saying which element (Index), which member (Field, a dotted path such as
// "data.offset") and which payload byte (Offset) is at fault, and whether the
// payload is not well-formed JSON (Syntax). Inside a string element, Offset is
// mapped back to the payload. Decode never panics.
//
// # Performance
//
// Decode is a single pass over the payload without reflection or
// encoding/json. Each string body is validated and unescaped by the same
// scan: returned in place when it needs no unescaping, otherwise written as
// it is read (over itself with InPlace), eight bytes at a time between
// dense escapes; long runs are found with bytes.IndexByte windows and a
// word-at-a-time test for control and non-ASCII bytes, and non-ASCII text is
// validated rune by rune only where it occurs. Only invalid UTF-8, whose
// repair outgrows the text, takes a second walk. Topics are interned per
// batch; records go to one slice sized from the first element. Besides that
// slice it allocates the arena when some string needs unescaping, one string
// per distinct topic, and little else; a warm Decoder allocates nothing. It
// runs 7 to 26 times faster than encoding/json into the SDK's structs: see
// BenchmarkWorkload. The eventstest package generates full-size batches of
// each shape (Workloads) for such benchmarks.
package events
