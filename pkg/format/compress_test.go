package format

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

var codecs = []Codec{Gzip, Zstd, Snappy}

// members returns the contents of the members of a test object: records,
// an empty member, one larger than a snappy chunk and a zstd block, and a
// tiny one.
func members() [][]byte {
	e := Encoder{Format: JSONL, Fields: AllFields()}
	big := object(e, eventstest.Records(eventstest.BatchConfig{Records: 300, ValueSize: 1000, Keys: true, Seed: 5}))
	return [][]byte{object(e, testRecords(events.Text)), {}, big, []byte("x\n")}
}

// decompressIndependently reads obj, a concatenation of members, with an
// implementation other than the one that wrote it.
func decompressIndependently(t *testing.T, c Codec, obj []byte) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case Gzip:
		// The standard library; multistream is its default.
		zr, err := stdgzip.NewReader(bytes.NewReader(obj))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || zr.OS != 255 || zr.Extra != nil {
			t.Fatalf("gzip header %+v: want no name, comment, extra, mtime", zr.Header)
		}
		r = zr
	case Zstd:
		// klauspost's decoder, not its encoder.
		zr, err := zstd.NewReader(bytes.NewReader(obj))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	case Snappy:
		// github.com/golang/snappy, not klauspost's s2.
		r = snappy.NewReader(bytes.NewReader(obj))
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return out
}

// TestCompressConcatenation: an object of several members reads back whole,
// and so does every prefix that ends at a member boundary (an object
// between two invocations), through independent readers and through
// NewDecompressor.
func TestCompressConcatenation(t *testing.T) {
	ms := members()
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			cp := NewCompressor(c)
			var obj, plain []byte
			for i, m := range ms {
				n := len(obj)
				obj = cp.Append(obj, m)
				if len(obj) == n {
					t.Fatalf("member %d: Append added nothing", i)
				}
				plain = append(plain, m...)
				if got := decompressIndependently(t, c, obj); !bytes.Equal(got, plain) {
					t.Fatalf("after member %d: read %d bytes, want %d", i, len(got), len(plain))
				}
				one := NewCompressor(c).Append(nil, m)
				if !bytes.Equal(obj[n:], one) {
					t.Fatalf("member %d: a used Compressor wrote other bytes than a new one", i)
				}
			}
			rc, err := NewDecompressor(c, bytes.NewReader(obj))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("NewDecompressor: %d bytes, %v", len(got), err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			// An empty object holds no members yet.
			rc, err = NewDecompressor(c, bytes.NewReader(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(rc); err != nil || len(got) != 0 {
				t.Fatalf("empty object: %q, %v", got, err)
			}
			// A member cut short is an error, not a short read.
			rc, _ = NewDecompressor(c, bytes.NewReader(obj[:len(obj)-3]))
			if _, err := io.ReadAll(rc); err == nil {
				t.Fatal("a truncated object read without error")
			}
		})
	}
}

// TestCompressCLI reads a concatenation with the gzip and zstd command-line
// tools, as an operator would, when they are installed.
func TestCompressCLI(t *testing.T) {
	ms := members()
	for _, tc := range []struct {
		c   Codec
		cmd string
	}{{Gzip, "gzip"}, {Zstd, "zstd"}} {
		t.Run(tc.cmd, func(t *testing.T) {
			path, err := exec.LookPath(tc.cmd)
			if err != nil {
				t.Skipf("%s not installed", tc.cmd)
			}
			cp := NewCompressor(tc.c)
			var obj, plain []byte
			for _, m := range ms {
				obj = cp.Append(obj, m)
				plain = append(plain, m...)
			}
			file := filepath.Join(t.TempDir(), "obj"+Encoder{Codec: tc.c}.Ext())
			if err := os.WriteFile(file, obj, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, "-dc", file).Output()
			if err != nil {
				t.Fatalf("%s -dc: %v", tc.cmd, err)
			}
			if !bytes.Equal(out, plain) {
				t.Fatalf("%s -dc: %d bytes, want %d", tc.cmd, len(out), len(plain))
			}
		})
	}
}

// TestCompressGolden pins the compressed bytes: recovery compares a
// re-encoding with what an object holds, so the same input must compress
// to the same bytes in every version. A library upgrade that changes them
// needs a new level in the ids, not an -update.
func TestCompressGolden(t *testing.T) {
	in := object(Encoder{Format: JSONL, Fields: AllFields()}, append(testRecords(events.Text), randomRecords(50, events.Text, 3)...))
	for _, c := range codecs {
		t.Run(c.String(), func(t *testing.T) {
			got := NewCompressor(c).Append(nil, in)
			if c == Snappy && runtime.GOARCH != "amd64" {
				// The s2 block encoder is assembly on amd64 and arm64, pure
				// Go elsewhere: the golden file is amd64's.
				if out := decompressIndependently(t, c, got); !bytes.Equal(out, in) {
					t.Fatal("snappy does not read back")
				}
				t.Skip("snappy golden bytes are amd64's")
			}
			golden(t, "members"+Encoder{Codec: c}.Ext(), got)
		})
	}
}

func TestCompressNone(t *testing.T) {
	got := NewCompressor(None).Append([]byte("a"), []byte("bc"))
	if string(got) != "abc" {
		t.Fatalf("None: %q", got)
	}
	rc, err := NewDecompressor(None, strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "abc" {
		t.Fatalf("None: read %q", b)
	}
}

// TestCompressAllocs: a warm Compressor appending to a buffer with room
// allocates nothing for gzip and zstd (snappy's writer takes a few
// pooled buffers per call).
func TestCompressAllocs(t *testing.T) {
	in := members()[2]
	for _, c := range []Codec{Gzip, Zstd} {
		cp := NewCompressor(c)
		buf := cp.Append(make([]byte, 0, 2*len(in)), in)
		if n := testing.AllocsPerRun(5, func() { buf = cp.Append(buf[:0], in) }); n > 0 {
			t.Errorf("%s: %v allocations per Append", c, n)
		}
	}
}
