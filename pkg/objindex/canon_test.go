package objindex

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestCanonicalAgreesWithJSON: the fast parser of the canonical form reads
// every line AppendEntry writes as encoding/json does, and never accepts
// what encoding/json reads differently.
func TestCanonicalAgreesWithJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var b Builder
		pos := rng.Int64N(1 << 40)
		if rng.IntN(3) == 0 {
			pos = 0
		}
		b.Reset([]string{"raw/text", "jsonl/base64", `we"ird`, "日本", "csv/text;fields=offset,value;z=gzip-1"}[rng.IntN(5)], pos)
		if pos == 0 && rng.IntN(2) == 0 {
			b.Head(make([]byte, 1+rng.IntN(40)))
		}
		off := rng.Int64N(1 << 50)
		for k := 0; k < 1+rng.IntN(30); k++ {
			off += 1 + rng.Int64N(3)
			b.Add(off, make([]byte, 1+rng.IntN(500)), rng.IntN(5) == 0, rng.Int64N(2)*rng.Int64N(1<<42))
		}
		if rng.IntN(2) == 0 {
			b.Compressed(make([]byte, 1+rng.IntN(300)))
		}
		a := b.Append()
		line := AppendEntry(nil, Entry{Append: a})
		if e, err := ParseEntry(line); err != nil || !reflect.DeepEqual(*e.Append, *a) {
			t.Fatalf("round trip of %s: %v\n%+v\n%+v", line, err, e.Append, a)
		}
		nextEnc := []string{"", "jsonl/text;fields=offset", `q"`}[rng.IntN(3)]
		lines := [][]byte{line, AppendEntry(nil, Entry{Seal: &Seal{At: rng.Int64N(1 << 40), Next: "a/b\\c", NextOffset: off, NextEnc: nextEnc}})}
		for _, line := range lines {
			line = line[:len(line)-1]
			check(t, line)
			// Mutations: both parsers must agree on what they accept.
			for m := 0; m < 5; m++ {
				mut := append([]byte(nil), line...)
				const alphabet = "0123456789,[]{}\":-xa "
				mut[rng.IntN(len(mut))] = alphabet[rng.IntN(len(alphabet))]
				check(t, mut)
			}
		}
	}
}

func check(t *testing.T, line []byte) {
	t.Helper()
	c, ok := parseCanonical(line)
	if !ok {
		return
	}
	var j wire
	if err := json.Unmarshal(line, &j); err != nil {
		t.Fatalf("canonical accepts what encoding/json refuses (%v): %s", err, line)
	}
	if !reflect.DeepEqual(c, j) {
		t.Fatalf("canonical and encoding/json differ on %s:\n%+v\n%+v", line, c, j)
	}
}
