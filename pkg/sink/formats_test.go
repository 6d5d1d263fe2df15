package sink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// TestFormatChangeSealsOpenObjects: changing the encoding on a live
// partition seals the open object (also one announced for the next offset
// that never got a record), the next records open an object in the new
// encoding, named for it, and every object holds one encoding only.
func TestFormatChangeSealsOpenObjects(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	all := stream(0, 24)
	encs := []string{
		"raw/text",
		"jsonl/text;fields=topic,partition,offset,timestamp,key,value,headers;z=gzip-1",
		"parquet/text;fields=offset,key,value;z=snappy",
		"csv/text;fields=value,offset",
		"parquet/base64;fields=offset,value",
		"jsonl/text",
	}
	for i, id := range encs {
		// Full after 3 records: a staged object is sealed (and written)
		// when full, announcing the next offset's object in its encoding.
		sk := newSink(t, setup{enc: mustEnc(id)}, sink.WithFlushRecords(3))
		mustWrite(t, sk, st, all[i*4:i*4+4])
	}
	if err := sinktest.Check(ctx, st, "backup", topic, rawOffset, offsets(all[:len(encs)*4])); err != nil {
		t.Fatal(err)
	}
	parts, err := sinktest.Read(ctx, st, "backup", topic, rawOffset)
	if err != nil {
		t.Fatal(err)
	}
	byExt := map[string]int{}
	for _, o := range parts[0].Objects {
		_, ext := sink.SplitExt(o.Key)
		byExt[ext]++
		idx, err := st.Get(ctx, objindex.Key(o.Key))
		if err != nil {
			t.Fatal(err)
		}
		// One encoding per object: every append entry names the same one,
		// and it is the one the name's extension says.
		var enc string
		for _, line := range bytes.Split(bytes.TrimSpace(idx), []byte("\n")) {
			_, rest, ok := bytes.Cut(line, []byte(`"enc":"`))
			if !ok {
				continue
			}
			e, _, _ := bytes.Cut(rest, []byte(`"`))
			if enc != "" && enc != string(e) {
				t.Fatalf("%s mixes %s and %s", o.Key, enc, e)
			}
			enc = string(e)
		}
		f, err := format.ParseID(enc)
		if err != nil || f.Ext() != ext {
			t.Fatalf("%s: encoding %q (%v) is not its extension's", o.Key, enc, err)
		}
	}
	for _, ext := range []string{"", ".jsonl.gz", ".parquet", ".csv"} {
		if byExt[ext] == 0 {
			t.Errorf("no %q object: %v", ext, byExt)
		}
	}
	for _, k := range st.Keys() {
		if strings.Contains(k, ".oss_stage_") {
			t.Errorf("staging object left: %s", k)
		}
	}
}

// TestCompressedObjectReadableBetweenBatches: a compressed object is a
// concatenation of complete members after every batch: the standard
// library's gzip reader reads it whole, and gives exactly the records so
// far.
func TestCompressedObjectReadableBetweenBatches(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	sk := newSink(t, setup{enc: mustEnc("csv/text;fields=offset,value;z=gzip-1")})
	all := stream(0, 20)
	for i := 0; i < 20; i += 5 {
		mustWrite(t, sk, st, all[i:i+5])
		key := sink.ObjectKey("backup/", topic, "", 0, all[0].Offset, 0) + ".csv.gz"
		data, err := st.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		text, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("after %d records: %v", i+5, err)
		}
		lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
		if lines[0] != "offset,value" || len(lines) != i+6 {
			t.Fatalf("after %d records: %d lines, header %q", i+5, len(lines), lines[0])
		}
		info, err := st.Stat(ctx, key)
		if err != nil || info.ContentType != "text/csv; charset=utf-8" || info.ContentEncoding != "gzip" {
			t.Fatalf("attributes %+v %v", info, err)
		}
	}
}

// poisonStore makes every Put of a key with the given suffix fail (the
// data object of a staged encoding cannot be written).
type poisonStore struct {
	store.Store
	suffix string
	on     bool
}

func (p *poisonStore) PutReader(ctx context.Context, key string, r io.ReaderAt, size int64, opts ...store.WriteOption) error {
	if p.on && strings.HasSuffix(key, p.suffix) {
		return errors.New("injected: cannot write " + key)
	}
	return p.Store.PutReader(ctx, key, r, size, opts...)
}

// TestFinalizeFailureLeavesWorkForNextBatch: a Parquet object that cannot
// be written does not fail the batch (its records are staged and
// committed); the meta object keeps it listed, and the next batch writes
// it. An object at its name that is not the sink's is never taken for it:
// the staged records stay.
func TestFinalizeFailureLeavesWorkForNextBatch(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	st := &poisonStore{Store: mem, suffix: ".parquet", on: true}
	sk := newSink(t, setup{enc: mustEnc("parquet/text;fields=topic,partition,offset,timestamp,key,value,headers")}, sink.WithFlushRecords(3))
	all := stream(0, 9)
	sum := mustWrite(t, sk, st, all[:4])
	if sum.Finalized != 0 || sum.Unfinalized != 1 {
		t.Fatalf("finalized %d, unfinalized %d; want 0, 1", sum.Finalized, sum.Unfinalized)
	}
	m := readMeta(t, mem)
	if len(m.Finalize) != 1 {
		t.Fatalf("meta lists %d objects to finalize, want 1", len(m.Finalize))
	}
	// Someone else's object at the name: a conflict, the stage stays.
	if err := mem.Put(ctx, m.Finalize[0].Object, []byte("not parquet")); err != nil {
		t.Fatal(err)
	}
	st.on = false
	sum = mustWrite(t, sk, st, all[4:6])
	if sum.Unfinalized != 1 {
		t.Fatalf("a foreign object was taken for the data object: %+v", sum)
	}
	if _, err := mem.Stat(ctx, sink.StageKey(m.Finalize[0].Object)); err != nil {
		t.Fatalf("staged records removed: %v", err)
	}
	if err := mem.Delete(ctx, m.Finalize[0].Object); err != nil {
		t.Fatal(err)
	}
	sum = mustWrite(t, sk, st, all[6:9])
	if sum.Finalized != 2 || sum.Unfinalized != 0 {
		t.Fatalf("finalized %d, unfinalized %d; want 2, 0", sum.Finalized, sum.Unfinalized)
	}
	if m := readMeta(t, mem); len(m.Finalize) != 0 {
		t.Fatalf("meta still lists %d objects to finalize", len(m.Finalize))
	}
	if err := sinktest.Check(ctx, mem, "backup", topic, rawOffset, offsets(all)); err != nil {
		t.Fatal(err)
	}
}
