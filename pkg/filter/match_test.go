package filter_test

import (
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/filter"
)

func mustParse(t testing.TB, spec string) *filter.Filter {
	t.Helper()
	f, err := filter.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Records of the semantic table.
var (
	recText      = events.Record{Topic: "t", Value: []byte("2026-11-24 ERROR disk full"), HasKey: true, Key: []byte("tenant-a-42")}
	recEmpty     = events.Record{Topic: "t", Value: []byte{}}
	recTombstone = events.Record{Topic: "t", ValueKind: events.ValueNull, HasKey: true, Key: []byte("k")}
	recNoKey     = events.Record{Topic: "t", Value: []byte("x")}
	recJSON      = events.Record{Topic: "t", ValueKind: events.ValueJSON, Value: []byte(
		`{"level":"debug","user":{"id":"u-1","test":true},"n":1.50,"z":null,"o":{"a":[1,2]},"items":[{"sku":"A\"1"}],"esc":"caf\u00e9"}`)}
	recJSONText = events.Record{Topic: "t", Value: []byte(`{ "level" : "info", "o" : { "a" : 1 } }`)}
	recHeaders  = events.Record{Topic: "t", Value: []byte("v"), Headers: []byte(
		`[{"key":"source","value":"healthcheck"},{"key":"tenant","value":"acme"},{"key":"nil","value":null},{"key":"source","value":"other"}]`)}
)

func TestKeep(t *testing.T) {
	for _, tc := range []struct {
		spec string
		rec  *events.Record
		keep bool
	}{
		// Keywords and regular expressions on the value and the key.
		{`keep value contains "ERROR"`, &recText, true},
		{`keep value contains "error"`, &recText, false},
		{`keep value ~ "(?i)error"`, &recText, true},
		{"keep value ~ `^\\d{4}-`", &recText, true},
		{"keep value ~ `full$`", &recText, true},
		{"keep value ~ `^disk`", &recText, false},
		{`keep value = "2026-11-24 ERROR disk full"`, &recText, true},
		{`keep value = "2026-11-24 ERROR"`, &recText, false},
		{`keep value != "x"`, &recText, true},
		{`keep key ~ "^tenant-(a|b)-"`, &recText, true},
		{`keep key contains "-b-"`, &recText, false},
		{`keep key = "tenant-a-42"`, &recText, true},
		// An empty value exists; a tombstone does not.
		{`keep value exists`, &recEmpty, true},
		{`keep value = ""`, &recEmpty, true},
		{`keep value contains ""`, &recEmpty, true},
		{`keep value exists`, &recTombstone, false},
		{`keep value missing`, &recTombstone, true},
		{`drop value missing`, &recTombstone, false},
		{`keep value contains ""`, &recTombstone, false},
		{`keep value != "x"`, &recTombstone, false},
		{`keep not value != "x"`, &recTombstone, true},
		{`keep value ~ ""`, &recTombstone, false},
		// Null keys.
		{`keep key exists`, &recNoKey, false},
		{`keep key missing`, &recNoKey, true},
		{`keep key != "k"`, &recNoKey, false},
		{`keep not key = "k"`, &recNoKey, true},
		// JSON fields.
		{`drop value:level = "debug"`, &recJSON, false},
		{`drop value:level = "debug"`, &recJSONText, true},
		{`keep value:level ~ "^(info|warn)$"`, &recJSONText, true},
		{`keep value:user.id = "u-1"`, &recJSON, true},
		{`keep value:user.test = "true"`, &recJSON, true},
		{`keep value:user.id exists and not value:user.test = "true"`, &recJSON, false},
		{`keep value:n = "1.50"`, &recJSON, true},
		{`keep value:n = "1.5"`, &recJSON, false},
		{`keep value:z exists`, &recJSON, true},
		{`keep value:z = "null"`, &recJSON, true},
		{`keep value:o contains "[1,2]"`, &recJSON, true},
		{`keep value:o ~ "^\\{\"a\":"`, &recJSON, true},
		{`keep value:o = "{\"a\":[1,2]}"`, &recJSON, false},
		{`keep value:o != "{\"a\":[1,2]}"`, &recJSON, true},
		{`keep value:o contains "{\"a\":1}"`, &recJSONText, true}, // compacted
		{`keep value:items.0.sku = "A\"1"`, &recJSON, true},
		{`keep value:esc = "café"`, &recJSON, true},
		{`keep value:esc ~ "^caf."`, &recJSON, true},
		{`keep value:esc contains "fé"`, &recJSON, true},
		{`keep value:nope exists`, &recJSON, false},
		{`keep value:nope missing`, &recJSON, true},
		{`keep value:nope != "x"`, &recJSON, false},
		{`keep value:level missing`, &recText, true}, // not JSON
		{`keep value:level missing`, &recTombstone, true},
		{`keep value:level != "x"`, &recText, false},
		// Headers: the first of a name wins; a null one exists without text.
		{`drop header:source = "healthcheck"`, &recHeaders, false},
		{`keep header:source = "other"`, &recHeaders, false},
		{`keep header:tenant exists`, &recHeaders, true},
		{`keep header:Tenant exists`, &recHeaders, false},
		{`keep header:nil exists`, &recHeaders, true},
		{`keep header:nil missing`, &recHeaders, false},
		{`keep header:nil = "null"`, &recHeaders, false},
		{`keep header:nil != "x"`, &recHeaders, false},
		{`keep header:nil contains ""`, &recHeaders, false},
		{`keep header:nil ~ ""`, &recHeaders, false},
		{`keep header:x missing`, &recHeaders, true},
		{`keep header:x missing`, &recText, true},
		// Combining rules: drops win, any keep keeps, order does not matter.
		{`keep value contains "ERROR"; drop key ~ "-42$"`, &recText, false},
		{`drop key ~ "-42$"; keep value contains "ERROR"`, &recText, false},
		{`keep value contains "nope"; keep key exists`, &recText, true},
		{`keep value contains "nope"; keep key missing`, &recText, false},
		{`drop value contains "nope"`, &recText, true},
		{`keep value contains "ERROR" and key exists and not key missing`, &recText, true},
		{`keep value contains "ERROR" and key missing`, &recText, false},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			f := mustParse(t, tc.spec)
			if got := f.Keep(tc.rec); got != tc.keep {
				t.Fatalf("Keep(%q) = %v, want %v", tc.rec.Value, got, tc.keep)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	f := mustParse(t, "keep value contains \"ERROR\"\nkeep key exists\n\ndrop key ~ `-42$`; drop value missing")
	for _, tc := range []struct {
		rec  *events.Record
		keep bool
		rule int
	}{
		{&recText, false, 3},      // matches keep 1 and drop 3
		{&recTombstone, false, 4}, // drop 4
		{&recJSON, false, 0},      // no keep rule matches
		{&recNoKey, false, 0},
		{&events.Record{Value: []byte("ERROR"), HasKey: true, Key: []byte("k")}, true, 1},
		{&events.Record{Value: []byte("x"), HasKey: true, Key: []byte("k")}, true, 2},
	} {
		keep, rule := f.Decide(tc.rec)
		if keep != tc.keep || rule != tc.rule {
			t.Errorf("%q: Decide = %v, %d; want %v, %d", tc.rec.Value, keep, rule, tc.keep, tc.rule)
		}
	}
	if keep, rule := mustParse(t, `drop key missing`).Decide(&recText); !keep || rule != 0 {
		t.Errorf("drop-only filter: %v %d", keep, rule)
	}
}

// TestConcurrent: one Filter serves many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	f := mustParse(t, "keep value:esc ~ `^caf.` and value:user.id = \"u-1\"; drop value ~ `ERROR`")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				if !f.Keep(&recJSON) || f.Keep(&recText) {
					t.Error("wrong decision")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNoAllocs(t *testing.T) {
	for _, tc := range []struct {
		spec string
		rec  *events.Record
	}{
		{`keep value contains "ERROR"`, &recText},
		{`keep value contains "a very long keyword, longer than thirty-two bytes"`, &recText},
		{"keep value ~ `(?i)err(or)?`", &recText},
		{`keep key = "tenant-a-42"`, &recText},
		{`drop value:level = "debug"`, &recJSON},
		{`drop value:level = "debug"`, &recJSONText},
		{`keep value:esc contains "fé"`, &recJSON},
		{`keep value:o contains "[1,2]"`, &recJSON},
		{`keep value:o contains "a"`, &recJSONText},
		{`keep value:user.id exists and not value:user.test = "true"`, &recJSON},
		{"keep value:level ~ `^de`", &recJSON},
		{`drop header:source = "healthcheck"`, &recHeaders},
	} {
		f := mustParse(t, tc.spec)
		if n := testing.AllocsPerRun(200, func() { f.Keep(tc.rec) }); n != 0 {
			t.Errorf("%s: %v allocations per record", tc.spec, n)
		}
	}
}
