package verify_test

import (
	"context"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// rec is one record of an indexed data object, located by its index.
type rec struct {
	off  int64
	data []byte // its encoding, separator included
	null bool
}

// indexedRecords returns the records of an indexed data object, its
// encoding and its seal (nil if open).
func indexedRecords(t *testing.T, st store.Store, key string) ([]rec, string, *objindex.Seal) {
	t.Helper()
	data := get(t, st, key)
	res, err := objindex.Resolve(entries(t, st, indexOf(key)), 0, int64(len(data)), nil)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var out []rec
	enc := ""
	for _, a := range res.Landed {
		enc = a.Enc
		for r := range a.All() {
			out = append(out, rec{off: r.Offset, data: slices.Clone(data[r.Pos : r.Pos+r.Size]), null: r.Null})
		}
	}
	return out, enc, res.Seal
}

// rewrite replaces the sealed indexed object key by the records fn returns,
// written as the sink writes them: each announced in the index before its
// bytes (one append per record, so that they may come in any order), and
// the object sealed as before at its new length. The index vouches for
// every byte, so what is planted is a defect of the records themselves,
// which no CRC or length can show.
func rewrite(t *testing.T, st store.Store, key string, fn func([]rec) []rec) {
	t.Helper()
	recs, enc, seal := indexedRecords(t, st, key)
	if seal == nil {
		t.Fatalf("%s is not sealed", key)
	}
	recs = fn(recs)
	var data, idx []byte
	var b objindex.Builder
	for _, r := range recs {
		b.Reset(enc, int64(len(data)))
		b.Add(r.off, r.data, r.null, 0)
		idx = objindex.AppendEntry(idx, objindex.Entry{Append: b.Append()})
		data = append(data, r.data...)
	}
	idx = objindex.AppendEntry(idx, objindex.Entry{Seal: &objindex.Seal{At: int64(len(data)), Next: seal.Next, NextOffset: seal.NextOffset}})
	put(t, st, indexOf(key), idx)
	put(t, st, key, data)
}

// renameIndexed renames a data object and its index.
func renameIndexed(t *testing.T, st store.Store, from, to string) {
	t.Helper()
	rename(t, st, from, to)
	rename(t, st, indexOf(from), indexOf(to))
}

// isMeta reports whether key is a meta object's.
func isMeta(key string) bool { return strings.HasPrefix(path.Base(key), ".oss_meta_file_") }

// failMetaPut makes st (a *failingStore) refuse meta object writes until
// the returned func is called: an invocation that stored its records and
// died before recording them.
func failMetaPut(st store.Store) (restore func()) {
	f := st.(*failingStore)
	f.failMeta = true
	return func() { f.failMeta = false }
}

func (f *failingStore) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	if f.failMeta && isMeta(key) {
		return errInjected
	}
	return f.Store.Put(ctx, key, data, opts...)
}
