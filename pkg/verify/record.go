package verify

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// record is what verify needs of a JSONL line.
type record struct {
	topic     string
	partition int64
	offset    int64
	// badValue says what is wrong with the value, for a record that is
	// otherwise good; "" if nothing.
	badValue string
}

// jsonlProbe decodes the members every JSONL line has. Unmarshal also
// checks that the whole line is valid JSON.
type jsonlProbe struct {
	Topic     *string `json:"topic"`
	Partition *int64  `json:"partition"`
	Offset    *int64  `json:"offset"`
}

type jsonlProbeValue struct {
	jsonlProbe
	Value json.RawMessage `json:"value"`
}

// parseRecord checks one JSONL line. problem is "" for a record, and
// otherwise says why the line is none.
func parseRecord(b []byte, b64 bool) (rec record, problem string) {
	if len(b) == 0 || b[0] != '{' {
		return rec, "the line is not a JSON object"
	}
	var p jsonlProbe
	var v jsonlProbeValue
	var err error
	if b64 {
		err = json.Unmarshal(b, &v)
		p = v.jsonlProbe
	} else {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		return rec, fmt.Sprintf("the line is not a valid JSON record: %v", err)
	}
	if p.Topic == nil || p.Partition == nil || p.Offset == nil {
		return rec, "the line lacks a topic, partition or offset member"
	}
	if *p.Offset < 0 || *p.Partition < 0 {
		return rec, fmt.Sprintf("negative partition %d or offset %d", *p.Partition, *p.Offset)
	}
	rec = record{topic: *p.Topic, partition: *p.Partition, offset: *p.Offset}
	if b64 && len(v.Value) > 0 && v.Value[0] == '"' {
		var s string
		if err := json.Unmarshal(v.Value, &s); err != nil {
			rec.badValue = fmt.Sprintf("offset %d: value: %v", rec.offset, err)
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			rec.badValue = fmt.Sprintf("offset %d: the value is not base64 (the value encoding is base64): %v", rec.offset, err)
		}
	}
	return rec, ""
}

// sniff tells a JSONL line from a raw one.
func sniff(b []byte) objFormat {
	if len(b) == 0 || b[0] != '{' {
		return fmtRaw
	}
	var p jsonlProbe
	if json.Unmarshal(b, &p) != nil || p.Topic == nil || p.Partition == nil || p.Offset == nil {
		return fmtRaw
	}
	return fmtJSONL
}
