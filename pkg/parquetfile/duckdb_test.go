package parquetfile

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// duckDBScript runs the SQL in argv[2] and prints the rows as JSON.
const duckDBScript = `
import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const r = await con.runAndReadAll(process.argv[1]);
console.log(JSON.stringify(r.getRowObjectsJson()));
`

// duckDB runs sql in DuckDB through its Node.js client, installed (npm
// install @duckdb/node-api) in the directory $DUCKDB_NODE_DIR; the test
// is skipped without it.
func duckDB(t *testing.T, sql string) []map[string]any {
	t.Helper()
	dir := os.Getenv("DUCKDB_NODE_DIR")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skip("DuckDB: set DUCKDB_NODE_DIR to a directory with @duckdb/node-api installed, and put node on PATH")
	}
	cmd := exec.Command(node, "--input-type=module", "-e", duckDBScript, sql)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("duckdb: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("duckdb: %v", err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("duckdb output: %v\n%s", err, out)
	}
	return rows
}

// TestDuckDB reads the samples back with DuckDB, for every codec.
func TestDuckDB(t *testing.T) {
	rows := make([]Row, len(samples))
	for i, s := range samples {
		rows[i] = s.row
	}
	for _, codec := range codecs {
		t.Run(codec, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.parquet")
			if err := os.WriteFile(path, writeFile(t, Options{Columns: AllColumns(), Codec: codec}, rows), 0o644); err != nil {
				t.Fatal(err)
			}
			got := duckDB(t, `SELECT topic, partition::VARCHAR AS p, "offset"::VARCHAR AS o, epoch_ms("timestamp")::VARCHAR AS ts,
				key, value, to_json(headers)::VARCHAR AS h FROM read_parquet('`+path+`')`)
			if len(got) != len(samples) {
				t.Fatalf("%d rows, want %d", len(got), len(samples))
			}
			for i, s := range samples {
				w := s.want(AllColumns(), false)
				want := map[string]any{"topic": *w.Topic, "p": strconv.Itoa(int(*w.Partition)),
					"o": strconv.FormatInt(*w.Offset, 10), "ts": nil, "key": nil, "value": nil}
				if w.Timestamp != nil {
					want["ts"] = strconv.FormatInt(*w.Timestamp, 10)
				}
				if w.Key != nil {
					want["key"] = *w.Key
				}
				if w.Value != nil {
					want["value"] = string(*w.Value)
				}
				hs := []map[string]any{}
				for _, h := range w.Headers {
					m := map[string]any{"key": h.Key, "value": nil}
					if h.Value != nil {
						m["value"] = *h.Value
					}
					hs = append(hs, m)
				}
				wh, _ := json.Marshal(hs)
				var gh any
				if err := json.Unmarshal([]byte(got[i]["h"].(string)), &gh); err != nil {
					t.Fatalf("row %d headers %v: %v", i, got[i]["h"], err)
				}
				gotH, _ := json.Marshal(gh)
				delete(got[i], "h")
				if string(gotH) != string(wh) {
					t.Errorf("row %d headers: got %s, want %s", i, gotH, wh)
				}
				for k, v := range want {
					if got[i][k] != v {
						t.Errorf("row %d %s: got %#v, want %#v", i, k, got[i][k], v)
					}
				}
			}
		})
	}
	t.Run("binary values are BLOB", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(path, writeFile(t, Options{Columns: []Column{Value}, BinaryValues: true}, rows), 0o644); err != nil {
			t.Fatal(err)
		}
		got := duckDB(t, `SELECT DISTINCT typeof(value) AS t FROM read_parquet('`+path+`')`)
		if len(got) != 1 || got[0]["t"] != "BLOB" {
			t.Fatalf("value types %v, want BLOB", got)
		}
	})
}
