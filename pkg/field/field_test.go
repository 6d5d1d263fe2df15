package field_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

func mustPath(t testing.TB, s string) field.Path {
	t.Helper()
	p, err := field.ParsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path   string
		segs   int
		offset int    // of the error; -1 for none
		reason string // in the error
	}{
		{"user.id", 2, -1, ""},
		{"items.0.sku", 3, -1, ""},
		{"a", 1, -1, ""},
		{"01.-1.x y.ü", 4, -1, ""},
		{"", 0, 0, "empty path"},
		{".a", 0, 0, "empty segment"},
		{"a.", 0, 2, "empty segment"},
		{"a..b", 0, 2, "empty segment"},
		{"a.\xffb", 0, 2, "not UTF-8"},
		{strings.Repeat("a.", field.MaxSegments-1) + "a", field.MaxSegments, -1, ""},
		{strings.Repeat("a.", field.MaxSegments) + "a", 0, 0, "segments"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			p, err := field.ParsePath(tc.path)
			if tc.offset < 0 {
				if err != nil {
					t.Fatal(err)
				}
				if p.Len() != tc.segs || p.String() != tc.path {
					t.Fatalf("got %d segments, %q", p.Len(), p.String())
				}
				return
			}
			var pe *field.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *PathError", err)
			}
			if pe.Offset != tc.offset || !strings.Contains(pe.Reason, tc.reason) {
				t.Fatalf("got offset %d reason %q, want %d %q", pe.Offset, pe.Reason, tc.offset, tc.reason)
			}
		})
	}
}

