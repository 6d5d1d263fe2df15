// Package restoretest writes the objects of a backup by hand, as the sink
// writes them (data objects with their record index, meta objects) or as
// earlier sink versions did (raw objects without index), for tests of
// restore and its command that need contents the engine cannot be made to
// write on demand: damaged appends, stale index entries, several epochs.
package restoretest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Record is a record of a hand-made fixture.
type Record struct {
	Offset    int64
	Key       []byte // nil: no key
	Value     []byte // nil: a tombstone
	Timestamp int64
}

// layout says how a fixture cuts records into objects and appends.
type Layout struct {
	PerObject int // records per data object
	PerAppend int // records per append
	// Damage flips a byte of the data (not of what the index says) in the
	// append with this number (counted over the partition from 1; 0: none).
	Damage int
	// Folder is the output folder of the objects ("" or a path ending in '/').
	Folder string
}

// WriteIndexed writes recs of topic/p as the sink does from protocol v2
// on: data objects named for their first offset and epoch, each with its
// record index (append entries written before the data, a seal entry
// naming the next object, one stale entry announcing an append that never
// landed), and returns the data object keys. enc is the objects' encoding
// ("raw/text", "raw/base64", "jsonl/text", "jsonl/base64").
func WriteIndexed(t testing.TB, st store.Store, prefix, topic string, p int32, epoch int64, enc string, recs []Record, l Layout) []string {
	t.Helper()
	ctx := context.Background()
	var e format.Encoder
	switch enc {
	case "raw/text":
	case "raw/base64":
		e.ValueEncoding = events.Base64
	case "jsonl/text":
		e.Format = format.JSONL
	case "jsonl/base64":
		e.Format, e.ValueEncoding = format.JSONL, events.Base64
	default:
		t.Fatalf("encoding %q", enc)
	}
	var keys []string
	appends := 0
	for start := 0; start < len(recs); start += l.PerObject {
		objRecs := recs[start:min(start+l.PerObject, len(recs))]
		key := sink.ObjectKey(sink.NormalizePrefix(prefix), topic, l.Folder, p, objRecs[0].Offset, epoch)
		keys = append(keys, key)
		var pos, ipos int64
		idx := func(entry objindex.Entry) {
			var err error
			if ipos, err = st.Append(ctx, objindex.Key(key), ipos, objindex.AppendEntry(nil, entry)); err != nil {
				t.Fatal(err)
			}
		}
		for a := 0; a < len(objRecs); a += l.PerAppend {
			var b objindex.Builder
			b.Reset(enc, pos)
			var data []byte
			for _, r := range objRecs[a:min(a+l.PerAppend, len(objRecs))] {
				ev := events.Record{Topic: topic, Partition: p, Offset: r.Offset, Timestamp: r.Timestamp, Value: r.Value, ValueKind: events.ValueBytes}
				if r.Value == nil {
					ev.ValueKind = events.ValueNull
				}
				if r.Key != nil {
					ev.Key, ev.HasKey = r.Key, true
				}
				n := len(data)
				data = e.Append(data, &ev)
				b.Add(r.Offset, data[n:], r.Value == nil, r.Timestamp)
			}
			idx(objindex.Entry{Append: b.Append()})
			appends++
			if appends == l.Damage {
				data = bytes.Clone(data)
				data[0] ^= 0x20
			}
			var err error
			if pos, err = st.Append(ctx, key, pos, data); err != nil {
				t.Fatal(err)
			}
		}
		if next := start + l.PerObject; next < len(recs) {
			nextKey := sink.ObjectKey(sink.NormalizePrefix(prefix), topic, l.Folder, p, recs[next].Offset, epoch)
			idx(objindex.Entry{Seal: &objindex.Seal{At: pos, Next: nextKey, NextOffset: recs[next].Offset}})
		} else {
			// A later append announced that never landed (the writer failed).
			stale := []byte("never landed\n")
			idx(objindex.Entry{Append: &objindex.Append{Enc: enc, Pos: pos, Bytes: int64(len(stale)), CRC32C: crc32.Checksum(stale, objindex.Castagnoli),
				Offsets: []objindex.Run{{First: objRecs[len(objRecs)-1].Offset + 1, Count: 1}}, Sizes: []int64{int64(len(stale))}}})
		}
	}
	return keys
}

