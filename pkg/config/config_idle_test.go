package config

import (
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

func TestFlushIdle(t *testing.T) {
	c, err := FromEnv(env())
	if err != nil || c.FlushIdle != 0 {
		t.Fatalf("default: %v %v, want off", c.FlushIdle, err)
	}
	c, err = FromEnv(env("SINK_FLUSH_IDLE", " 15m "))
	if err != nil || c.FlushIdle != 15*time.Minute {
		t.Fatalf("15m: %v %v", c.FlushIdle, err)
	}
	sk, err := sink.New(c.SinkOptions()...)
	if err != nil || sk.FlushIdle() != 15*time.Minute {
		t.Fatalf("sink options: %v %v", sk, err)
	}
	if c, err := FromEnv(env("SINK_FLUSH_IDLE", "0")); err != nil || c.FlushIdle != 0 {
		t.Fatalf("0: %v %v, want off", c.FlushIdle, err)
	}
	for v, want := range map[string]string{
		"15":   "want a Go duration",
		"30s":  "between 1m0s",
		"-5m":  "between 1m0s",
		"200h": "and 168h0m0s",
	} {
		_, err := FromEnv(env("SINK_FLUSH_IDLE", v))
		if err == nil || !strings.Contains(err.Error(), "SINK_FLUSH_IDLE=") || !strings.Contains(err.Error(), want) {
			t.Errorf("SINK_FLUSH_IDLE=%q: %v, want an error saying %q", v, err, want)
		}
	}
}
