package field_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

func orderDoc(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// refLookup is the reference: encoding/json's streaming decoder, reading
// members in order so that the first of a repeated name wins. It returns
// the raw value or nil.
func refLookup(raw []byte, segs []string) []byte {
	if len(segs) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil
			}
			var m json.RawMessage
			if err := dec.Decode(&m); err != nil {
				return nil
			}
			if k.(string) == segs[0] {
				return refLookup(m, segs[1:])
			}
		}
	case json.Delim('['):
		for n := 0; dec.More(); n++ {
			var m json.RawMessage
			if err := dec.Decode(&m); err != nil {
				return nil
			}
			if idx, ok := refIndex(segs[0]); ok && idx == n {
				return refLookup(m, segs[1:])
			}
		}
	}
	return nil
}

func refIndex(s string) (int, bool) {
	if s == "" || len(s) > 10 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n < 1<<31
}

// refText is the text the reference gives a raw value: encoding/json's
// string (with invalid UTF-8 replaced), else the compact literal or JSON.
func refText(raw []byte) string {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			panic(err)
		}
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		panic(err)
	}
	return b.String()
}

// fixUTF8 replaces each byte that is not UTF-8 with U+FFFD, as encoding/json
// does (Lookup keeps such bytes).
func fixUTF8(b []byte) string {
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[n:]
	}
	return string(out)
}

func splitPath(s string) []string {
	return bytes2strings(bytes.Split([]byte(s), []byte(".")))
}

func bytes2strings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// checkAgainstRef compares Lookup with the reference for one document.
func checkAgainstRef(t *testing.T, doc []byte, path string) {
	p, err := field.ParsePath(path)
	if err != nil {
		return
	}
	v, err := field.Lookup(doc, p)
	valid := json.Valid(doc)
	if valid != !errors.Is(err, field.ErrNotJSON) {
		t.Fatalf("doc %q: json.Valid %v, Lookup %v", doc, valid, err)
	}
	if !valid {
		_, _ = field.LookupValid(doc, p) // unspecified, but it must not panic
		return
	}
	if !utf8.Valid(doc) {
		return // encoding/json repairs member names before comparing them; Lookup does not
	}
	want := refLookup(doc, splitPath(path))
	if want == nil {
		if !errors.Is(err, field.ErrMissing) {
			t.Fatalf("doc %q path %q: got %q %v, want missing", doc, path, v.Raw, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("doc %q path %q: got %v, want %q", doc, path, err, want)
	}
	if !bytes.Equal(v.Raw, bytes.TrimSpace(want)) {
		t.Fatalf("doc %q path %q: raw %q, want %q", doc, path, v.Raw, want)
	}
	if got, w := fixUTF8(v.Text(nil)), refText(want); got != w {
		t.Fatalf("doc %q path %q: text %q, want %q", doc, path, got, w)
	}
	lv, lerr := field.LookupValid(doc, p)
	if lerr != nil || !bytes.Equal(lv.Raw, v.Raw) {
		t.Fatalf("doc %q path %q: LookupValid %q %v, Lookup %q", doc, path, lv.Raw, lerr, v.Raw)
	}
}

func TestAgainstEncodingJSON(t *testing.T) {
	doc := orderDoc(t)
	for _, path := range []string{
		"user.id", "user.name", "items.0.sku", "items.2.price", "items.3", "shipping.address.city",
		"coupon", "tags.2", "notes", "flags.gift", "tenant", "trace", "nope", "user.id.x",
	} {
		checkAgainstRef(t, doc, path)
	}
	for _, tc := range lookupCases {
		checkAgainstRef(t, []byte(tc.doc), tc.path)
	}
}

// FuzzLookup: Lookup never panics, agrees with encoding/json on what is
// JSON, and finds what the reference finds.
// go test -run XXX -fuzz FuzzLookup ./pkg/field/
func FuzzLookup(f *testing.F) {
	f.Add(orderDoc(f), "items.1.sku")
	for _, tc := range lookupCases {
		if len(tc.doc) < 1000 {
			f.Add([]byte(tc.doc), tc.path)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		checkAgainstRef(t, doc, path)
	})
}

// FuzzHeader: Header never panics and finds only string or null values.
func FuzzHeader(f *testing.F) {
	f.Add([]byte(`[{"key":"t","value":"v"}]`), "t")
	f.Add([]byte(`[{"key":"t","value":null},{"key":"u"}]`), "u")
	f.Fuzz(func(t *testing.T, headers []byte, name string) {
		v, ok := field.Header(&events.Record{Headers: headers}, name)
		if ok && v.Kind == field.Invalid {
			t.Fatalf("found an invalid value")
		}
	})
}
