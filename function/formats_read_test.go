package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Readers of the formats, independent of package format: they see the
// bytes as an engine would and turn each record into a normalized form
// (see expectRecord) to compare with what was sent.

// decompress reads a whole object of the codec with every reader at hand
// (the standard library's gzip, gzip -dc, zstd -dc, the snappy framing
// reader of github.com/golang/snappy) and checks they agree.
func decompress(t *testing.T, codec, name string, b []byte) []byte {
	t.Helper()
	var outs [][]byte
	var readers []string
	add := func(reader string, out []byte, err error) {
		if err != nil {
			t.Fatalf("%s: %s: %v (%d bytes)", name, reader, err, len(b))
		}
		outs, readers = append(outs, out), append(readers, reader)
	}
	switch codec {
	case "none":
		return b
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b)) // multistream: every member
		if err == nil {
			out, rerr := io.ReadAll(zr)
			add("compress/gzip", out, rerr)
		} else {
			add("compress/gzip", nil, err)
		}
		if out, ok := command(t, name, b, "gzip", "-dc"); ok {
			add("gzip -dc", out, nil)
		}
	case "zstd":
		if out, ok := command(t, name, b, "zstd", "-dcq"); ok {
			add("zstd -dc", out, nil)
		} else {
			// Not independent of the writer's library, but still a
			// reader of the whole object.
			zr, err := zstd.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(zr)
			zr.Close()
			add("klauspost zstd (no zstd CLI)", out, err)
		}
	case "snappy":
		out, err := io.ReadAll(snappy.NewReader(bytes.NewReader(b)))
		add("golang/snappy framing reader", out, err)
	default:
		t.Fatalf("codec %q", codec)
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[i], outs[0]) {
			t.Fatalf("%s: %s gives %d bytes, %s %d", name, readers[0], len(outs[0]), readers[i], len(outs[i]))
		}
	}
	return outs[0]
}

// command runs a decompressing command on b; ok is false when the command
// is not installed.
func command(t *testing.T, name string, b []byte, cmd string, args ...string) (out []byte, ok bool) {
	t.Helper()
	if _, err := exec.LookPath(cmd); err != nil {
		return nil, false
	}
	c := exec.Command(cmd, args...)
	c.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s: %s %s: %v: %s", name, cmd, strings.Join(args, " "), err, stderr.String())
	}
	return out, true
}

// rawBytes is a raw object's content: each value (base64 decoded, a JSON
// value's text, nothing for a tombstone) and '\n'.
func rawBytes(recs []events.Record) []byte {
	var b []byte
	for _, r := range recs {
		b = append(append(b, r.Value...), '\n')
	}
	return b
}

// expectRecord is what a reader of the case's objects must see of r: the
// selected fields only, each a string or nil (null). Integers are decimal
// text; values are tagged "t:" (text), "b:" (bytes: base64 decoded, or a
// Parquet BLOB) or "j:" (a JSON value, canonical); headers canonical JSON.
// CSV and Parquet carry a JSON value as its text.
func expectRecord(c fmtCase, r *events.Record) map[string]any {
	m := map[string]any{}
	for _, f := range c.selected() {
		switch f {
		case "topic":
			m[f] = r.Topic
		case "partition":
			m[f] = strconv.Itoa(int(r.Partition))
		case "offset":
			m[f] = strconv.FormatInt(r.Offset, 10)
		case "timestamp":
			m[f] = strconv.FormatInt(r.Timestamp, 10)
		case "key":
			m[f] = nil
			if r.HasKey {
				m[f] = string(r.Key)
			}
		case "value":
			switch {
			case r.ValueKind == events.ValueNull:
				m[f] = nil
			case r.ValueKind == events.ValueJSON && c.format == "jsonl":
				m[f] = "j:" + canonJSON(r.Value)
			case r.ValueKind == events.ValueJSON:
				var b bytes.Buffer
				_ = json.Compact(&b, r.Value)
				m[f] = "t:" + b.String()
			case c.enc == events.Base64:
				m[f] = "b:" + string(r.Value)
			default:
				m[f] = "t:" + string(r.Value)
			}
		case "headers":
			m[f] = canonJSON(r.Headers)
		}
	}
	return m
}

