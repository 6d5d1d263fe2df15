package parquetfile

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Column names one column of the file: one field of a Kafka record.
type Column uint8

const (
	Topic Column = iota
	Partition
	Offset
	Timestamp
	Key
	Value
	Headers
	numColumns
)

var columnNames = [numColumns]string{"topic", "partition", "offset", "timestamp", "key", "value", "headers"}

// String returns the column's name in the schema (and in SINK_FIELDS).
func (c Column) String() string {
	if c < numColumns {
		return columnNames[c]
	}
	return fmt.Sprintf("Column(%d)", uint8(c))
}

// ParseColumn returns the Column named s (as String gives it).
func ParseColumn(s string) (Column, error) {
	for i, n := range columnNames {
		if n == s {
			return Column(i), nil
		}
	}
	return 0, fmt.Errorf("parquetfile: unknown column %q", s)
}

// AllColumns returns every column, in the canonical order (SINK_FIELDS'
// default).
func AllColumns() []Column {
	return []Column{Topic, Partition, Offset, Timestamp, Key, Value, Headers}
}

// ParseColumns reads a comma-separated list of column names (SINK_FIELDS):
// non-empty, no repeats.
func ParseColumns(s string) ([]Column, error) {
	var cols []Column
	for _, name := range strings.Split(s, ",") {
		c, err := ParseColumn(name)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if err := checkColumns(cols); err != nil {
		return nil, err
	}
	return cols, nil
}

// schemaName is the name of the root node; readers ignore it.
const schemaName = "kafka_record"

// node returns the schema node of column c.
//
// topic and partition are dictionary encoded: an object usually holds one
// topic and one partition, so their pages shrink to a few bytes whatever the
// codec. Every other column is PLAIN (NewWriter sets it for byte arrays),
// the encoding every reader supports.
func (c Column) node(binaryValues bool) parquet.Node {
	switch c {
	case Topic:
		return parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	case Partition:
		return parquet.Encoded(parquet.Leaf(parquet.Int32Type), &parquet.RLEDictionary)
	case Offset:
		return parquet.Leaf(parquet.Int64Type)
	case Timestamp:
		return parquet.Optional(parquet.Timestamp(parquet.Millisecond))
	case Key:
		return parquet.Optional(parquet.String())
	case Value:
		if binaryValues {
			return parquet.Optional(parquet.Leaf(parquet.ByteArrayType))
		}
		return parquet.Optional(parquet.String())
	case Headers:
		return parquet.List(parquet.Group{
			"key":   parquet.String(),
			"value": parquet.Optional(parquet.String()),
		})
	}
	panic("parquetfile: unknown column " + c.String())
}

// leaves is the number of leaf (physical) columns of c.
func (c Column) leaves() int {
	if c == Headers {
		return 2
	}
	return 1
}

// orderedGroup is a group node whose fields keep the order they were given
// in: parquet.Group sorts its fields by name, and the schema must follow the
// user's SINK_FIELDS order.
type orderedGroup struct {
	parquet.Group // the fields by name, for the methods that do not depend on order
	fields        []parquet.Field
}

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }

func (g *orderedGroup) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, schemaName, g)
	return b.String()
}

func newSchema(cols []Column, binaryValues bool) *parquet.Schema {
	g := &orderedGroup{Group: parquet.Group{}}
	for _, c := range cols {
		n := c.node(binaryValues)
		g.Group[c.String()] = n
		// A one-field Group is the library's way to make a named Field.
		g.fields = append(g.fields, parquet.Group{c.String(): n}.Fields()[0])
	}
	return parquet.NewSchema(schemaName, g)
}
