package route_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
)

// ms returns the timestamp of a wall time in zone.
func ms(t testing.TB, zone, wall string) int64 {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05.000", wall, mustZone(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}

const hive = "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/"

func TestTimeTokens(t *testing.T) {
	for _, tc := range []struct {
		zone string
		ts   int64 // or, when 0, the wall time in zone "at"
		at   string
		atZ  string
		want string
	}{
		{"UTC", 0, "2026-11-24 08:15:27.318", "UTC", "orders/dt=2026-11-24/hh=08/m=15/"},
		// Midnight: the last and first millisecond of a day.
		{"UTC", 0, "2026-11-24 23:59:59.999", "UTC", "orders/dt=2026-11-24/hh=23/m=59/"},
		{"UTC", 0, "2026-11-25 00:00:00.000", "UTC", "orders/dt=2026-11-25/hh=00/m=00/"},
		{"UTC", 0, "2026-12-31 23:59:59.999", "UTC", "orders/dt=2026-12-31/hh=23/m=59/"},
		{"UTC", 0, "2027-01-01 00:00:00.000", "UTC", "orders/dt=2027-01-01/hh=00/m=00/"},
		// The same instant is another day in Shanghai (+08:00).
		{"Asia/Shanghai", 0, "2026-11-24 16:00:00.000", "UTC", "orders/dt=2026-11-25/hh=00/m=00/"},
		{"Asia/Shanghai", 0, "2026-11-24 15:59:59.999", "UTC", "orders/dt=2026-11-24/hh=23/m=59/"},
		{"UTC", 0, "2026-11-25 00:00:00.000", "Asia/Shanghai", "orders/dt=2026-11-24/hh=16/m=00/"},
		// Kolkata is +05:30: the minute matters.
		{"Asia/Kolkata", 0, "2026-11-24 18:29:59.999", "UTC", "orders/dt=2026-11-24/hh=23/m=59/"},
		{"Asia/Kolkata", 0, "2026-11-24 18:30:00.000", "UTC", "orders/dt=2026-11-25/hh=00/m=00/"},
		{"Asia/Kolkata", 0, "2026-11-24 00:00:00.000", "UTC", "orders/dt=2026-11-24/hh=05/m=30/"},
		// New York: EST (-05:00) in winter, EDT (-04:00) in summer. On
		// 2026-03-08 02:00 EST clocks jump to 03:00 EDT; on 2026-11-01 02:00
		// EDT they fall back to 01:00 EST, so 01:xx happens twice.
		{"America/New_York", 0, "2026-03-08 06:59:59.999", "UTC", "orders/dt=2026-03-08/hh=01/m=59/"},
		{"America/New_York", 0, "2026-03-08 07:00:00.000", "UTC", "orders/dt=2026-03-08/hh=03/m=00/"},
		{"America/New_York", 0, "2026-11-01 05:30:00.000", "UTC", "orders/dt=2026-11-01/hh=01/m=30/"},
		{"America/New_York", 0, "2026-11-01 06:30:00.000", "UTC", "orders/dt=2026-11-01/hh=01/m=30/"},
		{"America/New_York", 0, "2026-11-01 07:30:00.000", "UTC", "orders/dt=2026-11-01/hh=02/m=30/"},
		{"America/New_York", 0, "2026-07-01 03:59:59.999", "UTC", "orders/dt=2026-06-30/hh=23/m=59/"},
		{"America/New_York", 0, "2026-01-01 04:59:59.999", "UTC", "orders/dt=2025-12-31/hh=23/m=59/"},
		{"America/New_York", 0, "2026-01-01 05:00:00.000", "UTC", "orders/dt=2026-01-01/hh=00/m=00/"},
		// Leap day and the earliest timestamp.
		{"UTC", 0, "2028-02-29 12:00:00.000", "UTC", "orders/dt=2028-02-29/hh=12/m=00/"},
		{"UTC", 1, "", "", "orders/dt=1970-01-01/hh=00/m=00/"},
		{"Asia/Shanghai", 1, "", "", "orders/dt=1970-01-01/hh=08/m=00/"},
		{"America/New_York", 1, "", "", "orders/dt=1969-12-31/hh=19/m=00/"},
	} {
		t.Run(tc.zone+"/"+tc.at, func(t *testing.T) {
			r := mustNew(t, hive+"m={mm}", mustZone(t, tc.zone))
			ts := tc.ts
			if ts == 0 {
				ts = ms(t, tc.atZ, tc.at)
			}
			dir, err := r.AppendFolder(nil, &events.Record{Topic: "orders", Timestamp: ts})
			if err != nil || string(dir) != tc.want {
				t.Fatalf("got %q %v, want %q", dir, err, tc.want)
			}
		})
	}
}

func TestAppendFolder(t *testing.T) {
	type rec = events.Record
	hdr := func(s string) []byte { return []byte(s) }
	ts := int64(1795478400000) // 2026-11-24 00:00 UTC
	for _, tc := range []struct {
		name, tmpl string
		rec        rec
		want       string // the dir, or else:
		token      string
		reason     string
	}{
		{"topic and partition", "{topic}/p={partition}/", rec{Topic: "orders", Partition: 7}, "orders/p=7/", "", ""},
		{"key", "{topic}/{key}/", rec{Topic: "t", Key: []byte("user-1"), HasKey: true}, "t/user-1/", "", ""},
		{"key is null", "{topic}/{key}/", rec{Topic: "t"}, "", "{key}", "key is null"},
		{"empty key", "{topic}/{key}/", rec{Topic: "t", HasKey: true, Key: []byte{}}, "", "{key}", "empty value"},
		{"key with slashes", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("a/b/../c")}, "a%2Fb%2F..%2Fc/", "", ""},
		{"key dot", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte(".")}, "%2E/", "", ""},
		{"key dot dot", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("..")}, "%2E%2E/", "", ""},
		{"key three dots: the leading one escaped", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("...")}, "%2E../", "", ""},
		{"key naming the meta object", "{topic}/{key}/", rec{Topic: "t", HasKey: true, Key: []byte(".oss_meta_file_partition_0")}, "t/%2Eoss_meta_file_partition_0/", "", ""},
		{"literal and key dot", "k.{key}/", rec{Topic: "t", HasKey: true, Key: []byte(".")}, "k.%2E/", "", ""},
		{"key percent", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("100%")}, "100%25/", "", ""},
		{"key control and backslash", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("a\x00b\nc\x7fd\\e")}, "a%00b%0Ac%7Fd%5Ce/", "", ""},
		{"key binary", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte{0xff, 'a', 0xc3}}, "%FFa%C3/", "", ""},
		{"key unicode kept", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte("用户 a+b=c?#")}, "用户 a+b=c?#/", "", ""},
		{"key 128 bytes", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte(strings.Repeat("k", 128))}, strings.Repeat("k", 128) + "/", "", ""},
		{"key 129 bytes", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte(strings.Repeat("k", 129))}, "", "{key}", "value longer than 128 bytes"},
		{"key too long once escaped", "{key}/", rec{Topic: "t", HasKey: true, Key: []byte(strings.Repeat("/", 43))}, "", "{key}", "value longer than 128 bytes"},
		{"header", "tenants/{header:tenant}/{topic}/", rec{Topic: "orders", Headers: hdr(`[{"key":"tenant","value":"acme"}]`)}, "tenants/acme/orders/", "", ""},
		{"header escaped in JSON", "{header:tenant}/", rec{Topic: "o", Headers: hdr(`[{"key":"tenant","value":"a\/b\u0000"}]`)}, "a%2Fb%00/", "", ""},
		{"header missing", "{header:tenant}/", rec{Topic: "o", Headers: hdr(`[]`)}, "", "{header:tenant}", "header missing"},
		{"no headers", "{header:tenant}/", rec{Topic: "o"}, "", "{header:tenant}", "header missing"},
		{"header null", "{header:tenant}/", rec{Topic: "o", Headers: hdr(`[{"key":"tenant","value":null}]`)}, "", "{header:tenant}", "header is null"},
		{"header empty", "{header:tenant}/", rec{Topic: "o", Headers: hdr(`[{"key":"tenant","value":""}]`)}, "", "{header:tenant}", "empty value"},
		{"json field", "{value:user.id}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":"u-1"}}`)}, "u-1/", "", ""},
		{"text holding json", "{value:user.id}/", rec{Topic: "o", Value: []byte(`{"user":{"id":"u-1"}}`)}, "u-1/", "", ""},
		{"base64 bytes holding json", "{value:a}/", rec{Topic: "o", Value: []byte(`{"a":"x"}`)}, "x/", "", ""},
		{"number field", "{value:n}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"n":1.50}`)}, "1.50/", "", ""},
		{"bool field", "{value:b}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"b":false}`)}, "false/", "", ""},
		{"array index", "{value:items.1.sku}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"items":[{"sku":"a"},{"sku":"b"}]}`)}, "b/", "", ""},
		{"string field escaped", "{value:s}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"s":"..\/x\u4fc3"}`)}, "%2E.%2Fx促/", "", ""},
		{"string field dots", "{value:s}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"s":".."}`)}, "%2E%2E/", "", ""},
		{"field missing", "{value:user.id}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"user":{}}`)}, "", "{value:user.id}", "field missing"},
		{"field null", "{value:user.id}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":null}}`)}, "", "{value:user.id}", "field is null"},
		{"field object", "{value:user}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":1}}`)}, "", "{value:user}", "field is an object"},
		{"field array", "{value:user}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"user":[1]}`)}, "", "{value:user}", "field is an array"},
		{"field empty", "{value:s}/", rec{Topic: "o", ValueKind: events.ValueJSON, Value: []byte(`{"s":""}`)}, "", "{value:s}", "empty value"},
		{"value not JSON", "{value:user.id}/", rec{Topic: "o", Value: []byte(`user=1`)}, "", "{value:user.id}", "value is not JSON"},
		{"value broken JSON before the field", "{value:user.id}/", rec{Topic: "o", Value: []byte(`{"a":[1,,2],"user":{"id":"u-1"}}`)}, "", "{value:user.id}", "value is not JSON"},
		{"value broken JSON after the field", "{value:user.id}/", rec{Topic: "o", Value: []byte(`{"user":{"id":"u-1"}`)}, "u-1/", "", ""},
		{"tombstone", "{value:user.id}/", rec{Topic: "o", ValueKind: events.ValueNull}, "", "{value:user.id}", "value is null"},
		{"no timestamp", hive, rec{Topic: "o"}, "", "{yyyy}", "no timestamp"},
		{"negative timestamp", "{topic}/{HH}/", rec{Topic: "o", Timestamp: -1}, "", "{HH}", "no timestamp"},
		{"bad topic", "{topic}/", rec{Topic: "a/b"}, "", "{topic}", "topic is not a Kafka topic name"},
		{"dot topic", "{topic}/", rec{Topic: ".."}, "", "{topic}", "topic is not a Kafka topic name"},
		{"first failing token named", "{key}/{value:a}/", rec{Topic: "o", HasKey: true, Key: []byte("k"), Value: []byte("x")}, "", "{value:a}", "value is not JSON"},
		{"everything", "{topic}/{partition}/{yyyy}{MM}{dd}{HH}{mm}/{key}-{header:h}-{value:a}/", rec{Topic: "o", Partition: 2, Timestamp: ts, HasKey: true, Key: []byte("k"), Headers: hdr(`[{"key":"h","value":"v"}]`), ValueKind: events.ValueJSON, Value: []byte(`{"a":1}`)}, "o/2/202611240000/k-v-1/", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustNew(t, tc.tmpl, time.UTC)
			dir, err := r.AppendFolder([]byte("keep:"), &tc.rec)
			if tc.reason == "" {
				if err != nil || string(dir) != "keep:"+tc.want {
					t.Fatalf("got %q %v, want %q", dir, err, tc.want)
				}
				checkDir(t, string(dir[len("keep:"):]))
				return
			}
			var re *route.Error
			if !errors.As(err, &re) || re.Token != tc.token || re.Reason != tc.reason {
				t.Fatalf("got %q %v, want %s: %s", dir, err, tc.token, tc.reason)
			}
			if string(dir) != "keep:" {
				t.Fatalf("dst changed to %q on error", dir)
			}
			if !strings.Contains(err.Error(), tc.token) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("message %q", err)
			}
		})
	}
}

