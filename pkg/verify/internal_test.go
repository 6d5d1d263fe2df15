package verify

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// TestScanLines compares the chunked scanner with bytes.Split for every
// chunk size on contents with long, short, empty and unterminated lines.
func TestScanLines(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	rng := rand.New(rand.NewPCG(1, 2))
	contents := [][]byte{[]byte("a\n"), []byte("\n\n"), []byte("no newline"), []byte("x\ny")}
	for range 20 {
		var b []byte
		for range rng.IntN(8) {
			b = append(b, bytes.Repeat([]byte{'a' + byte(rng.IntN(26))}, rng.IntN(30))...)
			if rng.IntN(6) > 0 {
				b = append(b, '\n')
			}
		}
		contents = append(contents, b)
	}
	for _, content := range contents {
		if len(content) == 0 {
			continue
		}
		if _, err := st.Append(ctx, "k", 0, content); err != nil {
			t.Fatal(err)
		}
		wantLines := bytes.Split(content, []byte("\n"))
		wantTail := wantLines[len(wantLines)-1]
		wantLines = wantLines[:len(wantLines)-1]
		for chunk := int64(1); chunk <= int64(len(content))+1; chunk++ {
			var got [][]byte
			var pos, read int64
			tail, torn, err := scanLines(ctx, st, "k", int64(len(content)), chunk, func(l line) {
				if l.start != pos || l.no != int64(len(got))+1 {
					t.Fatalf("chunk %d: line %d at %d, want line %d at %d", chunk, l.no, l.start, len(got)+1, pos)
				}
				got = append(got, bytes.Clone(l.data))
				pos = l.end()
			}, func(n int64) { read += n })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(wantLines) || read != int64(len(content)) {
				t.Fatalf("chunk %d on %q: %d lines, read %d", chunk, content, len(got), read)
			}
			for i := range got {
				if !bytes.Equal(got[i], wantLines[i]) {
					t.Fatalf("chunk %d on %q: line %d = %q, want %q", chunk, content, i+1, got[i], wantLines[i])
				}
			}
			if torn != (len(wantTail) > 0) || !bytes.Equal(tail.data, wantTail) || (torn && tail.start != pos) {
				t.Fatalf("chunk %d on %q: tail %q at %d (torn %v), want %q at %d", chunk, content, tail.data, tail.start, torn, wantTail, pos)
			}
		}
		if err := st.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOffsetSet compares the span set with a map, in increasing, shuffled
// and repeated orders, and checks that runs stay merged.
func TestOffsetSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		var s offsetSet
		ref := map[int64]int{}
		n := 1 + rng.IntN(300)
		for i := range n {
			off := int64(i)
			if round%2 == 1 {
				off = rng.Int64N(int64(n))
			}
			obj := i / 40
			holder, dup := s.add(off, obj)
			want, wantDup := ref[off]
			if dup != wantDup || (dup && holder != want) {
				t.Fatalf("round %d: add(%d, %d) = %d, %v; want %d, %v", round, off, obj, holder, dup, want, wantDup)
			}
			if !wantDup {
				ref[off] = obj
			}
		}
		for i := 1; i < len(s.spans); i++ {
			a, b := s.spans[i-1], s.spans[i]
			if a.hi >= b.lo || (a.hi+1 == b.lo && a.obj == b.obj) {
				t.Fatalf("round %d: spans %v and %v overlap or should be one", round, a, b)
			}
		}
		if round%2 == 0 && len(s.spans) != (n+39)/40 {
			t.Fatalf("round %d: %d spans for %d increasing offsets in %d objects", round, len(s.spans), n, (n+39)/40)
		}
	}
}

func TestParseObjectName(t *testing.T) {
	for _, c := range []struct {
		base string
		p    int32
		off  int64
		ok   bool
	}{
		{"partition_3_offset_120_ab12cd34", 3, 120, true},
		{"partition_3_offset_120_deadbeefcafe", 3, 120, true},
		{"partition_3_offset_120_", 0, 0, false},
		{"partition_03_offset_120_ab12cd34", 0, 0, false},
		{"partition_3_offset_-1_ab12cd34", 0, 0, false},
		{"partition_x_offset_1_ab12cd34", 0, 0, false},
		{".oss_meta_file_partition_3", 0, 0, false},
	} {
		p, off, ok := parseObjectName(c.base)
		if p != c.p || off != c.off || ok != c.ok {
			t.Errorf("%s: %d %d %v", c.base, p, off, ok)
		}
	}
}
