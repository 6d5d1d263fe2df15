package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/bintest"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/duckdb"
	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// The matrix below writes the same records in every format, compression,
// field selection and value encoding, with the compiled binary over
// several invocations, and reads them back with independent readers.
const (
	fmtTopic  = "orders"
	fmtPrefix = "e2e"
	// fmtFlush is SINK_FLUSH_RECORDS: every partition's 18 records make
	// three objects, the last of them full, so that Parquet seals all.
	fmtFlush = 6
)

// fmtCase is one configuration of the matrix.
type fmtCase struct {
	format string // SINK_FORMAT
	codec  string // SINK_COMPRESSION
	fields string // SINK_FIELDS; "" = all, in the canonical order
	enc    events.ValueEncoding
}

func (c fmtCase) name() string {
	f := c.fields
	if f == "" {
		f = "all"
	}
	return fmt.Sprintf("%s/%s/%s/%s", c.format, c.codec, strings.ReplaceAll(f, ",", "+"), encName(c.enc))
}

func encName(e events.ValueEncoding) string {
	if e == events.Base64 {
		return "base64"
	}
	return "text"
}

// selected lists the fields the objects carry, in their order.
func (c fmtCase) selected() []string {
	if c.fields == "" {
		return allFields
	}
	return strings.Split(c.fields, ",")
}

var allFields = []string{"topic", "partition", "offset", "timestamp", "key", "value", "headers"}

