package parquetfile

import (
	"fmt"
	"strings"

	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// fileLayout is what NewReader learns from a file's schema: its columns and
// the role of each leaf (physical) column.
type fileLayout struct {
	cols   []Column
	binary bool
	leaves []leafRole // by leaf column index, in file order
}

// leafRole says which Row field a leaf column fills.
type leafRole uint8

const (
	leafTopic leafRole = iota
	leafPartition
	leafOffset
	leafTimestamp
	leafKey
	leafValue
	leafHeaderKey
	leafHeaderValue
)

// schemaError is the error of a file whose schema is not one NewWriter
// writes.
func schemaError(column, format string, args ...any) error {
	if column == "" {
		return fmt.Errorf("parquetfile: not a file of Kafka records: "+format, args...)
	}
	return fmt.Errorf("parquetfile: not a file of Kafka records: column %q: "+format, append([]any{column}, args...)...)
}

// readLayout checks the schema elements of a file (the footer's flattened,
// depth-first list) against the schemas NewWriter writes and returns the
// file's layout.
//
// It accepts what NewWriter writes and what another writer writes for the
// same schema: the name of the root is free, INT32 and INT64 may lack the
// INT annotation (the physical type says the same), an annotation may be
// given by its logical type or, without one, by its converted type (older
// writers), the key and value of a header element may come in either order.
// Anything else is refused, naming the column: the reader would otherwise
// make up values (a null offset, a timestamp in another unit).
func readLayout(elems []format.SchemaElement) (fileLayout, error) {
	var l fileLayout
	if len(elems) == 0 {
		return l, schemaError("", "no schema")
	}
	root := elems[0]
	if root.Type.Valid || !root.NumChildren.Valid || root.NumChildren.V <= 0 {
		return l, schemaError("", "the root of the schema is not a group of columns")
	}
	var seen [numColumns]bool
	i := 1
	for range root.NumChildren.V {
		if i >= len(elems) {
			return l, schemaError("", "the schema has fewer elements than its groups say")
		}
		e := &elems[i]
		c, err := ParseColumn(e.Name)
		if err != nil {
			return l, schemaError(e.Name, "not a field of a Kafka record (want one of %s)", strings.Join(columnNames[:], ", "))
		}
		if seen[c] {
			return l, schemaError(e.Name, "repeated")
		}
		seen[c] = true
		if c == Headers {
			roles, next, err := checkHeaders(elems, i)
			if err != nil {
				return l, err
			}
			l.leaves = append(l.leaves, roles...)
			i = next
		} else {
			role, binary, err := checkScalar(c, e)
			if err != nil {
				return l, err
			}
			if c == Value {
				l.binary = binary
			}
			l.leaves = append(l.leaves, role)
			i++
		}
		l.cols = append(l.cols, c)
	}
	if i != len(elems) {
		return l, schemaError("", "the schema has more elements than its groups say")
	}
	return l, nil
}

// checkScalar checks the leaf column of c (any column but headers).
func checkScalar(c Column, e *format.SchemaElement) (role leafRole, binary bool, err error) {
	want := map[Column]string{
		Topic:     "required binary (STRING)",
		Partition: "required int32",
		Offset:    "required int64",
		Timestamp: "optional int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS))",
		Key:       "optional binary (STRING)",
		Value:     "optional binary (STRING), or optional binary without annotation",
	}[c]
	bad := func() error { return schemaError(e.Name, "%s, want %s", describe(e), want) }
	switch c {
	case Topic:
		if !isLeaf(e, format.ByteArray, format.Required) || !isString(e) {
			return 0, false, bad()
		}
		return leafTopic, false, nil
	case Partition:
		if !isLeaf(e, format.Int32, format.Required) || !isPlainInt(e, 32) {
			return 0, false, bad()
		}
		return leafPartition, false, nil
	case Offset:
		if !isLeaf(e, format.Int64, format.Required) || !isPlainInt(e, 64) {
			return 0, false, bad()
		}
		return leafOffset, false, nil
	case Timestamp:
		if !isLeaf(e, format.Int64, format.Optional) || !isTimestampMillisUTC(e) {
			return 0, false, bad()
		}
		return leafTimestamp, false, nil
	case Key:
		if !isLeaf(e, format.ByteArray, format.Optional) || !isString(e) {
			return 0, false, bad()
		}
		return leafKey, false, nil
	case Value:
		if !isLeaf(e, format.ByteArray, format.Optional) {
			return 0, false, bad()
		}
		switch {
		case isString(e):
			return leafValue, false, nil
		case noAnnotation(e):
			return leafValue, true, nil
		}
		return 0, false, bad()
	}
	return 0, false, schemaError(e.Name, "not a scalar column")
}

// checkHeaders checks the headers column, the subtree of elems starting at
// i, and returns the roles of its two leaves in file order and the index
// after the subtree:
//
//	required group headers (LIST) {
//		repeated group list {
//			required group element {
//				required binary key (STRING);
//				optional binary value (STRING);
//			}
//		}
//	}
func checkHeaders(elems []format.SchemaElement, i int) ([]leafRole, int, error) {
	const want = "want required group headers (LIST) { repeated group list { required group element " +
		"{ required binary key (STRING); optional binary value (STRING) } } }"
	bad := func(what string) error { return schemaError("headers", "%s; %s", what, want) }
	h := &elems[i]
	if !isGroup(h, format.Required, 1) || !isList(h) {
		return nil, 0, bad("it is " + describe(h))
	}
	if i+2 >= len(elems) {
		return nil, 0, bad("the schema ends inside it")
	}
	list, elem := &elems[i+1], &elems[i+2]
	if list.Name != "list" || !isGroup(list, format.Repeated, 1) || !noAnnotation(list) {
		return nil, 0, bad("its repeated group is " + describeField(list))
	}
	if elem.Name != "element" || !isGroup(elem, format.Required, 2) || !noAnnotation(elem) {
		return nil, 0, bad("its list element is " + describeField(elem))
	}
	if i+4 >= len(elems) {
		return nil, 0, bad("the schema ends inside it")
	}
	var roles []leafRole
	var seenKey, seenValue bool
	for _, f := range elems[i+3 : i+5] {
		switch {
		case f.Name == "key" && !seenKey && isLeaf(&f, format.ByteArray, format.Required) && isString(&f):
			seenKey = true
			roles = append(roles, leafHeaderKey)
		case f.Name == "value" && !seenValue && isLeaf(&f, format.ByteArray, format.Optional) && isString(&f):
			seenValue = true
			roles = append(roles, leafHeaderValue)
		default:
			return nil, 0, bad("its element has " + describeField(&f))
		}
	}
	return roles, i + 5, nil
}

func isLeaf(e *format.SchemaElement, t format.Type, r format.FieldRepetitionType) bool {
	return e.Type.Valid && e.Type.V == t && repetition(e) == r && !(e.NumChildren.Valid && e.NumChildren.V != 0)
}

func isGroup(e *format.SchemaElement, r format.FieldRepetitionType, children int32) bool {
	return !e.Type.Valid && repetition(e) == r && e.NumChildren.Valid && e.NumChildren.V == children
}

// repetition is the element's repetition: a field without one is taken as
// required, as parquet-go and Arrow read it.
func repetition(e *format.SchemaElement) format.FieldRepetitionType {
	if !e.RepetitionType.Valid {
		return format.Required
	}
	return e.RepetitionType.V
}

func noAnnotation(e *format.SchemaElement) bool {
	return e.LogicalType.Value == nil && !e.ConvertedType.Valid
}

func isString(e *format.SchemaElement) bool {
	if e.LogicalType.Value != nil {
		_, ok := e.LogicalType.Value.(*format.StringType)
		return ok
	}
	return e.ConvertedType.Valid && e.ConvertedType.V == deprecated.UTF8
}

func isList(e *format.SchemaElement) bool {
	if e.LogicalType.Value != nil {
		_, ok := e.LogicalType.Value.(*format.ListType)
		return ok
	}
	return e.ConvertedType.Valid && e.ConvertedType.V == deprecated.List
}

// isPlainInt: no annotation, or the signed INT of the physical type's width.
func isPlainInt(e *format.SchemaElement, bits int8) bool {
	if e.LogicalType.Value != nil {
		t, ok := e.LogicalType.Value.(*format.IntType)
		return ok && t.BitWidth == bits && t.IsSigned
	}
	if !e.ConvertedType.Valid {
		return true
	}
	want := deprecated.Int32
	if bits == 64 {
		want = deprecated.Int64
	}
	return e.ConvertedType.V == want
}

// isTimestampMillisUTC: TIMESTAMP(MILLIS) adjusted to UTC, or its converted
// type TIMESTAMP_MILLIS, which means UTC.
func isTimestampMillisUTC(e *format.SchemaElement) bool {
	if e.LogicalType.Value != nil {
		t, ok := e.LogicalType.Value.(*format.TimestampType)
		if !ok || !t.IsAdjustedToUTC {
			return false
		}
		_, ms := t.Unit.Value.(*format.MilliSeconds)
		return ms
	}
	return e.ConvertedType.Valid && e.ConvertedType.V == deprecated.TimestampMillis
}

// describe writes e as a schema line without its name ("optional int32
// (DATE)"), for errors.
func describe(e *format.SchemaElement) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(repetition(e).String()))
	if e.Type.Valid {
		b.WriteString(" " + typeName(e.Type.V))
	} else {
		fmt.Fprintf(&b, " group of %d fields", e.NumChildren.V)
	}
	switch {
	case e.LogicalType.Value != nil:
		b.WriteString(" (" + e.LogicalType.Value.String() + ")")
	case e.ConvertedType.Valid:
		b.WriteString(" (" + convertedName(e.ConvertedType.V) + ")")
	}
	return b.String()
}

// describeField is describe with the field's name, for the parts of the
// headers column.
func describeField(e *format.SchemaElement) string {
	return fmt.Sprintf("%q: %s", e.Name, describe(e))
}

func typeName(t format.Type) string {
	if t == format.ByteArray {
		return "binary" // as parquet-go and parquet-java print schemas
	}
	return strings.ToLower(t.String())
}

func convertedName(c deprecated.ConvertedType) string {
	switch c {
	case deprecated.UTF8:
		return "UTF8"
	case deprecated.List:
		return "LIST"
	case deprecated.Int32:
		return "INT_32"
	case deprecated.Int64:
		return "INT_64"
	case deprecated.TimestampMillis:
		return "TIMESTAMP_MILLIS"
	}
	return fmt.Sprintf("converted type %d", int32(c))
}
