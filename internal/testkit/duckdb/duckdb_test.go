package duckdb

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// The values of every type the package doc lists, as Go sees them.
func TestValues(t *testing.T) {
	tests := []struct {
		expr string
		typ  string
		want any
	}{
		{"NULL", "INTEGER", nil},
		{"true", "BOOLEAN", true},
		{"42::INTEGER", "INTEGER", int64(42)},
		{"9223372036854775807::BIGINT", "BIGINT", int64(9223372036854775807)},
		{"'-9223372036854775808'::BIGINT", "BIGINT", int64(-9223372036854775808)},
		{"18446744073709551615::UBIGINT", "UBIGINT", "18446744073709551615"}, // json.Number, compared as text below
		{"1.5::DOUBLE", "DOUBLE", 1.5},
		{"'NaN'::DOUBLE", "DOUBLE", "NaN"},
		{"1.50::DECIMAL(10,2)", "DECIMAL(10,2)", "1.50"},
		{`'a,"b"` + "\n" + `ü'`, "VARCHAR", "a,\"b\"\nü"},
		{`'{"a": [1]}'::JSON`, "JSON", `{"a": [1]}`},
		{`'\x00\xFFz'::BLOB`, "BLOB", []byte{0, 0xff, 'z'}},
		{"TIMESTAMPTZ '2024-01-02 03:04:05.123456+08'", "TIMESTAMP WITH TIME ZONE", time.Date(2024, 1, 1, 19, 4, 5, 123456000, time.UTC)},
		{"make_timestamp_ms(1655952591589)::TIMESTAMP_MS", "TIMESTAMP_MS", time.UnixMilli(1655952591589).UTC()},
		{"epoch_ms(1655952591589)", "TIMESTAMP", time.UnixMilli(1655952591589).UTC()},
		{"TIMESTAMP_NS '1969-12-31 23:59:59.999999999'", "TIMESTAMP_NS", time.Unix(-1, 999999999).UTC()},
		{"'infinity'::TIMESTAMP", "TIMESTAMP", "infinity"},
		{"DATE '2024-02-29'", "DATE", "2024-02-29"},
		{"[1, NULL, 3]", "INTEGER[]", []any{int64(1), nil, int64(3)}},
		{"[{'key': 'h', 'value': NULL::VARCHAR}]", `STRUCT("key" VARCHAR, "value" VARCHAR)[]`, []any{map[string]any{"key": "h", "value": nil}}},
		{"MAP {'a': 1}", "MAP(VARCHAR, INTEGER)", []any{map[string]any{"key": "a", "value": int64(1)}}},
		{"[epoch_ms(0)]", "TIMESTAMP[]", []any{"1970-01-01T00:00:00Z"}},
	}
	var sel []string
	for i, tt := range tests {
		sel = append(sel, fmt.Sprintf("%s AS c%d", tt.expr, i))
	}
	res := Run(t, t.TempDir(), "SELECT "+strings.Join(sel, ", "))
	if len(res.Rows) != 1 || len(res.Columns) != len(tests) {
		t.Fatalf("got %d rows, %d columns", len(res.Rows), len(res.Columns))
	}
	for i, tt := range tests {
		if got := res.Columns[i].Type; got != tt.typ {
			t.Errorf("%s: type %q, want %q", tt.expr, got, tt.typ)
		}
		got := res.Rows[0][i]
		if n, ok := got.(fmt.Stringer); ok && tt.typ == "UBIGINT" {
			got = n.String()
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %#v, want %#v", tt.expr, got, tt.want)
		}
	}
}

func TestStatementsAndErrors(t *testing.T) {
	dir := t.TempDir()
	rows := Query(t, dir, "CREATE VIEW v AS SELECT range AS n FROM range(3); SELECT sum(n) AS s FROM v;")
	if !reflect.DeepEqual(rows, []map[string]any{{"s": int64(3)}}) { // HUGEINT, small enough for int64
		t.Errorf("rows %v", rows)
	}
	if _, err := Try(t, dir, "SELECT * FROM no_such_table"); err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Errorf("error %v, want one naming no_such_table", err)
	}
	if got := Query(t, dir, "SELECT 1 AS x WHERE false"); len(got) != 0 {
		t.Errorf("rows %v, want none", got)
	}
}