// ext is the extension the issue fixes for the case's objects, written
// out here rather than asked of package format.
func (c fmtCase) ext() string {
	e := map[string]string{"raw": "", "jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}[c.format]
	if c.format == "parquet" {
		return e
	}
	return e + c.codecExt()
}

func (c fmtCase) codecExt() string {
	return map[string]string{"none": "", "gzip": ".gz", "zstd": ".zst", "snappy": ".sz"}[c.codec]
}

// compressed reports whether whole objects are compressed (not Parquet's
// column codec).
func (c fmtCase) compressed() bool { return c.codec != "none" && c.format != "parquet" }

func (c fmtCase) staged() bool { return c.format == "parquet" }

// contentType and contentEncoding are the object headers the issue asks for.
func (c fmtCase) contentType() string {
	return map[string]string{"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}[c.format]
}

func (c fmtCase) contentEncoding() string {
	if !c.compressed() {
		return ""
	}
	return map[string]string{"gzip": "gzip", "zstd": "zstd", "snappy": "x-snappy-framed"}[c.codec]
}

func fmtCases() []fmtCase {
	var cases []fmtCase
	encs := []events.ValueEncoding{events.Text, events.Base64}
	for _, codec := range []string{"none", "gzip", "zstd", "snappy"} {
		for _, enc := range encs {
			cases = append(cases, fmtCase{"raw", codec, "", enc})
		}
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			for _, fields := range []string{"", "offset,key,value", "value,offset"} {
				for _, enc := range encs {
					cases = append(cases, fmtCase{format, codec, fields, enc})
				}
			}
		}
		// No value column: the value encoding does not matter.
		cases = append(cases, fmtCase{"parquet", codec, "offset,timestamp,headers", events.Text})
	}
	// Raw ignores SINK_FIELDS.
	cases = append(cases, fmtCase{"raw", "zstd", "value,offset", events.Base64})
	return cases
}

// The records: two partitions of 18, offsets with gaps on partition 1 (at
// an object boundary, inside an object, and a long one at the next
// boundary), so that names follow the records, not offset arithmetic.
var fmtOffsets = [2][]int64{
	{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117},
	{0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 30, 31, 32, 33, 34, 35},
}

// fmtBatches are the invocations, as index ranges into each partition's
// records: three batches of the same partitions, the third preceded by a
// redelivery of the second with other boundaries, and itself reaching back
// into the second.
var fmtBatches = [][2]int{{0, 4}, {4, 9}, {2, 9}, {7, 18}}

// Text values: what CSV must quote, what JSON must escape, non-ASCII, JSON
// values (the trigger's Json data format), an empty string and a tombstone,
// and strings an engine's sniffer or null handling could take for
// something else.
var textValues = []struct {
	v    string
	kind events.ValueKind
}{
	{"hello", events.ValueBytes},
	{`say "hi", then leave`, events.ValueBytes},
	{"line1\nline2", events.ValueBytes},
	{"crlf\r\nand a lone\rcr", events.ValueBytes},
	{"杭州 café ñ 🚀", events.ValueBytes},
	{"", events.ValueBytes},
	{"", events.ValueNull},
	{`{"user":{"id":"u-1"},"note":"a, \"b\"\nc \u00e9 <&>","n":[1,2.5,null,true]}`, events.ValueJSON},
	{`[1,"x,y",{"a":null}]`, events.ValueJSON},
	{`42`, events.ValueJSON},
	{" padded ", events.ValueBytes},
	{"007", events.ValueBytes},
	{"NULL", events.ValueBytes},
	{"tab\there, back\\slash = 'apostrophe'", events.ValueBytes},
	{"offset,key,value", events.ValueBytes},
	{`"`, events.ValueBytes},
	{`{"not":"json kind, a string"}`, events.ValueBytes},
	{"\u2028 separators \u2029", events.ValueBytes},
}

// Binary values (base64 value encoding): bytes that are not UTF-8, NUL,
// separators, an empty value and a tombstone.
var binaryValues = []struct {
	v    []byte
	null bool
}{
	{[]byte("plain bytes"), false},
	{[]byte{0x00, 0xff, 0xfe, '\n', ',', '"', 0x80}, false},
	{[]byte{}, false},
	{nil, true},
	{[]byte("line\r\nbreak, \"q\""), false},
	{[]byte("杭州"), false},
	{[]byte{0xc3, 0x28, 0xa0, 0xa1}, false},
	{bytes.Repeat([]byte{0xee}, 300), false},
}

var fmtKeys = []*string{ptr("k"), nil, ptr(""), ptr("key, \"quoted\"\nnext"), ptr("ключ 键")}

var fmtHeaders = []string{
	"", // no headers member
	`[]`,
	`[{"key":"trace-id","value":"4bf92f35"}]`,
	`[{"key":"h,1","value":"v \"q\"\nx"},{"key":"empty","value":""},{"key":"nul","value":null},{"key":"租户","value":"杭州"}]`,
}

func ptr(s string) *string { return &s }

// fmtRecords returns each partition's records for the value encoding.
func fmtRecords(enc events.ValueEncoding) [2][]events.Record {
	var out [2][]events.Record
	for p := range out {
		for i, off := range fmtOffsets[p] {
			r := events.Record{Topic: fmtTopic, Partition: int32(p), Offset: off, Timestamp: 1764032523000 + off*7 + int64(p)}
			j := i + 5*p // partitions see the values in another order
			if enc == events.Base64 {
				bv := binaryValues[j%len(binaryValues)]
				r.Value, r.ValueKind = bv.v, events.ValueBytes
				if bv.null {
					r.Value, r.ValueKind = nil, events.ValueNull
				}
			} else {
				tv := textValues[j%len(textValues)]
				r.Value, r.ValueKind = []byte(tv.v), tv.kind
				if tv.kind == events.ValueNull {
					r.Value = nil
				}
			}
			if k := fmtKeys[j%len(fmtKeys)]; k != nil {
				r.Key, r.HasKey = []byte(*k), true
				if *k == "k" {
					r.Key = fmt.Appendf(nil, "k-%d", off)
				}
			}
			if h := fmtHeaders[j%len(fmtHeaders)]; h != "" {
				r.Headers = []byte(h)
			}
			out[p] = append(out[p], r)
		}
	}
	return out
}

// fmtObject is one data object of the model: its partition, the indexes
// [from, to) of its records among the partition's, and its name.
type fmtObject struct {
	p        int
	from, to int
	name     string
}

// expectedObjects returns the data objects that exist once hi records of
// each partition were sent, and the staging objects. Appendable objects
// exist from their first record; Parquet objects once full (sealed and
// finalized in the same invocation), their records staged until then.
func expectedObjects(c fmtCase, hi int) (data []fmtObject, stages []string) {
	for p := range fmtOffsets {
		for first := 0; first < hi; first += fmtFlush {
			name := path.Base(sink.ObjectKey("", fmtTopic, "", int32(p), fmtOffsets[p][first], 0)) + c.ext()
			if c.staged() && first+fmtFlush > hi {
				stages = append(stages, sink.StageKey(name))
				continue
			}
			data = append(data, fmtObject{p, first, min(first+fmtFlush, hi), name})
		}
	}
	return data, stages
}

// objectName matches every data object's name: the seed's name and the
// extension.
var objectName = regexp.MustCompile(`^partition_(\d+)_offset_(\d+)_[0-9a-f]{8}$`)

// sinkFreeEnv is the test process's environment without anything the
// sink or FC reads, so that only what a case sets applies.
func sinkFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "ALIBABA_CLOUD_") || strings.HasPrefix(name, "OSS_") || strings.HasPrefix(name, "SINK_") ||
			strings.HasPrefix(name, "FC_") || name == "LOG_LEVEL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (c fmtCase) env(extra ...string) []string {
	env := append(sinkFreeEnv(), "OSS_PREFIX="+fmtPrefix, "SINK_FORMAT="+c.format, "SINK_COMPRESSION="+c.codec,
		"SINK_VALUE_ENCODING="+encName(c.enc), fmt.Sprintf("SINK_FLUSH_RECORDS=%d", fmtFlush), "SINK_FLUSH_INTERVAL=0", "LOG_LEVEL=warn")
	if c.fields != "" {
		env = append(env, "SINK_FIELDS="+c.fields)
	}
	return append(env, extra...)
}

