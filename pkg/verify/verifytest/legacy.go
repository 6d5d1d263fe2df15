package verifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// LegacyWriter writes partitions as the version before record indexes did:
// data objects without an index, cut before a record when the open object
// is full (FlushBytes or FlushRecords reached), and a meta object of schema
// version 1 naming the open object. Nothing seals an object: the next one
// opens and the meta object names it instead. Stores it writes are what a
// sink upgraded from that version finds, and what the tools must still
// read. Set the exported fields before the first Write.
type LegacyWriter struct {
	St           store.Store
	Prefix       string // normalized, as sink.NormalizePrefix gives it
	Enc          format.Encoder
	FlushRecords int64 // 0: no limit
	FlushBytes   int64 // 0: no limit

	metas map[string]*metaV1
}

// metaV1 and folderV1 are the meta object of schema version 1, field for
// field as that version wrote it.
type metaV1 struct {
	Version   int                  `json:"version"`
	Topic     string               `json:"topic"`
	Partition int32                `json:"partition"`
	Committed int64                `json:"committed_offset"`
	Records   int64                `json:"records_written"`
	Folders   map[string]*folderV1 `json:"folders"`
	UpdatedAt time.Time            `json:"updated_at"`
	Writer    string               `json:"writer,omitempty"`
}

type folderV1 struct {
	Object         string    `json:"object"`
	Encoding       string    `json:"encoding"`
	FirstOffset    int64     `json:"first_offset"`
	LastOffset     int64     `json:"last_offset"`
	Size           int64     `json:"size"`
	Records        int64     `json:"records"`
	FirstTimestamp int64     `json:"first_timestamp"`
	OpenedAt       time.Time `json:"opened_at"`
}

// Write writes one batch of records of one partition and records the state.
func (w *LegacyWriter) Write(tb testing.TB, topic string, p int32, recs []events.Record) {
	tb.Helper()
	ctx := context.Background()
	key := fmt.Sprintf("%s/%d", topic, p)
	m := w.metas[key]
	if m == nil {
		if w.metas == nil {
			w.metas = map[string]*metaV1{}
		}
		m = &metaV1{Version: 1, Topic: topic, Partition: p, Committed: -1, Folders: map[string]*folderV1{}}
		w.metas[key] = m
	}
	enc := w.Enc.Format.String() + "/" + w.Enc.ValueEncoding.String()
	for len(recs) > 0 {
		f := m.Folders[""]
		if f == nil || w.full(f.Size, f.Records) {
			f = &folderV1{Object: sink.ObjectKey(w.Prefix, topic, "", p, recs[0].Offset, 0), Encoding: enc,
				FirstOffset: recs[0].Offset, FirstTimestamp: recs[0].Timestamp, OpenedAt: time.Unix(1_700_000_000, 0).UTC()}
			m.Folders[""] = f
		}
		// One append per run of records that fits, as that version did.
		var data []byte
		n := 0
		for n < len(recs) && (n == 0 || !w.full(f.Size+int64(len(data)), f.Records+int64(n))) {
			data = w.Enc.Append(data, &recs[n])
			n++
		}
		if _, err := w.St.Append(ctx, f.Object, f.Size, data); err != nil {
			tb.Fatalf("append data: %v", err)
		}
		f.Size += int64(len(data))
		f.Records += int64(n)
		f.LastOffset = recs[n-1].Offset
		m.Committed = recs[n-1].Offset
		m.Records += int64(n)
		recs = recs[n:]
	}
	w.putMeta(tb, m)
}

func (w *LegacyWriter) full(size, records int64) bool {
	return (w.FlushBytes > 0 && size >= w.FlushBytes) || (w.FlushRecords > 0 && records >= w.FlushRecords)
}

// putMeta writes m, which must pass sink.DecodeMeta.
func (w *LegacyWriter) putMeta(tb testing.TB, m *metaV1) {
	tb.Helper()
	m.UpdatedAt = time.Unix(1_700_000_100, 0).UTC()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := sink.DecodeMeta(b, w.Prefix, m.Topic, m.Partition); err != nil {
		tb.Fatalf("the fixture's meta object is invalid: %v\n%s", err, b)
	}
	if err := w.St.Put(context.Background(), sink.MetaKey(w.Prefix, m.Topic, m.Partition), append(b, '\n')); err != nil {
		tb.Fatal(err)
	}
}