// TestErrorHoldsNoContent: an unroutable record's error names the token and
// the reason, never the key, header or value.
func TestErrorHoldsNoContent(t *testing.T) {
	secret := "s3cr3t-" + strings.Repeat("x", 200)
	r := mustNew(t, "{key}/{header:h}/{value:a.b}/", nil)
	for _, rec := range []events.Record{
		{Topic: "o", HasKey: true, Key: []byte(secret)},
		{Topic: "o", HasKey: true, Key: []byte("k"), Headers: []byte(`[{"key":"h","value":"` + secret + `"}]`)},
		{Topic: "o", HasKey: true, Key: []byte("k"), Headers: []byte(`[{"key":"h","value":"v"}]`), Value: []byte(secret)},
		{Topic: "o", HasKey: true, Key: []byte("k"), Headers: []byte(`[{"key":"h","value":"v"}]`), Value: []byte(`{"a":{"b":{"c":"` + secret + `"}}}`)},
	} {
		_, err := r.AppendFolder(nil, &rec)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error %v", err)
		}
	}
}

// checkDir fails unless dir is a valid routed directory: it ends in '/',
// and its segments are non-empty, not "." or "..", free of control
// characters and '\', and UTF-8.
func checkDir(t testing.TB, dir string) {
	t.Helper()
	if !strings.HasSuffix(dir, "/") {
		t.Fatalf("dir %q does not end in '/'", dir)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			t.Fatalf("dir %q has segment %q", dir, seg)
		}
	}
	for i := 0; i < len(dir); i++ {
		if c := dir[i]; c < 0x20 || c == 0x7f || c == '\\' {
			t.Fatalf("dir %q has byte %#x", dir, c)
		}
	}
	if !utf8.ValidString(dir) {
		t.Fatalf("dir %q is not UTF-8", dir)
	}
}