// invokeFormats runs the binary on the batch of records [from, to) of each
// partition (interleaved, as the trigger sends them) and checks what it
// says it wrote.
func invokeFormats(t *testing.T, bin string, env []string, enc events.ValueEncoding, recs [2][]events.Record, from, to, committed int) {
	t.Helper()
	var batch []events.Record
	for i := from; i < to; i++ {
		batch = append(batch, recs[0][i], recs[1][i])
	}
	file := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(file, eventstest.Encode(eventstest.CloudEvents, batch, enc), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "invoke", file)
	cmd.Env = env
	r := bintest.Run(t, time.Minute, cmd)
	if r.Code != 0 {
		t.Fatalf("invoke [%d,%d): exit %d\n%s", from, to, r.Code, r.Stderr)
	}
	var resp handler.Response
	if err := json.Unmarshal([]byte(r.Stdout), &resp); err != nil || resp.Summary == nil {
		t.Fatalf("invoke [%d,%d): summary: %v\n%s", from, to, err, r.Stdout)
	}
	dups := 2 * max(0, min(to, committed)-from)
	if resp.Written != 2*(to-from)-dups || resp.Duplicates != dups {
		t.Fatalf("invoke [%d,%d): wrote %d, %d duplicates; want %d, %d\n%s", from, to, resp.Written, resp.Duplicates, 2*(to-from)-dups, dups, r.Stdout)
	}
	if strings.Contains(r.Stderr, `"level":"error"`) {
		t.Fatalf("invoke [%d,%d) logged an error:\n%s", from, to, r.Stderr)
	}
}

