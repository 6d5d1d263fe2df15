package verify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Severity says how bad a Defect is.
type Severity string

const (
	// SeverityError: exactly-once is violated, or data cannot be read or
	// trusted. Report.OK is false.
	SeverityError Severity = "error"
	// SeverityWarning: state behind data that the protocol repairs, or
	// something worth a look that violates nothing.
	SeverityWarning Severity = "warning"
)

// Code names a kind of defect. The list, with severities, is in the package
// doc; codes are stable identifiers for scripts.
type Code string

// Defect codes. See the package doc for what each means.
const (
	CodeDuplicateOffset   Code = "duplicate_offset"
	CodeOutOfOrder        Code = "out_of_order"
	CodeNameOffset        Code = "name_offset_mismatch"
	CodeBadRecord         Code = "bad_record"
	CodeWrongPartition    Code = "wrong_partition"
	CodeBadValue          Code = "bad_value"
	CodeTornTail          Code = "torn_tail"
	CodeNameSuffix        Code = "name_suffix"
	CodeUnreadable        Code = "unreadable"
	CodeOverlap           Code = "overlap"
	CodeMetaMissing       Code = "meta_missing"
	CodeMetaUnreadable    Code = "meta_unreadable"
	CodeMetaInvalid       Code = "meta_invalid"
	CodeCommittedMismatch Code = "committed_mismatch"
	CodeRecordsMismatch   Code = "records_mismatch"
	CodeOpenObjectMissing Code = "open_object_missing"
	CodeOpenObjectSize    Code = "open_object_size"
	CodeOpenObjectRecords Code = "open_object_records"
	CodeOpenObjectOffsets Code = "open_object_offsets"
	CodeUnrecordedTail    Code = "unrecorded_tail"
	CodeUnrecordedObject  Code = "unrecorded_object"
	CodeEmptyObject       Code = "empty_object"
	CodeStrayObject       Code = "stray_object"
	CodeNoData            Code = "no_data"
	CodeMissingInStore    Code = "missing_in_store"
	CodeAheadOfCommit     Code = "ahead_of_commit"

	CodeIndexInvalid       Code = "index_invalid"
	CodeIndexInconsistent  Code = "index_inconsistent"
	CodeIndexMissing       Code = "index_missing"
	CodeCRCMismatch        Code = "crc_mismatch"
	CodeOffsetMismatch     Code = "offset_mismatch"
	CodeDataMissing        Code = "data_missing"
	CodeObjectMissing      Code = "object_missing"
	CodeSealMismatch       Code = "seal_mismatch"
	CodeOpenObjectEncoding Code = "open_object_encoding"
	CodeRawUnverifiable    Code = "raw_unverifiable"
	CodeUnknownEpoch       Code = "unknown_epoch"
	CodeFolderNotListed    Code = "folder_not_listed"

	CodeFinalMismatch   Code = "final_mismatch"
	CodeContentMismatch Code = "content_mismatch"
	CodeFinalizePending Code = "finalize_pending"

	CodeArchived    Code = "archived"
	CodeTagMismatch Code = "tag_mismatch"
)

// Codes returns every code this package reports, errors first.
func Codes() []Code {
	return []Code{
		CodeDuplicateOffset, CodeOutOfOrder, CodeNameOffset, CodeBadRecord, CodeWrongPartition, CodeBadValue,
		CodeTornTail, CodeNameSuffix, CodeUnreadable, CodeOverlap, CodeMetaMissing, CodeMetaUnreadable,
		CodeMetaInvalid, CodeCommittedMismatch, CodeRecordsMismatch, CodeOpenObjectMissing, CodeOpenObjectSize,
		CodeOpenObjectRecords, CodeOpenObjectOffsets, CodeMissingInStore,
		CodeIndexInvalid, CodeIndexInconsistent, CodeIndexMissing, CodeCRCMismatch, CodeOffsetMismatch,
		CodeDataMissing, CodeObjectMissing, CodeSealMismatch, CodeOpenObjectEncoding, CodeFinalMismatch, CodeContentMismatch,
		CodeUnrecordedTail, CodeUnrecordedObject, CodeEmptyObject, CodeStrayObject, CodeNoData, CodeAheadOfCommit,
		CodeRawUnverifiable, CodeUnknownEpoch, CodeFolderNotListed, CodeFinalizePending, CodeArchived, CodeTagMismatch,
	}
}

