package sinkctl

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/restore"
)

const catUsage = `Usage: sinkctl cat [--json] OBJECT...

Prints the records of data objects, in offset order, read as a restore
reads them: any format (raw, JSONL, CSV, Parquet) and compression,
decompressed, through the record index (every append's CRC checked).
OBJECT is a key as sinkctl ls prints it (with or without --prefix).

By default each record's value is printed followed by a newline (a null
value as an empty line). With --json each record is a JSON line:
{"topic","partition","offset","timestamp","key","value","headers"}; a key,
value or header value that is not valid UTF-8 is given base64-encoded in
key_base64, value_base64 or value_base64 instead; a field the object's
encoding did not store (SINK_FIELDS) is absent. Raw objects without a
record index (early sink versions) have inexact offsets: "exact_offset":
false.

Exit codes: 0 printed; 2 usage or store error, or an object that is not a
data object or fails a check (nothing of it printed).
`

func runCat(ctx context.Context, args []string, env Env) int {
	var sf storeFlags
	fs := newCmdFlags("cat", catUsage,
		"sinkctl cat --dir ./oss-local orders/partition_0_offset_0_1a2b3c4d.jsonl.gz",
		"sinkctl ls --topic orders --json | jq -r '.[].key' | xargs sinkctl cat --json")
	asJSON := fs.Bool("json", false, "print JSON lines with offsets, keys, headers and timestamps")
	valueEnc := fs.String("value-encoding", "text", "string values of JSONL objects without a record index (written before indexes existed): text or base64")
	sf.register(fs, env)
	objects, code, ok := fs.parseArgs(args, env)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "sinkctl cat: "+format+"\n", a...)
		return ExitUsage
	}
	if len(objects) == 0 {
		return fail("name at least one OBJECT (see sinkctl ls; sinkctl cat -h)")
	}
	var enc events.ValueEncoding
	switch *valueEnc {
	case "text":
		enc = events.Text
	case "base64":
		enc = events.Base64
	default:
		return fail("--value-encoding %q: want text or base64", *valueEnc)
	}
	o, err := sf.open(ctx, env)
	if err != nil {
		return fail("%v", err)
	}
	w := bufio.NewWriter(env.Stdout)
	defer w.Flush()
	for _, key := range objects {
		if !strings.HasPrefix(key, o.prefix) {
			key = o.prefix + key
		}
		or, err := restore.ReadObject(ctx, o.st, o.prefix, key, enc)
		if err != nil {
			w.Flush()
			return fail("%v", err)
		}
		for _, r := range or.Records {
			if !*asJSON {
				w.Write(r.Value)
				w.WriteByte('\n')
				continue
			}
			b, err := json.Marshal(catRecord(or, r))
			if err != nil {
				return fail("%s offset %d: %v", key, r.Offset, err)
			}
			w.Write(b)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return fail("write: %v", err)
	}
	return ExitOK
}

// catLine is a record as cat --json prints it. Pointers and omitempty keep
// out what was not stored.
type catLine struct {
	Topic       string      `json:"topic"`
	Partition   int32       `json:"partition"`
	Offset      int64       `json:"offset"`
	ExactOffset *bool       `json:"exact_offset,omitempty"`
	Timestamp   *int64      `json:"timestamp,omitempty"`
	Key         *string     `json:"key"`
	KeyBase64   string      `json:"key_base64,omitempty"`
	Value       *string     `json:"value"`
	ValueBase64 string      `json:"value_base64,omitempty"`
	Headers     []catHeader `json:"headers,omitempty"`
	Invalid     bool        `json:"invalid,omitempty"`
	Object      string      `json:"object"`
}

type catHeader struct {
	Key         string  `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64,omitempty"`
}

func catRecord(or *restore.ObjectRecords, r restore.Record) catLine {
	l := catLine{Topic: or.Info.Topic, Partition: or.Info.Partition, Offset: r.Offset, Invalid: r.Invalid, Object: or.Info.Key}
	if or.Inexact {
		f := false
		l.ExactOffset = &f
	}
	if r.HasTimestamp {
		ts := r.Timestamp
		l.Timestamp = &ts
	}
	l.Key, l.KeyBase64 = textOrBase64(r.Key)
	l.Value, l.ValueBase64 = textOrBase64(r.Value)
	for _, h := range r.Headers {
		v, b := textOrBase64(h.Value)
		l.Headers = append(l.Headers, catHeader{Key: string(h.Key), Value: v, ValueBase64: b})
	}
	return l
}

// textOrBase64 returns b as a string when it is valid UTF-8, else its
// base64; nil stays null.
func textOrBase64(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	return nil, base64.StdEncoding.EncodeToString(b)
}
