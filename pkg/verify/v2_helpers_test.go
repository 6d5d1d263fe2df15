package verify_test

import (
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/internal/testkit/fixture"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// v2setup is one encoding written with record indexes.
type v2setup struct {
	name string
	enc  format.Encoder
}

var v2setups = []v2setup{
	{"raw", format.Encoder{}},
	{"raw-binary", format.Encoder{ValueEncoding: events.Base64}},
	{"jsonl", format.Encoder{Format: format.JSONL}},
	{"jsonl-base64", format.Encoder{Format: format.JSONL, ValueEncoding: events.Base64}},
}

func (s v2setup) binary() bool { return s.enc.ValueEncoding == events.Base64 }

// v2fill writes partitions 0 and 1 of topic and 0 of "payments" as the
// sink does with record indexes, in batches of 4 records, 5 records per
// object, so that objects are sealed mid-batch; the last object of each
// partition stays open with records in it. Offsets have gaps at object
// boundaries and inside objects.
func v2fill(t *testing.T, st store.Store, s v2setup, stale bool) *fixture.Writer {
	t.Helper()
	w := &fixture.Writer{St: st, Prefix: prefix, Enc: s.enc, Flush: 5, Stale: stale}
	for _, tp := range []struct {
		topic string
		p     int32
		n     int
	}{{topic, 0, 23}, {topic, 1, 12}, {"payments", 0, 6}} {
		recs := fixture.Records(tp.topic, tp.p, 100, tp.n, s.binary())
		for i := 0; i < len(recs); i += 4 {
			w.Write(t, tp.topic, tp.p, recs[i:min(i+4, len(recs))])
		}
	}
	return w
}

// v2layout is partition 0 of topic: its sealed objects (by first offset),
// the open one, and the meta object.
type v2layout struct {
	meta   *sink.Meta
	sealed []string
	open   string
}

func v2layoutOf(t *testing.T, st store.Store) v2layout {
	t.Helper()
	l := layoutOf(t, st)
	return v2layout{meta: l.meta, sealed: l.sealed, open: l.open}
}

func indexOf(key string) string { return objindex.Key(key) }

// keyFor returns the data object key of partition 0 of topic for offset
// first in epoch e.
func keyFor(first, e int64) string { return sink.ObjectKey(prefix, topic, "", 0, first, e) }