// Severity returns the severity every defect of code c has.
func (c Code) Severity() Severity {
	switch c {
	case CodeUnrecordedTail, CodeUnrecordedObject, CodeEmptyObject, CodeStrayObject, CodeNoData, CodeAheadOfCommit,
		CodeRawUnverifiable, CodeUnknownEpoch, CodeFolderNotListed, CodeFinalizePending, CodeArchived:
		return SeverityWarning
	}
	return SeverityError
}

// Range is the offsets First..Last (inclusive) of one partition. Kafka
// offsets can have gaps: a range of missing records may include offsets
// that never held one.
type Range struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
}

func (r Range) String() string {
	if r.First == r.Last {
		return strconv.FormatInt(r.First, 10)
	}
	return strconv.FormatInt(r.First, 10) + "-" + strconv.FormatInt(r.Last, 10)
}

// Position locates a defect inside an object.
type Position struct {
	Byte int64 `json:"byte"`           // offset of the line's first byte
	Line int64 `json:"line,omitempty"` // 1-based line number; 0 when not counted
}

// Defect is one finding.
type Defect struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Topic    string   `json:"topic,omitempty"`
	// Partition is -1 for a defect that belongs to no partition (a stray
	// key, a topic with no data).
	Partition int32 `json:"partition"`
	// Object is the key of the data or meta object concerned, if any.
	Object string    `json:"object,omitempty"`
	Pos    *Position `json:"position,omitempty"`
	// Offset is the Kafka offset concerned, if one is known.
	Offset *int64 `json:"offset,omitempty"`
	// Other is a second object involved: where a duplicated offset was
	// first seen, or the index object of the data object concerned.
	Other string `json:"other_object,omitempty"`
	// Ranges are the offsets concerned, for defects about missing
	// records: the first MaxRanges runs, in increasing order.
	Ranges []Range `json:"ranges,omitempty"`
	// Count is how many findings of this code the object holds; Message,
	// Pos and Offset describe the first. At least 1.
	Count   int    `json:"count"`
	Message string `json:"message"`
}

// String formats d on one line: severity, code, partition, object,
// position, message.
func (d Defect) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %s", d.Severity, d.Code)
	if d.Topic != "" {
		b.WriteString(" " + d.Topic)
		if d.Partition >= 0 {
			b.WriteString("/" + strconv.Itoa(int(d.Partition)))
		}
	}
	if d.Object != "" {
		b.WriteString(" " + d.Object)
	}
	if d.Pos != nil {
		if d.Pos.Line > 0 {
			fmt.Fprintf(&b, " line %d", d.Pos.Line)
		}
		fmt.Fprintf(&b, " byte %d", d.Pos.Byte)
	}
	b.WriteString(": " + d.Message)
	if d.Count > 1 && d.Object != "" {
		fmt.Fprintf(&b, " (%d in all in this object)", d.Count)
	} else if d.Count > 1 {
		fmt.Fprintf(&b, " (%d in all)", d.Count)
	}
	return b.String()
}

// MetaState is what a partition's meta object says.
type MetaState struct {
	Key            string       `json:"key"`
	Epoch          int64        `json:"epoch"`
	Committed      int64        `json:"committed_offset"`
	RecordsWritten int64        `json:"records_written"`
	UpdatedAt      time.Time    `json:"updated_at"`
	Writer         string       `json:"writer,omitempty"`
	Open           []OpenObject `json:"open_objects"`
}

// OpenObject is one folder's open data object, as the meta object records it.
type OpenObject struct {
	Folder      string `json:"folder"`
	Object      string `json:"object"`
	Encoding    string `json:"encoding"`
	FirstOffset int64  `json:"first_offset"`
	LastOffset  int64  `json:"last_offset"`
	Size        int64  `json:"size"`
	IndexSize   int64  `json:"index_size"`
	Records     int64  `json:"records"`
}