// TestFormatsEndToEnd runs the compiled binary for every format ×
// compression × field selection × value encoding over several invocations
// into the local store, and after each one checks the store's listing
// (names, staging objects), that appendable objects only grew, and that
// every object read whole by gzip -dc, zstd -dc, Go's gzip and snappy
// framing readers gives exactly the records stored so far; at the end
// DuckDB reads every object set and the records are compared one by one
// with those sent. The configurations with all fields and text values run
// again against the OSS test server: same keys, same bytes, and the
// objects' Content-Type and Content-Encoding.
func TestFormatsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary hundreds of times")
	}
	duckdb.Require(t)
	bin := binary(t)
	for _, c := range fmtCases() {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			recs := fmtRecords(c.enc)
			dir := t.TempDir()
			env := c.env("SINK_LOCAL_DIR=" + dir)
			root := filepath.Join(dir, fmtPrefix, fmtTopic)
			var prev map[string][]byte
			committed := 0
			for _, b := range fmtBatches {
				invokeFormats(t, bin, env, c.enc, recs, b[0], b[1], committed)
				redelivery := b[1] <= committed
				committed = max(committed, b[1])
				now := checkStore(t, c, root, recs, committed, prev)
				if redelivery && !maps.EqualFunc(now, prev, bytes.Equal) {
					t.Errorf("a redelivery of stored records changed the data objects")
				}
				prev = now
			}
			data, _ := expectedObjects(c, len(fmtOffsets[0]))
			readBack(t, c, root, recs, data)
			if c.fields == "" && c.enc == events.Text {
				checkOSS(t, bin, c, recs, prev)
			}
		})
	}
}

// checkStore checks the local store once hi records of each partition are
// stored: exactly the expected data and staging objects, appendable
// objects grown from their earlier bytes (Parquet ones unchanged), and
// each object's records exactly those stored so far. It returns the data
// objects' bytes.
func checkStore(t *testing.T, c fmtCase, root string, recs [2][]events.Record, hi int, prev map[string][]byte) map[string][]byte {
	data, stages := expectedObjects(c, hi)
	var gotData, gotStages []string
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasPrefix(n, "partition_"):
			gotData = append(gotData, n)
		case strings.HasPrefix(n, ".oss_stage_"):
			gotStages = append(gotStages, n)
		case strings.HasPrefix(n, ".oss_index_"), strings.HasPrefix(n, ".oss_meta_file_"):
		default:
			t.Errorf("unexpected file %s", n)
		}
	}
	var wantData []string
	for _, o := range data {
		wantData = append(wantData, o.name)
	}
	slices.Sort(wantData)
	slices.Sort(stages)
	if !slices.Equal(gotData, wantData) || !slices.Equal(gotStages, stages) {
		t.Fatalf("after %d records per partition: data objects %q, staging objects %q; want %q, %q", hi, gotData, gotStages, wantData, stages)
	}
	checkEncodings(t, c, root)
	now := map[string][]byte{}
	for _, o := range data {
		b, err := os.ReadFile(filepath.Join(root, o.name))
		if err != nil {
			t.Fatal(err)
		}
		now[o.name] = b
		if old, ok := prev[o.name]; ok && (!bytes.HasPrefix(b, old) || c.staged() && len(b) != len(old)) {
			t.Errorf("%s: %d bytes do not continue the %d bytes it had (objects are only appended to; Parquet ones never change)", o.name, len(b), len(old))
		}
		if c.staged() {
			continue // DuckDB reads them at the end
		}
		plain := decompress(t, c.codec, o.name, b)
		want := recs[o.p][o.from:o.to]
		switch c.format {
		case "raw":
			if exp := rawBytes(want); !bytes.Equal(plain, exp) {
				t.Errorf("%s: raw content\n%q\nwant\n%q", o.name, plain, exp)
			}
		case "jsonl":
			compareRecords(t, o.name, c, parseJSONL(t, o.name, c, plain), want)
		case "csv":
			compareRecords(t, o.name, c, parseCSV(t, o.name, c, plain), want)
		}
	}
	return now
}

// encodingID matches the encoding id FORMATS.md gives the case's
// objects (the codec's level is the implementation's choice).
func (c fmtCase) encodingID() *regexp.Regexp {
	id := regexp.QuoteMeta(c.format + "/" + encName(c.enc))
	if c.format != "raw" {
		id += regexp.QuoteMeta(";fields=" + strings.Join(c.selected(), ","))
	}
	switch c.codec {
	case "snappy":
		id += ";z=snappy"
	case "gzip", "zstd":
		id += ";z=" + c.codec + `-[0-9]+`
	}
	return regexp.MustCompile("^" + id + "$")
}

