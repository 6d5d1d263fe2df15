package sinkctl

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/consume"
)

// TestConsumeProgressLine: the line says what the run is doing: waiting
// for a rebalance while it cannot join, else records, MB, rate and lag;
// redrawn in place on a terminal, one line per report otherwise.
func TestConsumeProgressLine(t *testing.T) {
	parts := []consume.PartitionProgress{{Done: true}, {}}
	for _, tc := range []struct {
		name     string
		terminal bool
		reports  []consume.Progress
		want     []string
	}{
		{"joining briefly", false, []consume.Progress{{Elapsed: time.Second, JoiningFor: time.Second, Partitions: parts}},
			[]string{"consume: 0 records, 0.0 MB stored, 0 records/s, lag 0 records, 1/2 partitions caught up, 1s\n"}},
		{"rebalance", false, []consume.Progress{{Elapsed: 8 * time.Second, JoiningFor: 8 * time.Second, Rebalancing: true, Partitions: parts}},
			[]string{"consume: waiting for the group to rebalance (8s so far): a previous member's session has not expired yet"}},
		{"described rebalance", false, []consume.Progress{{Elapsed: 2 * time.Second, JoiningFor: 2 * time.Second, GroupState: "PreparingRebalance", GroupMembers: 2, Rebalancing: true, Partitions: parts}},
			[]string{"consume: waiting for the group to rebalance (2s so far, 2 members)"}},
		{"rate of the last interval", false, []consume.Progress{
			{Elapsed: 10 * time.Second, Joined: true, Records: 1000, Bytes: 2_000_000, Lag: 500, Partitions: parts},
			{Elapsed: 20 * time.Second, Joined: true, Records: 3000, Bytes: 6_000_000, Lag: 0, Partitions: parts},
		}, []string{"1000 records, 2.0 MB stored, 100 records/s, lag 500 records", "3000 records, 6.0 MB stored, 200 records/s, lag 0 records"}},
		{"terminal", true, []consume.Progress{{Elapsed: time.Second, Joined: true, Records: 5, Partitions: parts}},
			[]string{"\r\033[Kconsume: 5 records"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			p := &consumeProgress{w: &w, terminal: tc.terminal}
			for _, r := range tc.reports {
				p.update(r)
			}
			for _, want := range tc.want {
				if !strings.Contains(w.String(), want) {
					t.Errorf("output %q lacks %q", w.String(), want)
				}
			}
			if tc.terminal == strings.Contains(w.String(), "\n") {
				t.Errorf("terminal %v, output %q", tc.terminal, w.String())
			}
			p.clear()
			if tc.terminal && !strings.HasSuffix(w.String(), "\r\033[K") {
				t.Errorf("the line is not cleared at the end: %q", w.String())
			}
		})
	}
}
