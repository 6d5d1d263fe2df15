package restore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Objects written with SINK_FIELDS store only the fields selected: before
// producing anything Run reads the encoding of each selected object that
// can select fields (jsonl, csv, parquet: the first entry of its index, a
// small ranged read), refuses when some store no value (there is nothing
// to restore), or no timestamp under a time range (which cannot select
// them), and says once which fields the restored records lack.

// lacking is what the selected objects' encodings leave out.
type lacking struct {
	fields  []string // "key", "headers", "timestamp", in that order
	objects int      // objects lacking some
	example string   // one of them
	enc     string   // its encoding
}

// restorable returns the fields a restored record can carry besides its
// value.
func restorable() [3]format.Field {
	return [...]format.Field{format.FieldKey, format.FieldHeaders, format.FieldTimestamp}
}

// encodingReads bounds the index reads made at once.
const encodingReads = 8

// checkFields reads the encodings of the selected objects that select
// fields and checks them (see above). With frozen false, objects whose
// index object is archived are left out (their index is not readable
// before the archive restore); with frozen true, they are checked too.
func checkFields(ctx context.Context, st store.Store, o *options, jobs []*partJob, frozen bool) (lacking, error) {
	var objs []*object
	for _, j := range jobs {
		for _, ob := range j.selected(o) {
			if ob.index && selectsFields(ob.ext) && (frozen || !ob.indexClass.Archived()) {
				objs = append(objs, ob)
			}
		}
	}
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, encodingReads)
	for i, ob := range objs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ob.enc, errs[i] = encodingOf(ctx, st, ob)
		}()
	}
	wg.Wait()
	var l lacking
	lacks := map[format.Field]bool{}
	var noValue, noTS []string
	for i, ob := range objs {
		if errs[i] != nil {
			return l, errs[i]
		}
		if ob.enc == "" {
			continue // nothing landed in it
		}
		enc, err := format.ParseID(ob.enc)
		if err != nil {
			return l, fmt.Errorf("%s: %w", ob.key, err)
		}
		fs := enc.Fields
		if !fs.Has(format.FieldValue) {
			noValue = append(noValue, ob.key)
		}
		if !fs.Has(format.FieldTimestamp) {
			noTS = append(noTS, ob.key)
		}
		some := false
		for _, f := range restorable() {
			if !fs.Has(f) {
				lacks[f], some = true, true
			}
		}
		if some {
			if l.objects == 0 {
				l.example, l.enc = ob.key, ob.enc
			}
			l.objects++
		}
	}
	for _, f := range restorable() {
		if lacks[f] {
			l.fields = append(l.fields, f.String())
		}
	}
	if len(noValue) > 0 {
		return l, fmt.Errorf("restore: %w: %s written with SINK_FIELDS without value (%s): their records hold no value, there is nothing to restore; restore the other objects with --from-offset/--to-offset or --partition",
			ErrRefused, objectList(noValue), fieldsOf(objs, noValue[0]))
	}
	if len(noTS) > 0 && (!o.fromTime.IsZero() || !o.toTime.IsZero()) {
		return l, fmt.Errorf("restore: %w: %s written with SINK_FIELDS without timestamp (%s): a time range cannot select their records",
			ErrRefused, objectList(noTS), fieldsOf(objs, noTS[0]))
	}
	return l, nil
}

// selectsFields reports whether objects named with ext are of an
// encoding that selects fields (jsonl, csv, parquet; not raw, nor the
// legacy JSONL envelope, named without an extension).
func selectsFields(ext string) bool {
	return strings.HasPrefix(ext, ".jsonl") || strings.HasPrefix(ext, ".csv") || ext == parquetExt
}

// objectList names the objects, up to five.
func objectList(keys []string) string {
	const most = 5
	if len(keys) == 1 {
		return "object " + keys[0]
	}
	s := fmt.Sprintf("%d objects (%s", len(keys), strings.Join(keys[:min(most, len(keys))], ", "))
	if len(keys) > most {
		s += ", ..."
	}
	return s + ")"
}

// fieldsOf says the SINK_FIELDS of the object key among objs.
func fieldsOf(objs []*object, key string) string {
	for _, ob := range objs {
		if ob.key == key {
			if e, err := format.ParseID(ob.enc); err == nil {
				return "SINK_FIELDS=" + e.Fields.String()
			}
		}
	}
	return "SINK_FIELDS"
}

// encodingOf returns the encoding of the first entry of ob's index, ""
// when that is a seal (nothing landed in it).
func encodingOf(ctx context.Context, st store.Store, ob *object) (string, error) {
	ikey := objindex.Key(ob.key)
	n := min(ob.indexSize, 4096)
	if n <= 0 {
		return "", nil
	}
	b, err := st.GetRange(ctx, ikey, 0, n)
	if err != nil {
		return "", fmt.Errorf("read the record index of %s: %w", ob.key, err)
	}
	// The sink writes entries in one form (objindex.AppendEntry), which
	// names the encoding first.
	const pre = `{"op":"append","enc":"`
	if rest, ok := bytes.CutPrefix(b, []byte(pre)); ok {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	line, _, found := bytes.Cut(b, []byte("\n"))
	if !found {
		all, err := st.Get(ctx, ikey)
		if err != nil {
			return "", fmt.Errorf("read the record index of %s: %w", ob.key, err)
		}
		line, _, _ = bytes.Cut(all, []byte("\n"))
	}
	e, err := objindex.ParseEntry(line)
	if err != nil {
		return "", fmt.Errorf("%w: the record index of %s: %w", ErrRefused, ob.key, err)
	}
	if e.Append == nil {
		return "", nil
	}
	return e.Append.Enc, nil
}

// frozenIndexes reports whether some selected object of an encoding that
// selects fields has its index object in an archive class.
func frozenIndexes(o *options, jobs []*partJob) bool {
	for _, j := range jobs {
		for _, ob := range j.selected(o) {
			if ob.index && selectsFields(ob.ext) && ob.indexClass.Archived() {
				return true
			}
		}
	}
	return false
}