// checkEncodings checks that the meta objects and every record index
// entry name the case's encoding: the meta object says which encoding
// each object has.
func checkEncodings(t *testing.T, c fmtCase, root string) {
	want := c.encodingID()
	files, _ := filepath.Glob(filepath.Join(root, ".oss_*"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".oss_stage_") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		if strings.HasPrefix(filepath.Base(f), ".oss_meta_file_") {
			var m struct {
				Folders map[string]struct{ Encoding string }
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, fo := range m.Folders {
				ids = append(ids, fo.Encoding)
			}
		} else {
			for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				var e struct {
					Enc     string `json:"enc"`      // of an append
					NextEnc string `json:"next_enc"` // of a seal
				}
				if err := json.Unmarshal(line, &e); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				ids = append(ids, e.Enc+e.NextEnc)
			}
		}
		for _, id := range ids {
			if !want.MatchString(id) {
				t.Errorf("%s names encoding %q, want %s", filepath.Base(f), id, want)
			}
		}
	}
}

// compareRecords compares the records a reader got from one object, in
// their order, with those sent.
func compareRecords(t *testing.T, object string, c fmtCase, got []map[string]any, want []events.Record) {
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d (offsets %d-%d)", object, len(got), len(want), want[0].Offset, want[len(want)-1].Offset)
		return
	}
	for i := range want {
		if exp := expectRecord(c, &want[i]); !equalRecord(got[i], exp) {
			t.Errorf("%s: record %d (offset %d):\n got %s\nwant %s", object, i, want[i].Offset, show(got[i]), show(exp))
		}
	}
}

// readBack reads every data object with DuckDB, in one query per object
// set, and compares each record with the one sent at its partition and
// offset, in the object the model puts it in.
func readBack(t *testing.T, c fmtCase, root string, recs [2][]events.Record, data []fmtObject) {
	if c.format == "raw" {
		return // no engine reads raw values back as records; checkStore compared the bytes
	}
	dir, ext := root, c.ext()
	if c.compressed() && c.codec == "snappy" {
		// DuckDB has no snappy for csv and json: it reads what a framing
		// reader decompresses.
		dir, ext = t.TempDir(), strings.TrimSuffix(ext, ".sz")
		entries, _ := filepath.Glob(filepath.Join(root, "partition_*"+c.ext()))
		for _, e := range entries {
			b, err := os.ReadFile(e)
			if err != nil {
				t.Fatal(err)
			}
			plain := decompress(t, c.codec, filepath.Base(e), b)
			if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(e), ".sz")), plain, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := duckdb.Run(t, dir, duckSQL(c, ext))
	if c.format == "parquet" {
		checkParquetColumns(t, c, res.Columns)
		checkParquetMetadata(t, c, dir)
	}
	objects := map[string]fmtObject{}
	total := 0
	for _, o := range data {
		objects[strings.TrimSuffix(o.name, c.ext())] = o
		total += o.to - o.from
	}
	seen := map[[2]int64]bool{}
	for _, row := range res.Maps() {
		file := path.Base(row["filename"].(string))
		stem := strings.TrimSuffix(file, ext)
		o, ok := objects[stem]
		if !ok || !objectName.MatchString(stem) {
			t.Errorf("DuckDB read a record from %s, not a data object of the model", file)
			continue
		}
		got := normalizeDuck(t, c, row)
		off, _ := row["offset"].(int64)
		i := slices.Index(fmtOffsets[o.p], off)
		if i < o.from || i >= o.to {
			t.Errorf("%s: record at offset %d, which belongs in another object", file, off)
			continue
		}
		key := [2]int64{int64(o.p), off}
		if seen[key] {
			t.Errorf("%s: offset %d of partition %d read twice", file, off, o.p)
		}
		seen[key] = true
		if exp := expectRecord(c, &recs[o.p][i]); !equalRecord(got, exp) {
			t.Errorf("%s: offset %d:\n got %s\nwant %s", file, off, show(got), show(exp))
		}
	}
	if len(seen) != total || len(res.Rows) != total {
		t.Errorf("DuckDB read %d rows, %d distinct records; want %d", len(res.Rows), len(seen), total)
	}
}

