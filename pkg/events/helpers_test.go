package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// repoTestdata is the repository's shared sample payloads.
const repoTestdata = "../../testdata"

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenRecord is how golden files show a record: text as text, bytes that
// are not UTF-8 as base64, JSON values and headers as strings so that their
// exact (compact) bytes are visible.
type goldenRecord struct {
	Index       int     `json:"index"`
	Topic       string  `json:"topic"`
	Partition   int32   `json:"partition"`
	Offset      int64   `json:"offset"`
	Timestamp   int64   `json:"timestamp"`
	Key         *string `json:"key"`
	KeyBase64   []byte  `json:"keyBase64,omitempty"`
	ValueKind   string  `json:"valueKind"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 []byte  `json:"valueBase64,omitempty"`
	Headers     *string `json:"headers"`
}

func toGolden(recs []events.Record) []goldenRecord {
	out := make([]goldenRecord, 0, len(recs))
	for _, r := range recs {
		g := goldenRecord{
			Index:     r.Index,
			Topic:     r.Topic,
			Partition: r.Partition,
			Offset:    r.Offset,
			Timestamp: r.Timestamp,
			ValueKind: r.ValueKind.String(),
		}
		if r.HasKey {
			if utf8.Valid(r.Key) {
				s := string(r.Key)
				g.Key = &s
			} else {
				g.KeyBase64 = r.Key
			}
		}
		if r.ValueKind != events.ValueNull {
			if utf8.Valid(r.Value) {
				s := string(r.Value)
				g.Value = &s
			} else {
				g.ValueBase64 = r.Value
			}
		}
		if r.Headers != nil {
			s := string(r.Headers)
			g.Headers = &s
		}
		out = append(out, g)
	}
	return out
}

func marshalGolden(t testing.TB, recs []events.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(toGolden(recs)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// diffRecords describes the first difference between two record lists, or
// returns "" when they are equal.
func diffRecords(got, want []events.Record) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if d := diffRecord(&got[i], &want[i]); d != "" {
			return fmt.Sprintf("record %d: %s", i, d)
		}
	}
	return ""
}

func diffRecord(g, w *events.Record) string {
	var d []string
	add := func(field string, got, want any) {
		d = append(d, fmt.Sprintf("%s = %q, want %q", field, got, want))
	}
	if g.Index != w.Index {
		add("Index", fmt.Sprint(g.Index), fmt.Sprint(w.Index))
	}
	if g.Topic != w.Topic {
		add("Topic", g.Topic, w.Topic)
	}
	if g.Partition != w.Partition {
		add("Partition", fmt.Sprint(g.Partition), fmt.Sprint(w.Partition))
	}
	if g.Offset != w.Offset {
		add("Offset", fmt.Sprint(g.Offset), fmt.Sprint(w.Offset))
	}
	if g.Timestamp != w.Timestamp {
		add("Timestamp", fmt.Sprint(g.Timestamp), fmt.Sprint(w.Timestamp))
	}
	if g.HasKey != w.HasKey || !bytes.Equal(g.Key, w.Key) {
		add("Key", fmt.Sprintf("%v %q", g.HasKey, g.Key), fmt.Sprintf("%v %q", w.HasKey, w.Key))
	}
	if g.ValueKind != w.ValueKind || !bytes.Equal(g.Value, w.Value) {
		add("Value", fmt.Sprintf("%v %q", g.ValueKind, clipBytes(g.Value)), fmt.Sprintf("%v %q", w.ValueKind, clipBytes(w.Value)))
	}
	if (g.Headers == nil) != (w.Headers == nil) || !bytes.Equal(g.Headers, w.Headers) {
		add("Headers", g.Headers, w.Headers)
	}
	return strings.Join(d, "; ")
}

func clipBytes(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
