package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/osskit"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink/sinktest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/localstore"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/ossstore"
)

// TestFinalizeEndToEnd runs the compiled binary with SINK_FINALIZE=true
// (jsonl gzip, csv zstd), with the archive settings a deployment sets
// (class, encryption, tags), over the invocations of the formats matrix
// (redeliveries among them), into the local store and the OSS test
// server: every record stored once (sinktest), each sealed object a
// normal object holding its staged bytes, no staging object left but the
// open objects'. (Storage classes and tags are checked against memstore
// in package sink until the test server models them.)
func TestFinalizeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := binary(t)
	for _, c := range []fmtCase{{format: "jsonl", codec: "gzip"}, {format: "csv", codec: "zstd", fields: "offset,key,value"}} {
		t.Run(c.name(), func(t *testing.T) {
			recs := fmtRecords(events.Text)
			want := map[int32][]int64{}
			for p := range recs {
				for _, r := range recs[p] {
					want[int32(p)] = append(want[int32(p)], r.Offset)
				}
			}
			extra := []string{"SINK_FINALIZE=true", "SINK_STORAGE_CLASS=IA", "SINK_SSE=AES256", "SINK_TAGS=team=data"}
			run := func(env []string, st store.Store) {
				committed := 0
				for _, b := range fmtBatches {
					invokeFormats(t, bin, env, c.enc, recs, b[0], b[1], committed)
					committed = max(committed, b[1])
				}
				if err := sinktest.Check(context.Background(), st, fmtPrefix, fmtTopic, nil, want); err != nil {
					t.Fatal(err)
				}
				checkFinals(t, st)
			}

			dir := t.TempDir()
			local, err := localstore.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			run(c.env(append(extra, "SINK_LOCAL_DIR="+dir)...), local)

			const bucket, ak, sk = "sink", "ak-final", "sk-final"
			srv := osskit.NewServer(t, osstest.WithBucket(bucket), osstest.WithCredentials(ak, sk, ""))
			oss := osskit.Store(t, srv.Endpoint(), bucket, ossstore.Credentials{AccessKeyID: ak, AccessKeySecret: sk})
			run(c.env(append(extra, "OSS_BUCKET="+bucket, "OSS_ENDPOINT="+srv.Endpoint(),
				"ALIBABA_CLOUD_ACCESS_KEY_ID="+ak, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+sk)...), oss)
		})
	}
}

// checkFinals: every data object is a normal object (written whole), and
// every staging object is an open object's (its meta object names it).
func checkFinals(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	parts, err := sinktest.Read(ctx, st, fmtPrefix, fmtTopic, nil)
	if err != nil {
		t.Fatal(err)
	}
	finals := 0
	for p, part := range parts {
		open := map[string]bool{}
		for _, f := range part.Meta.Folders {
			open[f.Object] = true
		}
		if len(part.Meta.Finalize) > 0 {
			t.Errorf("partition %d: objects left to finalize: %+v", p, *part.Meta.Finalize[0])
		}
		for _, o := range part.Objects {
			if o.Staged {
				if !open[o.Key] {
					t.Errorf("%s: still staged, and not the open object", o.Key)
				}
				continue
			}
			info, err := st.Stat(ctx, o.Key)
			if err != nil {
				t.Fatal(err)
			}
			if info.Appendable || !strings.Contains(o.Key, "/partition_") {
				t.Errorf("%s: appendable %v", o.Key, info.Appendable)
			}
			finals++
		}
	}
	if finals < 4 {
		t.Errorf("%d objects written whole, want at least 4 (two per partition)", finals)
	}
}