// duckSQL is the query that reads the case's data objects under the
// working directory, as the duckdb package's doc says. The glob names the
// data objects (partition_*): '**/*.ext' also matches the sink's own
// hidden objects (TestFormatsEngineGlobs).
func duckSQL(c fmtCase, ext string) string {
	glob := duckdb.Quote("**/partition_*" + ext)
	types := map[string]string{"topic": "VARCHAR", "partition": "INTEGER", "offset": "BIGINT", "timestamp": "BIGINT", "key": "VARCHAR"}
	var cols []string
	switch c.format {
	case "jsonl":
		types["value"], types["headers"] = "JSON", "JSON"
		for _, f := range c.selected() {
			cols = append(cols, fmt.Sprintf("%s: %s", duckdb.Quote(f), duckdb.Quote(types[f])))
		}
		return fmt.Sprintf("SELECT * FROM read_ndjson(%s, filename=true, columns={%s})", glob, strings.Join(cols, ", "))
	case "csv":
		types["value"], types["headers"] = "VARCHAR", "VARCHAR"
		for _, f := range c.selected() {
			cols = append(cols, fmt.Sprintf("%s: %s", duckdb.Quote(f), duckdb.Quote(types[f])))
		}
		return fmt.Sprintf("SELECT * FROM read_csv(%s, header=true, auto_detect=false, allow_quoted_nulls=false, filename=true, columns={%s})",
			glob, strings.Join(cols, ", "))
	}
	return fmt.Sprintf("SELECT * FROM read_parquet(%s, filename=true)", glob)
}

// checkParquetColumns checks the columns DuckDB found: the selection's, in
// its order, with the types.
func checkParquetColumns(t *testing.T, c fmtCase, cols []duckdb.Column) {
	value := "VARCHAR"
	if c.enc == events.Base64 {
		value = "BLOB"
	}
	types := map[string]string{"topic": "VARCHAR", "partition": "INTEGER", "offset": "BIGINT", "timestamp": "TIMESTAMP WITH TIME ZONE",
		"key": "VARCHAR", "value": value, "headers": `STRUCT("key" VARCHAR, "value" VARCHAR)[]`, "filename": "VARCHAR"}
	var got, want []string
	for _, col := range cols {
		got = append(got, col.Name+" "+col.Type)
	}
	for _, f := range append(c.selected(), "filename") {
		want = append(want, f+" "+types[f])
	}
	if !slices.Equal(got, want) {
		t.Errorf("Parquet columns as DuckDB reads them:\n got %q\nwant %q", got, want)
	}
}

// checkParquetMetadata checks, with DuckDB's view of the files' metadata,
// that every column chunk has SINK_COMPRESSION's codec and that
// timestamps are milliseconds adjusted to UTC.
func checkParquetMetadata(t *testing.T, c fmtCase, dir string) {
	glob := duckdb.Quote("**/partition_*.parquet")
	rows := duckdb.Query(t, dir, fmt.Sprintf(`SELECT DISTINCT 'chunk' AS what, path_in_schema AS name, compression AS detail FROM parquet_metadata(%s)
		UNION ALL SELECT DISTINCT 'schema', name, coalesce(converted_type, '') || ' ' || coalesce(logical_type, '') FROM parquet_schema(%s)`, glob, glob))
	codec := map[string]string{"none": "UNCOMPRESSED", "gzip": "GZIP", "zstd": "ZSTD", "snappy": "SNAPPY"}[c.codec]
	chunks := 0
	for _, r := range rows {
		name, detail := r["name"].(string), r["detail"].(string)
		switch {
		case r["what"] == "chunk":
			chunks++
			if detail != codec {
				t.Errorf("Parquet column %s: compression %s, want %s", name, detail, codec)
			}
		case name == "timestamp":
			if !strings.HasPrefix(detail, "TIMESTAMP_MILLIS ") || !strings.Contains(detail, "isAdjustedToUTC=1") || !strings.Contains(detail, "MILLIS=MilliSeconds()") {
				t.Errorf("Parquet timestamp column: %s, want TIMESTAMP(MILLIS, adjusted to UTC)", detail)
			}
		}
	}
	if chunks == 0 {
		t.Error("no Parquet column chunks")
	}
}