// lookupCases are shared by TestLookup and the fuzz seeds. text is the
// Value's Text; err the expected error of Lookup (strict).
var lookupCases = []struct {
	name, doc, path string
	kind            field.Kind
	raw, text       string
	err             error
}{
	{"string", `{"user":{"id":"u1"}}`, "user.id", field.String, `"u1"`, "u1", nil},
	{"number", `{"n":-1.5e3}`, "n", field.Number, `-1.5e3`, "-1.5e3", nil},
	{"true", `{"b":true}`, "b", field.Bool, `true`, "true", nil},
	{"false", `{"b":false}`, "b", field.Bool, `false`, "false", nil},
	{"null", `{"x":null}`, "x", field.Null, `null`, "null", nil},
	{"object compacted", `{"o": { "a" : [1, 2] , "s":" x "} }`, "o", field.Object, `{ "a" : [1, 2] , "s":" x "}`, `{"a":[1,2],"s":" x "}`, nil},
	{"array", `{"a":[1,"2",{}]}`, "a", field.Array, `[1,"2",{}]`, `[1,"2",{}]`, nil},
	{"array index", `{"items":[{"sku":"a"},{"sku":"b"}]}`, "items.1.sku", field.String, `"b"`, "b", nil},
	{"index zero", `[["x"]]`, "0.0", field.String, `"x"`, "x", nil},
	{"numeric member", `{"items":{"0":{"sku":"m"}}}`, "items.0.sku", field.String, `"m"`, "m", nil},
	{"non-canonical index is a name only", `{"a":["x","y"]}`, "a.01", 0, "", "", field.ErrMissing},
	{"non-canonical member", `{"a":{"01":"y"}}`, "a.01", field.String, `"y"`, "y", nil},
	{"index out of range", `{"a":[1]}`, "a.1", 0, "", "", field.ErrMissing},
	{"escapes", `{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4fc3"}`, "s", field.String, `"a\"b\\c\/d\b\f\n\r\t\u00e9\u4fc3"`, "a\"b\\c/d\b\f\n\r\té促", nil},
	{"surrogate pair", `{"s":"\ud83d\ude00"}`, "s", field.String, `"\ud83d\ude00"`, "😀", nil},
	{"lone high surrogate", `{"s":"\ud83dx"}`, "s", field.String, `"\ud83dx"`, "\uFFFDx", nil},
	{"lone low surrogate", `{"s":"\ude00"}`, "s", field.String, `"\ude00"`, "\uFFFD", nil},
	{"high then non-low", `{"s":"\ud83d\u0041"}`, "s", field.String, `"\ud83d\u0041"`, "\uFFFDA", nil},
	{"escaped member name", `{"us\u0065r":{"i\u0064":7}}`, "user.id", field.Number, `7`, "7", nil},
	{"escaped name mismatch", `{"us\u0065rs":1}`, "user", 0, "", "", field.ErrMissing},
	{"non-ASCII name", `{"用户":{"名":"李"}}`, "用户.名", field.String, `"李"`, "李", nil},
	{"raw invalid UTF-8 kept", "{\"s\":\"a\xffb\"}", "s", field.String, "\"a\xffb\"", "a\xffb", nil},
	{"first duplicate wins", `{"a":1,"a":2}`, "a", field.Number, `1`, "1", nil},
	{"first duplicate wins even without the rest of the path", `{"a":1,"a":{"b":2}}`, "a.b", 0, "", "", field.ErrMissing},
	{"late field", `{"x":{"y":[1,{"z":"}"}]},"q":"\"","id":"late"}`, "id", field.String, `"late"`, "late", nil},
	{"whitespace", " \t\n{ \"a\" :\r\n\"v\" }\n ", "a", field.String, `"v"`, "v", nil},
	{"missing", `{"a":1}`, "b", 0, "", "", field.ErrMissing},
	{"through a scalar", `{"a":"s"}`, "a.b", 0, "", "", field.ErrMissing},
	{"top-level scalar", `"s"`, "a", 0, "", "", field.ErrMissing},
	{"empty object", `{}`, "a", 0, "", "", field.ErrMissing},
	{"empty array", `[]`, "0", 0, "", "", field.ErrMissing},
	{"text", `hello world`, "a", 0, "", "", field.ErrNotJSON},
	{"empty", ``, "a", 0, "", "", field.ErrNotJSON},
	{"truncated after the field", `{"user":{"id":"u1"},"x":`, "user.id", 0, "", "", field.ErrNotJSON},
	{"trailing text", `{"a":1} x`, "a", 0, "", "", field.ErrNotJSON},
	{"two values", `{"a":1}{"a":2}`, "a", 0, "", "", field.ErrNotJSON},
	{"trailing comma", `{"a":1,}`, "a", 0, "", "", field.ErrNotJSON},
	{"array trailing comma", `[1,]`, "0", 0, "", "", field.ErrNotJSON},
	{"single quotes", `{'a':1}`, "a", 0, "", "", field.ErrNotJSON},
	{"control char in string", "{\"a\":\"x\ny\"}", "a", 0, "", "", field.ErrNotJSON},
	{"bad escape", `{"a":"\x"}`, "a", 0, "", "", field.ErrNotJSON},
	{"short unicode escape", `{"a":"\u12"}`, "a", 0, "", "", field.ErrNotJSON},
	{"leading zero", `{"a":01}`, "a", 0, "", "", field.ErrNotJSON},
	{"bare minus", `{"a":-}`, "a", 0, "", "", field.ErrNotJSON},
	{"no fraction digits", `{"a":1.}`, "a", 0, "", "", field.ErrNotJSON},
	{"no exponent digits", `{"a":1e+}`, "a", 0, "", "", field.ErrNotJSON},
	{"bad literal", `{"a":tru}`, "a", 0, "", "", field.ErrNotJSON},
	{"missing colon", `{"a" 1}`, "a", 0, "", "", field.ErrNotJSON},
	{"mismatched close", `{"a":[1}`, "a", 0, "", "", field.ErrNotJSON},
	{"unclosed string", `{"a":"x`, "a", 0, "", "", field.ErrNotJSON},
	{"deep but allowed", strings.Repeat("[", field.MaxDepth-1) + `{"a":1}` + strings.Repeat("]", field.MaxDepth-1), "0", field.Array, "", "", nil},
	{"too deep", `{"a":` + strings.Repeat("[", field.MaxDepth) + strings.Repeat("]", field.MaxDepth) + "}", "a", 0, "", "", field.ErrNotJSON},
}

