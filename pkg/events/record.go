package events

// Record is one Kafka record as the trigger delivered it, decoded.
//
// Byte slices may alias the payload passed to Decode (zero-copy where the
// payload needed no unescaping); callers must not modify them and must keep
// the payload alive as long as the records.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64 // milliseconds since the epoch, as delivered (0 if absent)

	// Key is the record key; HasKey is false when the key was absent or null.
	Key    []byte
	HasKey bool

	// Value is the record value: the unescaped string for Text, the decoded
	// bytes for Binary (base64), the compact JSON text for a Json value
	// (ValueKind == ValueJSON), and nil for a null value.
	Value     []byte
	ValueKind ValueKind

	// Headers is the compact JSON text of data.headers.headers (a JSON array),
	// or nil when absent or null. Kept verbatim: its element shape is not
	// documented by the trigger.
	Headers []byte

	// Index is the position of the record's element in the batch (0-based),
	// for error messages.
	Index int
}

// ValueKind says how Record.Value was carried in the payload.
type ValueKind uint8

const (
	// ValueBytes: a JSON string, taken as text or as base64 per ValueEncoding.
	ValueBytes ValueKind = iota
	// ValueJSON: any other JSON value (Json data format); Value is its compact JSON text.
	ValueJSON
	// ValueNull: value was null or absent (a tombstone).
	ValueNull
)

// ValueEncoding says how a string value is to be read. It cannot be detected
// from the payload: the trigger's Text and Binary data formats both send a
// JSON string.
type ValueEncoding uint8

const (
	// Text: the string is the value (UTF-8 text).
	Text ValueEncoding = iota
	// Base64: the string is standard base64 of the value bytes (Binary data format).
	Base64
)