// checkOSS runs the case again against the OSS test server: the same keys
// with the same bytes as in the local store (local are the data objects'
// bytes there), each data object with the case's Content-Type and
// Content-Encoding, and no staging object left.
func checkOSS(t *testing.T, bin string, c fmtCase, recs [2][]events.Record, local map[string][]byte) {
	const bucket, ak, sk = "sink", "ak-formats", "sk-formats"
	srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials(ak, sk, ""))
	env := c.env("OSS_BUCKET="+bucket, "OSS_ENDPOINT="+srv.Endpoint(), "ALIBABA_CLOUD_ACCESS_KEY_ID="+ak, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+sk)
	committed := 0
	for _, b := range fmtBatches {
		invokeFormats(t, bin, env, c.enc, recs, b[0], b[1], committed)
		committed = max(committed, b[1])
	}
	dirPrefix := fmtPrefix + "/" + fmtTopic + "/"
	var names []string
	for _, key := range srv.Keys(bucket, dirPrefix) {
		name := strings.TrimPrefix(key, dirPrefix)
		if strings.HasPrefix(name, ".oss_stage_") {
			t.Errorf("OSS: staging object %s left", key)
		}
		if !strings.HasPrefix(name, "partition_") {
			continue
		}
		names = append(names, name)
		data, _ := srv.Object(bucket, key)
		if !bytes.Equal(data, local[name]) {
			t.Errorf("OSS: %s: %d bytes differ from the local store's %d", key, len(data), len(local[name]))
		}
		info, _ := srv.ObjectInfo(bucket, key)
		if c.format == "raw" {
			// Raw keeps OSS's default type; only the encoding is the sink's.
			t.Logf("OSS: %s: Content-Type %q", key, info.ContentType)
		} else if info.ContentType != c.contentType() {
			t.Errorf("OSS: %s: Content-Type %q, want %q", key, info.ContentType, c.contentType())
		}
		if info.ContentEncoding != c.contentEncoding() {
			t.Errorf("OSS: %s: Content-Encoding %q, want %q", key, info.ContentEncoding, c.contentEncoding())
		}
		if info.Appendable == c.staged() {
			t.Errorf("OSS: %s: appendable %v", key, info.Appendable)
		}
	}
	if want := slices.Sorted(maps.Keys(local)); !slices.Equal(names, want) {
		t.Errorf("OSS data objects %q, local store %q", names, want)
	}
}

// TestFormatsEngineGlobs reads the local store the way the README's
// one-liners do, with a glob on the extension alone over the whole store
// ('**/*.parquet'), which an analyst types first: the sink's own hidden
// objects (indexes, staging objects) must never match it (DuckDB does not
// skip hidden files).
func TestFormatsEngineGlobs(t *testing.T) {
	duckdb.Require(t)
	bin := binary(t)
	for _, c := range []fmtCase{{"jsonl", "none", "", events.Text}, {"jsonl", "gzip", "", events.Text}, {"csv", "none", "", events.Text},
		{"csv", "zstd", "", events.Text}, {"parquet", "snappy", "", events.Text}} {
		t.Run(c.name(), func(t *testing.T) {
			recs := fmtRecords(c.enc)
			dir := t.TempDir()
			// Stop with a Parquet object open (staged).
			for i, b := range fmtBatches[:2] {
				invokeFormats(t, bin, c.env("SINK_LOCAL_DIR="+dir), c.enc, recs, b[0], b[1], []int{0, 4}[i])
			}
			fn := map[string]string{"jsonl": "read_ndjson", "csv": "read_csv", "parquet": "read_parquet"}[c.format]
			want := int64(2 * 9)
			if c.staged() {
				want = 2 * fmtFlush
			}
			rows := duckdb.Query(t, dir, fmt.Sprintf("SELECT count(*) AS n FROM %s('**/*%s')", fn, c.ext()))
			if got := rows[0]["n"]; got != want {
				t.Fatalf("%d records, want %d", got, want)
			}
		})
	}
}