// canonJSON returns JSON text in one form (members sorted, no HTML
// escapes, numbers as written); empty text or null is the empty array,
// as headers without a list are written. Text that is not JSON is
// returned marked as such, to fail the comparison visibly.
func canonJSON(text []byte) string {
	if len(bytes.TrimSpace(text)) == 0 || string(text) == "null" {
		return "[]"
	}
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Sprintf("not JSON (%v): %q", err, text)
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func equalRecord(got, want map[string]any) bool { return reflect.DeepEqual(got, want) }

// show renders a normalized record with every byte visible.
func show(m map[string]any) string {
	keys := slices.Sorted(maps.Keys(m))
	var parts []string
	for _, k := range keys {
		if m[k] == nil {
			parts = append(parts, k+"=NULL")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// jsonValue normalizes a JSONL value member (or DuckDB's JSON text of it).
func jsonValue(c fmtCase, raw []byte) (any, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '"' {
		return "j:" + canonJSON(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return textValue(c, &s)
}

// textValue normalizes a value read as text (a CSV field, a JSON string).
func textValue(c fmtCase, s *string) (any, error) {
	if s == nil {
		return nil, nil
	}
	if c.enc != events.Base64 {
		return "t:" + *s, nil
	}
	b, err := base64.StdEncoding.DecodeString(*s)
	if err != nil {
		return nil, fmt.Errorf("value %q is not base64: %w", *s, err)
	}
	return "b:" + string(b), nil
}

// parseJSONL reads a JSONL object's lines: each an object with exactly the
// selected members, in the selection's order.
func parseJSONL(t *testing.T, object string, c fmtCase, b []byte) []map[string]any {
	t.Helper()
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s: does not end with a line end", object)
	}
	var out []map[string]any
	for n, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(b) == 0 {
			break
		}
		m, err := jsonlRecord(c, line)
		if err != nil {
			t.Fatalf("%s: line %d %q: %v", object, n+1, line, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonlRecord(c fmtCase, line []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v", err)
	}
	m := map[string]any{}
	var names []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		name := tok.(string)
		names = append(names, name)
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, fmt.Errorf("member %s: %w", name, err)
		}
		var v any
		switch name {
		case "topic":
			var s string
			err = json.Unmarshal(raw, &s)
			v = s
		case "partition", "offset", "timestamp":
			_, err = strconv.ParseInt(string(raw), 10, 64)
			v = string(raw)
		case "key":
			if string(raw) != "null" {
				var s string
				err = json.Unmarshal(raw, &s)
				v = s
			}
		case "value":
			v, err = jsonValue(c, raw)
		case "headers":
			if raw[0] != '[' {
				err = errors.New("headers is not an array")
			}
			v = canonJSON(raw)
		default:
			err = errors.New("unknown member")
		}
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", name, err)
		}
		m[name] = v
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("more after the object")
	}
	if !slices.Equal(names, c.selected()) {
		return nil, fmt.Errorf("members %q, want %q", names, c.selected())
	}
	return m, nil
}

// csvField is one field of a CSV row, and whether it was quoted: an
// unquoted empty field is NULL, a quoted one the empty string.
type csvField struct {
	v      string
	quoted bool
}

// csvRows parses RFC 4180 with "\n" line ends, strictly: a quote or CR
// outside quotes, or a last row without its line end, is an error.
func csvRows(b []byte) ([][]csvField, error) {
	var rows [][]csvField
	var row []csvField
	for i := 0; i < len(b); {
		var f csvField
		if b[i] == '"' {
			f.quoted = true
			var v []byte
			for i++; ; i++ {
				if i >= len(b) {
					return nil, fmt.Errorf("row %d: unterminated quoted field", len(rows)+1)
				}
				if b[i] == '"' {
					if i+1 < len(b) && b[i+1] == '"' {
						v = append(v, '"')
						i++
						continue
					}
					i++
					break
				}
				v = append(v, b[i])
			}
			f.v = string(v)
		} else {
			j := i
			for j < len(b) && b[j] != ',' && b[j] != '\n' && b[j] != '"' && b[j] != '\r' {
				j++
			}
			f.v, i = string(b[i:j]), j
		}
		row = append(row, f)
		switch {
		case i >= len(b):
			return nil, fmt.Errorf("row %d: no line end", len(rows)+1)
		case b[i] == ',':
			i++
			if i == len(b) {
				return nil, fmt.Errorf("row %d: no line end", len(rows)+1)
			}
		case b[i] == '\n':
			rows, row = append(rows, row), nil
			i++
		default:
			return nil, fmt.Errorf("row %d: %q after a field", len(rows)+1, b[i])
		}
	}
	return rows, nil
}

// parseCSV reads a CSV object: its header row, the selected fields in
// order, then one row per record.
func parseCSV(t *testing.T, object string, c fmtCase, b []byte) []map[string]any {
	t.Helper()
	rows, err := csvRows(b)
	if err != nil {
		t.Fatalf("%s: %v", object, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no header row", object)
	}
	var head []string
	for _, f := range rows[0] {
		head = append(head, f.v)
	}
	if !slices.Equal(head, c.selected()) {
		t.Fatalf("%s: header %q, want %q", object, head, c.selected())
	}
	var out []map[string]any
	for n, row := range rows[1:] {
		if len(row) != len(head) {
			t.Fatalf("%s: row %d has %d fields, want %d", object, n+2, len(row), len(head))
		}
		m := map[string]any{}
		for i, f := range row {
			var s *string
			if f.quoted || f.v != "" {
				s = &f.v
			}
			v, err := csvValue(c, head[i], s)
			if err != nil {
				t.Fatalf("%s: row %d, %s: %v", object, n+2, head[i], err)
			}
			m[head[i]] = v
		}
		out = append(out, m)
	}
	return out
}

// csvValue normalizes a CSV field (or DuckDB's VARCHAR of it); s is nil
// for NULL.
func csvValue(c fmtCase, field string, s *string) (any, error) {
	switch field {
	case "value":
		return textValue(c, s)
	case "headers":
		if s == nil || *s == "" {
			return nil, errors.New("headers is NULL or empty")
		}
		return canonJSON([]byte(*s)), nil
	case "partition", "offset", "timestamp":
		if s == nil {
			return nil, errors.New("NULL")
		}
		_, err := strconv.ParseInt(*s, 10, 64)
		return *s, err
	}
	if s == nil {
		return nil, nil
	}
	return *s, nil
}

// normalizeDuck normalizes a row DuckDB read (see duckSQL for the types).
func normalizeDuck(t *testing.T, c fmtCase, row map[string]any) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, f := range c.selected() {
		v := row[f]
		var err error
		switch {
		case f == "timestamp" && c.format == "parquet":
			ts, ok := v.(time.Time)
			if !ok {
				t.Fatalf("timestamp %T %v", v, v)
			}
			v = strconv.FormatInt(ts.UnixMilli(), 10)
		case f == "partition" || f == "offset" || f == "timestamp":
			n, ok := v.(int64)
			if !ok {
				t.Fatalf("%s %T %v", f, v, v)
			}
			v = strconv.FormatInt(n, 10)
		case f == "value" && c.format == "jsonl":
			var raw []byte
			if s, ok := v.(string); ok {
				raw = []byte(s)
			}
			v, err = jsonValue(c, raw)
		case f == "value" && c.format == "parquet":
			switch x := v.(type) {
			case string:
				v = "t:" + x
			case []byte:
				v = "b:" + string(x)
			}
		case f == "value":
			var s *string
			if x, ok := v.(string); ok {
				s = &x
			}
			v, err = textValue(c, s)
		case f == "headers" && c.format == "parquet":
			b, merr := json.Marshal(v)
			v, err = canonJSON(b), merr
		case f == "headers":
			s, ok := v.(string)
			if !ok || s == "" {
				t.Fatalf("headers %T %q: want JSON text", v, s)
			}
			v = canonJSON([]byte(s))
		}
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m[f] = v
	}
	return m
}
