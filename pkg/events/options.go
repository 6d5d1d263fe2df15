package events

import (
	"fmt"
	"strings"
)

// Option configures Decode.
type Option func(*config)

type config struct {
	valueEncoding ValueEncoding
	inPlace       bool
}

func defaultCfg() config {
	return config{valueEncoding: Text}
}

func newConfig(opts []Option) (config, error) {
	cfg := defaultCfg()
	for _, o := range opts {
		o(&cfg)
	}
	return cfg, cfg.validate()
}

func (c *config) validate() error {
	switch c.valueEncoding {
	case Text, Base64:
		return nil
	}
	return fmt.Errorf("events: unknown value encoding %d", c.valueEncoding)
}

// InPlace lets Decode use the payload as its scratch space: escaped strings
// and JSON values are unescaped or compacted, and base64 values decoded,
// where they lie, which only ever shrinks them, instead of being copied to a
// separate arena about the size of the payload. A full-size batch then needs
// about one payload's worth of memory less, and the memory is not touched
// afresh. Afterwards the payload's bytes outside the records are garbage:
// use the payload only through the records. Strings with invalid UTF-8
// (whose repair grows them) and serialized string elements still go to the
// arena. Default: off.
func InPlace() Option { return func(c *config) { c.inPlace = true } }

// WithValueEncoding says how string values are read: as text, or as base64
// for the trigger's Binary data format, which sends base64 strings that cannot
// be told from text by looking. Default: WithValueEncoding(Text).
func WithValueEncoding(e ValueEncoding) Option {
	return func(c *config) { c.valueEncoding = e }
}

// String returns "text" or "base64".
func (e ValueEncoding) String() string {
	switch e {
	case Text:
		return "text"
	case Base64:
		return "base64"
	}
	return fmt.Sprintf("ValueEncoding(%d)", uint8(e))
}

// ParseValueEncoding parses "text" or "base64" (case-insensitive), the names
// String returns, for configuration from flags or environment variables.
// "binary", the trigger console's name for base64, is accepted too.
func ParseValueEncoding(s string) (ValueEncoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "text":
		return Text, nil
	case "base64", "binary":
		return Base64, nil
	}
	return 0, fmt.Errorf("events: unknown value encoding %q (want text or base64)", s)
}

// String returns "bytes", "json" or "null".
func (k ValueKind) String() string {
	switch k {
	case ValueBytes:
		return "bytes"
	case ValueJSON:
		return "json"
	case ValueNull:
		return "null"
	}
	return fmt.Sprintf("ValueKind(%d)", uint8(k))
}