// TestConcurrent: one Router serves many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	r := mustNew(t, hive+"{value:user.id}/", mustZone(t, "America/New_York"))
	base := ms(t, "UTC", "2026-11-01 04:00:00.000")
	want := make([]string, 64)
	for i := range want {
		rec := events.Record{Topic: "orders", Timestamp: base + int64(i)*600_000, ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":"u"}}`)}
		dir, err := r.AppendFolder(nil, &rec)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = string(dir)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var buf []byte
			for n := range 200 {
				i := (g + n) % len(want)
				rec := events.Record{Topic: "orders", Timestamp: base + int64(i)*600_000, ValueKind: events.ValueJSON, Value: []byte(`{"user":{"id":"u"}}`)}
				var err error
				buf, err = r.AppendFolder(buf[:0], &rec)
				if err != nil || string(buf) != want[i] {
					t.Errorf("goroutine %d: %q %v, want %q", g, buf, err, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNoAllocs(t *testing.T) {
	shanghai := mustZone(t, "Asia/Shanghai")
	rec := events.Record{
		Topic: "orders", Partition: 3, Timestamp: 1795507200000, HasKey: true, Key: []byte("user-00042"),
		Headers:   []byte(`[{"key":"tenant","value":"acme"}]`),
		ValueKind: events.ValueBytes, Value: []byte(`{"user":{"id":"u-10042","name":"x\ny"},"n":1}`),
	}
	for _, tmpl := range []string{hive, "{value:user.id}/", "{value:user.name}/", "{key}/{header:tenant}/", "{topic}/{partition}/"} {
		r := mustNew(t, tmpl, shanghai)
		buf := make([]byte, 0, 256)
		if n := testing.AllocsPerRun(200, func() {
			if _, err := r.AppendFolder(buf[:0], &rec); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per record", tmpl, n)
		}
	}
}
