package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// onePassBodies returns raw string bodies (as they appear between the
// quotes) that put escapes, non-ASCII runes and invalid UTF-8 at every
// position the one-pass scanner treats apart: within and across 8-byte
// words, in the first 64 bytes and past them, at the 1 KB window edges, with
// fewer and more than 8 bytes of shrinkage behind the write position (where
// the in-place word stores start), and at the end of the body.
func onePassBodies() map[string]string {
	escapes := []string{`\"`, `\\`, `\/`, `\n`, `\t`, `\b`, `\f`, `\r`, `\u00e9`, `\u0000`, `\u2028`,
		`\ud83d\ude00`, `\ud800x`, `\ud800\u0041`, `\udc00`, "é", "杭", "😀", "\xff", "\xe6\x9d", "\xed\xa0\x80"}
	bodies := map[string]string{}
	for _, esc := range escapes {
		for _, pre := range []int{0, 1, 5, 6, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1023, 1087, 1088, 1089, 2200} {
			for _, post := range []int{0, 1, 7, 8, 9, 40, 1500} {
				bodies[fmt.Sprintf("%q at %d, %d after", esc, pre, post)] = strings.Repeat("a", pre) + esc + strings.Repeat("b", post)
			}
		}
		// k dense escapes first, so the write position trails the read
		// position by k bytes, then a run and the escape under test.
		for k := range 12 {
			bodies[fmt.Sprintf("%q after %d escapes", esc, k)] = strings.Repeat(`\"`, k) + strings.Repeat("x", 13) + esc + "yz" + `\n`
		}
		bodies[fmt.Sprintf("%q dense", esc)] = strings.Repeat(esc+`ab\"`, 300)
	}
	// JSON text in a string, and non-ASCII every 17 bytes of a long run.
	bodies["json text"] = strings.Repeat(`{\"id\":\"o-12\",\"qty\":3,\"name\":\"a b\"},`, 200)
	bodies["cjk every 17 bytes"] = strings.Repeat("abcdefghijklmnop杭", 400)
	bodies["invalid after escapes"] = strings.Repeat(`\"`, 10) + "\xff" + strings.Repeat(`a\n`, 50) + "\xc3" + "end"
	return bodies
}

// TestOnePassStrings decodes each body as a value, in the arena, in place,
// and with a warm Decoder whose arena is smaller than the value (so that it
// grows mid-string), and checks the value against encoding/json's reading of
// the same string.
func TestOnePassStrings(t *testing.T) {
	dec, err := events.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	small := []byte(`[{"topic":"t","partition":0,"offset":0,"value":"\"x\""}]`)
	for name, body := range onePassBodies() {
		t.Run(name, func(t *testing.T) {
			quoted := []byte(`"` + body + `"`)
			var want string
			if err := json.Unmarshal(quoted, &want); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			payload := []byte(`[{"topic":"t","partition":0,"offset":0,"key":` + string(quoted) + `,"value":` + string(quoted) + `}]`)
			check := func(how string, recs []events.Record, err error) {
				t.Helper()
				if err != nil || len(recs) != 1 {
					t.Fatalf("%s: %d records, %v", how, len(recs), err)
				}
				if !bytes.Equal(recs[0].Value, []byte(want)) || !bytes.Equal(recs[0].Key, []byte(want)) {
					t.Fatalf("%s: value %q,\nwant %q", how, recs[0].Value, want)
				}
			}
			recs, err := events.Decode(payload)
			check("arena", recs, err)
			recs, err = events.Decode(append([]byte(nil), payload...), events.InPlace())
			check("in place", recs, err)
			if _, err := dec.Decode(small); err != nil {
				t.Fatal(err)
			}
			recs, err = dec.Decode(payload)
			check("warm decoder", recs, err)
		})
	}
}

// TestOnePassErrors checks that malformed bodies fail where encoding/json
// says, whether the error comes before or after the first escape.
func TestOnePassErrors(t *testing.T) {
	for _, tc := range []struct{ body, msg string }{
		{"abc\x01", "invalid character '\\x01' in string literal"},
		{`\"\"` + "ab\x1f", "invalid character '\\x1f' in string literal"},
		{strings.Repeat("a", 100) + `\q`, "invalid character 'q' in string escape code"},
		{`\"` + strings.Repeat("a", 2000) + `\u12g4`, "invalid character 'g' in \\u hexadecimal character escape"},
		{`\"` + strings.Repeat("a", 30) + "\x02", "invalid character '\\x02' in string literal"},
	} {
		payload := []byte(`[{"topic":"t","partition":0,"offset":0,"value":"` + tc.body + `"}]`)
		for _, opts := range [][]events.Option{nil, {events.InPlace()}} {
			_, err := events.Decode(append([]byte(nil), payload...), opts...)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%q: error %v, want %q", tc.body, err, tc.msg)
			}
		}
		var v any
		if err := json.Unmarshal(payload, &v); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: encoding/json says %v: the case is wrong", tc.body, err)
		}
	}
	// Unterminated, after an escape: the end of the input.
	if _, err := events.Decode([]byte(`[{"value":"\"abc`)); err == nil || !strings.Contains(err.Error(), "unexpected end of JSON input") {
		t.Errorf("unterminated string: %v", err)
	}
}

// TestJSONValueDepth checks JSON values around the depth where the loop
// validator hands over to the recursive one, and past encoding/json's limit.
func TestJSONValueDepth(t *testing.T) {
	for _, depth := range []int{1, 63, 64, 65, 200, 9990, 10001} {
		v := strings.Repeat(`{"a":[`, depth/2) + strings.Repeat("[", depth%2) + "1" + strings.Repeat("]", depth%2) + strings.Repeat(`]}`, depth/2)
		payload := []byte(`[{"topic":"t","partition":0,"offset":0,"value":` + v + `}]`)
		recs, err := events.Decode(payload)
		var ref any
		refErr := json.Unmarshal(payload, &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("depth %d: error %v, encoding/json %v", depth, err, refErr)
		}
		if err == nil && (len(recs) != 1 || string(recs[0].Value) != v || recs[0].ValueKind != events.ValueJSON) {
			t.Fatalf("depth %d: %d records, value of %d bytes", depth, len(recs), len(recs[0].Value))
		}
	}
}
