package format

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// build returns the data object Build writes for recs in e.
func build(t *testing.T, e Encoder, recs []events.Record) []byte {
	t.Helper()
	var out bytes.Buffer
	i := 0
	err := e.Build(&out, func() ([]byte, error) {
		if i == len(recs) {
			return nil, io.EOF
		}
		i++
		return e.Append(nil, &recs[i-1]), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestOpenBuilt: a built object's records are the same as the records it
// was built from, in every Parquet encoding, read in order or after a
// skip; a record changed in a field the encoding keeps is not.
func TestOpenBuilt(t *testing.T) {
	for _, e := range encoders(t) {
		if !e.Staged() {
			continue
		}
		t.Run(name(e), func(t *testing.T) {
			recs := testRecords(e.ValueEncoding)
			data := build(t, e, recs)
			open := func() *BuiltRecords {
				t.Helper()
				b, err := e.OpenBuilt(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				if b.Records() != int64(len(recs)) {
					t.Fatalf("Records %d, want %d", b.Records(), len(recs))
				}
				return b
			}
			b := open()
			for i := range recs {
				if same, err := b.Same(e.Append(nil, &recs[i])); err != nil || !same {
					t.Fatalf("record %d: Same %v, %v", i, same, err)
				}
			}
			if _, err := b.Same(e.Append(nil, &recs[0])); !errors.Is(err, ErrNotBuilt) {
				t.Fatalf("Same past the end: %v, want ErrNotBuilt", err)
			}
			for i := range recs {
				// One field the encoding keeps changed (the offset when
				// it keeps none of these: then the change cannot show).
				changed, fs, want := recs[i], e.fields(), false
				switch {
				case fs.Has(FieldValue) && changed.ValueKind != events.ValueNull:
					changed.Value = append([]byte("X"), changed.Value...)
				case fs.Has(FieldOffset):
					changed.Offset++
				case fs.Has(FieldTimestamp):
					changed.Timestamp++
				case fs.Has(FieldKey):
					changed.HasKey, changed.Key = !changed.HasKey, []byte{}
				default:
					changed.Offset++
					want = true
				}
				b := open()
				if err := b.Skip(int64(i)); err != nil {
					t.Fatal(err)
				}
				same, err := b.Same(e.Append(nil, &changed))
				if err != nil {
					t.Fatal(err)
				}
				if same != want {
					t.Errorf("record %d changed: Same %v, want %v", i, same, want)
				}
			}
			if err := open().Skip(int64(len(recs)) + 1); !errors.Is(err, ErrNotBuilt) {
				t.Fatalf("Skip past the end: %v, want ErrNotBuilt", err)
			}
		})
	}
}

// TestOpenBuiltOtherObject: an object of other fields, another value type
// or not Parquet at all is not built in the encoding: ErrNotBuilt.
func TestOpenBuiltOtherObject(t *testing.T) {
	recs := testRecords(events.Text)
	e := Encoder{Format: Parquet, Fields: mustFields(t, "offset,value")}
	data := build(t, e, recs)
	for _, other := range []Encoder{
		{Format: Parquet, Fields: mustFields(t, "value,offset")},
		{Format: Parquet, Fields: mustFields(t, "offset,value,key")},
		{Format: Parquet, ValueEncoding: events.Base64, Fields: mustFields(t, "offset,value")},
	} {
		if _, err := other.OpenBuilt(bytes.NewReader(data), int64(len(data))); !errors.Is(err, ErrNotBuilt) {
			t.Errorf("%s opening an object of %s: %v, want ErrNotBuilt", other.ID(), e.ID(), err)
		}
	}
	junk := []byte("not a parquet file at all, but long enough")
	if _, err := e.OpenBuilt(bytes.NewReader(junk), int64(len(junk))); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("junk: %v, want ErrNotBuilt", err)
	}
	if _, err := (Encoder{Format: JSONL, Fields: AllFields()}).OpenBuilt(bytes.NewReader(data), int64(len(data))); err == nil {
		t.Error("a jsonl encoder opened a built object")
	}
}