func TestLookup(t *testing.T) {
	for _, tc := range lookupCases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPath(t, tc.path)
			v, err := field.Lookup([]byte(tc.doc), p)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if v.Kind != tc.kind {
				t.Fatalf("kind %v, want %v", v.Kind, tc.kind)
			}
			if tc.raw == "" && tc.text == "" {
				return // too long to write down
			}
			if string(v.Raw) != tc.raw {
				t.Fatalf("raw %q, want %q", v.Raw, tc.raw)
			}
			if got := v.Text(nil); string(got) != tc.text {
				t.Fatalf("Text %q, want %q", got, tc.text)
			}
			if got := v.AppendText([]byte("pre")); string(got) != "pre"+tc.text {
				t.Fatalf("AppendText %q, want %q", got, "pre"+tc.text)
			}
			if field.Valid([]byte(tc.doc)) != true {
				t.Fatal("Valid says no")
			}
		})
	}
}

// TestLookupValidStopsEarly: LookupValid trusts the document, so a field
// before a syntax error is found, while Lookup refuses the document.
func TestLookupValidStopsEarly(t *testing.T) {
	doc := []byte(`{"user":{"id":"u1"},"x":`)
	p := mustPath(t, "user.id")
	v, err := field.LookupValid(doc, p)
	if err != nil || string(v.Text(nil)) != "u1" {
		t.Fatalf("LookupValid: %q, %v", v.Raw, err)
	}
	if _, err := field.Lookup(doc, p); !errors.Is(err, field.ErrNotJSON) {
		t.Fatalf("Lookup: %v, want ErrNotJSON", err)
	}
	// On valid documents both agree.
	for _, tc := range lookupCases {
		if tc.err == field.ErrNotJSON {
			continue
		}
		p := mustPath(t, tc.path)
		a, errA := field.Lookup([]byte(tc.doc), p)
		b, errB := field.LookupValid([]byte(tc.doc), p)
		if errA != errB || a.Kind != b.Kind || string(a.Raw) != string(b.Raw) {
			t.Errorf("%s: Lookup %v %q, LookupValid %v %q", tc.name, errA, a.Raw, errB, b.Raw)
		}
	}
}

func TestZeroValue(t *testing.T) {
	var v field.Value
	if v.Text(nil) != nil || string(v.AppendText([]byte("x"))) != "x" || v.Kind.String() != "invalid" {
		t.Fatal("zero Value is not empty")
	}
	if _, err := field.Lookup([]byte(`{"a":1}`), field.Path{}); !errors.Is(err, field.ErrMissing) {
		t.Fatalf("zero Path: %v", err)
	}
	if _, err := field.Lookup([]byte(`{`), field.Path{}); !errors.Is(err, field.ErrNotJSON) {
		t.Fatalf("zero Path, bad doc: %v", err)
	}
}

