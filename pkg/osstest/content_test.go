package osstest

import (
	"bytes"
	"testing"
)

func TestContentRanges(t *testing.T) {
	var c content
	want := []byte{}
	for _, chunk := range []string{"abc", "", "d", "efgh", "ij"} {
		c.add([]byte(chunk))
		want = append(want, chunk...)
	}
	if c.len() != len(want) || !bytes.Equal(c.all(), want) {
		t.Fatalf("all = %q (len %d), want %q", c.all(), c.len(), want)
	}
	for start := 0; start <= len(want); start++ {
		for end := start; end <= len(want); end++ {
			if got := c.bytes(start, end); !bytes.Equal(got, want[start:end]) {
				t.Fatalf("bytes(%d, %d) = %q, want %q", start, end, got, want[start:end])
			}
		}
	}
	// A snapshot stays valid while appends continue.
	snap := c
	c.add([]byte("klm"))
	if !bytes.Equal(snap.all(), want) || c.len() != len(want)+3 {
		t.Fatalf("snapshot changed: %q", snap.all())
	}
}
