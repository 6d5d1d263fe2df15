package events_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// refDecode implements the package's contract the slow and obvious way, with
// encoding/json, as the reference that Decode must agree with.
func refDecode(payload []byte, enc events.ValueEncoding) ([]events.Record, error) {
	if !json.Valid(payload) {
		return nil, errors.New("invalid JSON")
	}
	payload = trimWS(payload)
	var elems []json.RawMessage
	switch payload[0] {
	case '[':
		if err := json.Unmarshal(payload, &elems); err != nil {
			return nil, err
		}
	case '{':
		elems = []json.RawMessage{payload}
	default:
		return nil, errors.New("not an array or object")
	}
	var recs []events.Record
	for i, e := range elems {
		if e[0] == '"' {
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return nil, err
			}
			if !json.Valid([]byte(s)) {
				return nil, fmt.Errorf("element %d: string does not hold JSON", i)
			}
			e = trimWS([]byte(s))
		}
		if e[0] != '{' {
			return nil, fmt.Errorf("element %d: not an object", i)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e, &m); err != nil {
			return nil, err
		}
		if data, ok := m["data"]; ok {
			if data[0] != '{' {
				return nil, fmt.Errorf("element %d: data is not an object", i)
			}
			m = nil
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, err
			}
		} else if m["topic"] == nil && m["partition"] == nil && m["offset"] == nil {
			return nil, fmt.Errorf("element %d: neither shape", i)
		}
		r, err := refRecord(m, enc)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		r.Index = i
		recs = append(recs, r)
	}
	return recs, nil
}

// refTopic is Kafka's rule for topic names, stated independently of
// events.CheckTopic.
var refTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func refRecord(m map[string]json.RawMessage, enc events.ValueEncoding) (events.Record, error) {
	var r events.Record
	raw := m["topic"]
	if raw == nil || raw[0] != '"' {
		return r, errors.New("topic")
	}
	if err := json.Unmarshal(raw, &r.Topic); err != nil || !refTopic.MatchString(r.Topic) || r.Topic == "." || r.Topic == ".." {
		return r, errors.New("topic")
	}
	p, err := refInt(m["partition"], math.MaxInt32)
	if err != nil {
		return r, fmt.Errorf("partition: %w", err)
	}
	r.Partition = int32(p)
	if r.Offset, err = refInt(m["offset"], math.MaxInt64); err != nil {
		return r, fmt.Errorf("offset: %w", err)
	}
	switch raw := m["timestamp"]; {
	case raw == nil || string(raw) == "null":
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return r, err
		}
		if r.Timestamp, err = strconv.ParseInt(s, 10, 64); err != nil {
			return r, err
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		if bytes.ContainsAny(raw, ".eE") {
			return r, errors.New("timestamp not an integer")
		}
		if r.Timestamp, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return r, err
		}
	default:
		return r, errors.New("timestamp type")
	}
	switch raw := m["key"]; {
	case raw == nil || string(raw) == "null":
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return r, err
		}
		r.Key, r.HasKey = []byte(s), true
	default:
		return r, errors.New("key type")
	}
	switch raw := m["value"]; {
	case raw == nil || string(raw) == "null":
		r.ValueKind = events.ValueNull
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return r, err
		}
		r.Value = []byte(s)
		if enc == events.Base64 {
			if r.Value, err = base64.StdEncoding.DecodeString(s); err != nil {
				return r, err
			}
		}
	default:
		r.ValueKind = events.ValueJSON
		r.Value = refCompact(raw)
	}
	switch raw := m["headers"]; {
	case raw == nil || string(raw) == "null":
	case raw[0] == '{':
		var h map[string]json.RawMessage
		if err := json.Unmarshal(raw, &h); err != nil {
			return r, err
		}
		switch list := h["headers"]; {
		case list == nil || string(list) == "null":
		case list[0] == '[':
			r.Headers = refCompact(list)
		default:
			return r, errors.New("headers.headers type")
		}
	default:
		return r, errors.New("headers type")
	}
	return r, nil
}

// refInt reads a required non-negative integer no larger than limit.
func refInt(raw json.RawMessage, limit int64) (int64, error) {
	if raw == nil {
		return 0, errors.New("missing")
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, errors.New("not a number")
	}
	if bytes.ContainsAny(raw, ".eE") {
		return 0, errors.New("not an integer")
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > limit {
		return 0, errors.New("out of range")
	}
	return v, nil
}

func refCompact(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		panic(err) // raw came from a successful Unmarshal
	}
	return b.Bytes()
}

func trimWS(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }
