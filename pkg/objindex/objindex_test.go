package objindex

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestKeys(t *testing.T) {
	for _, tc := range []struct{ data, index string }{
		{"orders/partition_3_offset_100_5a7c2e19", "orders/.oss_index_partition_3_offset_100_5a7c2e19"},
		{"p/orders/dt=2026/partition_0_offset_0_00000000", "p/orders/dt=2026/.oss_index_partition_0_offset_0_00000000"},
		// With an extension, the index does not end in it (engines' globs).
		{"orders/partition_3_offset_100_5a7c2e19.jsonl.gz", "orders/.oss_index_partition_3_offset_100_5a7c2e19.jsonl.gz.idx"},
		{"orders/partition_3_offset_100_5a7c2e19.parquet", "orders/.oss_index_partition_3_offset_100_5a7c2e19.parquet.idx"},
		{"partition_0_offset_0_00000000", ".oss_index_partition_0_offset_0_00000000"},
	} {
		if got := Key(tc.data); got != tc.index {
			t.Errorf("Key(%q) = %q, want %q", tc.data, got, tc.index)
		}
		if got, ok := DataKey(tc.index); !ok || got != tc.data {
			t.Errorf("DataKey(%q) = %q, %v", tc.index, got, ok)
		}
	}
	for _, k := range []string{"orders/partition_3_offset_100_5a7c2e19", "orders/.oss_index_", "orders/.oss_meta_file_partition_3",
		"orders/.oss_index_partition_3_offset_100_5a7c2e19.csv", "orders/.oss_index_partition_3_offset_100_5a7c2e19.idx"} {
		if _, ok := DataKey(k); ok {
			t.Errorf("DataKey(%q) accepted", k)
		}
	}
}

// build makes an append of the given values at pos, each value one record
// (offsets from offs), values "\x00" standing for null.
func build(enc string, pos int64, offs []int64, vals []string) *Append {
	var b Builder
	b.Reset(enc, pos)
	for i, v := range vals {
		null := v == "\x00"
		if null {
			v = ""
		}
		b.Add(offs[i], []byte(v+"\n"), null, 1764032523000+int64(i)*1000)
	}
	a := *b.Append()
	a.Offsets, a.Sizes, a.Nulls = slices.Clone(a.Offsets), slices.Clone(a.Sizes), slices.Clone(a.Nulls)
	return &a
}

func TestEntryGolden(t *testing.T) {
	var out []byte
	out = AppendEntry(out, Entry{Append: build("raw/text", 0, []int64{100, 101, 105}, []string{"a\nb", "\x00", "line"})})
	out = AppendEntry(out, Entry{Append: build("jsonl/base64", 10, []int64{106}, []string{`{"x":1}`})})
	out = AppendEntry(out, Entry{Seal: &Seal{At: 18, Next: `orders/partition_3_offset_107_5a7c2e19`, NextOffset: 107}})
	golden := filepath.Join("testdata", "entries.golden")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("encoding changed (a compatibility break):\n got %s\nwant %s", out, want)
	}
	// Round trip through the scanner.
	s := NewScanner(bytes.NewReader(out), 0)
	var got []Entry
	for s.Scan() {
		got = append(got, s.Entry())
	}
	if s.Err() != nil || len(got) != 3 {
		t.Fatalf("scan: %d entries, %v", len(got), s.Err())
	}
	a := got[0].Append
	if a == nil || a.Pos != 0 || a.Bytes != 10 || a.First() != 100 || a.Last() != 105 || a.Records() != 3 {
		t.Fatalf("first entry: %+v", a)
	}
	if a.CRC32C != crc32.Checksum([]byte("a\nb\n\nline\n"), Castagnoli) {
		t.Errorf("crc32c %d", a.CRC32C)
	}
	var recs []Record
	for r := range a.All() {
		recs = append(recs, r)
	}
	want2 := []Record{{100, 0, 4, false}, {101, 4, 1, true}, {105, 5, 5, false}}
	if !slices.Equal(recs, want2) {
		t.Errorf("records %v, want %v", recs, want2)
	}
	if got[2].Seal == nil || got[2].Seal.NextOffset != 107 || got[2].Off != int64(len(out))-got[2].Len {
		t.Errorf("seal entry %+v", got[2])
	}
	if !bytes.Equal(AppendEntry(nil, got[0]), out[:got[0].Len]) {
		t.Error("re-encoding a parsed entry differs")
	}
	all, err := ParseAll(out)
	if err != nil || len(all) != len(got) || all[2].Off != got[2].Off || all[0].Append.CRC32C != got[0].Append.CRC32C {
		t.Errorf("ParseAll: %d entries, %v", len(all), err)
	}
	if _, err := ParseAll(out[:len(out)-1]); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseAll of a torn index: %v", err)
	}
}

