'use strict';
// Runs the SQL read from standard input in a fresh in-memory DuckDB and
// prints the last statement's result as JSON lines: first
// {"columns":[{"name":..,"type":..}]}, then one JSON array per row.
// The value encoding is the contract documented in doc.go (package duckdb);
// the Go side relies on it, so change both together.
//
// Errors go to standard error and the exit status is 1; status 3 means the
// DuckDB module is not installed (the Go side skips or fails on that).

let duckdb;
try {
  duckdb = require('@duckdb/node-api');
} catch (err) {
  process.stderr.write(`duckdb module not installed: ${err.message}\n`);
  process.exit(3);
}
const { DuckDBInstance, DuckDBTypeId, JsonDuckDBValueConverter } = duckdb;

const T = DuckDBTypeId;
const INTEGERS = new Set([T.TINYINT, T.SMALLINT, T.INTEGER, T.BIGINT, T.UTINYINT,
  T.USMALLINT, T.UINTEGER, T.UBIGINT, T.HUGEINT, T.UHUGEINT]);

// Timestamps as RFC 3339 in UTC with every digit DuckDB holds, whatever the
// session time zone: the Go side parses them into time.Time.
function rfc3339(units, perSecond) {
  const s = units / perSecond - (units % perSecond < 0n ? 1n : 0n);
  const frac = units - s * perSecond;
  const d = new Date(Number(s) * 1000);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) {
    return null; // out of range (infinity): the caller falls back to DuckDB's text
  }
  let out = d.toISOString().slice(0, 19);
  if (frac !== 0n) {
    const width = perSecond.toString().length - 1;
    out += '.' + frac.toString().padStart(width, '0').replace(/0+$/, '');
  }
  return out + 'Z';
}

function timestamp(value, type) {
  let iso = null;
  switch (type.typeId) {
    case T.TIMESTAMP_S: iso = rfc3339(value.seconds, 1n); break;
    case T.TIMESTAMP_MS: iso = rfc3339(value.millis, 1000n); break;
    case T.TIMESTAMP_NS: iso = rfc3339(value.nanos, 1000000000n); break;
    default: iso = rfc3339(value.micros, 1000000n); // TIMESTAMP, TIMESTAMP WITH TIME ZONE
  }
  return iso === null ? String(value) : iso;
}

// A marker for integers, so that the writer prints their exact digits.
class Int { constructor(digits) { this.digits = digits; } }

function convert(value, type, self) {
  if (value === null || value === undefined) return null;
  if (INTEGERS.has(type.typeId)) return new Int(String(value));
  switch (type.typeId) {
    case T.FLOAT:
    case T.DOUBLE:
      return Number.isFinite(value) ? value : String(value);
    case T.BLOB:
      return Buffer.from(value.bytes).toString('base64');
    case T.TIMESTAMP:
    case T.TIMESTAMP_S:
    case T.TIMESTAMP_MS:
    case T.TIMESTAMP_NS:
    case T.TIMESTAMP_TZ:
      return timestamp(value, type);
    default:
      // Everything else as the package's own JSON form (strings for
      // DECIMAL, DATE, TIME, UUID, VARCHAR and JSON text; arrays for LIST and
      // ARRAY; objects for STRUCT; [{key,value}] for MAP), nested values
      // coming back through this function.
      return JsonDuckDBValueConverter(value, type, self);
  }
}

function write(v) {
  if (v === null) return 'null';
  if (v instanceof Int) return v.digits;
  if (Array.isArray(v)) return '[' + v.map(write).join(',') + ']';
  if (typeof v === 'object') {
    return '{' + Object.keys(v).map((k) => JSON.stringify(k) + ':' + write(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function out(s) {
  return new Promise((resolve, reject) => {
    process.stdout.write(s, (err) => (err ? reject(err) : resolve()));
  });
}

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const sql = await readStdin();
  // No extension is ever downloaded (tests run offline; the bindings link
  // in the ones needed: parquet, json, icu), and the session is in UTC so
  // that time functions and casts of TIMESTAMP WITH TIME ZONE to text give
  // the same answer on every machine (icu reads the machine's zone
  // otherwise; it is set here because the instance options come before icu
  // is loaded).
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
  });
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  const stmts = await conn.extractStatements(sql);
  if (stmts.count === 0) throw new Error('no SQL statement');
  for (let i = 0; i < stmts.count - 1; i++) {
    await (await stmts.prepare(i)).run();
  }
  const result = await (await stmts.prepare(stmts.count - 1)).stream();
  const columns = [];
  for (let i = 0; i < result.columnCount; i++) {
    const type = result.columnType(i);
    columns.push({ name: result.columnName(i), type: type.alias || type.toString() });
  }
  await out(JSON.stringify({ columns }) + '\n');
  for await (const rows of result.yieldConvertedRows(convert)) {
    if (rows.length > 0) await out(rows.map((r) => write(r) + '\n').join(''));
  }
  conn.closeSync();
  instance.closeSync();
}

main().catch((err) => {
  process.stderr.write(`${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