// WriteMeta writes a version 2 meta object for topic/p in epoch epoch whose
// current object is the last of keys, holding last (its records' offsets).
// ended lists the earlier epochs' committed offsets.
func WriteMeta(t testing.TB, st store.Store, prefix, topic string, p int32, epoch int64, enc string, current string, curRecs []Record, total int64, ended []int64) {
	t.Helper()
	m := sink.Meta{Version: sink.MetaVersion, Topic: topic, Partition: p, Epoch: epoch,
		Committed: curRecs[len(curRecs)-1].Offset, Records: total, UpdatedAt: time.Now().UTC(),
		Folders: map[string]*sink.Folder{"": {Object: current, Encoding: enc, FirstOffset: curRecs[0].Offset,
			LastOffset: curRecs[len(curRecs)-1].Offset, Records: int64(len(curRecs)), Size: objSize(t, st, current),
			IndexSize: objSize(t, st, objindex.Key(current)), OpenedAt: time.Now().UTC()}}}
	for e, c := range ended {
		m.Epochs = append(m.Epochs, sink.EpochInfo{Epoch: int64(e), Committed: c, EndedAt: time.Now().UTC()})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	norm := sink.NormalizePrefix(prefix)
	if _, err := sink.DecodeMeta(b, norm, topic, p); err != nil {
		t.Fatalf("fixture meta: %v", err)
	}
	if err := st.Put(context.Background(), sink.MetaKey(norm, topic, p), b); err != nil {
		t.Fatal(err)
	}
}

func objSize(t testing.TB, st store.Store, key string) int64 {
	t.Helper()
	in, err := st.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return in.Size
}

// WriteLegacyRaw writes raw objects without index, as the sink did before
// record indexes, one object per element of objs (each a list of values
// and the first offset its name gives), and a version 1 meta object whose
// current object is the last, recording curRecords records up to lastOffset.
func WriteLegacyRaw(t testing.TB, st store.Store, prefix, topic string, p int32, objs []LegacyObject, curRecords, lastOffset int64) []string {
	t.Helper()
	ctx := context.Background()
	norm := sink.NormalizePrefix(prefix)
	var keys []string
	var size int64
	for _, ob := range objs {
		key := sink.ObjectKey(norm, topic, "", p, ob.First, 0)
		keys = append(keys, key)
		var data []byte
		for _, v := range ob.Values {
			data = append(append(data, v...), '\n')
		}
		if _, err := st.Append(ctx, key, 0, data); err != nil {
			t.Fatal(err)
		}
		size = int64(len(data))
	}
	last := objs[len(objs)-1]
	meta := fmt.Sprintf(`{"version":1,"topic":%q,"partition":%d,"committed_offset":%d,"records_written":%d,"folders":{"":{"object":%q,"encoding":"raw/text","first_offset":%d,"last_offset":%d,"size":%d,"records":%d,"first_timestamp":1,"opened_at":"2026-01-01T00:00:00Z"}},"updated_at":"2026-01-01T00:00:00Z"}`,
		topic, p, lastOffset, curRecords, keys[len(keys)-1], last.First, lastOffset, size, curRecords)
	if _, err := sink.DecodeMeta([]byte(meta), norm, topic, p); err != nil {
		t.Fatalf("fixture meta: %v", err)
	}
	if err := st.Put(ctx, sink.MetaKey(norm, topic, p), []byte(meta)); err != nil {
		t.Fatal(err)
	}
	return keys
}

// LegacyObject is a raw object without index: its values and the first
// offset its name gives.
type LegacyObject struct {
	First  int64
	Values []string
}

// ReadPartition reads every record of topic/p, up to its end offset, with
// the real client (sarama).
func ReadPartition(t testing.TB, addrs []string, topic string, p int32) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	client, err := sarama.NewClient(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	if end == 0 {
		return nil
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
			if m.Offset >= end-1 {
				return out
			}
		case <-time.After(30 * time.Second): // a safety net: the records exist
			t.Fatalf("%s/%d: %d records read, end offset %d", topic, p, len(out), end)
		}
	}
}
