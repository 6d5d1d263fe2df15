package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
)

// MetaVersion is the schema version this package writes. It also reads
// version 1, whose open objects have no record index (see Folder.Legacy).
const MetaVersion = 2

// Meta is the state of one topic-partition, stored as JSON in its meta object.
// The schema is documented in the package doc.
type Meta struct {
	Version   int    `json:"version"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Epoch is the partition's current life: 0, or more after StartEpoch
	// (the topic was recreated and offsets started again). It is part of
	// every data object's name.
	Epoch int64 `json:"epoch"`
	// Committed is the largest offset durably written in this epoch; every
	// record of the partition with an offset <= Committed that Kafka still
	// holds is in a data object. -1: none yet.
	Committed int64 `json:"committed_offset"`
	// Records counts the records written to the partition's data objects in
	// this epoch.
	Records int64 `json:"records_written"`
	// Folders holds the current data object of each output folder ("" is
	// the topic's own folder): the last one the state knows of, which takes
	// the folder's next records unless its index says it is sealed.
	Folders map[string]*Folder `json:"folders"`
	// Finalize lists the sealed objects of staged encodings (Parquet)
	// whose data object is not yet confirmed written: their records are in
	// their staging objects (see "Staging" in the package doc).
	Finalize []*Pending `json:"finalize,omitempty"`
	// Epochs describes the ended epochs, oldest first.
	Epochs    []EpochInfo `json:"epochs,omitempty"`
	UpdatedAt time.Time   `json:"updated_at"`
	// Writer is the request id of the invocation that wrote this state.
	Writer string `json:"writer,omitempty"`
}

// Pending is a sealed object of a staged encoding whose data object is
// still to be written from its staging object.
type Pending struct {
	Folder      string `json:"folder"`
	Epoch       int64  `json:"epoch"`
	Object      string `json:"object"` // the data object to write (derived; checked on read)
	Encoding    string `json:"encoding"`
	FirstOffset int64  `json:"first_offset"`
	LastOffset  int64  `json:"last_offset"`
	Records     int64  `json:"records"`
	Size        int64  `json:"size"`       // staged bytes (the seal's position)
	IndexSize   int64  `json:"index_size"` // up to the seal entry, included
	// Closed: its folder was closed past the bound (see Routing), without
	// a seal entry, which finalizing writes first.
	Closed bool `json:"closed,omitempty"`
}

// EpochInfo is what the meta object keeps of an ended epoch.
type EpochInfo struct {
	Epoch     int64     `json:"epoch"`
	Committed int64     `json:"committed_offset"`
	Records   int64     `json:"records_written"`
	EndedAt   time.Time `json:"ended_at"`
	Reason    string    `json:"reason,omitempty"`
}

// Folder is the current data object of one output folder.
type Folder struct {
	Object string `json:"object"` // the object's full key (derived; checked on read)
	// Encoding identifies the format the object is written in
	// (e.g. "raw/text", "jsonl/base64"); records are only appended to an
	// object of the same encoding.
	Encoding    string `json:"encoding"`
	FirstOffset int64  `json:"first_offset"` // the offset the object is named for
	LastOffset  int64  `json:"last_offset"`  // of its last record; FirstOffset-1 when it has none
	Size        int64  `json:"size"`         // data bytes written: the next data append position
	// IndexSize is the length of the object's record index (package
	// objindex): the position of its next entry.
	IndexSize int64 `json:"index_size"`
	Records   int64 `json:"records"`
	// FirstTimestamp is the Kafka timestamp (ms) of the object's first
	// record; MinTimestamp the smallest of its records' (0: none had one),
	// from which the object's age is measured.
	FirstTimestamp int64 `json:"first_timestamp"`
	MinTimestamp   int64 `json:"min_timestamp"`
	// OpenedAt is when the object was opened, by the clock of the
	// invocation that opened it. Informational: nothing depends on it.
	OpenedAt time.Time `json:"opened_at"`
	// AppendedAt is when an invocation last stored records in the object,
	// by its clock (zero: none has since this field exists, or the object
	// has no records). SealIdle measures idleness from it; no decision of
	// Write depends on it.
	AppendedAt time.Time `json:"appended_at,omitzero"`
	// Legacy marks an object written before record indexes existed (a
	// version 1 meta object's): it has no index, takes no more records, and
	// is sealed by the next batch that reaches it.
	Legacy bool `json:"legacy,omitempty"`
}

// ErrMetaMissing: a partition has data objects but no meta object, and its
// state cannot be rebuilt from them. Starting over from empty state would
// write again every record the trigger redelivers, so the sink refuses.
var ErrMetaMissing = errors.New("meta object missing while data objects exist")

// ErrMetaInvalid: the meta object cannot be used (unparseable, from a newer
// schema, for another partition, or naming objects the protocol would not).
var ErrMetaInvalid = errors.New("meta object invalid")

func newMeta(topic string, partition int32, epoch int64) *Meta {
	return &Meta{Version: MetaVersion, Topic: topic, Partition: partition, Epoch: epoch, Committed: -1, Folders: map[string]*Folder{}}
}

// DecodeMeta parses and checks the content of the meta object of
// topic/partition under prefix (normalized). Every object it names must be
// the one the protocol derives for its folder, first offset and epoch, and
// every number must be consistent: a meta object edited, restored from
// elsewhere or written for another prefix is refused, never followed.
func DecodeMeta(data []byte, prefix, topic string, partition int32) (*Meta, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrMetaInvalid, err)
	}
	if probe.Version == nil {
		return nil, fmt.Errorf("%w: no version field", ErrMetaInvalid)
	}
	if *probe.Version != MetaVersion && *probe.Version != 1 {
		return nil, fmt.Errorf("%w: schema version %d, this build reads versions 1 and %d (written by a newer sink?)", ErrMetaInvalid, *probe.Version, MetaVersion)
	}
	m := new(Meta)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMetaInvalid, err)
	}
	if err := m.check(prefix, topic, partition); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMetaInvalid, err)
	}
	if m.Version == 1 {
		for _, f := range m.Folders {
			f.Legacy = true
			f.MinTimestamp = f.FirstTimestamp
		}
		m.Version = MetaVersion
	}
	return m, nil
}

func (m *Meta) check(prefix, topic string, partition int32) error {
	if m.Topic != topic || m.Partition != partition {
		return fmt.Errorf("it describes %s/%d, expected %s/%d", m.Topic, m.Partition, topic, partition)
	}
	if m.Epoch < 0 || m.Committed < -1 || m.Records < 0 {
		return fmt.Errorf("epoch %d, committed_offset %d, records_written %d", m.Epoch, m.Committed, m.Records)
	}
	if m.Version == 1 && (m.Epoch != 0 || len(m.Epochs) > 0) {
		return errors.New("version 1 has no epochs")
	}
	for i, e := range m.Epochs {
		if e.Epoch < 0 || e.Epoch >= m.Epoch || (i > 0 && e.Epoch <= m.Epochs[i-1].Epoch) {
			return fmt.Errorf("epochs: entry %d (epoch %d) out of order (current epoch %d)", i, e.Epoch, m.Epoch)
		}
	}
	if m.Folders == nil {
		m.Folders = map[string]*Folder{}
	}
	for name, f := range m.Folders {
		if f == nil {
			return fmt.Errorf("folder %q: null", name)
		}
		if err := checkFolderName(name); err != nil {
			return fmt.Errorf("folder %q: %w", name, err)
		}
		if want := ObjectKey(prefix, topic, name, partition, f.FirstOffset, m.Epoch) + extOf(f.Encoding); f.FirstOffset < 0 || f.Object != want {
			return fmt.Errorf("folder %q: object %q is not the one this partition's protocol names for offset %d (%s)", name, f.Object, f.FirstOffset, want)
		}
		enc, known := encoderFor(f.Encoding)
		if !known {
			return fmt.Errorf("folder %q: object %s: unknown encoding %q", name, f.Object, f.Encoding)
		}
		ok := f.Size >= 0 && f.IndexSize >= 0 && f.Records >= 0
		// (A folder's last offset may be beyond the committed one: records
		// adopted from an attempt whose batch a shorter one repeated, while
		// other folders may still lack records below them. An announced
		// object may be for a record the partition has moved past since,
		// in a folder no later record went to.)
		if f.Records == 0 {
			// Announced (a seal named it), nothing of it known stored yet.
			ok = ok && f.Size == 0 && f.LastOffset == f.FirstOffset-1
		} else {
			ok = ok && f.Size >= minSize(enc, f.Records) && f.LastOffset >= f.FirstOffset
		}
		if m.Version == 1 || f.Legacy {
			ok = ok && f.Records > 0 && f.IndexSize == 0
		}
		if !ok {
			return fmt.Errorf("folder %q: inconsistent current object %+v (committed_offset %d)", name, *f, m.Committed)
		}
	}
	for i, p := range m.Finalize {
		if p == nil {
			return fmt.Errorf("finalize: entry %d: null", i)
		}
		if err := checkFolderName(p.Folder); err != nil {
			return fmt.Errorf("finalize: folder %q: %w", p.Folder, err)
		}
		want := ObjectKey(prefix, topic, p.Folder, partition, p.FirstOffset, p.Epoch) + extOf(p.Encoding)
		enc, _ := encoderFor(p.Encoding)
		if !enc.Staged() || p.Object != want || p.Epoch < 0 || p.Epoch > m.Epoch || p.Records <= 0 || p.LastOffset < p.FirstOffset ||
			p.Size < minSize(enc, p.Records) || p.IndexSize <= 0 {
			return fmt.Errorf("finalize: entry %d: inconsistent %+v", i, *p)
		}
	}
	return nil
}

// minSize is the fewest bytes an object of records records in encoding enc
// can hold: one per record (every encoding ends a record with at least a
// byte), but compressed ones can hold thousands of empty records in a
// member of a few dozen bytes: one per append at least, so one.
func minSize(enc format.Encoder, records int64) int64 {
	if enc.Compressed() {
		return min(records, 1)
	}
	return records
}

// checkFolderName accepts "" and relative paths of non-empty segments each
// followed by '/', without "." or ".." segments or control characters, with
// a leading '/' for a directory outside the topic's (see ObjectKey): a
// folder can never leave the prefix.
func checkFolderName(name string) error {
	if name == "" {
		return nil
	}
	name = strings.TrimPrefix(name, "/")
	if !strings.HasSuffix(name, "/") {
		return errors.New("a folder must end with '/'")
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("segment %q not allowed", seg)
		}
		for _, c := range seg {
			if c < 0x20 || c == 0x7f {
				return errors.New("control character in folder")
			}
		}
	}
	return nil
}

func (m *Meta) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
