package eventstest

import (
	"fmt"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// BatchConfig describes a generated batch. The zero value is one record-less
// batch ("[]"); set Records at least.
type BatchConfig struct {
	// Records is the number of records.
	Records int
	// Partitions is the number of partitions records are spread over, at
	// random; each partition's offsets rise by one per record. Default 1.
	Partitions int
	// Topics are the topics records are spread over, at random; offsets are
	// counted per topic and partition. Default: one topic, "orders".
	Topics []string
	// StartOffsets[p] is the first offset of partition p (in every topic);
	// missing entries start at 0.
	StartOffsets []int64
	// StartTimestamp is the first record's timestamp, in milliseconds;
	// later ones rise by 0-3 ms each. Default 1655952591589 (2022-06-23).
	StartTimestamp int64
	// ValueSize is the length of each value in bytes (before JSON escaping
	// or base64). Default 64.
	ValueSize int
	// ValueEncoding picks the values: Text gives UTF-8 text with a few
	// characters that need escaping (quotes, newlines, tabs, backslashes,
	// '=', apostrophes, non-ASCII letters) every few hundred bytes; Base64 gives
	// random bytes, sent as base64 (the trigger's Binary data format).
	ValueEncoding events.ValueEncoding
	// Shape is the payload's form.
	Shape Shape
	// Keys gives every record a key ("user-" and five digits); otherwise
	// records have no key member.
	Keys bool
	// Headers gives every record one header, {"key":"trace-id","value":...};
	// otherwise the header list is empty, as the trigger usually sends it.
	// Note that the SDK's KafkaDataHeader cannot hold header objects, so
	// leave Headers off for encoding/json baselines.
	Headers bool
	// JSONUsers, if positive, makes text values JSON objects,
	// {"user":{"id":"user-N","tier":"gold"},"note":"..."} with N in
	// [0, JSONUsers) and the note filling the value to about ValueSize: the
	// values that routing by a JSON field ({value:user.id}) reads.
	JSONUsers int
	// Values picks the text of Text values when JSONUsers is zero: mixed
	// text (the default), plain text, or JSON documents sent as strings or
	// as JSON values. See Values.
	Values Values
	// Seed seeds the generator; every seed gives a different batch.
	Seed uint64
}

// Bench returns the configuration of a full-size synchronous batch: 10,000
// records of about 3.2 KB on 8 partitions of one topic, text values of 2780
// bytes with a few escapes, keys, empty header lists: 32.7 MB as CloudEvents,
// just under the 32 MiB body limit as strings (the largest shape). Set Shape
// and ValueEncoding as needed.
func Bench() BatchConfig {
	return BatchConfig{
		Records:    10000,
		Partitions: 8,
		ValueSize:  2780,
		Keys:       true,
		Seed:       1,
	}
}

// Batch returns the payload for cfg: Encode(cfg.Shape, Records(cfg),
// cfg.ValueEncoding).
func Batch(cfg BatchConfig) []byte {
	return Encode(cfg.Shape, Records(cfg), cfg.ValueEncoding)
}

// Records returns the records that Batch(cfg) carries, as events.Decode
// should return them (with WithValueEncoding(cfg.ValueEncoding)).
func Records(cfg BatchConfig) []events.Record {
	partitions := max(cfg.Partitions, 1)
	topics := cfg.Topics
	if len(topics) == 0 {
		topics = []string{"orders"}
	}
	size := cfg.ValueSize
	if size <= 0 {
		size = 64
	}
	ts := cfg.StartTimestamp
	if ts == 0 {
		ts = 1655952591589
	}
	next := make([]int64, len(topics)*partitions)
	for t := range topics {
		for p := 0; p < partitions && p < len(cfg.StartOffsets); p++ {
			next[t*partitions+p] = cfg.StartOffsets[p]
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b61666b612d6f73))
	emptyHeaders := []byte("[]")
	recs := make([]events.Record, cfg.Records)
	for i := range recs {
		t, p := rng.IntN(len(topics)), rng.IntN(partitions)
		r := &recs[i]
		r.Index = i
		r.Topic = topics[t]
		r.Partition = int32(p)
		r.Offset = next[t*partitions+p]
		next[t*partitions+p]++
		r.Timestamp = ts
		ts += rng.Int64N(4)
		if cfg.Keys {
			r.Key, r.HasKey = fmt.Appendf(nil, "user-%05d", rng.IntN(100000)), true
		}
		r.Headers = emptyHeaders
		if cfg.Headers {
			r.Headers = fmt.Appendf(nil, `[{"key":"trace-id","value":"%016x"}]`, rng.Uint64())
		}
		if cfg.ValueEncoding == events.Base64 {
			r.Value = make([]byte, size)
			for j := range r.Value {
				r.Value[j] = byte(rng.Uint32())
			}
		} else if cfg.JSONUsers > 0 {
			head := fmt.Appendf(nil, `{"user":{"id":"user-%d","tier":"gold"},"note":`, rng.IntN(cfg.JSONUsers))
			note := text(rng, max(1, size-len(head)-4))
			r.Value = append(AppendString(head, note), '}')
		} else {
			switch cfg.Values {
			case PlainText:
				r.Value = plainText(rng, size)
			case JSONText:
				r.Value = jsonDoc(rng, size)
			case JSONValues:
				r.Value, r.ValueKind = jsonDoc(rng, size), events.ValueJSON
			default:
				r.Value = text(rng, size)
			}
		}
	}
	return recs
}

// text returns size bytes of word salad with a few specials, cut at a rune
// boundary and padded with spaces to the exact size.
func text(rng *rand.Rand, size int) []byte {
	// Pieces that the trigger escapes, or that are not ASCII.
	specials := [...]string{`"quoted"`, "\n", "\t", `C:\data`, "a=b", "it's", "café", "杭州", "<b>"}
	b := make([]byte, 0, size+16)
	untilSpecial := 200 + rng.IntN(400)
	for len(b) < size {
		if untilSpecial <= 0 {
			b = append(b, specials[rng.IntN(len(specials))]...)
			untilSpecial = 200 + rng.IntN(400)
		} else {
			w := words[rng.IntN(len(words))]
			b = append(b, w...)
			untilSpecial -= len(w) + 1
		}
		b = append(b, ' ')
	}
	b = b[:size]
	for len(b) > 0 {
		if r, n := utf8.DecodeLastRune(b); r != utf8.RuneError || n > 1 {
			break
		}
		b = b[:len(b)-1]
	}
	for len(b) < size {
		b = append(b, ' ')
	}
	return b
}

// Values is the kind of text a generated batch's values hold.
type Values uint8

const (
	// MixedText: word salad with a character that the trigger escapes, or a
	// non-ASCII one, every few hundred bytes.
	MixedText Values = iota
	// PlainText: ASCII words and spaces, nothing to escape.
	PlainText
	// JSONText: compact JSON documents (orders with a few items) sent as
	// JSON strings, so that every quote in them is escaped: about 125
	// escapes per KB of payload, the escape-heavy values of services that
	// produce JSON to Kafka.
	JSONText
	// JSONValues: the same documents sent as JSON values (ValueKind
	// ValueJSON), as the trigger's Json data format does.
	JSONValues
)

// String returns "mixed", "plain", "json-text" or "json-values".
func (v Values) String() string {
	switch v {
	case MixedText:
		return "mixed"
	case PlainText:
		return "plain"
	case JSONText:
		return "json-text"
	case JSONValues:
		return "json-values"
	}
	return fmt.Sprintf("Values(%d)", uint8(v))
}

var words = [...]string{
	"order", "created", "customer", "amount", "currency", "CNY", "status",
	"paid", "shipped", "warehouse", "hangzhou", "shanghai", "sku", "quantity",
	"price", "discount", "coupon", "address", "region", "cn-hangzhou", "the",
	"a", "of", "and", "for", "with", "item", "delivery", "express", "return",
}

// plainText returns size bytes of ASCII words.
func plainText(rng *rand.Rand, size int) []byte {
	b := make([]byte, 0, size+16)
	for len(b) < size {
		b = append(append(b, words[rng.IntN(len(words))]...), ' ')
	}
	return b[:size]
}

// jsonDoc returns a compact JSON object of size bytes (or of its smallest
// form, about 110 bytes, if size is less): an order with items, closed by a
// note that pads it.
func jsonDoc(rng *rand.Rand, size int) []byte {
	b := make([]byte, 0, size+128)
	b = fmt.Appendf(b, `{"id":"o-%07d","customer":{"id":"user-%05d","region":"cn-hangzhou","tier":"gold"},"status":"paid","items":[`,
		rng.IntN(10000000), rng.IntN(100000))
	const tail = `],"note":""}`
	for n := 0; ; n++ {
		item := fmt.Appendf(nil, `{"sku":"sku-%04d","qty":%d,"price":%d.%d,"name":"%s %s %s"}`, rng.IntN(10000),
			1+rng.IntN(9), rng.IntN(1000), rng.IntN(10), words[rng.IntN(len(words))],
			words[rng.IntN(len(words))], words[rng.IntN(len(words))])
		if len(b)+1+len(item)+len(tail) > size {
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, item...)
	}
	b = append(b, `],"note":"`...)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}