// The records the format files below hold, as DuckDB returns them.
type rec struct {
	offset     int64
	key, value any // nil: NULL
}

// jsonlLines are records in the sink's JSONL envelope: text, embedded JSON,
// null and empty keys and values, escapes, non-ASCII, headers.
var jsonlLines = []string{
	`{"topic":"t","partition":7,"offset":25,"timestamp":1655952591589,"key":"k","value":"hello, \"x\"\r\nline","headers":[]}`,
	`{"topic":"t","partition":7,"offset":26,"timestamp":1655952591590,"key":null,"value":{"a":[1,2],"b":"ü"},"headers":[{"key":"h","value":"v"},{"key":"n","value":null}]}`,
	`{"topic":"t","partition":7,"offset":27,"timestamp":1655952591591,"key":"","value":null,"headers":[]}`,
	`{"topic":"t","partition":7,"offset":9223372036854775807,"timestamp":1655952591592,"key":"ключ","value":"","headers":[]}`,
}

// What value->>'$' gives for each line (the text of a string, the JSON text
// of embedded JSON).
var jsonlWant = []rec{
	{25, "k", "hello, \"x\"\r\nline"},
	{26, nil, `{"a":[1,2],"b":"ü"}`},
	{27, "", nil},
	{9223372036854775807, "ключ", ""},
}

func TestJSONL(t *testing.T) {
	dir := t.TempDir()
	first := []byte(strings.Join(jsonlLines[:1], "\n") + "\n")
	rest := []byte(strings.Join(jsonlLines[1:], "\n") + "\n")
	write(t, dir, "plain/a.jsonl", append(append([]byte{}, first...), rest...))
	write(t, dir, "gz/a.jsonl.gz", append(gzipMember(t, first), gzipMember(t, rest)...))
	write(t, dir, "zst/a.jsonl.zst", append(zstdFrame(t, first), zstdFrame(t, rest)...))

	const columns = `columns={topic: 'VARCHAR', partition: 'INTEGER', "offset": 'BIGINT', timestamp: 'BIGINT', ` +
		`key: 'VARCHAR', value: 'JSON', headers: 'STRUCT(key VARCHAR, value VARCHAR)[]'}`
	for _, sub := range []string{"plain", "gz", "zst"} {
		for _, read := range []string{
			"read_ndjson('%s/*.jsonl*')",
			"read_json('%s/*.jsonl*', format='newline_delimited')",
			"read_ndjson('%s/*.jsonl*', " + columns + ")",
		} {
			from := fmt.Sprintf(read, sub)
			t.Run(from, func(t *testing.T) {
				res := Run(t, dir, `SELECT "offset", key, value->>'$' AS value, headers, timestamp, partition, topic FROM `+
					from+` ORDER BY "offset"`)
				checkRecs(t, res, jsonlWant)
				h := res.Maps()[1]["headers"]
				wantH := []any{map[string]any{"key": "h", "value": "v"}, map[string]any{"key": "n", "value": nil}}
				if !reflect.DeepEqual(h, wantH) {
					t.Errorf("headers %#v, want %#v", h, wantH)
				}
				if ts := res.Maps()[0]["timestamp"]; ts != int64(1655952591589) {
					t.Errorf("timestamp %#v", ts)
				}
			})
		}
	}
	// All three directories at once, by a recursive glob relative to dir.
	if n := Query(t, dir, "SELECT count(*) AS n FROM read_ndjson('**/*.jsonl*')")[0]["n"]; n != int64(3*len(jsonlLines)) {
		t.Errorf("recursive glob: %v records, want %d", n, 3*len(jsonlLines))
	}
}

