package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// MetaVersion is the schema version this package writes and reads.
const MetaVersion = 1

// Meta is the state of one topic-partition, stored as JSON in its meta object.
// The schema is documented in the package doc.
type Meta struct {
	Version   int    `json:"version"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is the largest offset durably written; every record of the
	// partition with an offset <= Committed is in a data object. -1: none yet.
	Committed int64 `json:"committed_offset"`
	// Records counts the records written to the partition's data objects.
	Records int64 `json:"records_written"`
	// Folders holds the open data object of each output folder ("" is the
	// topic's own folder). A folder with no open object has no entry.
	Folders   map[string]*Folder `json:"folders"`
	UpdatedAt time.Time          `json:"updated_at"`
	// Writer is the request id of the invocation that wrote this state.
	Writer string `json:"writer,omitempty"`
}

// Folder is the open data object of one output folder.
type Folder struct {
	Object string `json:"object"` // the object's full key
	// Encoding identifies the format the object is written in
	// (e.g. "raw/text", "jsonl/base64"); records are only appended to an
	// object of the same encoding.
	Encoding    string `json:"encoding"`
	FirstOffset int64  `json:"first_offset"`
	LastOffset  int64  `json:"last_offset"`
	Size        int64  `json:"size"` // bytes written = the next append position
	Records     int64  `json:"records"`
	// FirstTimestamp is the Kafka timestamp (ms) of the object's first
	// record, from which its age is measured; 0 if the record had none.
	FirstTimestamp int64 `json:"first_timestamp"`
	// OpenedAt is when the object was opened, by the clock of the
	// invocation that opened it. Informational: nothing depends on it.
	OpenedAt time.Time `json:"opened_at"`
}

// ErrMetaMissing: a partition has data objects but no meta object. Starting
// over from empty state would write again every record the trigger
// redelivers, so the sink refuses.
var ErrMetaMissing = errors.New("meta object missing while data objects exist")

// ErrMetaInvalid: the meta object cannot be used (unparseable, from a newer
// schema, or for another partition).
var ErrMetaInvalid = errors.New("meta object invalid")

func newMeta(topic string, partition int32) *Meta {
	return &Meta{Version: MetaVersion, Topic: topic, Partition: partition, Committed: -1, Folders: map[string]*Folder{}}
}

// DecodeMeta parses and checks a meta object's content.
func DecodeMeta(data []byte, topic string, partition int32) (*Meta, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrMetaInvalid, err)
	}
	if probe.Version == nil {
		return nil, fmt.Errorf("%w: no version field", ErrMetaInvalid)
	}
	if *probe.Version != MetaVersion {
		return nil, fmt.Errorf("%w: schema version %d, this build reads version %d (written by a newer or older sink?)", ErrMetaInvalid, *probe.Version, MetaVersion)
	}
	m := new(Meta)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetaInvalid, err)
	}
	if m.Topic != topic || m.Partition != partition {
		return nil, fmt.Errorf("%w: it describes %s/%d, expected %s/%d", ErrMetaInvalid, m.Topic, m.Partition, topic, partition)
	}
	if m.Committed < -1 || m.Records < 0 {
		return nil, fmt.Errorf("%w: committed_offset %d, records_written %d", ErrMetaInvalid, m.Committed, m.Records)
	}
	if m.Folders == nil {
		m.Folders = map[string]*Folder{}
	}
	for name, f := range m.Folders {
		if f == nil || f.Object == "" || f.Size <= 0 || f.Records <= 0 || f.FirstOffset < 0 || f.LastOffset < f.FirstOffset || f.LastOffset > m.Committed {
			return nil, fmt.Errorf("%w: folder %q: inconsistent open object %+v", ErrMetaInvalid, name, f)
		}
	}
	return m, nil
}

func (m *Meta) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// loadMeta reads the partition's meta object. When there is none, it lists
// the partition's data objects (see the package doc, Recovery): none means a
// new partition; objects that all start at or after first (the batch's
// smallest offset), one of them exactly there, are what a failed first
// attempt of this batch left, and the comparison of their bytes with the
// records will absorb them; anything else means the meta object was lost, and
// the sink refuses to start over (ErrMetaMissing).
//
// fresh reports that there was no meta object: the listing then showed that
// no object starts before first.
func loadMeta(ctx context.Context, st store.Store, prefix, topic string, partition int32, first int64) (m *Meta, fresh bool, err error) {
	key := MetaKey(prefix, topic, partition)
	data, err := st.Get(ctx, key)
	if err == nil {
		m, err := DecodeMeta(data, topic, partition)
		if err != nil {
			return nil, false, fmt.Errorf("meta object %s: %w", key, err)
		}
		return m, false, nil
	}
	if !store.IsNotFound(err) {
		return nil, false, fmt.Errorf("read meta object %s: %w", key, err)
	}
	objs, err := st.List(ctx, objectPrefix(prefix, topic, "", partition))
	if err != nil {
		return nil, false, fmt.Errorf("meta object %s absent; list data objects: %w", key, err)
	}
	firstKey := ObjectKey(prefix, topic, "", partition, first)
	found, early := false, ""
	for _, o := range objs {
		p, off, ok := ParseObjectName(o.Key[len(prefix+topic)+1:])
		if !ok || p != partition {
			continue
		}
		found = found || o.Key == firstKey
		if off < first && early == "" {
			early = o.Key
		}
	}
	if len(objs) > 0 && early != "" {
		return nil, false, fmt.Errorf("meta object %s: %w (%d data objects, e.g. %s, and this batch starts at offset %d); "+
			"restore the meta object, or move the data objects away to start the partition afresh", key, ErrMetaMissing, len(objs), early, first)
	}
	if len(objs) > 0 && !found {
		// Every object starts after this batch's first record: a failed
		// first attempt began later than this redelivery does.
		return nil, false, fmt.Errorf("meta object %s: %w: no meta object yet, and the data objects of a failed first attempt (e.g. %s) "+
			"start after this batch's first offset %d; the partition cannot continue until the batch is redelivered from where that attempt began, "+
			"or those objects are moved away", key, ErrMetaMissing, objs[0].Key, first)
	}
	return newMeta(topic, partition), true, nil
}
