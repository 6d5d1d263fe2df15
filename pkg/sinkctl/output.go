package sinkctl

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// writeTable prints a verify report for humans: one row per partition,
// totals, then every defect.
func writeTable(w io.Writer, where string, rep *verify.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "store: %s\n\n", where)
	var marks inexactMarks
	if len(rep.Partitions) > 0 {
		fmt.Fprintln(tw, "TOPIC\tPARTITION\tFORMAT\tOBJECTS\tRECORDS\tFIRST\tLAST\tBYTES\tERRORS\tWARNINGS")
	}
	for _, p := range rep.Partitions {
		mark := marks.of(p.ExactOffsets, p.Objects, currentLegacyRaw(&p))
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\n", p.Topic, p.Partition, orDash(p.Format), p.Objects, p.Records,
			offset(p.FirstOffset, mark), offset(p.LastOffset, mark), size(p.Bytes), p.Errors, p.Warnings)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	marks.footnotes(w)
	t := rep.Total
	verdict := "OK"
	switch {
	case t.Errors > 0:
		verdict = "FAILED: " + count(t.Errors, "error") + ", " + count(t.Warnings, "warning")
	case t.Warnings > 0:
		verdict = "OK with " + count(t.Warnings, "warning")
	}
	fmt.Fprintf(w, "\n%s, %s, %s, %s: %s\n", count(t.Partitions, "partition"), count(t.Objects, "object"),
		count(int(t.Records), "record"), size(t.Bytes), verdict)
	if rep.Ignored > 0 {
		fmt.Fprintf(w, "(%s under the prefix outside the topic folders checked, not the sink's, ignored)\n", count(rep.Ignored, "key"))
	}
	if t.InvalidRecords > 0 {
		fmt.Fprintf(w, "(of them, %s in invalidRuleData/: records whose folder the routing template could not compute; checked like the others, not an error)\n",
			count(int(t.InvalidRecords), "record"))
	}
	switch {
	case t.Unread > 0 && t.Archived == 0:
		fmt.Fprintf(w, "(%s checked without reading their bytes: names, sizes, indexes, tags and metadata; CRCs and records not checked)\n", count(t.Unread, "object"))
	case t.Archived > 0:
		fmt.Fprintf(w, "(%s archived and not restored: checked without reading (names, sizes, indexes, tags; see archived); sinkctl restore requests restores)\n", count(t.Archived, "object"))
	}
	if rep.OtherObjects > 0 {
		fmt.Fprintf(w, "(%s in the directories searched belong to topics or partitions not checked: left alone)\n", count(rep.OtherObjects, "object"))
	}
	if ds := rep.AllDefects(); len(ds) > 0 {
		fmt.Fprintln(w, "\nDEFECTS")
		for _, d := range ds {
			fmt.Fprintln(w, d.String())
		}
	}
	return nil
}

// inexactMarks marks offsets that are not exact, and remembers which marks
// were used, for their footnotes. Only raw objects without a record index
// carry no offsets; otherwise offsets are inexact only because some data
// could not be read or resolved.
type inexactMarks struct{ legacy, unread bool }

const (
	markLegacy = "*"
	markUnread = "?"
)

// of returns the mark for offsets of objects of which legacyRaw are raw
// objects without an index, "" when they are exact.
func (m *inexactMarks) of(exact bool, objects, legacyRaw int) string {
	switch {
	case exact || objects == 0:
		return ""
	case legacyRaw > 0:
		m.legacy = true
		return markLegacy
	}
	m.unread = true
	return markUnread
}

func (m *inexactMarks) footnotes(w io.Writer) {
	if m.legacy {
		fmt.Fprintln(w, markLegacy+" raw objects without a record index (written before indexes existed) carry no offsets: first is from object names, last is the meta object's committed offset")
	}
	if m.unread {
		fmt.Fprintln(w, markUnread+" some objects could not be read, or their index could not be used (see DEFECTS): first is from object names, last is the meta object's committed offset")
	}
}

// currentLegacyRaw returns how many objects of p's current epoch, whose
// offsets the table shows, are raw without a record index.
func currentLegacyRaw(p *verify.PartitionReport) int {
	for _, e := range p.Epochs {
		if e.Current {
			return e.LegacyRaw
		}
	}
	return p.LegacyRaw
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func offset(o int64, mark string) string {
	if o < 0 {
		return "-"
	}
	return strconv.FormatInt(o, 10) + mark
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// size formats a byte count in binary units.
func size(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, units := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, units = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, units)
}

// progressLine draws verify progress on one terminal line, at most ten
// times a second. Calls are serialized by verify.
type progressLine struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (p *progressLine) update(pr verify.Progress) {
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && pr.PartitionsDone < pr.PartitionsTotal {
		return
	}
	p.last = now
	fmt.Fprintf(p.w, "\r\033[Kverifying: %d/%d partitions, %d/%d objects, %s of %s",
		pr.PartitionsDone, pr.PartitionsTotal, pr.ObjectsDone, pr.ObjectsTotal, size(pr.BytesDone), size(pr.BytesTotal))
	p.drawn = true
}

func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
