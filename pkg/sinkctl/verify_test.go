package sinkctl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sinkctl"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/verify"
)

// TestVerifyIndexedEpochs runs `sinkctl verify` on a directory written with
// record indexes and two epochs of partition 0: the epochs table, the
// JSON report's epochs, a deleted object named by its offsets, and exit 2
// for a selection that matches nothing.
func TestVerifyIndexedEpochs(t *testing.T) {
	dir := t.TempDir()
	st := fixture.Local(t, dir, localstore.WithoutFsync())
	// Written by the engine, in batches of 4 records, 5 records per object.
	write := func(n int) {
		fixture.ByEngine(t, st, 4, fixture.Records("orders", 0, 100, n, false), sink.WithPrefix("backup"), sink.WithFlushRecords(5))
	}
	write(17)
	if _, err := sink.StartEpoch(context.Background(), st, "backup", "orders", 0, "topic recreated", time.Now()); err != nil {
		t.Fatal(err)
	}
	write(8)

	r := run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
	if r.code != sinkctl.ExitOK || r.stderr != "" {
		t.Fatalf("clean: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"\norders  0          raw     6        25       100    ",
		"\nEPOCHS\nTOPIC   PARTITION  EPOCH  STATE    OBJECTS  RECORDS  FIRST  LAST  COMMITTED",
		"\norders  0          0      ended    4        17       100    ",
		"\norders  0          1      current  2        8        100    ",
		": OK\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "without a record index") || strings.Contains(r.stdout, "*") {
		t.Errorf("indexed raw data shown as inexact:\n%s", r.stdout)
	}

	// Delete an object of the current epoch, data and index.
	gone := sink.ObjectKey("backup/", "orders", "", 0, 100, 1)
	for _, k := range []string{gone, objindex.Key(gone)} {
		if err := st.Delete(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	r = run(nil, false, "verify", "--dir", dir, "--prefix", "backup", "--json")
	if r.code != sinkctl.ExitFailed {
		t.Fatalf("deleted object: exit %d\n%s", r.code, r.stdout)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	p := rep.Partitions[0]
	if p.Epoch != 1 || len(p.Epochs) != 2 || p.Epochs[0].Records != 17 || p.Epochs[0].Current || !p.ExactOffsets {
		t.Errorf("report: %+v", p)
	}
	// The first object of the epoch: no seal names it, the count and the
	// next object's name locate it.
	ds := rep.AllDefects()
	if len(ds) != 1 || ds[0].Code != verify.CodeRecordsMismatch || !strings.Contains(ds[0].Message, "5 fewer") ||
		!strings.Contains(ds[0].Message, "before offset 109") {
		t.Errorf("defects %+v", ds)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--topic", "payments"}, "sinkctl verify: --topic payments matches nothing"},
		{[]string{"--topic", "orders", "--partition", "3"}, "sinkctl verify: --topic orders --partition 3 matches nothing"},
		{[]string{"--partition", "3"}, "sinkctl verify: --partition 3 matches nothing"},
	} {
		r := run(nil, false, append([]string{"verify", "--dir", dir, "--prefix", "backup"}, tc.args...)...)
		if r.code != sinkctl.ExitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stdout, "no_data") {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
}

// TestVerifyInexactOffsets: only raw objects without a record index
// (written before indexes existed) carry no offsets, and the table says so
// of them alone. Raw objects the engine wrote are exact; one whose index
// cannot be used makes its partition's offsets inexact for another reason.
func TestVerifyInexactOffsets(t *testing.T) {
	legacyNote := "* raw objects without a record index (written before indexes existed) carry no offsets"
	unreadNote := "? some objects could not be read, or their index could not be used"
	t.Run("legacy", func(t *testing.T) {
		dir := t.TempDir()
		st := fixture.Local(t, dir, localstore.WithoutFsync())
		lw := &fixture.LegacyWriter{St: st, Prefix: "backup/", FlushRecords: 3}
		recs := fixture.Records("orders", 0, 100, 10, false)
		for i := 0; i < len(recs); i += 4 {
			lw.Write(t, "orders", 0, recs[i:min(i+4, len(recs))])
		}
		r := run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
		if r.code != sinkctl.ExitOK || !strings.Contains(r.stdout, "\norders  0          raw     4        ") ||
			!strings.Contains(r.stdout, "100*") || !strings.Contains(r.stdout, legacyNote) || strings.Contains(r.stdout, unreadNote) ||
			!strings.Contains(r.stdout, "(4 raw objects without a record index, written before indexes existed") {
			t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("engine", func(t *testing.T) {
		dir := t.TempDir()
		st := fixture.Local(t, dir, localstore.WithoutFsync())
		objs := fill(t, st, format.Encoder{})
		r := run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
		if r.code != sinkctl.ExitOK || strings.Contains(r.stdout, "*") || strings.Contains(r.stdout, "?") ||
			!strings.Contains(r.stdout, "\norders  0          raw     4        10       0      9     ") {
			t.Fatalf("clean: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		// An index that cannot be parsed: the object is read by its lines.
		ik := objindex.Key(objs[1])
		b, err := st.Get(context.Background(), ik)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Append(context.Background(), ik, int64(len(b)), []byte("{not json}\n")); err != nil {
			t.Fatal(err)
		}
		r = run(nil, false, "verify", "--dir", dir, "--prefix", "backup")
		if r.code != sinkctl.ExitFailed || !strings.Contains(r.stdout, "index_invalid") || !strings.Contains(r.stdout, "0?") ||
			!strings.Contains(r.stdout, unreadNote) || strings.Contains(r.stdout, "* ") || strings.Contains(r.stdout, "written before indexes existed") {
			t.Fatalf("unusable index: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}
