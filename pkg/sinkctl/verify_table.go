package sinkctl

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// writeEpochTable prints, after the table, one row per epoch of the
// partitions that have more than their first: each epoch's offsets start
// again (a recreated topic), and the table's FIRST and LAST are the
// current epoch's.
func writeEpochTable(w io.Writer, rep *verify.Report) error {
	has := false
	for _, p := range rep.Partitions {
		has = has || p.Epoch > 0 || len(p.Epochs) > 1
	}
	if !has {
		return nil
	}
	fmt.Fprintln(w, "\nEPOCHS")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var marks inexactMarks
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tEPOCH\tSTATE\tOBJECTS\tRECORDS\tFIRST\tLAST\tCOMMITTED\tBYTES")
	for _, p := range rep.Partitions {
		if p.Epoch == 0 && len(p.Epochs) <= 1 {
			continue
		}
		for _, e := range p.Epochs {
			state := "ended"
			if e.Current {
				state = "current"
			}
			mark := marks.of(e.ExactOffsets, e.Objects, e.LegacyRaw)
			committed := "-"
			if e.Committed >= 0 {
				committed = strconv.FormatInt(e.Committed, 10)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", p.Topic, p.Partition, e.Epoch, state, e.Objects, e.Records,
				offset(e.FirstOffset, mark), offset(e.LastOffset, mark), committed, size(e.Bytes))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	marks.footnotes(w)
	return nil
}

// writeLegacyNote says, after the table, how many raw objects could only
// be checked by their lines.
func writeLegacyNote(w io.Writer, rep *verify.Report) {
	n := 0
	for _, p := range rep.Partitions {
		n += p.LegacyRaw
	}
	if n > 0 {
		fmt.Fprintf(w, "(%s without a record index, written before indexes existed: their records are counted by lines, exact only if no value holds a newline)\n",
			count(n, "raw object"))
	}
}

// writeFolderTable prints, after the table, one row per partition whose
// records a routing template spread over several folders or put in
// invalidRuleData/: its folders, those the meta object has an open object
// in, and its invalid records.
func writeFolderTable(w io.Writer, rep *verify.Report) error {
	has := false
	for _, p := range rep.Partitions {
		has = has || p.Folders > 1 || p.InvalidRecords > 0
	}
	if !has {
		return nil
	}
	fmt.Fprintln(w, "\nFOLDERS")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tFOLDERS\tOPEN\tINVALID")
	for _, p := range rep.Partitions {
		open := 0
		if p.Meta != nil {
			open = len(p.Meta.Open)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", p.Topic, p.Partition, p.Folders, open, p.InvalidRecords)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "(FOLDERS: folders holding the partition's objects; OPEN: those the meta object names an open object in, the others are closed; INVALID: records in invalidRuleData/)")
	return nil
}
