package filter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/filter"
)

// FuzzParse: Parse never panics, refuses with a rule and a column inside
// the spec, and what it accepts can decide any record.
// go test -run XXX -fuzz FuzzParse ./pkg/filter/
func FuzzParse(f *testing.F) {
	for _, tc := range badFilters {
		f.Add(tc.spec)
	}
	f.Add("keep value:user.id exists and not value:user.test = \"true\"\ndrop header:a ~ `b`")
	f.Fuzz(func(t *testing.T, spec string) {
		flt, err := filter.Parse(spec)
		if err != nil {
			var se *filter.SyntaxError
			if !errors.As(err, &se) || se.Rule < 1 || se.Column < 1 || se.Column > len(spec)+1 || !strings.HasPrefix(err.Error(), "SINK_FILTER: rule ") {
				t.Fatalf("spec %q: %v", spec, err)
			}
			return
		}
		for _, rec := range []*events.Record{&recText, &recEmpty, &recTombstone, &recNoKey, &recJSON, &recJSONText, &recHeaders} {
			flt.Decide(rec)
		}
	})
}

// FuzzKeep: on any record, keep and drop of one condition are opposites,
// "not" inverts a term, and exists and missing are opposites.
func FuzzKeep(f *testing.F) {
	f.Add([]byte(`{"user":{"id":"u-1"}}`), uint8(1), []byte("k"), true, []byte(`[{"key":"h","value":"v"}]`))
	f.Add([]byte("ERROR x"), uint8(0), []byte(nil), false, []byte(nil))
	f.Add([]byte(nil), uint8(2), []byte(""), true, []byte(`[{"key":"h","value":null}]`))
	terms := []string{
		`value contains "ERROR"`, "value ~ `^\\{`", `value = ""`, `value != "x"`, `value exists`,
		`key contains "k"`, `key = "k"`, `key missing`,
		`value:user.id = "u-1"`, `value:user.id != "u-1"`, `value:user ~ "id"`, `value:user exists`, `value:user.id contains "-"`,
		`header:h = "v"`, `header:h != "v"`, `header:h exists`, `header:h ~ "."`,
	}
	rules := make([][3]*filter.Filter, len(terms)) // keep T, drop T, keep not T
	for i, term := range terms {
		rules[i] = [3]*filter.Filter{mustParse(f, "keep "+term), mustParse(f, "drop "+term), mustParse(f, "keep not "+term)}
	}
	f.Fuzz(func(t *testing.T, value []byte, kind uint8, key []byte, hasKey bool, headers []byte) {
		rec := events.Record{Value: value, ValueKind: events.ValueKind(kind % 3), Key: key, HasKey: hasKey, Headers: headers}
		for i, r := range rules {
			keep, drop, keepNot := r[0].Keep(&rec), r[1].Keep(&rec), r[2].Keep(&rec)
			if keep == drop || keep == keepNot {
				t.Fatalf("%s: keep %v, drop %v, keep not %v", terms[i], keep, drop, keepNot)
			}
		}
		for _, subj := range []string{"value", "key", "value:user.id", "header:h"} {
			if mustParse(t, "keep "+subj+" exists").Keep(&rec) == mustParse(t, "keep "+subj+" missing").Keep(&rec) {
				t.Fatalf("%s: exists and missing agree", subj)
			}
		}
	})
}
