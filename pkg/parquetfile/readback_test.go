package parquetfile

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	apq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The tests read files back with Apache Arrow's Go implementation, which
// shares no code with the writer's library.

// got is one row as read back; nil pointers are nulls.
type got struct {
	Topic     *string
	Partition *int32
	Offset    *int64
	Timestamp *int64 // milliseconds
	Key       *string
	Value     *[]byte
	Headers   []gotHeader // nil: no headers column
}

type gotHeader struct {
	Key   string
	Value *string
}

// readBack reads a whole file with pqarrow and returns its rows and its
// metadata.
func readBack(t *testing.T, data []byte) ([]got, *metadata.FileMetaData) {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(apq.NewReaderProperties(memory.DefaultAllocator)))
	if err != nil {
		t.Fatalf("arrow: opening the file: %v", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("arrow: %v", err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("arrow: reading the table: %v", err)
	}
	defer tbl.Release()
	rows := make([]got, tbl.NumRows())
	for c := 0; c < int(tbl.NumCols()); c++ {
		field := tbl.Schema().Field(c)
		i := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for j := 0; j < chunk.Len(); j, i = j+1, i+1 {
				readCell(t, &rows[i], field, chunk, j)
			}
		}
	}
	return rows, pf.MetaData()
}

func readCell(t *testing.T, r *got, field arrow.Field, a arrow.Array, j int) {
	t.Helper()
	null := a.IsNull(j)
	switch field.Name {
	case "topic":
		s := a.(*array.String).Value(j)
		if null {
			t.Fatalf("topic is null")
		}
		r.Topic = &s
	case "partition":
		v := a.(*array.Int32).Value(j)
		if null {
			t.Fatalf("partition is null")
		}
		r.Partition = &v
	case "offset":
		v := a.(*array.Int64).Value(j)
		if null {
			t.Fatalf("offset is null")
		}
		r.Offset = &v
	case "timestamp":
		ts := a.(*array.Timestamp)
		if tt := ts.DataType().(*arrow.TimestampType); tt.Unit != arrow.Millisecond || tt.TimeZone != "UTC" {
			t.Fatalf("timestamp type %v, want ms UTC", tt)
		}
		if !null {
			v := int64(ts.Value(j))
			r.Timestamp = &v
		}
	case "key":
		if !null {
			s := a.(*array.String).Value(j)
			r.Key = &s
		}
	case "value":
		if !null {
			var b []byte
			switch v := a.(type) {
			case *array.String:
				b = []byte(v.Value(j))
			case *array.Binary:
				b = append([]byte{}, v.Value(j)...)
			default:
				t.Fatalf("value column is %T", a)
			}
			r.Value = &b
		}
	case "headers":
		if null {
			t.Fatalf("headers list is null")
		}
		l := a.(*array.List)
		st := l.ListValues().(*array.Struct)
		keys := st.Field(0).(*array.String)
		vals := st.Field(1).(*array.String)
		start, end := l.ValueOffsets(j)
		r.Headers = []gotHeader{}
		for k := int(start); k < int(end); k++ {
			if keys.IsNull(k) {
				t.Fatalf("header key is null")
			}
			h := gotHeader{Key: keys.Value(k)}
			if !vals.IsNull(k) {
				v := vals.Value(k)
				h.Value = &v
			}
			r.Headers = append(r.Headers, h)
		}
	default:
		t.Fatalf("unexpected column %q", field.Name)
	}
}
