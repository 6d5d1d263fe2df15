package format

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// Decoded is one record read back from its encoding: the members the
// encoding carried (Fields), the others zero.
type Decoded struct {
	// Fields says which of the members below the encoding carried.
	Fields    Fields
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	// Key, when HasKey; HasKey is false for a null key.
	Key    []byte
	HasKey bool
	// Value is the value as delivered: text, base64 decoded to bytes, the
	// JSON text for ValueJSON, nil for ValueNull.
	Value     []byte
	ValueKind events.ValueKind
	// Headers is the compact JSON array text as delivered, nil when absent
	// (jsonl and csv write no headers as [], which reads back as nil).
	Headers []byte
}

// Decode reads exactly one record's bytes, as Append wrote them (the sizes
// come from the record index); the line end is optional. What each format
// gives back:
//
//   - raw: only the value (Fields = value), as ValueBytes: a raw line cannot
//     tell a null from an empty value, nor JSON from text.
//   - jsonl: the selected members, exactly. The line must have exactly the
//     encoder's members (in any order), each once.
//   - csv: one RFC 4180 row with one field per selected member. A null
//     (empty unquoted field) gives no key or a ValueNull value, an empty
//     quoted field an empty string. A csv field cannot tell JSON from text:
//     values come back as ValueBytes; with the base64 encoding a value that
//     is not base64 is taken as the JSON text of a ValueJSON value.
//   - parquet (the staging encoding): everything, exactly (Fields = all).
//
// Slices of the result may alias b.
func (e Encoder) Decode(b []byte) (Decoded, error) {
	var d Decoded
	var err error
	switch e.Format {
	case Raw:
		d = Decoded{Fields: fieldsOf(FieldValue), Value: bytes.TrimSuffix(b, []byte{'\n'})}
	case JSONL:
		d, err = e.decodeJSONL(b)
	case CSV:
		d, err = e.decodeCSV(b)
	case Parquet:
		d, err = decodeStaged(b)
	default:
		err = fmt.Errorf("unknown format %d", e.Format)
	}
	if err != nil {
		return Decoded{}, fmt.Errorf("decode %s: %w", e.ID(), err)
	}
	return d, nil
}

func (e Encoder) decodeJSONL(b []byte) (Decoded, error) {
	fs := e.fields()
	d := Decoded{Fields: fs}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return d, fmt.Errorf("not a JSON object")
	}
	var seen Fields
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return d, err
		}
		name, _ := t.(string)
		f, ok := fieldByName(name)
		if !ok || !fs.Has(f) {
			return d, fmt.Errorf("unexpected member %q", name)
		}
		if seen.Has(f) {
			return d, fmt.Errorf("member %q is repeated", name)
		}
		seen.f[seen.n] = f
		seen.n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return d, fmt.Errorf("member %q: %w", name, err)
		}
		if err := e.jsonlMember(&d, f, raw); err != nil {
			return d, fmt.Errorf("member %q: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return d, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return d, fmt.Errorf("more than one JSON value")
	}
	if seen.n != fs.n {
		for _, f := range fs.f[:fs.n] {
			if !seen.Has(f) {
				return d, fmt.Errorf("member %q is missing", f)
			}
		}
	}
	return d, nil
}

func (e Encoder) jsonlMember(d *Decoded, f Field, raw json.RawMessage) error {
	null := string(raw) == "null"
	switch f {
	case FieldTopic:
		return json.Unmarshal(raw, &d.Topic)
	case FieldPartition:
		return json.Unmarshal(raw, &d.Partition)
	case FieldOffset:
		return json.Unmarshal(raw, &d.Offset)
	case FieldTimestamp:
		return json.Unmarshal(raw, &d.Timestamp)
	case FieldKey:
		if null {
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		d.Key, d.HasKey = []byte(s), true
	case FieldValue:
		switch {
		case null:
			d.ValueKind = events.ValueNull
		case raw[0] != '"':
			d.Value, d.ValueKind = raw, events.ValueJSON
		default:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			d.Value = []byte(s)
			if e.base64() {
				v, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return fmt.Errorf("base64: %w", err)
				}
				d.Value = v
			}
		}
	case FieldHeaders:
		if raw[0] != '[' {
			return fmt.Errorf("not an array")
		}
		if string(raw) != "[]" {
			d.Headers = raw
		}
	}
	return nil
}

func (e Encoder) decodeCSV(b []byte) (Decoded, error) {
	fs := e.fields()
	d := Decoded{Fields: fs}
	var buf [numFields]csvField
	row, err := parseCSVRow(b, buf[:0])
	if err != nil {
		return d, err
	}
	if len(row) != int(fs.n) {
		return d, fmt.Errorf("%w: %d fields, want %d (%s)", errCSVRow, len(row), fs.n, fs)
	}
	for i, f := range fs.f[:fs.n] {
		c := row[i]
		if err := e.csvField(&d, f, c); err != nil {
			return d, fmt.Errorf("%w: field %d (%s): %w", errCSVRow, i+1, f, err)
		}
	}
	return d, nil
}

func (e Encoder) csvField(d *Decoded, f Field, c csvField) error {
	null := c.b == nil && !c.quoted
	var err error
	switch f {
	case FieldTopic:
		d.Topic = string(c.b)
	case FieldPartition:
		var p int64
		p, err = strconv.ParseInt(string(c.b), 10, 32)
		d.Partition = int32(p)
	case FieldOffset:
		d.Offset, err = strconv.ParseInt(string(c.b), 10, 64)
	case FieldTimestamp:
		d.Timestamp, err = strconv.ParseInt(string(c.b), 10, 64)
	case FieldKey:
		if !null {
			d.Key, d.HasKey = c.b, true
		}
	case FieldValue:
		switch {
		case null:
			d.ValueKind = events.ValueNull
		case e.base64():
			v, berr := base64.StdEncoding.AppendDecode(nil, c.b)
			if berr != nil {
				d.Value, d.ValueKind = c.b, events.ValueJSON
			} else {
				d.Value = v
			}
		default:
			d.Value = c.b
		}
	case FieldHeaders:
		if len(c.b) == 0 || c.b[0] != '[' {
			return errors.New("not a JSON array")
		}
		if string(c.b) != "[]" {
			d.Headers = c.b
		}
	}
	return err
}