// csvText has every case RFC 4180 quoting must carry, and the NULL/empty
// distinction: key of offset 1 and value of offset 6 are unquoted empty
// fields (NULL); key of 2 and value of 7 are "" (empty strings).
const csvText = "offset,key,value,headers\n" +
	"1,,\"a,b\",[]\n" +
	"2,\"\",\"he said \"\"hi\"\"\",\"[{\"\"key\"\":\"\"h\"\",\"\"value\"\":\"\"v\"\"}]\"\n" +
	"3,k3,\"line1\nline2\",[]\n" +
	"4,k4,\"cr\r\nlf\",[]\n" +
	"5,ключ,\"日本語, ü\",[]\n" +
	"6,007,,[]\n" +
	"7,k7,\"\",[]\n" +
	"8,\" sp \",\" lead\",[]\n"

var csvWant = []rec{
	{1, nil, "a,b"},
	{2, "", `he said "hi"`},
	{3, "k3", "line1\nline2"},
	{4, "k4", "cr\r\nlf"},
	{5, "ключ", "日本語, ü"},
	{6, "007", nil},
	{7, "k7", ""},
	{8, " sp ", " lead"},
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	half := strings.Index(csvText, "4,k4")
	write(t, dir, "plain/a.csv", []byte(csvText))
	// Members split mid-object, as appends make them: the header row is in the first one only.
	write(t, dir, "gz/a.csv.gz", append(gzipMember(t, []byte(csvText[:half])), gzipMember(t, []byte(csvText[half:]))...))
	write(t, dir, "zst/a.csv.zst", append(zstdFrame(t, []byte(csvText[:half])), zstdFrame(t, []byte(csvText[half:]))...))

	for _, sub := range []string{"plain", "gz", "zst"} {
		for _, read := range []string{
			"read_csv('%s/*.csv*', header=true, allow_quoted_nulls=false, types={'key': 'VARCHAR', 'value': 'VARCHAR', 'headers': 'VARCHAR'})",
			"read_csv('%s/*.csv*', header=true, auto_detect=false, allow_quoted_nulls=false, " +
				"columns={'offset': 'BIGINT', 'key': 'VARCHAR', 'value': 'VARCHAR', 'headers': 'VARCHAR'})",
		} {
			from := fmt.Sprintf(read, sub)
			t.Run(from, func(t *testing.T) {
				res := Run(t, dir, `SELECT "offset", key, value, headers FROM `+from+` ORDER BY "offset"`)
				checkRecs(t, res, csvWant)
				if h := res.Maps()[1]["headers"]; h != `[{"key":"h","value":"v"}]` {
					t.Errorf("headers %#v", h)
				}
			})
		}
	}

	// DuckDB's defaults lose the distinction: "" reads as NULL too. This is
	// why the documented reads say allow_quoted_nulls=false.
	res := Run(t, dir, `SELECT count(*) FILTER (key IS NULL) AS k, count(*) FILTER (value IS NULL) AS v FROM read_csv('plain/a.csv')`)
	if got := res.Maps()[0]; got["k"] != int64(2) || got["v"] != int64(2) {
		t.Errorf("default read_csv: %v NULL keys and values, want 2 and 2 (\"\" read as NULL)", got)
	}
	// And the sniffer makes a key column of digits a number.
	write(t, dir, "digits/a.csv", []byte("offset,key\n1,123\n"))
	if typ := Run(t, dir, "SELECT key FROM read_csv('digits/a.csv')").Columns[0].Type; typ != "BIGINT" {
		t.Errorf("sniffed key of digits: %s, want BIGINT (why the reads give types)", typ)
	}
}

