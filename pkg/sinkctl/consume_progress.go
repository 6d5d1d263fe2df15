package sinkctl

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
)

// consumeProgress draws consume's progress on stderr: redrawn in place on
// a terminal, one line per report otherwise. Reports are serialized by
// package consume.
type consumeProgress struct {
	w        io.Writer
	terminal bool
	drawn    bool
	last     consume.Progress
}

func (c *consumeProgress) update(p consume.Progress) {
	var line string
	if p.Rebalancing {
		members := ""
		if p.GroupMembers > 0 {
			members = fmt.Sprintf(", %d members", p.GroupMembers)
		}
		line = fmt.Sprintf("consume: waiting for the group to rebalance (%s so far%s): a previous member's session has not expired yet; its partitions are assigned once it does",
			p.JoiningFor.Round(time.Second), members)
	} else {
		rate := 0.0
		if d := p.Elapsed - c.last.Elapsed; d > 0 {
			rate = float64(p.Records-c.last.Records) / d.Seconds()
		}
		done := 0
		for _, pp := range p.Partitions {
			if pp.Done {
				done++
			}
		}
		line = fmt.Sprintf("consume: %d records, %s stored, %.0f records/s, lag %d records, %d/%d partitions caught up, %s",
			p.Records, megabytes(p.Bytes), rate, p.Lag, done, len(p.Partitions), p.Elapsed.Round(time.Second))
	}
	c.last = p
	if c.terminal {
		fmt.Fprintf(c.w, "\r\033[K%s", line)
		c.drawn = true
		return
	}
	fmt.Fprintln(c.w, line)
}

func (c *consumeProgress) clear() {
	if c.drawn {
		fmt.Fprint(c.w, "\r\033[K")
		c.drawn = false
	}
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// consumeSummary is the JSON form of the final summary.
type consumeSummary struct {
	CaughtUp      bool                        `json:"caught_up"`
	UntilCaughtUp bool                        `json:"until_caught_up"`
	ElapsedMS     int64                       `json:"elapsed_ms"`
	Records       int64                       `json:"records"`
	Bytes         int64                       `json:"bytes"`
	Batches       int                         `json:"batches"`
	RecordsPerSec float64                     `json:"records_per_second"`
	Lag           int64                       `json:"lag"`
	Partitions    []consume.PartitionProgress `json:"partitions"`
}

func writeConsumeSummary(w io.Writer, p consume.Progress, until, asJSON bool) {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Records) / s
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(consumeSummary{CaughtUp: p.CaughtUp, UntilCaughtUp: until, ElapsedMS: p.Elapsed.Milliseconds(), Records: p.Records,
			Bytes: p.Bytes, Batches: p.Batches, RecordsPerSec: rate, Lag: p.Lag, Partitions: p.Partitions})
		return
	}
	how := "stopped"
	if p.CaughtUp {
		how = "caught up"
	}
	fmt.Fprintf(w, "%s after %s: %d records (%s) stored by this run in %d batches, %.0f records/s; lag %d records\n",
		how, p.Elapsed.Round(time.Millisecond), p.Records, megabytes(p.Bytes), p.Batches, rate, p.Lag)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	target := "HIGH WATERMARK"
	if until {
		target = "HIGH WATERMARK AT START"
	}
	fmt.Fprintf(tw, "TOPIC\tPARTITION\t%s\tSTORED OFFSET\tLAG\tCAUGHT UP\n", target)
	for _, pp := range p.Partitions {
		stored := "-"
		if pp.Stored >= 0 {
			stored = fmt.Sprint(pp.Stored)
		}
		yes := "no"
		if pp.Done {
			yes = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%s\n", pp.Topic, pp.Partition, pp.HighWatermark, stored, pp.Lag, yes)
	}
	_ = tw.Flush()
}
