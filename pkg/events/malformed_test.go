package events_test

import (
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// malformed lists the expected error of every file in
// ../../testdata/malformed; a file without an entry fails the test.
var malformed = map[string]struct {
	enc    events.ValueEncoding
	index  int
	field  string
	syntax bool
	msg    string // a substring of Msg
}{
	"not-json.json":                       {0, -1, "", true, "invalid character 'K'"},
	"empty-file.json":                     {0, -1, "", true, "unexpected end of JSON input"},
	"truncated.json":                      {0, 1, "data.key", true, "unexpected end of JSON input"},
	"trailing-garbage.json":               {0, -1, "", true, "after top-level value"},
	"trailing-comma.json":                 {0, 1, "", true, "looking for beginning of value"},
	"top-level-number.json":               {0, -1, "", false, "expected a JSON array or object"},
	"element-not-object.json":             {0, 1, "", false, "expected an object or a string, found a number"},
	"neither-shape.json":                  {0, 0, "", false, "neither a CloudEvent"},
	"data-not-object.json":                {0, 0, "data", false, "expected an object, found a string"},
	"missing-topic.json":                  {0, 0, "topic", false, "required member missing"},
	"empty-topic.json":                    {0, 0, "data.topic", false, "empty topic"},
	"topic-dotdot.json":                   {0, 0, "data.topic", false, "not a Kafka topic name"},
	"topic-path.json":                     {0, 0, "data.topic", false, `has "/" at byte 2`},
	"topic-too-long.json":                 {0, 0, "data.topic", false, "250 bytes (1 to 249 allowed)"},
	"topic-control-char.json":             {0, 0, "data.topic", false, `has "\x01" at byte 6`},
	"missing-offset.json":                 {0, 0, "data.offset", false, "required member missing"},
	"partition-string.json":               {0, 0, "data.partition", false, "expected an integer, found a string"},
	"negative-offset.json":                {0, 0, "data.offset", false, "negative offset -1"},
	"non-integer-offset.json":             {0, 0, "data.offset", false, "not an integer: 25.5"},
	"partition-overflow.json":             {0, 0, "data.partition", false, "out of range"},
	"offset-overflow.json":                {0, 0, "data.offset", false, "out of range"},
	"timestamp-not-numeric.json":          {0, 0, "data.timestamp", false, "timestamp string is not an integer"},
	"key-not-string.json":                 {0, 0, "data.key", false, "expected a string or null, found a number"},
	"headers-list-not-array.json":         {0, 0, "data.headers.headers", false, "expected an array, found a string"},
	"bad-base64.json":                     {events.Base64, 0, "data.value", false, "invalid base64"},
	"invalid-escape.json":                 {0, 0, "data.value", true, "invalid character 'x' in string escape code"},
	"invalid-unicode-escape.json":         {0, 0, "data.value", true, "in \\u hexadecimal character escape"},
	"control-char.json":                   {0, 0, "data.value", true, "invalid character '\\x0a' in string literal"},
	"string-element-negative-offset.json": {0, 1, "data.offset", false, "negative offset -3"},
	"string-element-truncated.json":       {0, 0, "id", true, "unexpected end of JSON input"},
}

func TestMalformedSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoTestdata, "malformed", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(malformed) {
		t.Errorf("%d files in testdata/malformed, %d in the table", len(files), len(malformed))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := malformed[name]
			if !ok {
				t.Fatal("no entry in the malformed table")
			}
			payload := readSample(t, filepath.Join("malformed", name))
			recs, err := events.Decode(payload, events.WithValueEncoding(want.enc))
			if recs != nil {
				t.Errorf("got %d records along with the error", len(recs))
			}
			var de *events.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got error %v (%T), want a *DecodeError", err, err)
			}
			if de.Index != want.index || de.Field != want.field || de.Syntax != want.syntax || !strings.Contains(de.Msg, want.msg) {
				t.Errorf("got %v (index %d, field %q, syntax %v), want index %d, field %q, syntax %v, message with %q",
					err, de.Index, de.Field, de.Syntax, want.index, want.field, want.syntax, want.msg)
			}
			if de.Offset < 0 || de.Offset > len(payload) {
				t.Errorf("offset %d outside the payload (%d bytes)", de.Offset, len(payload))
			}
			if _, refErr := refDecode(payload, want.enc); refErr == nil {
				t.Error("the reference decoder accepts this payload")
			}
		})
	}
}

func TestMalformedBase64Unwraps(t *testing.T) {
	_, err := events.Decode(readSample(t, "malformed/bad-base64.json"), events.WithValueEncoding(events.Base64))
	var corrupt base64.CorruptInputError
	if !errors.As(err, &corrupt) {
		t.Errorf("error %v does not unwrap to a base64.CorruptInputError", err)
	}
}

