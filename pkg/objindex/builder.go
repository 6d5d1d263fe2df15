package objindex

import "hash/crc32"

// Builder collects the records of one append as they are encoded. The zero
// value is ready; Reset reuses its memory.
type Builder struct {
	a   Append
	crc uint32
	// willCompress: Add and Head need not checksum what they record (see
	// WillCompress); member: Compressed was called.
	willCompress, member bool
}

// Reset starts a new append at data position pos in encoding enc.
func (b *Builder) Reset(enc string, pos int64) {
	b.a = Append{Enc: enc, Pos: pos, Offsets: b.a.Offsets[:0], Sizes: b.a.Sizes[:0], Nulls: b.a.Nulls[:0]}
	b.crc = 0
	b.willCompress, b.member = false, false
}

// WillCompress says that what is added until the next Reset will be stored
// as one compressed member (Compressed), whose CRC replaces that of the
// added bytes: Add and Head then skip checksumming them, which would be
// thrown away. Append panics if Compressed was not called.
func (b *Builder) WillCompress() { b.willCompress = true }

// Add records the next record: its offset (greater than the previous one's),
// its encoded bytes, whether its value was null and its Kafka timestamp (0
// when it had none).
func (b *Builder) Add(offset int64, encoded []byte, null bool, ts int64) {
	a := &b.a
	if n := len(a.Offsets); n > 0 && a.Offsets[n-1].First+a.Offsets[n-1].Count == offset {
		a.Offsets[n-1].Count++
	} else {
		a.Offsets = append(a.Offsets, Run{First: offset, Count: 1})
	}
	a.Sizes = append(a.Sizes, int64(len(encoded)))
	a.Bytes += int64(len(encoded))
	if null {
		a.Nulls = append(a.Nulls, offset)
	}
	if ts > 0 {
		if a.MinTS == 0 || ts < a.MinTS {
			a.MinTS = ts
		}
		a.MaxTS = max(a.MaxTS, ts)
	}
	if !b.willCompress {
		b.crc = crc32.Update(b.crc, Castagnoli, encoded)
	}
}

// Head records a preamble (a CSV header row) before the first record; only
// at position 0, before any Add.
func (b *Builder) Head(preamble []byte) {
	b.a.Head += int64(len(preamble))
	b.a.Bytes += int64(len(preamble))
	if !b.willCompress {
		b.crc = crc32.Update(b.crc, Castagnoli, preamble)
	}
}

// Compressed records that what was added is stored as member, one complete
// compressed member of those bytes: Bytes and the CRC become the member's,
// Decoded the length of what was added.
func (b *Builder) Compressed(member []byte) {
	b.a.Decoded = b.a.Bytes
	b.a.Bytes = int64(len(member))
	b.crc = crc32.Checksum(member, Castagnoli)
	b.member = true
}

// Records returns how many records were added since Reset.
func (b *Builder) Records() int { return len(b.a.Sizes) }

// Append returns the append built so far. It shares memory with b until
// the next Reset.
func (b *Builder) Append() *Append {
	if b.willCompress && !b.member {
		panic("objindex: WillCompress without Compressed: the append has no CRC")
	}
	b.a.CRC32C = b.crc
	return &b.a
}
