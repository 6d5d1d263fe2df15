package parquetfile

import (
	"bytes"
	"io"
	"testing"
	"time"

	apq "github.com/apache/arrow-go/v18/parquet"
)

// readBound is the documented bound of a Reader's heap, for files of the
// Writer's 256 KiB pages: see the package doc.
const readBound = 8 * mib

// TestReadMemoryBound reads 64 MiB of rows of each shape and codec, written
// in 8 MiB row groups, and checks the heap in use after a GC, measured every
// 1 MiB of rows read and at each row group's start, against readBound
// above what was in use before (the file's bytes included).
func TestReadMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 64 MiB per case")
	}
	const total = 64 * mib
	for _, shape := range shapes {
		in := shape.gen(total)
		for _, codec := range codecs {
			t.Run(shape.name+"/"+codec, func(t *testing.T) {
				data := writeFile(t, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 8 * mib}, in.rows)
				var m heapMeter
				m.start()
				r, err := NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				var row Row
				var read, next int64
				groups, lastG := 0, -1
				for {
					err := r.Next(&row)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if r.g != lastG {
						lastG, groups = r.g, groups+1
						m.sample()
					}
					if read += row.size(); read >= next {
						m.sample()
						next = read + mib
					}
				}
				if read != in.bytes || groups < total/(8*mib) {
					t.Fatalf("%d bytes of rows in %d row groups read, want %d in %d", read, groups, in.bytes, total/(8*mib))
				}
				t.Logf("%s %s: peak heap in use %.1f MiB above the baseline (bound %d MiB), file %.1f MiB, %d row groups",
					shape.name, codec, float64(m.peak)/mib, readBound/mib, float64(len(data))/mib, groups)
				if m.peak > readBound {
					t.Fatalf("peak heap in use %.1f MiB above the baseline, bound %d MiB", float64(m.peak)/mib, readBound/mib)
				}
			})
		}
		in = nil
	}
}

// BenchmarkRead64MiB reads 64 MiB of rows (counted by Row.size, as
// BenchmarkWrite64MiB counts them) from a file in memory written in 8 MiB
// row groups. cpu-MB/s is of those bytes per second of process CPU time.
func BenchmarkRead64MiB(b *testing.B) {
	const total = 64 * mib
	for _, shape := range shapes {
		in := shape.gen(total)
		for _, codec := range codecs {
			data := writeFile(b, Options{Columns: AllColumns(), Codec: codec, RowGroupBytes: 8 * mib}, in.rows)
			b.Run(shape.name+"/"+codec, func(b *testing.B) {
				b.SetBytes(in.bytes)
				b.ReportAllocs()
				var cpu time.Duration
				var calls int
				for i := 0; i < b.N; i++ {
					cpu0 := cpuTime()
					cr := &countingReaderAt{r: bytes.NewReader(data)}
					r, err := NewReader(cr, int64(len(data)))
					if err != nil {
						b.Fatal(err)
					}
					var row Row
					for {
						if err := r.Next(&row); err != nil {
							if err == io.EOF {
								break
							}
							b.Fatal(err)
						}
					}
					cpu += cpuTime() - cpu0
					calls = cr.calls
				}
				b.ReportMetric(float64(in.bytes)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
				b.ReportMetric(float64(len(data))/mib, "file-MiB")
				b.ReportMetric(float64(calls), "ReadAts")
			})
		}
		in = nil
	}
}

// TestReadMemoryLargeRows: rows larger than a page cost a few times their
// pages, not a batch or a row group of them. In Arrow's files a page is
// the value (and, Arrow checking the page size between batches of values,
// possibly the other values of its row group); the Writer's pages of one
// large value are five times its size (four copies in the page header's
// statistics, see the package doc), and the library decodes those copies
// again.
func TestReadMemoryLargeRows(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 32 MiB of rows")
	}
	tests := []struct {
		src       string
		valueSize int
		bound     int
	}{
		{"arrow", 4 * mib, readBound + 4*4*mib}, // a row group of 4 rows in one page
		{"writer", 1 * mib, readBound + 16*mib},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			var rows []Row
			var hs [][]gotHeader
			for i := 0; i < 32*mib/tt.valueSize; i++ {
				v := bytes.Repeat([]byte("abcdefgh"), tt.valueSize/8)
				v[0] = byte('a' + i%26)
				rows = append(rows, Row{Topic: "t", Offset: int64(i), Value: v, Headers: []byte(`[{"key":"h"}]`)})
				hs = append(hs, []gotHeader{{"h", nil}})
			}
			var data []byte
			if tt.src == "arrow" {
				data = arrowWrite(t, AllColumns(), false, false, rows, hs, apq.WithMaxRowGroupLength(4))
			} else {
				data = writeFile(t, Options{Columns: AllColumns(), RowGroupBytes: 8 * mib}, rows)
			}
			want := len(rows)
			rows = nil
			var m heapMeter
			m.start()
			r, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var row Row
			n := 0
			for ; ; n++ {
				if err := r.Next(&row); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if len(row.Value) != tt.valueSize || row.Value[0] != byte('a'+n%26) {
					t.Fatalf("row %d: a value of %d bytes", n, len(row.Value))
				}
				m.sample()
			}
			t.Logf("%s: %d rows of %d MiB in a file of %.0f MiB: peak heap in use %.1f MiB above the baseline (bound %d MiB)",
				tt.src, n, tt.valueSize/mib, float64(len(data))/mib, float64(m.peak)/mib, tt.bound/mib)
			if n != want || m.peak > uint64(tt.bound) {
				t.Fatalf("%d rows, peak heap in use %.1f MiB above the baseline, bound %d MiB", n, float64(m.peak)/mib, tt.bound/mib)
			}
		})
	}
}