func TestParseEntryRefuses(t *testing.T) {
	for name, line := range map[string]string{
		"not json":           `{"op":`,
		"unknown op":         `{"op":"truncate"}`,
		"seal without next":  `{"op":"seal","at":3}`,
		"negative pos":       `{"op":"append","enc":"raw/text","pos":-1,"bytes":2,"crc32c":0,"offsets":[[1,1]],"sizes":[2]}`,
		"sizes mismatch":     `{"op":"append","enc":"raw/text","pos":0,"bytes":3,"crc32c":0,"offsets":[[1,1]],"sizes":[2]}`,
		"count mismatch":     `{"op":"append","enc":"raw/text","pos":0,"bytes":2,"crc32c":0,"offsets":[[1,2]],"sizes":[2]}`,
		"runs not ascending": `{"op":"append","enc":"raw/text","pos":0,"bytes":2,"crc32c":0,"offsets":[[5,1],[5,1]],"sizes":[1,1]}`,
		"zero size":          `{"op":"append","enc":"raw/text","pos":0,"bytes":1,"crc32c":0,"offsets":[[1,2]],"sizes":[1,0]}`,
		"null not announced": `{"op":"append","enc":"raw/text","pos":0,"bytes":1,"crc32c":0,"offsets":[[1,1]],"sizes":[1],"nulls":[2]}`,
		"no offsets":         `{"op":"append","enc":"raw/text","pos":0,"bytes":1,"crc32c":0,"offsets":[],"sizes":[1]}`,
		"no enc":             `{"op":"append","pos":0,"bytes":1,"crc32c":0,"offsets":[[1,1]],"sizes":[1]}`,
		"head not at 0":      `{"op":"append","enc":"csv/text;fields=value","pos":5,"bytes":3,"crc32c":0,"head":1,"offsets":[[1,1]],"sizes":[2]}`,
		"head mismatch":      `{"op":"append","enc":"csv/text;fields=value","pos":0,"bytes":3,"crc32c":0,"head":2,"offsets":[[1,1]],"sizes":[2]}`,
		"decoded mismatch":   `{"op":"append","enc":"raw/text;z=gzip-1","pos":0,"bytes":30,"decoded":3,"crc32c":0,"offsets":[[1,1]],"sizes":[2]}`,
		"negative decoded":   `{"op":"append","enc":"raw/text;z=gzip-1","pos":0,"bytes":2,"decoded":-1,"crc32c":0,"offsets":[[1,1]],"sizes":[2]}`,
	} {
		if _, err := ParseEntry([]byte(line)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestScannerTornAndLong(t *testing.T) {
	line := AppendEntry(nil, Entry{Seal: &Seal{At: 1, Next: "x", NextOffset: 2}})
	s := NewScanner(bytes.NewReader(line[:len(line)-1]), 0)
	if s.Scan() || s.Err() == nil {
		t.Error("an index ending inside an entry was accepted")
	}
	// A line longer than the reader's buffer is read whole.
	vals := make([]string, 40000)
	offs := make([]int64, len(vals))
	for i := range vals {
		vals[i], offs[i] = "v", int64(i)
	}
	big := AppendEntry(nil, Entry{Append: build("raw/text", 0, offs, vals)})
	s = NewScanner(bytes.NewReader(append(big, line...)), 10)
	if !s.Scan() || s.Entry().Append.Records() != 40000 || s.Entry().Off != 10 {
		t.Fatalf("long entry: %v", s.Err())
	}
	if !s.Scan() || s.Entry().Seal == nil || s.Scan() || s.Err() != nil {
		t.Fatalf("after the long entry: %v", s.Err())
	}
}

// resolveCase builds a data object and an index from a script and resolves.
type step struct {
	append *Append // an announced append
	lands  bool    // its data landed
	seal   *Seal
}

func TestResolve(t *testing.T) {
	abc := func(pos int64, first int64, vals ...string) *Append {
		offs := make([]int64, len(vals))
		for i := range offs {
			offs[i] = first + int64(i)
		}
		return build("raw/text", pos, offs, vals)
	}
	a1 := abc(0, 100, "a", "b")          // 4 bytes
	a1long := abc(0, 100, "a", "b", "c") // 6 bytes, a1 is a prefix of it
	other := abc(0, 200, "x", "y")       // 4 bytes, same size as a1, other bytes
	same := abc(0, 200, "a", "b")        // 4 bytes, same bytes as a1, other offsets
	a2 := abc(4, 102, "c")               // 2 bytes after a1
	a2after6 := abc(6, 103, "d")
	seal := func(at int64, off int64) *Seal {
		return &Seal{At: at, Next: "t/partition_0_offset_" + string(rune('0'+off%10)), NextOffset: off}
	}
	for _, tc := range []struct {
		name    string
		steps   []step
		landed  []*Append
		sealed  bool
		end     int64
		void    int
		errLike string
	}{
		{name: "empty", end: 0},
		{name: "one landed", steps: []step{{append: a1, lands: true}}, landed: []*Append{a1}, end: 4},
		{name: "announced, not landed", steps: []step{{append: a1}}, end: 0},
		{name: "stale then landed", steps: []step{{append: a1}, {append: other, lands: true}}, landed: []*Append{other}, end: 4},
		{name: "shorter attempt then longer redelivery", steps: []step{{append: a1}, {append: a1long, lands: true}}, landed: []*Append{a1long}, end: 6},
		{name: "late landing of the first of two", steps: []step{{append: a1long, lands: true}, {append: a1}}, landed: []*Append{a1long}, end: 6},
		{name: "two of one size: the CRC tells", steps: []step{{append: a1, lands: true}, {append: other}}, landed: []*Append{a1}, end: 4},
		{name: "two of one size and bytes: the last", steps: []step{{append: a1}, {append: same, lands: true}}, landed: []*Append{same}, end: 4, void: 1},
		{name: "chain", steps: []step{{append: a1, lands: true}, {append: a2, lands: true}}, landed: []*Append{a1, a2}, end: 6},
		{name: "successor decides without data", steps: []step{{append: a1long, lands: true}, {append: a2after6}}, landed: []*Append{a1long}, end: 6},
		{name: "stale below resolved position is void", steps: []step{{append: a1, lands: true}, {append: a2, lands: true}, {append: abc(0, 100, "a")}}, landed: []*Append{a1, a2}, end: 6, void: 1},
		{name: "seal", steps: []step{{append: a1, lands: true}, {seal: seal(4, 102)}}, landed: []*Append{a1}, sealed: true, end: 4},
		{name: "seal decides between alternatives", steps: []step{{append: a1}, {append: a1long, lands: true}, {seal: seal(6, 103)}}, landed: []*Append{a1long}, sealed: true, end: 6},
		{name: "sealed empty", steps: []step{{append: a1}, {seal: seal(0, 100)}}, sealed: true, end: 0},
		{name: "after a seal is void", steps: []step{{append: a1, lands: true}, {seal: seal(4, 102)}, {append: a2}}, landed: []*Append{a1}, sealed: true, end: 4, void: 1},
		{name: "unannounced bytes", steps: []step{{append: a1, lands: true}, {append: a2}}, errLike: "matches the data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			var entries []Entry
			content := map[*Append][]byte{
				a1: []byte("a\nb\n"), a1long: []byte("a\nb\nc\n"), other: []byte("x\ny\n"), same: []byte("a\nb\n"),
				a2: []byte("c\n"), a2after6: []byte("d\n"),
			}
			for _, s := range tc.steps {
				if s.seal != nil {
					entries = append(entries, Entry{Seal: s.seal})
					continue
				}
				entries = append(entries, Entry{Append: s.append})
				if s.lands {
					if int64(len(data)) != s.append.Pos {
						t.Fatalf("script: append at %d lands on %d bytes", s.append.Pos, len(data))
					}
					data = append(data, content[s.append]...)
				}
			}
			if tc.name == "unannounced bytes" {
				data = append(data, "zz"...)
			}
			verify := func(a *Append) (bool, error) {
				if a.Pos+a.Bytes > int64(len(data)) {
					return false, nil
				}
				return crc32.Checksum(data[a.Pos:a.Pos+a.Bytes], Castagnoli) == a.CRC32C, nil
			}
			res, err := Resolve(entries, 0, int64(len(data)), verify)
			if tc.errLike != "" {
				if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.errLike) {
					t.Fatalf("err %v, want ErrInconsistent mentioning %q", err, tc.errLike)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Landed, tc.landed) || (res.Seal != nil) != tc.sealed || res.End != tc.end || res.Void != tc.void {
				t.Fatalf("got landed %d seal %v end %d void %d; want landed %d sealed %v end %d void %d",
					len(res.Landed), res.Seal, res.End, res.Void, len(tc.landed), tc.sealed, tc.end, tc.void)
			}
		})
	}
}

func TestResolveSealAndDataDisagree(t *testing.T) {
	a := build("raw/text", 0, []int64{1}, []string{"a"})
	for _, dataLen := range []int64{-1, 0, 3} {
		_, err := Resolve([]Entry{{Append: a}, {Seal: &Seal{At: 2, Next: "n", NextOffset: 2}}}, 0, dataLen, nil)
		if !errors.Is(err, ErrInconsistent) {
			t.Errorf("data length %d: %v", dataLen, err)
		}
	}
	if _, err := Resolve([]Entry{{Seal: &Seal{At: 5, Next: "n", NextOffset: 2}}}, 0, 5, nil); !errors.Is(err, ErrInconsistent) {
		t.Errorf("seal beyond any announced append: %v", err)
	}
}

// TestResolvePending: the last alternatives that have not landed are
// reported by the index position of the first, so that a late landing can
// be resolved later; any landing, seal or later position clears it.
func TestResolvePending(t *testing.T) {
	a := build("raw/text", 0, []int64{1}, []string{"a"})
	b := build("raw/text", 0, []int64{1, 2}, []string{"a", "b"})
	c := build("raw/text", 2, []int64{2}, []string{"b"})
	for _, tc := range []struct {
		name    string
		entries []Entry
		dataLen int64
		pending int64
	}{
		{"nothing announced", nil, 0, -1},
		{"one not landed", []Entry{{Append: a, Off: 7}}, 0, 7},
		{"two not landed", []Entry{{Append: a, Off: 7}, {Append: b, Off: 40}}, 0, 7},
		{"landed", []Entry{{Append: a, Off: 7}}, 2, -1},
		{"after a landed one", []Entry{{Append: a, Off: 7}, {Append: c, Off: 30}}, 2, 30},
		{"sealed", []Entry{{Append: a, Off: 7}, {Seal: &Seal{At: 0, Next: "n", NextOffset: 1}, Off: 30}}, 0, -1},
	} {
		verify := func(x *Append) (bool, error) { return x.Pos+x.Bytes <= tc.dataLen, nil }
		res, err := Resolve(tc.entries, 0, tc.dataLen, verify)
		if err != nil || res.Pending != tc.pending {
			t.Errorf("%s: pending %d, %v; want %d", tc.name, res.Pending, err, tc.pending)
		}
	}
}

// TestResolveTooManyAlternatives: an index announcing more different
// appends at one position than retries ever do is inconsistent, not held
// in memory without bound.
func TestResolveTooManyAlternatives(t *testing.T) {
	r := NewResolver(0, nil)
	for i := 0; i <= MaxAlternatives; i++ {
		a := build("raw/text", 0, []int64{1}, []string{fmt.Sprint(i)})
		if err := r.Add(Entry{Append: a}); err != nil {
			if i != MaxAlternatives || !errors.Is(err, ErrInconsistent) {
				t.Fatalf("entry %d: %v", i, err)
			}
			return
		}
	}
	t.Fatal("no error")
}