// TestErrors covers errors that need no sample file, with the error text.
func TestErrors(t *testing.T) {
	const ok = `{"topic":"t","partition":0,"offset":1}`
	tests := []struct {
		name    string
		payload string
		want    string // the whole Error()
	}{
		{"whitespace only", " \n ", "payload: byte 3: unexpected end of JSON input"},
		{"unclosed array", "[" + ok, "payload: byte 39: unexpected end of JSON input"},
		{"missing comma", "[" + ok + ok + "]", `payload: byte 39: invalid character '{' after array element`},
		{"null element", "[null]", "event[0]: byte 1: expected an object or a string, found null"},
		{"top-level string", `"x"`, "payload: byte 0: expected a JSON array or object, found a string"},
		{"BOM", "\ufeff[]", `payload: byte 0: invalid character '\xef' looking for beginning of value`},
		{"leading zero", `[{"topic":"t","partition":01,"offset":1}]`, `event[0]: partition: byte 27: invalid character '1' after object key:value pair`},
		{"minus alone", `[{"topic":"t","partition":-,"offset":1}]`, `event[0]: partition: byte 27: invalid character ',' in numeric literal`},
		{"bad literal", `[{"topic":"t","partition":0,"offset":1,"key":nul}]`, `event[0]: key: byte 48: invalid character '}' in literal null`},
		{"negative partition", `[{"topic":"t","partition":-1,"offset":1}]`, "event[0]: partition: byte 26: negative partition -1"},
		{"exponent partition", `[{"topic":"t","partition":1e2,"offset":1}]`, "event[0]: partition: byte 26: partition is not an integer: 1e2"},
		{"missing partition", `[` + ok + `,{"topic":"t","offset":1}]`, "event[1]: partition: byte 63: required member missing"},
		{"timestamp fraction", `[{"topic":"t","partition":0,"offset":1,"timestamp":1.5}]`, "event[0]: timestamp: byte 51: timestamp is not an integer: 1.5"},
		{"timestamp overflow", `[{"topic":"t","partition":0,"offset":1,"timestamp":9223372036854775808}]`, "event[0]: timestamp: byte 51: timestamp 9223372036854775808 out of range"},
		{"timestamp bool", `[{"topic":"t","partition":0,"offset":1,"timestamp":true}]`, "event[0]: timestamp: byte 51: expected a number or a numeric string, found a boolean"},
		{"topic null", `[{"topic":null,"partition":0,"offset":1}]`, "event[0]: topic: byte 10: expected a string, found null"},
		{"only a bad topic", `[{"topic":5}]`, "event[0]: topic: byte 10: expected a string, found a number"},
		{"headers array", `[{"topic":"t","partition":0,"offset":1,"headers":[]}]`, "event[0]: headers: byte 49: expected an object, found an array"},
		{"value unclosed", `[{"topic":"t","partition":0,"offset":1,"value":"abc`, "event[0]: value: byte 51: unexpected end of JSON input"},
		{"member without colon", `[{"topic" "t"}]`, `event[0]: topic: byte 10: invalid character '"' after object key`},
		{"member name not string", `[{topic:1}]`, `event[0]: byte 2: invalid character 't' looking for beginning of object key string`},
		{"data member syntax", `[{"data":{"topic":"t",}}]`, `event[0]: data.topic: byte 22: invalid character '}' looking for beginning of object key string`},
		{"unknown member bad value", `[{"id":[1,2,}]`, `event[0]: id: byte 12: invalid character '}' looking for beginning of value`},
		{"escaped names nested", `[{"d\u0061ta":{"v\u0061lue":1, "x\u0079z":2} x}]`, `event[0]: data: byte 45: invalid character 'x' after object key:value pair`},
		{"escaped unknown member name", `[{"i\u0064":x}]`, `event[0]: id: byte 12: invalid character 'x' looking for beginning of value`},
		{"string element not object", `["[1]"]`, "event[0]: byte 2: string element holds an array, not a JSON object"},
		{"string element empty", `[""]`, "event[0]: byte 2: string element: unexpected end of JSON input"},
		{"string element trailing", `["{\"topic\":\"t\",\"partition\":0,\"offset\":1} x"]`, `event[0]: byte 49: string element: invalid character 'x' after the object`},
		{"string element escape error", `["{\"topic\":\"t\\q\"}"]`, `event[0]: topic: byte 18: invalid character 'q' in string escape code`},
		{"string element bad outer escape", `["{\q"]`, `event[0]: byte 4: invalid character 'q' in string escape code`},
		{"string element control char", "[\"{\\\"topic\\\":\\\"\\u0001\\\"}\"]", `event[0]: topic: byte 15: invalid character '\x01' in string literal`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := events.Decode([]byte(tt.payload))
			if err == nil {
				t.Fatalf("got %d records, no error", len(recs))
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			if _, refErr := refDecode([]byte(tt.payload), events.Text); refErr == nil {
				t.Error("the reference decoder accepts this payload")
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	value := func(depth int) string {
		return strings.Repeat("[", depth) + strings.Repeat("]", depth)
	}
	// The array, the element and data take three levels.
	for _, depth := range []int{10000 - 3, 10000 - 2} {
		payload := `[{"data":{"topic":"t","partition":0,"offset":1,"value":` + value(depth) + `}}]`
		_, err := events.Decode([]byte(payload))
		_, refErr := refDecode([]byte(payload), events.Text)
		if (err == nil) != (refErr == nil) {
			t.Errorf("depth %d: Decode says %v, the reference %v", depth, err, refErr)
		}
		if depth == 10000-2 && (err == nil || !strings.Contains(err.Error(), "exceeded max depth")) {
			t.Errorf("depth %d: got %v, want exceeded max depth", depth, err)
		}
	}
}
