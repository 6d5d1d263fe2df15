package parquetfile

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	apq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// The Reader reads files that Apache Arrow's Go implementation writes with
// the same schema: the independent check of the reader, as readback_test.go
// is of the writer.

// arrowField is the Arrow field of column c that pqarrow writes as the
// package's schema.
func arrowField(c Column, binary, valueFirst bool) arrow.Field {
	switch c {
	case Topic:
		return arrow.Field{Name: "topic", Type: arrow.BinaryTypes.String}
	case Partition:
		return arrow.Field{Name: "partition", Type: arrow.PrimitiveTypes.Int32}
	case Offset:
		return arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int64}
	case Timestamp:
		return arrow.Field{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true}
	case Key:
		return arrow.Field{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true}
	case Value:
		if binary {
			return arrow.Field{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true}
		}
		return arrow.Field{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}
	case Headers:
		k := arrow.Field{Name: "key", Type: arrow.BinaryTypes.String}
		v := arrow.Field{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}
		fields := []arrow.Field{k, v}
		if valueFirst {
			fields = []arrow.Field{v, k}
		}
		return arrow.Field{Name: "headers", Type: arrow.ListOfNonNullable(arrow.StructOf(fields...))}
	}
	panic("unknown column")
}

// arrowWrite writes rows (with their headers as lists) with pqarrow.
func arrowWrite(t *testing.T, cols []Column, binary, valueFirst bool, rows []Row, headers [][]gotHeader,
	props ...apq.WriterProperty) []byte {
	t.Helper()
	var fields []arrow.Field
	for _, c := range cols {
		fields = append(fields, arrowField(c, binary, valueFirst))
	}
	sc := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, r := range rows {
		for j, c := range cols {
			fb := b.Field(j)
			switch c {
			case Topic:
				fb.(*array.StringBuilder).Append(r.Topic)
			case Partition:
				fb.(*array.Int32Builder).Append(r.Partition)
			case Offset:
				fb.(*array.Int64Builder).Append(r.Offset)
			case Timestamp:
				if r.Timestamp == 0 {
					fb.AppendNull()
				} else {
					fb.(*array.TimestampBuilder).Append(arrow.Timestamp(r.Timestamp))
				}
			case Key:
				if !r.HasKey {
					fb.AppendNull()
				} else {
					fb.(*array.StringBuilder).Append(string(r.Key))
				}
			case Value:
				switch {
				case r.NullValue:
					fb.AppendNull()
				case binary:
					fb.(*array.BinaryBuilder).Append(r.Value)
				default:
					fb.(*array.StringBuilder).Append(string(r.Value))
				}
			case Headers:
				lb := fb.(*array.ListBuilder)
				sb := lb.ValueBuilder().(*array.StructBuilder)
				ki, vi := 0, 1
				if valueFirst {
					ki, vi = 1, 0
				}
				lb.Append(true)
				for _, h := range headers[i] {
					sb.Append(true)
					sb.FieldBuilder(ki).(*array.StringBuilder).Append(h.Key)
					if h.Value == nil {
						sb.FieldBuilder(vi).AppendNull()
					} else {
						sb.FieldBuilder(vi).(*array.StringBuilder).Append(*h.Value)
					}
				}
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var out bytes.Buffer
	fw, err := pqarrow.NewFileWriter(sc, &out, apq.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestReadArrowFile(t *testing.T) {
	layouts := []struct {
		name  string
		props []apq.WriterProperty
	}{
		// Arrow's defaults: dictionary encoding, version 1 pages, one row group.
		{"defaults", nil},
		{"plain/v2 pages/many row groups", []apq.WriterProperty{apq.WithDictionaryDefault(false),
			apq.WithDataPageVersion(apq.DataPageV2), apq.WithMaxRowGroupLength(3), apq.WithDataPageSize(64)}},
		{"page index/bloom filters/stats", []apq.WriterProperty{apq.WithPageIndexEnabled(true),
			apq.WithBloomFilterEnabled(true), apq.WithStats(true), apq.WithMaxRowGroupLength(4), apq.WithDataPageSize(100)}},
	}
	for _, codec := range codecs {
		for _, layout := range layouts {
			for _, cols := range columnSets {
				for _, binary := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%s/binary=%v", codec, layout.name, colNames(cols), binary)
					t.Run(name, func(t *testing.T) {
						// Arrow is given what the Reader must return: the samples as this
						// package's writer stores them (UTF-8 repaired in STRING columns).
						var rows []Row
						var headers [][]gotHeader
						for _, s := range samples {
							r, hs := s.wantRow(AllColumns(), binary)
							rows, headers = append(rows, r), append(headers, hs)
						}
						props := append([]apq.WriterProperty{apq.WithCompression(arrowCodecs[codec])}, layout.props...)
						data := arrowWrite(t, cols, binary, len(cols)%2 == 0, rows, headers, props...)
						got, r := readAll(t, data)
						if strings.Contains(layout.name, "many row groups") && len(r.groups) < 2 {
							t.Fatalf("%d row groups", len(r.groups))
						}
						if colNames(r.Columns()) != colNames(cols) || r.BinaryValues() != (binary && hasColumn(cols, Value)) {
							t.Fatalf("Columns %s BinaryValues %v", colNames(r.Columns()), r.BinaryValues())
						}
						if len(got) != len(samples) {
							t.Fatalf("%d rows, want %d", len(got), len(samples))
						}
						for i, s := range samples {
							want, hs := s.wantRow(cols, binary)
							checkRow(t, i, got[i], want, hs, hasColumn(cols, Headers))
						}
						first, last, ok := r.OffsetRange()
						if hasColumn(cols, Offset) != ok || ok && (first != rows[0].Offset || last != rows[len(rows)-1].Offset) {
							t.Fatalf("OffsetRange %d %d %v", first, last, ok)
						}
					})
				}
			}
		}
	}
}

// TestReadForeignSchema: files whose schema is not one the Writer writes
// are refused, naming the column.
func TestReadForeignSchema(t *testing.T) {
	str := schema.StringLogicalType{}
	prim := func(name string, rep apq.Repetition, lt schema.LogicalType, typ apq.Type) schema.Node {
		return schema.MustPrimitive(schema.NewPrimitiveNodeLogical(name, rep, lt, typ, -1, -1))
	}
	req, opt, rpt := apq.Repetitions.Required, apq.Repetitions.Optional, apq.Repetitions.Repeated
	offset := prim("offset", req, schema.NoLogicalType{}, apq.Types.Int64)
	headers := func(list, element string, elemRep apq.Repetition, fields ...schema.Node) schema.Node {
		el := schema.MustGroup(schema.NewGroupNode(element, elemRep, fields, -1))
		l := schema.MustGroup(schema.NewGroupNode(list, rpt, schema.FieldList{el}, -1))
		return schema.MustGroup(schema.NewGroupNodeLogical("headers", req, schema.FieldList{l}, schema.ListLogicalType{}, -1))
	}
	hk := prim("key", req, str, apq.Types.ByteArray)
	hv := prim("value", opt, str, apq.Types.ByteArray)
	tests := []struct {
		name   string
		fields schema.FieldList
		want   string
	}{
		{"unknown column", schema.FieldList{offset, prim("payload", opt, str, apq.Types.ByteArray)},
			`column "payload": not a field of a Kafka record`},
		{"offset int32", schema.FieldList{prim("offset", req, schema.NoLogicalType{}, apq.Types.Int32)},
			`column "offset": required int32, want required int64`},
		{"optional offset", schema.FieldList{prim("offset", opt, schema.NoLogicalType{}, apq.Types.Int64)},
			`column "offset": optional int64, want required int64`},
		{"unsigned partition", schema.FieldList{prim("partition", req, schema.NewIntLogicalType(32, false), apq.Types.Int32)},
			`column "partition": required int32 (INT(32,false)), want required int32`},
		{"timestamp micros", schema.FieldList{prim("timestamp", opt, schema.NewTimestampLogicalType(true, schema.TimeUnitMicros), apq.Types.Int64)},
			`column "timestamp": optional int64 (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))`},
		{"timestamp local", schema.FieldList{prim("timestamp", opt, schema.NewTimestampLogicalType(false, schema.TimeUnitMillis), apq.Types.Int64)},
			`column "timestamp": optional int64 (TIMESTAMP(isAdjustedToUTC=false,unit=MILLIS))`},
		{"required key", schema.FieldList{prim("key", req, str, apq.Types.ByteArray)},
			`column "key": required binary (STRING), want optional binary (STRING)`},
		{"json value", schema.FieldList{prim("value", opt, schema.JSONLogicalType{}, apq.Types.ByteArray)},
			`column "value": optional binary (JSON)`},
		{"repeated value", schema.FieldList{prim("value", rpt, str, apq.Types.ByteArray)},
			`column "value": repeated binary (STRING)`},
		{"topic without STRING", schema.FieldList{prim("topic", req, schema.NoLogicalType{}, apq.Types.ByteArray)},
			`column "topic": required binary, want required binary (STRING)`},
		{"repeated column", schema.FieldList{offset, prim("offset", req, schema.NoLogicalType{}, apq.Types.Int64)},
			`column "offset": repeated`},
		{"headers of strings", schema.FieldList{schema.MustGroup(schema.ListOfWithName("headers", prim("element", req, str, apq.Types.ByteArray), req, -1))},
			`column "headers": its list element is "element": required binary (STRING)`},
		{"headers not a list", schema.FieldList{prim("headers", req, str, apq.Types.ByteArray)},
			`column "headers": it is required binary (STRING)`},
		{"headers legacy list", schema.FieldList{headers("bag", "array", req, hk, hv)},
			`column "headers": its repeated group is "bag"`},
		{"headers optional element", schema.FieldList{headers("list", "element", opt, hk, hv)},
			`column "headers": its list element is "element": optional group of 2 fields`},
		{"headers extra member", schema.FieldList{headers("list", "element", req, hk, hv, prim("x", opt, str, apq.Types.ByteArray))},
			`column "headers": its list element is "element": required group of 3 fields`},
		{"headers binary value", schema.FieldList{headers("list", "element", req, hk, prim("value", opt, schema.NoLogicalType{}, apq.Types.ByteArray))},
			`column "headers": its element has "value": optional binary`},
		{"headers two keys", schema.FieldList{headers("list", "element", req, hk, hk)},
			`column "headers": its element has "key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := schema.MustGroup(schema.NewGroupNode("schema", req, tt.fields, -1))
			var out bytes.Buffer
			w := file.NewParquetWriter(&out, root, file.WithWriterProps(apq.NewWriterProperties(apq.WithCompression(compress.Codecs.Uncompressed))))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "not a file of Kafka records") {
				t.Fatalf("error %v does not say what the file is not", err)
			}
		})
	}
}
