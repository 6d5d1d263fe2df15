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
)

// Codes returns every code this package reports, errors first.
func Codes() []Code {
	return []Code{
		CodeDuplicateOffset, CodeOutOfOrder, CodeNameOffset, CodeBadRecord, CodeWrongPartition, CodeBadValue,
		CodeTornTail, CodeNameSuffix, CodeUnreadable, CodeOverlap, CodeMetaMissing, CodeMetaUnreadable,
		CodeMetaInvalid, CodeCommittedMismatch, CodeRecordsMismatch, CodeOpenObjectMissing, CodeOpenObjectSize,
		CodeOpenObjectRecords, CodeOpenObjectOffsets, CodeMissingInStore,
		CodeUnrecordedTail, CodeUnrecordedObject, CodeEmptyObject, CodeStrayObject, CodeNoData, CodeAheadOfCommit,
	}
}

// Severity returns the severity every defect of code c has.
func (c Code) Severity() Severity {
	switch c {
	case CodeUnrecordedTail, CodeUnrecordedObject, CodeEmptyObject, CodeStrayObject, CodeNoData, CodeAheadOfCommit:
		return SeverityWarning
	}
	return SeverityError
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
	// first seen.
	Other string `json:"other_object,omitempty"`
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
	Records     int64  `json:"records"`
}

// ObjectReport describes one data object (with WithObjectDetails).
type ObjectReport struct {
	Key    string `json:"key"`
	Folder string `json:"folder"`
	// NameOffset is the first offset the object's name claims.
	NameOffset int64  `json:"name_offset"`
	Format     string `json:"format"` // "raw" or "jsonl"
	Bytes      int64  `json:"bytes"`
	Records    int64  `json:"records"` // complete lines
	// FirstOffset and LastOffset are the smallest and largest offsets of
	// its records (JSONL), -1 when unknown (raw, or no record).
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	// RecordedBytes is how much of it the meta object accounts for: all of
	// it, the open object's recorded size, or 0 for an unrecorded object.
	RecordedBytes int64 `json:"recorded_bytes"`
	Open          bool  `json:"open,omitempty"` // the meta object's open object
}

// PartitionReport is what one topic-partition holds, and its defects.
type PartitionReport struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Format is "raw", "jsonl", "mixed" (objects of both), or "" (no object).
	Format  string `json:"format"`
	Objects int    `json:"objects"`
	// Records counts the complete lines of every data object (duplicates
	// and unrecorded lines included); the meta comparison is separate.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// FirstOffset and LastOffset are -1 when unknown. With ExactOffsets
	// (every object JSONL) they are the smallest and largest offsets
	// stored; otherwise FirstOffset is the smallest offset in an object
	// name and LastOffset the meta object's committed offset.
	FirstOffset  int64          `json:"first_offset"`
	LastOffset   int64          `json:"last_offset"`
	ExactOffsets bool           `json:"exact_offsets"`
	Meta         *MetaState     `json:"meta,omitempty"`
	Errors       int            `json:"errors"`
	Warnings     int            `json:"warnings"`
	Defects      []Defect       `json:"defects"`
	ObjectList   []ObjectReport `json:"object_list,omitempty"`
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
	// Ignored counts keys under the prefix outside any topic folder (a
	// folder is a topic when it holds a meta or data object).
	Ignored int    `json:"ignored_keys"`
	Total   Totals `json:"total"`
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
