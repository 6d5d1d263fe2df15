package format

import (
	"fmt"
	"strconv"
	"strings"
)

// Field names one member of a record that jsonl, csv and parquet can write.
type Field uint8

const (
	FieldTopic Field = iota
	FieldPartition
	FieldOffset
	FieldTimestamp
	FieldKey
	FieldValue
	FieldHeaders

	numFields = iota
)

var fieldNames = [numFields]string{"topic", "partition", "offset", "timestamp", "key", "value", "headers"}

// String returns the field's SINK_FIELDS name ("offset").
func (f Field) String() string {
	if int(f) < numFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// Fields is an ordered selection of fields without repeats. It is a
// comparable value type: two selections are == when they name the same
// fields in the same order. The zero value selects nothing (see Encoder for
// what that means there).
type Fields struct {
	n uint8
	f [numFields]Field // f[n:] stays zero, so == compares selections
}

// AllFields returns every field in the canonical order: topic, partition,
// offset, timestamp, key, value, headers — the members of the legacy JSONL
// envelope.
func AllFields() Fields {
	fs := Fields{n: numFields}
	for i := range fs.f {
		fs.f[i] = Field(i)
	}
	return fs
}

// ParseFields parses a SINK_FIELDS list: field names separated by commas,
// spaces around a name ignored, in the order the formats write them. ""
// (or only spaces) selects AllFields. Unknown names, repeated names and empty
// items are refused, naming the item.
func ParseFields(s string) (Fields, error) {
	if strings.TrimSpace(s) == "" {
		return AllFields(), nil
	}
	var fs Fields
	for i, item := range strings.Split(s, ",") {
		name := strings.TrimSpace(item)
		if name == "" {
			return Fields{}, fmt.Errorf("fields %q: item %d is empty", s, i+1)
		}
		f, ok := fieldByName(name)
		if !ok {
			return Fields{}, fmt.Errorf("fields %q: unknown field %q (want %s)", s, name, strings.Join(fieldNames[:], ", "))
		}
		if fs.Has(f) {
			return Fields{}, fmt.Errorf("fields %q: field %q is repeated", s, name)
		}
		fs.f[fs.n] = f
		fs.n++
	}
	return fs, nil
}

func fieldByName(name string) (Field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return Field(i), true
		}
	}
	return 0, false
}

// fieldsOf returns the selection of fs, which must not repeat.
func fieldsOf(fs ...Field) Fields {
	var s Fields
	for _, f := range fs {
		s.f[s.n] = f
		s.n++
	}
	return s
}

// Len returns the number of fields selected.
func (fs Fields) Len() int { return int(fs.n) }

// At returns the i-th selected field; it panics unless 0 <= i < Len().
func (fs Fields) At(i int) Field {
	if i < 0 || i >= int(fs.n) {
		panic("format: Fields.At(" + strconv.Itoa(i) + ") out of range")
	}
	return fs.f[i]
}

// Has reports whether f is selected.
func (fs Fields) Has(f Field) bool {
	for _, g := range fs.f[:fs.n] {
		if g == f {
			return true
		}
	}
	return false
}

// String returns the selection as ParseFields reads it, "offset,value";
// "" for the zero value.
func (fs Fields) String() string {
	var b strings.Builder
	for i, f := range fs.f[:fs.n] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.String())
	}
	return b.String()
}