// ObjectReport describes one data object (with WithObjectDetails).
type ObjectReport struct {
	Key    string `json:"key"`
	Folder string `json:"folder"`
	Epoch  int64  `json:"epoch"`
	// NameOffset is the first offset the object's name claims.
	NameOffset int64  `json:"name_offset"`
	Format     string `json:"format"` // "raw", "jsonl", "csv" or "parquet"
	// Bytes is the data object's length, -1 when it does not exist (an
	// index without data).
	Bytes int64 `json:"bytes"`
	// Records counts its records: by its index, or its complete lines
	// when it has none.
	Records int64 `json:"records"`
	// FirstOffset and LastOffset are the smallest and largest offsets of
	// its records, -1 when unknown (legacy raw, or no record).
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	// RecordedBytes is how much of it the meta object accounts for: all of
	// it, the open object's recorded size, or 0 for an unrecorded object.
	RecordedBytes int64 `json:"recorded_bytes"`
	Open          bool  `json:"open,omitempty"` // the meta object's open object
	// Index is the key of its record index, "" for a legacy object.
	Index string `json:"index,omitempty"`
	// Sealed: its index says it takes no more records; Next is the object
	// the partition continues in.
	Sealed bool   `json:"sealed,omitempty"`
	Next   string `json:"next,omitempty"`
}

// EpochReport is what one epoch of a partition holds (see package sink:
// a recreated topic starts a new epoch, whose offsets start again).
type EpochReport struct {
	Epoch   int64 `json:"epoch"`
	Current bool  `json:"current"` // the meta object's current epoch
	Objects int   `json:"objects"`
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// FirstOffset and LastOffset are the smallest and largest offsets
	// stored (exactly when ExactOffsets), -1 when unknown.
	FirstOffset  int64 `json:"first_offset"`
	LastOffset   int64 `json:"last_offset"`
	ExactOffsets bool  `json:"exact_offsets"`
	// LegacyRaw counts the epoch's raw objects without a record index
	// (written before indexes existed): its offsets are not exact when
	// there is one.
	LegacyRaw int `json:"legacy_raw_objects"`
	// Committed and RecordsWritten are what the meta object records for
	// the epoch; -1 when it records nothing (no meta object, or an epoch
	// its history does not list).
	Committed      int64 `json:"committed_offset"`
	RecordsWritten int64 `json:"records_written"`
}

// PartitionReport is what one topic-partition holds, and its defects.
type PartitionReport struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Format is "raw", "jsonl", "csv", "parquet", "mixed" (objects of
	// several), or "" (no object).
	Format  string `json:"format"`
	Objects int    `json:"objects"`
	// Records counts the records of every data object of every epoch
	// (duplicates and unrecorded records included): by their indexes, and
	// the complete lines of objects without one. The meta comparison is
	// separate.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Indexes counts the record index objects; LegacyRaw the raw objects
	// without one, which cannot be split into records exactly (a value
	// may hold '\n').
	Indexes   int `json:"indexes"`
	LegacyRaw int `json:"legacy_raw_objects"`
	// Folders counts the folders that hold the partition's data or index
	// objects (1 without routing; see sink.ObjectKey for folder names).
	Folders int `json:"folders"`
	// InvalidRecords counts those of Records stored in
	// invalidRuleData/{topic}/: records whose folder the routing template
	// could not compute (SINK_INVALID=folder). Not a defect; they are
	// checked as any other.
	InvalidRecords int64 `json:"invalid_records"`
	// Archived counts the data objects in an archive class (Archive,
	// ColdArchive, DeepColdArchive) that were not read, not being
	// restored (an archived defect each; not counted with WithoutReading,
	// which reads none anyway); Unread every
	// data object checked without reading its bytes (those, and all
	// with WithoutReading): from their names, sizes, indexes, tags and
	// metadata only.
	Archived int `json:"archived_objects,omitempty"`
	Unread   int `json:"unread_objects,omitempty"`
	// Filtered counts, with WithKafka and WithExpected, the records Kafka
	// holds below the group's committed offset that the store lacks and
	// that the sink was configured not to store (a filter,
	// SINK_INVALID=drop): not missing.
	Filtered int64 `json:"filtered"`
	// FirstOffset and LastOffset are of the current epoch, -1 when
	// unknown. With ExactOffsets (every object of the epoch JSONL or
	// indexed) they are the smallest and largest offsets stored; otherwise
	// FirstOffset is the smallest offset in an object name and LastOffset
	// the meta object's committed offset.
	FirstOffset  int64 `json:"first_offset"`
	LastOffset   int64 `json:"last_offset"`
	ExactOffsets bool  `json:"exact_offsets"`
	// Epoch is the current epoch; Epochs describes each epoch that holds
	// objects or that the meta object records, oldest first.
	Epoch      int64          `json:"epoch"`
	Epochs     []EpochReport  `json:"epochs"`
	Meta       *MetaState     `json:"meta,omitempty"`
	Errors     int            `json:"errors"`
	Warnings   int            `json:"warnings"`
	Defects    []Defect       `json:"defects"`
	ObjectList []ObjectReport `json:"object_list,omitempty"`
	// Kafka is what the source cluster holds for the partition, with
	// WithKafka; nil otherwise.
	Kafka *KafkaOffsets `json:"kafka,omitempty"`
}

