package format

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenEncoders are the encodings pinned by golden files.
func goldenEncoders(t testing.TB) []Encoder {
	return []Encoder{
		{},
		{ValueEncoding: events.Base64},
		{Format: JSONL},
		{Format: JSONL, ValueEncoding: events.Base64},
		{Format: JSONL, Fields: mustFields(t, "value,key,offset")},
		{Format: CSV, Fields: AllFields()},
		{Format: CSV, Fields: mustFields(t, "offset,key,value")},
		{Format: CSV, ValueEncoding: events.Base64, Fields: mustFields(t, "offset,key,value,headers")},
		{Format: Parquet, Fields: mustFields(t, "offset,value")},
		{Format: Parquet, ValueEncoding: events.Base64, Fields: AllFields()},
	}
}

// object returns what an object of e holds after the records: the header,
// then each record.
func object(e Encoder, recs []events.Record) []byte {
	b := e.Header()
	for i := range recs {
		b = e.Append(b, &recs[i])
	}
	return b
}

// golden compares got with testdata/file, or writes it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s changed: an existing encoding must keep its bytes\ngot  %q\nwant %q", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, e := range goldenEncoders(t) {
		t.Run(e.ID(), func(t *testing.T) {
			recs := testRecords(e.ValueEncoding)
			obj := object(e, recs)
			golden(t, name(e)+".golden", obj)
			switch e.Format {
			case JSONL:
				checkJSONL(t, e, recs, obj)
			case CSV:
				checkCSV(t, e, recs, obj)
			}
		})
	}
}

// checkJSONL reads obj with encoding/json: one object per line, the
// selected members in their order, each as the format says.
func checkJSONL(t *testing.T, e Encoder, recs []events.Record, obj []byte) {
	lines := strings.SplitAfter(string(obj), "\n")
	if lines[len(lines)-1] != "" || len(lines)-1 != len(recs) {
		t.Fatalf("%d lines for %d records", len(lines)-1, len(recs))
	}
	fs := e.fields()
	for i, r := range recs {
		line := lines[i]
		dec := json.NewDecoder(strings.NewReader(line))
		var names []string
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("line %d: %v %v", i, tok, err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, tok.(string))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(names, ",") != fs.String() {
			t.Fatalf("line %d: members %v, want %s", i, names, fs)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		str := func(name string) (string, bool) {
			var s *string
			if err := json.Unmarshal(m[name], &s); err != nil {
				t.Fatalf("line %d: %s: %v", i, name, err)
			}
			if s == nil {
				return "", false
			}
			return *s, true
		}
		num := func(name string) int64 {
			n, err := strconv.ParseInt(string(m[name]), 10, 64)
			if err != nil {
				t.Fatalf("line %d: %s: %v", i, name, err)
			}
			return n
		}
		for _, f := range fs.f[:fs.n] {
			ok := true
			switch f {
			case FieldTopic:
				s, _ := str("topic")
				ok = s == r.Topic
			case FieldPartition:
				ok = num("partition") == int64(r.Partition)
			case FieldOffset:
				ok = num("offset") == r.Offset
			case FieldTimestamp:
				ok = num("timestamp") == r.Timestamp
			case FieldKey:
				s, has := str("key")
				ok = has == r.HasKey && s == string(repair(r.Key))
			case FieldValue:
				raw := m["value"]
				switch {
				case r.ValueKind == events.ValueNull:
					ok = string(raw) == "null"
				case r.ValueKind == events.ValueJSON:
					ok = json.Valid(raw) && bytes.Equal(raw, r.Value)
				case e.base64():
					s, _ := str("value")
					v, err := base64.StdEncoding.DecodeString(s)
					ok = err == nil && bytes.Equal(v, r.Value)
				default:
					s, _ := str("value")
					ok = s == string(repair(r.Value))
				}
			case FieldHeaders:
				want := r.Headers
				if len(want) == 0 {
					want = []byte("[]")
				}
				ok = bytes.Equal(m["headers"], want)
			}
			if !ok {
				t.Errorf("line %d: member %s = %s, record %+v", i, f, m[f.String()], r)
			}
		}
	}
}

// checkCSV reads obj with encoding/csv: the header row, then one row per
// record with the selected fields. encoding/csv cannot tell a null from an
// empty string (Decode can: see TestRoundTrip and TestCSVNulls) and reads
// CR LF inside a quoted field as LF.
func checkCSV(t *testing.T, e Encoder, recs []events.Record, obj []byte) {
	cr := csv.NewReader(bytes.NewReader(obj))
	cr.FieldsPerRecord = e.fields().Len()
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(recs)+1 || strings.Join(rows[0], ",") != e.fields().String() {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	crlf := strings.NewReplacer("\r\n", "\n")
	fs := e.fields()
	for i, r := range recs {
		row := rows[i+1]
		for j, f := range fs.f[:fs.n] {
			var want string
			switch f {
			case FieldTopic:
				want = r.Topic
			case FieldPartition:
				want = strconv.Itoa(int(r.Partition))
			case FieldOffset:
				want = strconv.FormatInt(r.Offset, 10)
			case FieldTimestamp:
				want = strconv.FormatInt(r.Timestamp, 10)
			case FieldKey:
				want = string(repair(r.Key))
			case FieldValue:
				switch {
				case r.ValueKind == events.ValueNull:
				case r.ValueKind == events.ValueJSON || !e.base64():
					want = string(repair(r.Value))
				default:
					want = base64.StdEncoding.EncodeToString(r.Value)
				}
			case FieldHeaders:
				want = string(r.Headers)
				if want == "" {
					want = "[]"
				}
			}
			if want = crlf.Replace(want); row[j] != want {
				t.Errorf("row %d field %s = %q, want %q", i+1, f, row[j], want)
			}
		}
	}
}