// TestFormatsChangeSettings changes SINK_FORMAT, SINK_FIELDS and
// SINK_COMPRESSION between invocations, as a live deployment does: each
// change seals the open objects and the next records start new ones in
// the new encoding, a redelivery across a change finds its records in the
// objects of the old encoding, and a Parquet object sealed by a change is
// written with its own fields. Every object holds one encoding, read back
// by the readers of its own.
func TestFormatsChangeSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	duckdb.Require(t)
	bin := binary(t)
	steps := []struct {
		c        fmtCase
		from, to int
	}{
		{fmtCase{"raw", "none", "", events.Text}, 0, 4},
		{fmtCase{"jsonl", "gzip", "", events.Text}, 4, 9},
		{fmtCase{"csv", "zstd", "offset,key,value", events.Text}, 7, 12}, // 7 and 8 are in the jsonl object
		{fmtCase{"parquet", "snappy", "value,offset", events.Text}, 12, 15},
		{fmtCase{"jsonl", "none", "value,offset", events.Text}, 15, 18}, // seals the staged Parquet object
	}
	recs := fmtRecords(events.Text)
	dir := t.TempDir()
	root := filepath.Join(dir, fmtPrefix, fmtTopic)
	committed := 0
	var objs [][]fmtObject // per step
	for _, s := range steps {
		invokeFormats(t, bin, s.c.env("SINK_LOCAL_DIR="+dir), s.c.enc, recs, s.from, s.to, committed)
		first := max(s.from, committed)
		committed = max(committed, s.to)
		var o []fmtObject
		for p := range fmtOffsets {
			name := path.Base(sink.ObjectKey("", fmtTopic, "", int32(p), fmtOffsets[p][first], 0)) + s.c.ext()
			o = append(o, fmtObject{p, first, s.to, name})
		}
		objs = append(objs, o)
	}

	var want []string
	for _, o := range objs {
		for _, x := range o {
			want = append(want, x.name)
		}
	}
	slices.Sort(want)
	var got []string
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "partition_") || strings.HasPrefix(e.Name(), ".oss_stage_") {
			got = append(got, e.Name())
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("objects %q\nwant %q", got, want)
	}
	for i, s := range steps {
		for _, o := range objs[i] {
			checkIndexEncoding(t, s.c, filepath.Join(root, objindex.Key(o.name)))
			if s.c.staged() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, o.name))
			if err != nil {
				t.Fatal(err)
			}
			plain := decompress(t, s.c.codec, o.name, b)
			switch s.c.format {
			case "raw":
				if exp := rawBytes(recs[o.p][o.from:o.to]); !bytes.Equal(plain, exp) {
					t.Errorf("%s: raw content\n%q\nwant\n%q", o.name, plain, exp)
				}
			case "jsonl":
				compareRecords(t, o.name, s.c, parseJSONL(t, o.name, s.c, plain), recs[o.p][o.from:o.to])
			case "csv":
				compareRecords(t, o.name, s.c, parseCSV(t, o.name, s.c, plain), recs[o.p][o.from:o.to])
			}
		}
		readBack(t, s.c, root, recs, objs[i])
	}
}

// checkIndexEncoding checks that every append entry of a record index
// names the encoding of its case: an object holds one encoding.
func checkIndexEncoding(t *testing.T, c fmtCase, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := c.encodingID()
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e struct {
			Op  string `json:"op"`
			Enc string `json:"enc"`
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if e.Op == "append" && !want.MatchString(e.Enc) {
			t.Errorf("%s: an append in encoding %q, want %s", filepath.Base(file), e.Enc, want)
		}
	}
}
