package route_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func mustNew(t testing.TB, tmpl string, loc *time.Location) *route.Router {
	t.Helper()
	r, err := route.New(tmpl, loc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := route.LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// badTemplates are refused by New, at Pos (1-based) with a message holding want.
var badTemplates = []struct {
	tmpl string
	pos  int
	want string
}{
	{"", 1, "empty template"},
	{"/orders/", 1, "leading '/'"},
	{"{topic}//x/", 9, "empty segment"},
	{"a//", 3, "empty segment"},
	{"./{topic}/", 1, `segment "." is not allowed`},
	{"{topic}/../x/", 9, `segment ".." is not allowed`},
	{"{topic}/..", 9, `segment ".." is not allowed`},
	{"dt={yyyy}/{hour}/", 11, "unknown token {hour}; known: {topic} {partition} {yyyy} {MM} {dd} {HH} {mm} {key} {header:NAME} {value:PATH}"},
	{"{Topic}/", 1, "unknown token {Topic}"},
	{"{}/", 1, "unknown token {}"},
	{"{header:}/", 1, "unknown token {header:} (empty header name)"},
	{"x/{value:}/", 10, "token {value:}: bad path: empty path"},
	{"x/{value:user..id}/", 15, "token {value:user..id}: bad path: empty segment"},
	{"{topic}/{yyyy", 9, "unclosed '{'"},
	{"{topic}/{", 9, "unclosed '{'"},
	{"{topic}}/", 8, "'}' without '{'"},
	{"a}b/", 2, "'}' without '{'"},
	{"{topic}/\x01/", 9, "control character 0x01"},
	{"{topic}/a\tb/", 10, "control character 0x09"},
	{"{topic}/a\x7f/", 10, "control character 0x7f"},
	{"{header:a\nb}/", 10, "control character 0x0a"},
	{`{topic}\x/`, 8, `'\' is not allowed`},
	{"{topic}/\xff/", 9, "not UTF-8"},
	{"{topic}/" + strings.Repeat("a", route.MaxLiteral+1) + "/", 8, "literal text of 515 bytes"},
}

func TestNewRefuses(t *testing.T) {
	var golden strings.Builder
	for _, tc := range badTemplates {
		t.Run(fmt.Sprintf("%q", tc.tmpl), func(t *testing.T) {
			_, err := route.New(tc.tmpl, time.UTC)
			var te *route.TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TemplateError", err)
			}
			if te.Pos != tc.pos || !strings.Contains(te.Reason, tc.want) {
				t.Fatalf("got position %d %q, want %d %q", te.Pos, te.Reason, tc.pos, tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("SINK_FOLDER: position %d: ", tc.pos)) {
				t.Fatalf("message %q does not name SINK_FOLDER and the position", msg)
			}
			if len(tc.tmpl) < 100 {
				fmt.Fprintf(&golden, "%q\n\t%s\n", tc.tmpl, err)
			}
		})
	}
	checkGolden(t, "testdata/bad_templates.golden", golden.String())
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

func TestTemplates(t *testing.T) {
	for _, tc := range []struct {
		tmpl, str  string
		static     bool
		staticDir  string // for topic "orders", partition 3
		maxLenOver int    // MaxLen is at least this
	}{
		{"{topic}/", "{topic}/", true, "orders/", 249 + 1},
		{"{topic}", "{topic}/", true, "orders/", 250},
		{"{topic}/p{partition}", "{topic}/p{partition}/", true, "orders/p3/", 250},
		{"{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/", false, "orders/", 249},
		{"{topic}/x-{yyyy}/", "{topic}/x-{yyyy}/", false, "orders/", 249},
		{"tenants/{header:tenant}/{topic}/", "tenants/{header:tenant}/{topic}/", false, "tenants/", 128 + 249},
		{"{value:user.id}", "{value:user.id}/", false, "", 128},
		{"{key}/{topic}/", "{key}/{topic}/", false, "", 128},
		{"{{literal}}/{topic}/", "{{literal}}/{topic}/", true, "{literal}/orders/", 0},
		{"a.b/x./x...{topic}/", "a.b/x./x...{topic}/", true, "a.b/x./x...orders/", 0},
		{"a.b/.x/{topic}/", "", false, "", 0},       // refused: a segment starting with a dot
		{"./{topic}{partition}/", "", false, "", 0}, // refused: "." segment
		{".{topic}/", "", false, "", 0},
		{"{topic}.{partition}/..{key}/", "", false, "", 0},
		{"{topic}.{partition}/k..{key}/", "{topic}.{partition}/k..{key}/", false, "orders.3/", 0},
	} {
		t.Run(tc.tmpl, func(t *testing.T) {
			r, err := route.New(tc.tmpl, nil)
			if tc.str == "" {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tc.str || r.Static() != tc.static || r.StaticDir("orders", 3) != tc.staticDir || r.MaxLen() < tc.maxLenOver {
				t.Fatalf("String %q Static %v StaticDir %q MaxLen %d", r.String(), r.Static(), r.StaticDir("orders", 3), r.MaxLen())
			}
			if r.Location() != time.UTC {
				t.Fatalf("nil zone is %v, want UTC", r.Location())
			}
			if tc.static {
				dir, err := r.AppendFolder(nil, &events.Record{Topic: "orders", Partition: 3})
				if err != nil || string(dir) != tc.staticDir {
					t.Fatalf("static template renders %q %v, StaticDir %q", dir, err, tc.staticDir)
				}
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, tc := range []struct {
		name, want, err string
	}{
		{"", "UTC", ""},
		{"UTC", "UTC", ""},
		{"Asia/Shanghai", "Asia/Shanghai", ""},
		{"America/New_York", "America/New_York", ""},
		{"Etc/GMT-8", "Etc/GMT-8", ""},
		{"Local", "", `SINK_TIMEZONE: "Local" is not allowed`},
		{"Asia/Shangai", "", `SINK_TIMEZONE: unknown time zone "Asia/Shangai"`},
		{"../etc/passwd", "", "SINK_TIMEZONE: unknown time zone"},
		{"+08:00", "", "SINK_TIMEZONE: unknown time zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := route.LoadZone(tc.name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || loc.String() != tc.want {
				t.Fatalf("got %v %v, want %s", loc, err, tc.want)
			}
		})
	}
}

// TestLoadZoneWithoutSystemDatabase: the zone database is compiled in, so a
// machine without /usr/share/zoneinfo (FC's runtime) loads zones alike.
func TestLoadZoneWithoutSystemDatabase(t *testing.T) {
	t.Setenv("ZONEINFO", t.TempDir()) // an empty database, searched first
	loc, err := route.LoadZone("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 5*3600+1800 {
		t.Fatalf("offset %d", off)
	}
}
