package format

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Encoder appends the encoding of records to a buffer. It is a small
// comparable value type, safe to copy and to share; the zero value encodes
// raw with text values, uncompressed.
//
// The canonical forms, the ones ParseID returns, are: Raw with zero Fields;
// JSONL with zero Fields and no Codec (the legacy envelope: all fields,
// legacy id, no extension); and JSONL, CSV or Parquet with Fields set. Other
// values still encode: Raw ignores Fields, and zero Fields elsewhere means
// AllFields(); their ID is that of the canonical form they encode as.
type Encoder struct {
	Format Format
	// ValueEncoding says how string values were delivered; jsonl, csv
	// and parquet write base64-delivered values back as base64 text so that
	// binary values survive, raw writes the decoded bytes.
	ValueEncoding events.ValueEncoding
	// Fields are the members jsonl, csv and parquet write, in this order.
	Fields Fields
	// Codec compresses the whole object (raw, jsonl, csv) or, for
	// parquet, its column chunks. Append never compresses: see Compressor.
	Codec Codec
	// Final stages raw, jsonl and csv objects (SINK_FINALIZE): their bytes
	// are appended to a staging object, exactly as they would be to the
	// data object, which is written whole (a normal object) when sealed.
	// Parquet is always staged; Final does not apply to it.
	Final bool
}

// legacy reports whether e is the legacy JSONL envelope (id jsonl/text or
// jsonl/base64, no extension).
func (e Encoder) legacy() bool {
	return e.Format == JSONL && e.Fields.n == 0 && e.Codec == None && !e.Final
}

// fields returns the fields e writes (for raw: none).
func (e Encoder) fields() Fields {
	switch {
	case e.Format == Raw:
		return Fields{}
	case e.Fields.n == 0:
		return AllFields()
	}
	return e.Fields
}

func (e Encoder) base64() bool { return e.ValueEncoding == events.Base64 }

// ID returns the encoding id of e, which names everything the bytes of an
// object depend on besides its records: "raw/text", "jsonl/base64" (legacy),
// "csv/text;fields=offset,key,value;z=zstd-1", "jsonl/text;fields=...;final".
// See the package comment.
func (e Encoder) ID() string {
	v := "text"
	if e.base64() {
		v = "base64"
	}
	id := e.Format.String() + "/" + v
	if e.Format != Raw && !e.legacy() {
		id += ";fields=" + e.fields().String()
	}
	if e.Codec != None {
		id += ";z=" + e.Codec.id()
	}
	if e.final() {
		id += ";final"
	}
	return id
}

// final reports whether e is a staged encoding of a format that can also
// be appended (raw, jsonl, csv): Final, which Parquet ignores.
func (e Encoder) final() bool { return e.Final && e.Format != Parquet }

// ParseID returns the Encoder whose ID is id, in its canonical form, so that
// ParseID(e.ID()).ID() == e.ID() for every Encoder e and ParseID(e.ID()) == e
// for the canonical ones. It refuses anything ID does not produce: unknown
// formats, value encodings, fields, codecs or parameters, fields on raw, a
// missing field list, compression levels other than the fixed ones, and
// parameters out of order or repeated.
func ParseID(id string) (Encoder, error) {
	e, err := parseID(id)
	if err != nil {
		return Encoder{}, fmt.Errorf("encoding id %q: %w", id, err)
	}
	if got := e.ID(); got != id {
		return Encoder{}, fmt.Errorf("encoding id %q: not in canonical form (want %q)", id, got)
	}
	return e, nil
}

func parseID(id string) (Encoder, error) {
	var e Encoder
	head, params, _ := strings.Cut(id, ";")
	fs, vs, ok := strings.Cut(head, "/")
	if !ok {
		return e, fmt.Errorf("want {format}/{text|base64}[;fields=...][;z=...][;final]")
	}
	f, err := Parse(fs)
	if err != nil || fs == "" {
		return e, fmt.Errorf("unknown format %q", fs)
	}
	e.Format = f
	switch vs {
	case "text":
	case "base64":
		e.ValueEncoding = events.Base64
	default:
		return e, fmt.Errorf("unknown value encoding %q (want text or base64)", vs)
	}
	hasFields := false
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		if e.Final {
			return e, fmt.Errorf("final must come last")
		}
		if p == "final" {
			if e.Format == Parquet {
				return e, fmt.Errorf("parquet is always final: no final parameter")
			}
			e.Final = true
			continue
		}
		name, val, ok := strings.Cut(p, "=")
		switch {
		case !ok:
			return e, fmt.Errorf("parameter %q: want name=value", p)
		case name == "fields":
			if hasFields || e.Codec != None {
				return e, fmt.Errorf("fields must come once, before z")
			}
			if e.Format == Raw {
				return e, fmt.Errorf("raw has no fields")
			}
			if val == "" {
				return e, fmt.Errorf("empty field list")
			}
			e.Fields, err = ParseFields(val)
			if err != nil {
				return e, err
			}
			hasFields = true
		case name == "z":
			if e.Codec != None {
				return e, fmt.Errorf("z is repeated")
			}
			if e.Codec, err = parseCodecID(val); err != nil {
				return e, err
			}
		default:
			return e, fmt.Errorf("unknown parameter %q", name)
		}
	}
	if e.Format != Raw && !hasFields && !e.legacy() {
		return e, fmt.Errorf("%s needs ;fields=", e.Format)
	}
	return e, nil
}

