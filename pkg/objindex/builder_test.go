package objindex

import (
	"hash/crc32"
	"reflect"
	"testing"
)

// TestBuilderWillCompress: an append built with WillCompress is the one
// built without it (the CRC is the member's either way), and Append without
// Compressed after WillCompress panics rather than record no CRC.
func TestBuilderWillCompress(t *testing.T) {
	member := []byte("a compressed member")
	build := func(will bool) Append {
		var b Builder
		b.Reset("jsonl/text;z=zstd-1", 100)
		if will {
			b.WillCompress()
		}
		b.Head([]byte("h\n"))
		b.Add(7, []byte("seven\n"), false, 1000)
		b.Add(8, []byte("eight\n"), true, 900)
		b.Compressed(member)
		return *b.Append()
	}
	a, w := build(false), build(true)
	if !reflect.DeepEqual(a, w) {
		t.Fatalf("with WillCompress %+v, without %+v", w, a)
	}
	if a.CRC32C != crc32.Checksum(member, Castagnoli) || a.Decoded != 14 || a.Bytes != int64(len(member)) {
		t.Fatalf("append %+v: not the member's CRC and lengths", a)
	}

	// Reset clears it: an uncompressed append keeps its bytes' CRC.
	var b Builder
	b.Reset("x", 0)
	b.WillCompress()
	b.Reset("x", 0)
	b.Add(1, []byte("one\n"), false, 0)
	if got := b.Append().CRC32C; got != crc32.Checksum([]byte("one\n"), Castagnoli) {
		t.Fatalf("CRC %08x after Reset, not the bytes'", got)
	}

	defer func() {
		if recover() == nil {
			t.Fatal("Append after WillCompress without Compressed did not panic")
		}
	}()
	b.Reset("x", 0)
	b.WillCompress()
	b.Add(1, []byte("one\n"), false, 0)
	b.Append()
}