// No parquet-go in go.mod yet: the file is written by DuckDB itself with the
// sink's schema, which checks the harness's Parquet path (TIMESTAMP WITH TIME
// ZONE, BLOB, LIST of STRUCT), not a writer.
func TestParquet(t *testing.T) {
	dir := t.TempDir()
	Run(t, dir, `COPY (SELECT * FROM (VALUES
		('t', 7::INTEGER, 25::BIGINT, make_timestamp_ms(1655952591589)::TIMESTAMPTZ, 'k', 'a,"b"'::BLOB, [{'key': 'h', 'value': 'v'}]),
		('t', 7::INTEGER, 26::BIGINT, make_timestamp_ms(1655952591590)::TIMESTAMPTZ, NULL, NULL, []::STRUCT(key VARCHAR, value VARCHAR)[])
	) AS v(topic, partition, "offset", timestamp, key, value, headers)) TO 'a.parquet' (FORMAT parquet)`)
	res := Run(t, dir, `SELECT * FROM read_parquet('**/*.parquet') ORDER BY "offset"`)
	want := []map[string]any{
		{"topic": "t", "partition": int64(7), "offset": int64(25), "timestamp": time.UnixMilli(1655952591589).UTC(),
			"key": "k", "value": []byte(`a,"b"`), "headers": []any{map[string]any{"key": "h", "value": "v"}}},
		{"topic": "t", "partition": int64(7), "offset": int64(26), "timestamp": time.UnixMilli(1655952591590).UTC(),
			"key": nil, "value": nil, "headers": []any{}},
	}
	if got := res.Maps(); !reflect.DeepEqual(got, want) {
		t.Errorf("rows\n%#v\nwant\n%#v", got, want)
	}
	if typ := res.Columns[3].Type; typ != "TIMESTAMP WITH TIME ZONE" {
		t.Errorf("timestamp type %s", typ)
	}
}

// DuckDB cannot read the snappy framing format: there is no such
// compression option, and a .sz file is read as uncompressed bytes, which
// are neither JSON nor CSV.
func TestSnappyFramedUnreadable(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.jsonl.sz", snappyFramed(t, []byte(strings.Join(jsonlLines, "\n")+"\n")))
	write(t, dir, "a.csv.sz", snappyFramed(t, []byte(csvText)))
	write(t, dir, "a.jsonl", []byte(strings.Join(jsonlLines, "\n")+"\n"))
	for _, sql := range []string{
		"SELECT * FROM read_ndjson('a.jsonl.sz')",
		"SELECT * FROM read_json('a.jsonl.sz', format='newline_delimited')",
		"SELECT * FROM read_ndjson('a.jsonl', compression='snappy')",
		"SELECT * FROM read_csv('a.csv.sz', compression='snappy')",
		"SELECT * FROM read_csv('a.csv.sz', header=true, allow_quoted_nulls=false)",
	} {
		if res, err := Try(t, dir, sql); err == nil {
			t.Errorf("%s: read %d rows, want an error", sql, len(res.Rows))
		} else {
			t.Logf("%s: %v", sql, firstLine(err.Error()))
		}
	}
}

// missing's two outcomes, on a recording testing.TB.
func TestMissing(t *testing.T) {
	for _, require := range []string{"", "1"} {
		t.Run("CI_REQUIRE_DUCKDB="+require, func(t *testing.T) {
			t.Setenv(RequireEnv, require)
			r := &recorder{TB: t}
			missing(r, "node is not on PATH")
			if !strings.Contains(r.msg, InstallCommand) || !strings.Contains(r.msg, "node is not on PATH") {
				t.Errorf("message %q lacks the reason or %q", r.msg, InstallCommand)
			}
			if want := map[string]string{"": "skip", "1": "fatal"}[require]; r.how != want {
				t.Errorf("%s, want %s", r.how, want)
			}
		})
	}
}

type recorder struct {
	testing.TB
	how, msg string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.how, r.msg = "skip", fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.how, r.msg = "fatal", fmt.Sprint(args...) }

func checkRecs(t *testing.T, res Result, want []rec) {
	t.Helper()
	var got []rec
	for _, m := range res.Maps() {
		o, ok := m["offset"].(int64)
		if !ok {
			t.Fatalf("offset %#v is not an int64 (columns %v)", m["offset"], res.Columns)
		}
		got = append(got, rec{o, m["key"], m["value"]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records\n%#v\nwant\n%#v", got, want)
	}
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// gzipMember is one complete gzip member of b (no name, no mtime).
func gzipMember(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zstdFrame is one complete zstd frame of b.
func zstdFrame(t *testing.T, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// snappyFramed is b in the snappy framing format (stream identifier, chunks).
func snappyFramed(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := snappy.NewBufferedWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
