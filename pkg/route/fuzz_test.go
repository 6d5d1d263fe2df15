package route_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
)

var fuzzTemplates = []string{
	hive,
	"{key}/",
	"{header:tenant}/{topic}/",
	"{value:user.id}/",
	"k.{key}/{key}{header:tenant}/v..{value:user.id}/",
	"{topic}/{partition}/{yyyy}{MM}{dd}{HH}{mm}/",
}

// unescape reverses the percent-encoding of one segment.
func unescape(t *testing.T, s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q", s)
			}
			b = append(b, byte(n))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// FuzzAppendFolder: any record gives either a *route.Error or a valid
// directory, and a {key} segment decodes back to the key.
// go test -run XXX -fuzz FuzzAppendFolder ./pkg/route/
func FuzzAppendFolder(f *testing.F) {
	f.Add(uint8(0), "orders", int32(3), int64(1795478400000), []byte("user-1"), true, []byte(`[{"key":"tenant","value":"acme"}]`), []byte(`{"user":{"id":"u1"}}`), uint8(0))
	f.Add(uint8(1), "o", int32(0), int64(0), []byte(".."), true, []byte(nil), []byte(nil), uint8(2))
	f.Add(uint8(1), "o", int32(0), int64(0), []byte("a/%\x00\xff."), true, []byte(nil), []byte(nil), uint8(2))
	f.Add(uint8(2), "o", int32(0), int64(0), []byte(nil), false, []byte(`[{"key":"tenant","value":"..\/\u0000"}]`), []byte(nil), uint8(2))
	f.Add(uint8(3), "o", int32(0), int64(0), []byte(nil), false, []byte(nil), []byte(`{"user":{"id":"."}}`), uint8(1))
	f.Add(uint8(4), "o", int32(0), int64(0), []byte("."), true, []byte(`[{"key":"tenant","value":"."}]`), []byte(`{"user":{"id":"."}}`), uint8(1))
	f.Fuzz(func(t *testing.T, which uint8, topic string, partition int32, ts int64, key []byte, hasKey bool, headers, value []byte, kind uint8) {
		tmpl := fuzzTemplates[int(which)%len(fuzzTemplates)]
		r := mustNew(t, tmpl, mustZone(t, "Asia/Kolkata"))
		rec := events.Record{Topic: topic, Partition: partition, Timestamp: ts, Key: key, HasKey: hasKey,
			Headers: headers, Value: value, ValueKind: events.ValueKind(kind % 3)}
		dir, err := r.AppendFolder(nil, &rec)
		if err != nil {
			var re *route.Error
			if !errors.As(err, &re) || len(dir) != 0 {
				t.Fatalf("error %v, dir %q", err, dir)
			}
			return
		}
		checkDir(t, string(dir))
		if len(dir) > r.MaxLen() {
			t.Fatalf("dir of %d bytes, MaxLen %d", len(dir), r.MaxLen())
		}
		if tmpl == "{key}/" {
			if got := unescape(t, strings.TrimSuffix(string(dir), "/")); got != string(key) {
				t.Fatalf("key %q rendered %q, which decodes to %q", key, dir, got)
			}
		}
	})
}

// FuzzNew: New never panics, refuses with a position inside the template,
// and what it accepts renders valid directories even from hostile values
// (".", "..", "/").
func FuzzNew(f *testing.F) {
	for _, tmpl := range fuzzTemplates {
		f.Add(tmpl)
	}
	for _, tc := range badTemplates {
		f.Add(tc.tmpl)
	}
	f.Add("k.{key}/x.{value:a}{key}/{{}}/")
	f.Fuzz(func(t *testing.T, tmpl string) {
		r, err := route.New(tmpl, time.UTC)
		if err != nil {
			var te *route.TemplateError
			if !errors.As(err, &te) || te.Pos < 1 || te.Pos > len(tmpl)+1 {
				t.Fatalf("template %q: %v", tmpl, err)
			}
			return
		}
		for _, v := range []string{".", "..", "/", "a"} {
			rec := events.Record{Topic: "t.", Partition: 1, Timestamp: 1, HasKey: true, Key: []byte(v),
				Headers: []byte(`[{"key":"` + headerName(tmpl) + `","value":"` + v + `"}]`)}
			dir, err := r.AppendFolder(nil, &rec)
			if err != nil {
				continue // {value:..} of a non-JSON value, or a header name the JSON above cannot carry
			}
			checkDir(t, string(dir))
		}
	})
}

// headerName returns the name of the template's first {header:NAME} token
// if it can be written in JSON as is, for FuzzNew's records.
func headerName(tmpl string) string {
	_, rest, ok := strings.Cut(tmpl, "{header:")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "}")
	if strings.ContainsAny(name, `"\`) {
		return ""
	}
	return name
}
