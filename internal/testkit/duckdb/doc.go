// Package duckdb lets tests read landed objects the way an analyst does: with
// DuckDB SQL over files in a directory (the local store, or files a test
// wrote), so that what the sink writes is checked by an independent reader.
//
// DuckDB comes from the npm registry (@duckdb/node-api and its platform
// bindings, pinned in package.json and package-lock.json beside this file)
// and runs in a node process through query.js. Install it with
//
//	npm ci --prefix internal/testkit/duckdb
//
// (.ci/run does). When node or the module is missing, [Run] and [Query] skip
// the test with that command, unless CI_REQUIRE_DUCKDB=1 is set (CI sets it):
// then the test fails, so CI cannot pass without having run them.
//
// # Contract
//
// Each call starts a fresh in-memory DuckDB in a node process whose working
// directory is dir, so relative paths and globs ('**/*.csv') are relative to
// dir. The SQL may hold several statements; the result is the last one's.
// The session is in UTC, never downloads an extension (parquet, json and icu
// are linked in) and has no state across calls. SQL errors fail the test
// ([Try] returns them instead). A call that has not finished after two
// minutes is killed and fails the test: a hang guard only, no test waits on
// it.
//
// Values, by DuckDB type of the result column:
//
//	NULL                          nil
//	BOOLEAN                       bool
//	TINYINT … BIGINT, U… types    int64 (exact: no float on the way); a UBIGINT
//	                              or HUGEINT beyond int64 is a json.Number
//	FLOAT, DOUBLE                 float64 (NaN and ±Inf: the strings "NaN", "Infinity", "-Infinity")
//	DECIMAL                       string, exact ("1.50")
//	VARCHAR, JSON                 string (JSON: its text; a JSON column's type is "JSON")
//	BLOB                          []byte (base64 on the wire)
//	TIMESTAMP, TIMESTAMP_S/_MS/_NS,
//	TIMESTAMP WITH TIME ZONE      time.Time in UTC, every digit DuckDB holds
//	                              ("infinity" stays a string)
//	DATE, TIME, UUID, INTERVAL…   string, DuckDB's text
//	LIST, ARRAY                   []any
//	STRUCT                        map[string]any
//	MAP                           []any of map[string]any{"key": …, "value": …}
//
// Inside LIST, STRUCT and MAP values integers are int64 as above, but BLOBs
// stay base64 strings and timestamps RFC 3339 strings (the conversion to
// []byte and time.Time is by top-level column type only).
//
// # Reading the sink's formats
//
// These reads are checked by this package's tests on files written by hand:
//
// JSONL, plain, .gz and .zst (compression is chosen by the extension; an
// object of several gzip members or zstd frames reads whole):
//
//	SELECT * FROM read_ndjson('**/*.jsonl*')
//	SELECT * FROM read_json('**/*.jsonl*', format='newline_delimited')
//
// Types are sniffed from the data: value is VARCHAR when every sampled value
// is a string, JSON when some are embedded JSON; headers is
// STRUCT(key VARCHAR, value VARCHAR)[] (VARCHAR[] when all are empty). For
// types that do not depend on the data, name the columns:
//
//	read_ndjson('**/*.jsonl*', columns={topic: 'VARCHAR', partition: 'INTEGER',
//	    "offset": 'BIGINT', timestamp: 'BIGINT', key: 'VARCHAR', value: 'JSON',
//	    headers: 'STRUCT(key VARCHAR, value VARCHAR)[]'})
//
// A null key or value is SQL NULL, "" is the empty string. offset is an SQL
// keyword: quote it ("offset").
//
// CSV, plain, .gz and .zst: an unquoted empty field is NULL and a quoted
// empty field "" is the empty string only with allow_quoted_nulls=false (by
// default DuckDB reads both as NULL). Quoted commas, doubled quotes, CR and
// LF inside quotes and non-ASCII text read back unchanged. Without explicit
// types the sniffer makes a key or value column of digits BIGINT ("007"
// becomes 7), so give them:
//
//	read_csv('**/*.csv*', header=true, allow_quoted_nulls=false,
//	    types={'key': 'VARCHAR', 'value': 'VARCHAR', 'headers': 'VARCHAR'})
//
// or, with nothing sniffed at all (the form tests use):
//
//	read_csv('**/*.csv*', header=true, auto_detect=false, allow_quoted_nulls=false,
//	    columns={'offset': 'BIGINT', 'key': 'VARCHAR', 'value': 'VARCHAR'})
//
// Parquet: read_parquet('**/*.parquet').
//
// Snappy: DuckDB has no snappy compression for read_csv or read_json
// (compression='snappy' is refused: only none, gzip, zstd and auto), and a
// .sz file is read as if uncompressed, which fails. Snappy-framed objects
// (.jsonl.sz, .csv.sz) cannot be read by DuckDB; tests decompress them first.
package duckdb
