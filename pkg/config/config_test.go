package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/format"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     func(string) string
		check   func(t *testing.T, c Config)
		wantErr []string
	}{
		{"defaults: local store", env(), func(t *testing.T, c Config) {
			if c.UseOSS() || c.LocalDir != "oss-local" || c.FlushBytes != 64<<20 || c.FlushInterval != 10*time.Minute || c.FlushRecords != 0 || c.Encoder != (format.Encoder{}) || c.Prefix != "" {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"oss with region default endpoint", env("OSS_BUCKET", "my-bucket", "FC_REGION", "cn-hangzhou", "OSS_PREFIX", "kafka"), func(t *testing.T, c Config) {
			if !c.UseOSS() || c.Endpoint != "oss-cn-hangzhou-internal.aliyuncs.com" || c.Prefix != "kafka/" {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"everything set", env("OSS_BUCKET", "b-1", "OSS_ENDPOINT", "http://127.0.0.1:9000", "SINK_FORMAT", "JSONL", "SINK_VALUE_ENCODING", "base64",
			"SINK_FLUSH_BYTES", "8MiB", "SINK_FLUSH_RECORDS", "1000", "SINK_FLUSH_INTERVAL", "90s", "LOG_LEVEL", "debug"), func(t *testing.T, c Config) {
			if c.Endpoint != "http://127.0.0.1:9000" || c.Encoder.Format != format.JSONL || c.Encoder.ValueEncoding != events.Base64 ||
				c.FlushBytes != 8<<20 || c.FlushRecords != 1000 || c.FlushInterval != 90*time.Second || c.LogLevel.String() != "debug" {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"formats", env("SINK_FORMAT", "CSV", "SINK_FIELDS", "offset, key,value", "SINK_COMPRESSION", "Gzip"), func(t *testing.T, c Config) {
			if c.Encoder.Format != format.CSV || c.Encoder.Fields.String() != "offset,key,value" || c.Encoder.Codec != format.Gzip || c.Encoder.Ext() != ".csv.gz" || len(c.Warnings) != 0 {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"parquet, all fields by default", env("SINK_FORMAT", "parquet", "SINK_COMPRESSION", "zstd"), func(t *testing.T, c Config) {
			if c.Encoder.Format != format.Parquet || c.Encoder.Fields != format.AllFields() || c.Encoder.Codec != format.Zstd || c.Encoder.Ext() != ".parquet" {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"jsonl: all fields, named .jsonl", env("SINK_FORMAT", "jsonl"), func(t *testing.T, c Config) {
			if c.Encoder.Fields != format.AllFields() || c.Encoder.Ext() != ".jsonl" {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"raw ignores fields, with a warning", env("SINK_FIELDS", "value", "SINK_COMPRESSION", "snappy"), func(t *testing.T, c Config) {
			if c.Encoder.Format != format.Raw || c.Encoder.Fields.Len() != 0 || c.Encoder.Ext() != ".sz" || len(c.Warnings) != 1 {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"format errors", env("SINK_FORMAT", "avro", "SINK_FIELDS", "offset,offset", "SINK_COMPRESSION", "lz4"), nil,
			[]string{`SINK_FORMAT="avro": want raw, jsonl, csv or parquet`, `SINK_FIELDS="offset,offset"`, `SINK_COMPRESSION="lz4": want none, gzip, zstd or snappy`}},
		{"unknown field", env("SINK_FORMAT", "jsonl", "SINK_FIELDS", "offset,body"), nil, []string{`SINK_FIELDS="offset,body"`, "body"}},
		{"all errors at once", env("SINK_FORMAT", "avro", "SINK_VALUE_ENCODING", "hex", "SINK_FLUSH_BYTES", "lots", "SINK_FLUSH_RECORDS", "-1",
			"SINK_FLUSH_INTERVAL", "5 minutes", "LOG_LEVEL", "loud"), nil,
			[]string{`SINK_FORMAT="avro"`, `SINK_VALUE_ENCODING="hex"`, `SINK_FLUSH_BYTES="lots"`, `SINK_FLUSH_RECORDS="-1"`, `SINK_FLUSH_INTERVAL="5 minutes"`, `LOG_LEVEL="loud"`}},
		{"bucket without endpoint or region", env("OSS_BUCKET", "b-1"), nil, []string{"cannot choose an OSS endpoint"}},
		{"default folder: no router", env("SINK_FOLDER", "{topic}"), func(t *testing.T, c Config) {
			if c.Router != nil || c.Folder() != "{topic}/" {
				t.Fatalf("router %v, folder %q", c.Router, c.Folder())
			}
		}, nil},
		{"routing", env("SINK_FOLDER", "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}", "SINK_TIMEZONE", "Asia/Shanghai", "SINK_INVALID", "drop"), func(t *testing.T, c Config) {
			if c.Router == nil || c.Folder() != "{topic}/dt={yyyy}-{MM}-{dd}/hh={HH}/" || c.Router.Location().String() != "Asia/Shanghai" || c.Invalid != sink.InvalidDrop {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"routing errors at once", env("SINK_FOLDER", "{topic}/{hour}/", "SINK_TIMEZONE", "Mars/Olympus", "SINK_INVALID", "ignore"), nil,
			[]string{"SINK_FOLDER", "position 9", "{hour}", "SINK_TIMEZONE", "Mars/Olympus", `SINK_INVALID="ignore"`}},
		{"local time zone refused", env("SINK_TIMEZONE", "Local"), nil, []string{"SINK_TIMEZONE", "Local"}},
		{"filter", env("SINK_FILTER", `drop value contains "heartbeat"`), func(t *testing.T, c Config) {
			if c.Filter == nil || len(c.SinkOptions()) != 7 { // (with SINK_STORAGE_CLASS's default, Standard)
				t.Fatalf("filter %v, %d options", c.Filter, len(c.SinkOptions()))
			}
		}, nil},
		{"bad filter", env("SINK_FILTER", `keep value ~ "(" ; drop key == "x"`), nil, []string{"SINK_FILTER", "rule 1", "column"}},
		{"template with a dot-dot segment", env("SINK_FOLDER", "{topic}/../x/"), nil, []string{"SINK_FOLDER", "position"}},
		{"keys too long", env("OSS_PREFIX", strings.Repeat("p", 500), "SINK_FOLDER", "{topic}/{key}/{header:a}/{header:b}/"), nil,
			[]string{"SINK_FOLDER", "1,023"}},
		{"endpoint without bucket", env("OSS_ENDPOINT", "http://127.0.0.1:1"), nil, []string{"OSS_BUCKET is not"}},
		{"bad bucket", env("OSS_BUCKET", "My_Bucket", "OSS_ENDPOINT", "x"), nil, []string{`OSS_BUCKET="My_Bucket"`}},
		{"flush bytes too big", env("SINK_FLUSH_BYTES", "5GiB"), nil, []string{"between 1 and"}},
		{"prefix starting with a backslash", env("OSS_PREFIX", `\x`), nil, []string{"OSS_PREFIX", "backslash"}},
		{"prefix not UTF-8", env("OSS_PREFIX", "a\xffb"), nil, []string{"OSS_PREFIX", "UTF-8"}},
		{"prefix too long", env("OSS_PREFIX", strings.Repeat("p", 600)), nil, []string{"OSS_PREFIX", "601 bytes"}},
		{"prefix with an empty segment", env("OSS_PREFIX", "kafka//x"), nil, []string{"OSS_PREFIX", "empty segment"}},
		{"prefix with a dot-dot segment", env("OSS_PREFIX", "kafka/../other/"), nil, []string{"OSS_PREFIX", "'..' segment"}},
		{"prefix with a dot segment", env("OSS_PREFIX", "./kafka"), nil, []string{"OSS_PREFIX", "'.' segment"}},
		{"prefix with a control character", env("OSS_PREFIX", "kafka\x01/"), nil, []string{"OSS_PREFIX", "control character"}},
		{"endpoint with a path", env("OSS_BUCKET", "b-1", "OSS_ENDPOINT", "http://127.0.0.1:9000/b-1"), nil, []string{`OSS_ENDPOINT="http://127.0.0.1:9000/b-1"`, "a scheme and a host"}},
		// SINK_FINALIZE, SINK_STORAGE_CLASS, SINK_SSE, SINK_SSE_KMS_KEY_ID, SINK_TAGS.
		{"archive defaults", env(), func(t *testing.T, c Config) {
			if c.Encoder.Final || c.StorageClass != store.Standard || c.SSE != "" || c.SSEKeyID != "" || len(c.Tags) != 0 {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"finalize with everything", env("SINK_FORMAT", "csv", "SINK_COMPRESSION", "zstd", "SINK_FINALIZE", "TRUE", "SINK_STORAGE_CLASS", "coldarchive",
			"SINK_SSE", "kms", "SINK_SSE_KMS_KEY_ID", "key-1", "SINK_TAGS", "team=data platform, env = prod"), func(t *testing.T, c Config) {
			if !c.Encoder.Final || !c.Encoder.Staged() || c.Encoder.ID() != "csv/text;fields=topic,partition,offset,timestamp,key,value,headers;z=zstd-1;final" ||
				c.StorageClass != store.ColdArchive || c.SSE != "KMS" || c.SSEKeyID != "key-1" || len(c.Warnings) != 0 ||
				!slices.Equal(c.Tags, []store.Tag{{Key: "team", Value: "data platform"}, {Key: "env", Value: "prod"}}) {
				t.Fatalf("%+v", c)
			}
			if _, err := sink.New(c.SinkOptions()...); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"parquet finalizes, also with an explicit false", env("SINK_FORMAT", "parquet", "SINK_FINALIZE", "false", "SINK_STORAGE_CLASS", "DeepColdArchive",
			"SINK_SSE", "KMS", "SINK_SSE_KMS_KEY_ID", "k"), func(t *testing.T, c Config) {
			if !c.Encoder.Staged() || c.StorageClass != store.DeepColdArchive || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "always staged") {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"appendable IA and Archive, SSE without a key", env("SINK_STORAGE_CLASS", "Archive", "SINK_SSE", "SM4"), func(t *testing.T, c Config) {
			if c.Encoder.Staged() || c.StorageClass != store.Archive || c.SSE != "SM4" || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "cannot be read") {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"tags without finalize: a warning", env("SINK_TAGS", "a=b"), func(t *testing.T, c Config) {
			if len(c.Tags) != 1 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "no effect") {
				t.Fatalf("%+v", c)
			}
		}, nil},
		{"ColdArchive without finalize", env("SINK_STORAGE_CLASS", "ColdArchive"), nil,
			[]string{`SINK_STORAGE_CLASS="ColdArchive"`, "refuses ColdArchive for appendable objects", "SINK_FINALIZE=true"}},
		{"DeepColdArchive with finalize false", env("SINK_FINALIZE", "false", "SINK_STORAGE_CLASS", "DeepColdArchive"), nil,
			[]string{`SINK_STORAGE_CLASS="DeepColdArchive"`, "refuses DeepColdArchive for appendable objects"}},
		{"unknown class", env("SINK_STORAGE_CLASS", "Glacier"), nil, []string{`SINK_STORAGE_CLASS="Glacier"`, "want Standard, IA, Archive"}},
		{"bad finalize", env("SINK_FINALIZE", "yes"), nil, []string{`SINK_FINALIZE="yes"`, "want true or false"}},
		{"unknown SSE", env("SINK_SSE", "DES"), nil, []string{`SINK_SSE="DES"`, "want none, AES256, KMS or SM4"}},
		{"KMS key without finalize", env("SINK_SSE", "KMS", "SINK_SSE_KMS_KEY_ID", "k"), nil,
			[]string{`SINK_SSE_KMS_KEY_ID="k"`, "customer KMS key for appendable objects", "SINK_FINALIZE=true"}},
		{"KMS key without KMS", env("SINK_FINALIZE", "true", "SINK_SSE", "AES256", "SINK_SSE_KMS_KEY_ID", "k"), nil,
			[]string{`SINK_SSE_KMS_KEY_ID="k"`, "needs SINK_SSE=KMS"}},
		{"KMS key without SSE", env("SINK_FINALIZE", "true", "SINK_SSE_KMS_KEY_ID", "k"), nil, []string{"needs SINK_SSE=KMS"}},
		{"tags: not k=v", env("SINK_TAGS", "a=b,c"), nil, []string{`SINK_TAGS="a=b,c"`, "key=value"}},
		{"tags: an empty key", env("SINK_TAGS", "=b"), nil, []string{"key=value"}},
		{"tags: the sink's own", env("SINK_TAGS", "Records=5"), nil, []string{`tag "Records" is one the sink sets itself`}},
		{"tags: too many with the sink's", env("SINK_TAGS", "a=1,b=2,c=3,d=4"), nil, []string{"4 tags", "leaves 3"}},
		{"tags: characters OSS refuses", env("SINK_TAGS", "a=x;y"), nil, []string{`SINK_TAGS="a=x;y"`, "letters, digits, spaces"}},
		{"tags: repeated", env("SINK_TAGS", "a=1,a=2"), nil, []string{"given twice"}},
		{"archive errors at once", env("SINK_FINALIZE", "maybe", "SINK_STORAGE_CLASS", "x", "SINK_SSE", "y", "SINK_TAGS", "z"), nil,
			[]string{"SINK_FINALIZE", "SINK_STORAGE_CLASS", "SINK_SSE", "SINK_TAGS"}},
		{"endpoint with another scheme", env("OSS_BUCKET", "b-1", "OSS_ENDPOINT", "ftp://127.0.0.1:9000"), nil, []string{"http or https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(tt.env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("no error, config %+v", c)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "64MiB": 64 << 20, "64 mib": 64 << 20, "10MB": 10e6, "2GiB": 2 << 30, "512k": 512 << 10, "100B": 100} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "3 parsecs", "99999999999999999999"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}

// An endpoint with user info is refused, and no message shows its password
// (nor its user name), whatever else is wrong and however odd the URL.
func TestEndpointUserInfo(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	for _, tt := range []struct {
		name     string
		endpoint string
		bucket   string
		want     string // redacted endpoint in the message
	}{
		{"http", "http://admin:" + pw + "@127.0.0.1:9000", "b-1", `"http://REDACTED@127.0.0.1:9000"`},
		{"no scheme", "admin:" + pw + "@oss-cn-hangzhou.aliyuncs.com", "b-1", `"REDACTED@oss-cn-hangzhou.aliyuncs.com"`},
		{"password only", "https://:" + pw + "@h", "b-1", `"https://REDACTED@h"`},
		{"'@' and '/' in the password", "http://admin:" + pw + "/x@y@127.0.0.1:9000", "b-1", `"http://REDACTED@127.0.0.1:9000"`},
		{"not a URL", "http://admin:" + pw + "%zz@[::1", "b-1", `"http://REDACTED@[::1"`},
		{"without a bucket", "http://admin:" + pw + "@127.0.0.1:9000", "", `"http://REDACTED@127.0.0.1:9000"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromEnv(env("OSS_BUCKET", tt.bucket, "OSS_ENDPOINT", tt.endpoint))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, pw) || strings.Contains(msg, "admin") {
				t.Fatalf("the message shows the user info: %q", msg)
			}
			if !strings.Contains(msg, "must not contain a user name or password") || !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q does not refuse %s", msg, tt.want)
			}
		})
	}
}

// The message of every problem at once is one line (the CLI prints it as
// its only line) and each problem stays reachable with errors.As.
func TestErrorOneLine(t *testing.T) {
	_, err := FromEnv(env("SINK_FORMAT", "avro", "LOG_LEVEL", "loud"))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 2 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("%q", err)
	}
}
