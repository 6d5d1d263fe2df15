package parquetfile

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

func headersOf(h []byte) []gotHeader {
	hs, buf := parseHeaders(nil, nil, h)
	out := []gotHeader{}
	for _, e := range hs {
		g := gotHeader{Key: string(e.key.of(buf))}
		if e.hasValue {
			g.Value = ptr(string(e.value.of(buf)))
		}
		out = append(out, g)
	}
	return out
}

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		in   string
		want []gotHeader
	}{
		{``, []gotHeader{}},
		{`[]`, []gotHeader{}},
		{`null`, []gotHeader{}},
		{`[{"key":"a","value":"b"}]`, []gotHeader{{"a", ptr("b")}}},
		{`[{"key":"","value":""}]`, []gotHeader{{"", ptr("")}}},
		{`[{"key":"a","value":null},{"key":"b"}]`, []gotHeader{{"a", nil}, {"b", nil}}},
		{`[{"key":"\"\\\/\b\f\n\r\t\u0041\ud83d\ude00"}]`, []gotHeader{{"\"\\/\b\f\n\r\tA😀", nil}}},
		// the slow path
		{`[{"key":"a","key":"b","value":"c"}]`, []gotHeader{{"b", ptr("c")}}}, // last wins, as encoding/json
		{`[{"k\u0065y":"a"}]`, []gotHeader{{"a", nil}}},
		{`[ ]`, []gotHeader{}},
		{`[{"key":null}]`, []gotHeader{{`{"key":null}`, nil}}},
		{`[{"value":"v"}]`, []gotHeader{{`{"value":"v"}`, nil}}},
		{`[{"key":"a","value":{"x": [1, 2]}}]`, []gotHeader{{`{"key":"a","value":{"x":[1,2]}}`, nil}}},
		{`[[1]]`, []gotHeader{{`[1]`, nil}}},
		{`[]x`, []gotHeader{{`[]x`, nil}}},
		{`[{"key":"a"}`, []gotHeader{{`[{"key":"a"}`, nil}}},
		{`[{"key":"a\u00"}]`, []gotHeader{{`[{"key":"a\u00"}]`, nil}}},
		{"[{\"key\":\"a\x01\"}]", []gotHeader{{"[{\"key\":\"a\x01\"}]", nil}}},
		{`"just a string"`, []gotHeader{{`"just a string"`, nil}}},
		{"\xff", []gotHeader{{"\ufffd", nil}}},
		{"[{\"key\":\"\xffa\xc3\"}]", []gotHeader{{"\ufffda\ufffd", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := headersOf([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %s, want %s", show(got2(got)), show(got2(tt.want)))
			}
		})
	}
}

func got2(h []gotHeader) got { return got{Headers: h} }

// FuzzParseHeaders: parsing never fails or panics, gives valid UTF-8, and
// the fast path agrees with encoding/json wherever it accepts the text.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{`[]`, `[{"key":"a","value":"b"}]`, `[{"key":"a","value":null},{"value":"\u00e9","key":"\n"}]`,
		`[{"key":"a"}]`, `[1]`, `x`, `[{"key":"\ud800"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		hs, buf := parseHeaders(nil, nil, h)
		for _, e := range hs {
			if !utf8.Valid(e.key.of(buf)) || !utf8.Valid(e.value.of(buf)) {
				t.Fatalf("invalid UTF-8 from %q", h)
			}
		}
		fast, fbuf, ok := parseHeadersFast(nil, nil, h)
		if !ok {
			return
		}
		slow, sbuf := parseHeadersSlow(nil, nil, h)
		if len(fast) != len(slow) {
			t.Fatalf("%q: fast path %d elements, encoding/json %d", h, len(fast), len(slow))
		}
		for i := range fast {
			a, b := fast[i], slow[i]
			if string(a.key.of(fbuf)) != string(b.key.of(sbuf)) || a.hasValue != b.hasValue ||
				string(a.value.of(fbuf)) != string(b.value.of(sbuf)) {
				t.Fatalf("%q element %d: fast path %q=%q, encoding/json %q=%q", h, i,
					a.key.of(fbuf), a.value.of(fbuf), b.key.of(sbuf), b.value.of(sbuf))
			}
		}
	})
}
