package duckdb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// InstallCommand installs DuckDB for the tests, from the repository root.
const InstallCommand = "npm ci --prefix internal/testkit/duckdb"

// RequireEnv, set to 1, turns a missing DuckDB from a skip into a failure.
const RequireEnv = "CI_REQUIRE_DUCKDB"

// hangGuard bounds one call; queries over test data take well under a second.
const hangGuard = 2 * time.Minute

// exitNotInstalled is query.js's status when it cannot load the module.
const exitNotInstalled = 3

// Column is one result column: its name and DuckDB's name of its type
// ("BIGINT", "TIMESTAMP WITH TIME ZONE", "STRUCT(\"key\" VARCHAR, \"value\" VARCHAR)[]", "JSON").
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is the result of the last statement: its columns, and its rows with
// one value per column in column order (value types in the package doc).
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Maps returns the rows as maps from column name to value.
func (r Result) Maps() []map[string]any {
	out := make([]map[string]any, len(r.Rows))
	for i, row := range r.Rows {
		m := make(map[string]any, len(row))
		for j, v := range row {
			m[r.Columns[j].Name] = v
		}
		out[i] = m
	}
	return out
}

// Query runs sql with dir as the working directory and returns the rows of
// the last statement as maps from column name to value. It skips the test
// when DuckDB is not installed (fails with CI_REQUIRE_DUCKDB=1) and fails it
// on an SQL error.
func Query(t testing.TB, dir, sql string) []map[string]any {
	t.Helper()
	return Run(t, dir, sql).Maps()
}

// Run is Query with the columns and ordered rows.
func Run(t testing.TB, dir, sql string) Result {
	t.Helper()
	res, err := Try(t, dir, sql)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Try is Run for SQL that may fail: DuckDB's error is returned (a test can
// check that DuckDB refuses something). A missing install still skips or
// fails the test.
func Try(t testing.TB, dir, sql string) (Result, error) {
	t.Helper()
	script := Require(t)
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("duckdb: no result after %v (hang guard), query:\n%s", hangGuard, sql)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == exitNotInstalled {
		missing(t, strings.TrimSpace(stderr.String()))
	}
	if err != nil {
		return Result{}, fmt.Errorf("duckdb: %v: %s\nquery:\n%s", err, strings.TrimSpace(stderr.String()), sql)
	}
	res, err := decode(stdout.Bytes())
	if err != nil {
		t.Fatalf("duckdb: reading the output of query.js: %v\nquery:\n%s", err, sql)
	}
	return res, nil
}

// Require skips the test, or fails it with CI_REQUIRE_DUCKDB=1, when node or
// the installed module is missing; it returns the path of query.js.
func Require(t testing.TB) string {
	t.Helper()
	dir, err := packageDir()
	if err != nil {
		missing(t, err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		missing(t, "@duckdb/node-api is not installed in "+dir)
	}
	return filepath.Join(dir, "query.js")
}

func missing(t testing.TB, why string) {
	t.Helper()
	msg := fmt.Sprintf("DuckDB unavailable (%s); install it with: %s", why, InstallCommand)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatal(msg + " (" + RequireEnv + "=1)")
		return
	}
	t.Skip(msg)
}

// packageDir finds this directory (query.js, node_modules): from the source
// file's path, or, when built without it (-trimpath), from the module root
// above the working directory.
func packageDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Dir(file)
		if _, err := os.Stat(filepath.Join(dir, "query.js")); err == nil {
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding internal/testkit/duckdb: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "internal", "testkit", "duckdb")
		if _, err := os.Stat(filepath.Join(cand, "query.js")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no internal/testkit/duckdb/query.js above %s", wd)
		}
	}
}

// decode reads query.js's output: a columns line, then one array per row.
func decode(out []byte) (Result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, len(out)+1)
	if !sc.Scan() {
		return Result{}, errors.New("no columns line")
	}
	var head struct{ Columns []Column }
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
		return Result{}, fmt.Errorf("columns line: %w", err)
	}
	res := Result{Columns: head.Columns}
	for sc.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		var row []any
		if err := d.Decode(&row); err != nil {
			return Result{}, fmt.Errorf("row %d: %w", len(res.Rows)+1, err)
		}
		if len(row) != len(res.Columns) {
			return Result{}, fmt.Errorf("row %d: %d values for %d columns", len(res.Rows)+1, len(row), len(res.Columns))
		}
		for i, v := range row {
			v, err := value(res.Columns[i].Type, numbers(v))
			if err != nil {
				return Result{}, fmt.Errorf("row %d, column %s: %w", len(res.Rows)+1, res.Columns[i].Name, err)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, sc.Err()
}

// value converts a top-level value by its column's type.
func value(typ string, v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return v, nil
	}
	switch {
	case typ == "BLOB":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("BLOB: %w", err)
		}
		return b, nil
	case strings.HasPrefix(typ, "TIMESTAMP") && !strings.HasSuffix(typ, "]"):
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return ts, nil
		}
		return s, nil // infinity
	}
	return v, nil
}

// numbers turns the json.Numbers in v into int64 (integers, exact) or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if strings.ContainsAny(string(x), ".eE") {
			if f, err := x.Float64(); err == nil {
				return f
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

// Quote returns s as an SQL string literal, for paths in queries.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