// parseCodecID parses the z parameter: "{codec}-{level}" at the fixed level
// of the codec, or "snappy".
func parseCodecID(s string) (Codec, error) {
	name, level, hasLevel := strings.Cut(s, "-")
	c, err := ParseCodec(name)
	if err != nil || c == None || name == "" {
		return None, fmt.Errorf("z=%s: unknown codec %q (want gzip, zstd or snappy)", s, name)
	}
	if c.level() == 0 {
		if hasLevel {
			return None, fmt.Errorf("z=%s: %s has no level", s, c)
		}
		return c, nil
	}
	n, err := strconv.Atoi(level)
	if !hasLevel || err != nil {
		return None, fmt.Errorf("z=%s: want %s", s, c.id())
	}
	if n != c.level() {
		return None, fmt.Errorf("z=%s: %s level %d is not supported (this version writes %s)", s, c, n, c.id())
	}
	return c, nil
}

// Ext returns the extension of e's object names: "" for raw and legacy
// jsonl, ".jsonl", ".csv" or ".parquet" otherwise, then ".gz", ".zst" or
// ".sz" when the whole object is compressed ("" + ".gz" for raw gzip).
func (e Encoder) Ext() string {
	var ext string
	switch {
	case e.legacy() || e.Format == Raw:
	case e.Format == JSONL:
		ext = ".jsonl"
	case e.Format == CSV:
		ext = ".csv"
	case e.Format == Parquet:
		return ".parquet"
	}
	if e.Compressed() {
		ext += e.Codec.ext()
	}
	return ext
}

// ContentType returns the Content-Type of e's objects: "" for raw and legacy
// jsonl (OSS's default, as such objects always had), "application/x-ndjson",
// "text/csv; charset=utf-8" or "application/vnd.apache.parquet".
func (e Encoder) ContentType() string {
	switch {
	case e.legacy():
		return ""
	case e.Format == JSONL:
		return "application/x-ndjson"
	case e.Format == CSV:
		return "text/csv; charset=utf-8"
	case e.Format == Parquet:
		return "application/vnd.apache.parquet"
	}
	return ""
}

// ContentEncoding returns the Content-Encoding of e's objects: "gzip",
// "zstd" or "x-snappy-framed" when the whole object is compressed, "" otherwise.
func (e Encoder) ContentEncoding() string {
	if !e.Compressed() {
		return ""
	}
	return e.Codec.contentEncoding()
}

// Header returns the preamble of every object: for CSV the header row of
// field names ("offset,key,value\n"), nil for the other formats. The first
// append of an object starts with it.
func (e Encoder) Header() []byte {
	if e.Format != CSV {
		return nil
	}
	return []byte(e.fields().String() + "\n")
}

// Staged reports whether records are staged and the data object written
// whole when it is sealed: Parquet (built from the staged records), and
// raw, jsonl and csv with Final (the staged bytes, copied).
func (e Encoder) Staged() bool { return e.Format == Parquet || e.Final }

// Built reports whether a staged encoding's data object is built from the
// staged records (Parquet: Build, CheckBuilt) rather than the staged
// bytes themselves (Final raw, jsonl and csv).
func (e Encoder) Built() bool { return e.Format == Parquet }

// Compressed reports whether the whole object is compressed (Codec != None
// and not parquet, whose codec applies to column chunks).
func (e Encoder) Compressed() bool { return e.Codec != None && e.Format != Parquet }

// Append appends the uncompressed encoding of r, including its line end, to
// dst: raw, a jsonl line, a csv row, or for Parquet the staging encoding.
func (e Encoder) Append(dst []byte, r *events.Record) []byte {
	switch e.Format {
	case JSONL:
		return e.appendJSONL(dst, r, e.fields())
	case CSV:
		return e.appendCSV(dst, r, e.fields())
	case Parquet:
		return appendStaged(dst, r)
	}
	dst = append(dst, r.Value...)
	return append(dst, '\n')
}

// Size returns an upper bound of the length Append adds for r, exact for
// raw, so callers can size buffers once. It reads the strings of r (a fast
// scan), to stay close to the real size whatever they hold.
func (e Encoder) Size(r *events.Record) int {
	switch e.Format {
	case JSONL:
		return e.sizeJSONL(r, e.fields())
	case CSV:
		return e.sizeCSV(r, e.fields())
	case Parquet:
		return sizeStaged(r)
	}
	return len(r.Value) + 1
}