// Totals sums a report.
type Totals struct {
	Partitions int   `json:"partitions"`
	Objects    int   `json:"objects"`
	Records    int64 `json:"records"`
	Bytes      int64 `json:"bytes"`
	Errors     int   `json:"errors"`
	Warnings   int   `json:"warnings"`
	// InvalidRecords and Filtered sum the partitions'.
	InvalidRecords int64 `json:"invalid_records"`
	Filtered       int64 `json:"filtered"`
	// Archived and Unread sum the partitions'.
	Archived int `json:"archived_objects,omitempty"`
	Unread   int `json:"unread_objects,omitempty"`
}

// Report is the result of Run: plain data, ready for encoding/json.
type Report struct {
	Prefix string `json:"prefix"`
	Format Format `json:"format"` // the format hint the run used
	// Partitions is sorted by topic, then partition.
	Partitions []PartitionReport `json:"partitions"`
	// Defects holds the findings that belong to no partition: stray keys
	// and topics or prefixes with nothing in them. Partition defects are in
	// Partitions.
	Defects []Defect `json:"defects"`
	// Ignored counts keys under the prefix outside the topic folders checked (a
	// folder is a topic when it holds a meta or data object).
	Ignored int `json:"ignored_keys"`
	// ToolKeys counts the tools' own objects found in topic folders
	// (sinkctl restore's checkpoints): neither data nor ignored keys.
	ToolKeys int `json:"tool_keys"`
	// OtherObjects counts the objects named like data objects (a data
	// object and its index count once), in a directory listed, that are no
	// object of a topic-partition checked:
	// another topic's objects in a directory topics share (a routing
	// template that does not start with {topic}), or of partitions not
	// asked for. Informational; a look-alike inside a checked topic's own
	// directory is a name_suffix defect instead.
	OtherObjects int `json:"other_objects"`
	// Dirs are the directories listed, relative to the prefix ("" is the
	// whole prefix), each once: the topics' own directories and
	// invalidRuleData/{topic}/, or the whole prefix, and the search
	// directories (WithDirs, WithDirFunc) those do not cover.
	Dirs []string `json:"listed_dirs"`
	// Unmatched lists the --topic/--partition selections (WithTopics,
	// WithPartitions) that match nothing: no object in the store and,
	// with WithKafka, nothing Kafka holds that the store lacks. Each is
	// also a no_data warning; sinkctl verify exits 2 on any.
	Unmatched []Selection `json:"unmatched,omitempty"`
	Total     Totals      `json:"total"`
}

// Selection is a topic, a partition, or a partition of a topic that a run
// was limited to.
type Selection struct {
	Topic     string `json:"topic,omitempty"`
	Partition *int32 `json:"partition,omitempty"`
}

// String formats s as the sinkctl verify flags that make it:
// "--topic orders --partition 3".
func (s Selection) String() string {
	var parts []string
	if s.Topic != "" {
		parts = append(parts, "--topic "+s.Topic)
	}
	if s.Partition != nil {
		parts = append(parts, "--partition "+strconv.Itoa(int(*s.Partition)))
	}
	return strings.Join(parts, " ")
}

// OK reports whether the report holds no error-level defect.
func (r *Report) OK() bool { return r.Total.Errors == 0 }

// AllDefects returns every defect of the report, partition defects first,
// in report order.
func (r *Report) AllDefects() []Defect {
	var out []Defect
	for _, p := range r.Partitions {
		out = append(out, p.Defects...)
	}
	return append(out, r.Defects...)
}

// sum fills r.Total from the partitions and defects.
func (r *Report) sum() {
	t := Totals{Partitions: len(r.Partitions)}
	for _, p := range r.Partitions {
		t.Objects += p.Objects
		t.Records += p.Records
		t.Bytes += p.Bytes
		t.Errors += p.Errors
		t.Warnings += p.Warnings
		t.InvalidRecords += p.InvalidRecords
		t.Filtered += p.Filtered
		t.Archived += p.Archived
		t.Unread += p.Unread
	}
	for _, d := range r.Defects {
		if d.Severity == SeverityError {
			t.Errors++
		} else {
			t.Warnings++
		}
	}
	r.Total = t
}