func TestTextUsesBuffer(t *testing.T) {
	v, err := field.Lookup([]byte(`{"s":"a\nb","o":{ "k" : 1 }}`), mustPath(t, "s"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 16)
	if got := v.Text(buf); string(got) != "a\nb" || &got[0] != &buf[:1][0] {
		t.Fatalf("Text %q did not use the buffer", got)
	}
}

func TestValueJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  events.Record
		want string
		ok   bool
	}{
		{"json", events.Record{ValueKind: events.ValueJSON, Value: []byte(`{"a":1}`)}, `{"a":1}`, true},
		{"text holding json", events.Record{ValueKind: events.ValueBytes, Value: []byte(` {"a":1} `)}, ` {"a":1} `, true},
		{"text holding a json string", events.Record{ValueKind: events.ValueBytes, Value: []byte(`"s"`)}, `"s"`, true},
		{"plain text", events.Record{ValueKind: events.ValueBytes, Value: []byte(`hello`)}, "", false},
		{"empty", events.Record{ValueKind: events.ValueBytes, Value: []byte{}}, "", false},
		{"null", events.Record{ValueKind: events.ValueNull}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := field.ValueJSON(&tc.rec)
			if ok != tc.ok || string(got) != tc.want {
				t.Fatalf("got %q %v, want %q %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLookupValue(t *testing.T) {
	p := mustPath(t, "user.id")
	for _, tc := range []struct {
		name string
		rec  events.Record
		text string
		err  error
	}{
		{"json", events.Record{ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":"u1"}}`)}, "u1", nil},
		{"text holding json", events.Record{ValueKind: events.ValueBytes, Value: []byte(`{"user":{"id":42}}`)}, "42", nil},
		// Read up to the field: what follows it is not looked at.
		{"text holding json broken after the field", events.Record{ValueKind: events.ValueBytes, Value: []byte(`{"user":{"id":42}`)}, "42", nil},
		{"text holding json broken before the field", events.Record{ValueKind: events.ValueBytes, Value: []byte(`{"a":tru,"user":{"id":42}}`)}, "", field.ErrNotJSON},
		{"plain text", events.Record{ValueKind: events.ValueBytes, Value: []byte(`user.id=1`)}, "", field.ErrNotJSON},
		{"missing", events.Record{ValueKind: events.ValueJSON, Value: []byte(`{"user":{}}`)}, "", field.ErrMissing},
		{"tombstone", events.Record{ValueKind: events.ValueNull}, "", field.ErrNullValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := field.LookupValue(&tc.rec, p)
			if err != tc.err || string(v.Text(nil)) != tc.text {
				t.Fatalf("got %q %v, want %q %v", v.Text(nil), err, tc.text, tc.err)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct {
		name, headers, header string
		kind                  field.Kind
		text                  string
		ok                    bool
	}{
		{"found", `[{"key":"tenant","value":"acme"}]`, "tenant", field.String, "acme", true},
		{"first wins", `[{"key":"t","value":"1"},{"key":"t","value":"2"}]`, "t", field.String, "1", true},
		{"later header", `[{"key":"a","value":"1"},{"key":"t","value":"2"}]`, "t", field.String, "2", true},
		{"value before key", `[{"value":"v","key":"t"}]`, "t", field.String, "v", true},
		{"null value", `[{"key":"t","value":null}]`, "t", field.Null, "null", true},
		{"no value member", `[{"key":"t"}]`, "t", field.Null, "null", true},
		{"escaped key and value", `[{"key":"t\u0065nant","value":"a\/b"}]`, "tenant", field.String, "a/b", true},
		{"escaped member names", `[{"k\u0065y":"t","valu\u0065":"v"}]`, "t", field.String, "v", true},
		{"case-sensitive", `[{"key":"Tenant","value":"x"}]`, "tenant", 0, "", false},
		{"missing", `[{"key":"a","value":"1"}]`, "t", 0, "", false},
		{"empty list", `[]`, "t", 0, "", false},
		{"nil", ``, "t", 0, "", false},
		{"not an array", `{"key":"t","value":"v"}`, "t", 0, "", false},
		{"non-object elements skipped", `[1,"t",null,{"key":"t","value":"v"}]`, "t", field.String, "v", true},
		{"non-string key skipped", `[{"key":1,"value":"x"},{"key":"1","value":"y"}]`, "1", field.String, "y", true},
		{"duplicate key member: first wins", `[{"key":"a","key":"t","value":"x"}]`, "t", 0, "", false},
		{"whitespace", ` [ { "key" : "t" , "value" : "v" } ] `, "t", field.String, "v", true},
		{"malformed", `[{"key":"a","value":"1"},{"key":"t","value":`, "t", 0, "", false},
		{"found before malformed", `[{"key":"t","value":"1"},{`, "t", field.String, "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := events.Record{Headers: []byte(tc.headers)}
			if tc.headers == "" {
				rec.Headers = nil
			}
			v, ok := field.Header(&rec, tc.header)
			if ok != tc.ok || v.Kind != tc.kind || string(v.Text(nil)) != tc.text {
				t.Fatalf("got %v %v %q, want %v %v %q", ok, v.Kind, v.Text(nil), tc.ok, tc.kind, tc.text)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	doc := orderDoc(t)
	late := mustPath(t, "tenant")
	escaped := mustPath(t, "notes")
	rec := events.Record{ValueKind: events.ValueBytes, Value: doc, Headers: []byte(`[{"key":"a","value":"1"},{"key":"tenant","value":"acme"}]`)}
	var buf [64]byte
	for name, fn := range map[string]func(){
		"Lookup":      func() { _, _ = field.Lookup(doc, late) },
		"LookupValid": func() { _, _ = field.LookupValid(doc, late) },
		"LookupValue": func() { _, _ = field.LookupValue(&rec, late) },
		"Header":      func() { _, _ = field.Header(&rec, "tenant") },
		"Text": func() {
			v, _ := field.Lookup(doc, escaped)
			_ = v.Text(buf[:0])
		},
		"not JSON": func() { _, _ = field.Lookup([]byte("plain text value"), late) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}
