package events_test

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
)

// gen writes random payloads in every shape, with the odd corners of JSON
// that a hand-written scanner can get wrong: escapes of every kind,
// surrogate pairs and lone surrogates, raw non-ASCII and invalid UTF-8,
// whitespace everywhere, unknown and repeated members, JSON values of every
// type, and now and then a field that breaks a rule.
type gen struct {
	r   *rand.Rand
	enc events.ValueEncoding
	b   []byte
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) ws() {
	if !g.chance(0.15) {
		return
	}
	for n := g.r.IntN(3) + 1; n > 0; n-- {
		g.b = append(g.b, " \t\n\r"[g.r.IntN(4)])
	}
}

func (g *gen) payload() []byte {
	g.b = g.b[:0]
	g.ws()
	n := g.r.IntN(6)
	if n == 1 && g.chance(0.2) {
		g.element(false)
	} else {
		g.b = append(g.b, '[')
		g.ws()
		for i := 0; i < n; i++ {
			if i > 0 {
				g.b = append(g.b, ',')
				g.ws()
			}
			if g.chance(0.3) {
				g.stringElement()
			} else {
				g.element(false)
			}
			g.ws()
		}
		g.b = append(g.b, ']')
	}
	g.ws()
	return append([]byte(nil), g.b...)
}

// stringElement writes an element as a JSON string holding its text.
func (g *gen) stringElement() {
	outer := g.b
	g.b = nil
	g.element(true)
	inner := g.b
	g.b = outer
	g.stringOf(inner)
}

func (g *gen) element(inString bool) {
	if g.chance(0.5) {
		g.object([]func(){
			func() { g.key("specversion"); g.stringOf([]byte("1.0")) },
			func() { g.key("id"); g.text() },
			func() { g.key("source"); g.stringOf([]byte("acs:alikafka")) },
			func() { g.key("time"); g.text() },
			func() { g.key("data"); g.data() },
		})
		return
	}
	g.data()
}

// data writes a data object (or RawData element).
func (g *gen) data() {
	members := []func(){
		func() { g.key("topic"); g.topic() },
		func() { g.key("partition"); g.integer(3) },
		func() { g.key("offset"); g.integer(1 << 40) },
	}
	if g.chance(0.8) {
		members = append(members, func() { g.key("timestamp"); g.timestamp() })
	}
	if g.chance(0.7) {
		members = append(members, func() { g.key("key"); g.nullOr(g.text) })
	}
	if g.chance(0.9) {
		members = append(members, func() { g.key("value"); g.value() })
	}
	if g.chance(0.7) {
		members = append(members, func() { g.key("headers"); g.headers() })
	}
	for n := g.r.IntN(3); n > 0; n-- {
		members = append(members, func() { g.b = append(g.b, '"'); g.textBody(); g.b = append(g.b, '"'); g.colon(); g.any(3) })
	}
	// Once in a while drop a required member or repeat one.
	if g.chance(0.005) {
		members = members[1:]
	}
	if g.chance(0.05) {
		members = append(members, members[g.r.IntN(len(members))])
	}
	g.object(members)
}

func (g *gen) object(members []func()) {
	g.r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	g.b = append(g.b, '{')
	g.ws()
	for i, m := range members {
		if i > 0 {
			g.b = append(g.b, ',')
			g.ws()
		}
		m()
		g.ws()
	}
	g.b = append(g.b, '}')
}

// key writes a member name, sometimes with needless escapes.
func (g *gen) key(name string) {
	g.stringOf([]byte(name))
	g.colon()
}

func (g *gen) colon() {
	g.ws()
	g.b = append(g.b, ':')
	g.ws()
}

func (g *gen) nullOr(f func()) {
	if g.chance(0.2) {
		g.b = append(g.b, "null"...)
		return
	}
	f()
}

func (g *gen) topic() {
	switch {
	case g.chance(0.005):
		g.any(2)
	case g.chance(0.005):
		g.b = append(g.b, `""`...)
	case g.chance(0.01):
		// Names Kafka cannot give a topic: both decoders must refuse them.
		g.stringOf([]byte([]string{"杭州-topic", "a/b", "..", "", "a\x01b"}[g.r.IntN(5)]))
	default:
		g.stringOf([]byte([]string{"orders", "t", "app.events_v2-eu", "x"}[g.r.IntN(4)]))
	}
}

func (g *gen) integer(limit int64) {
	switch {
	case g.chance(0.003):
		g.b = append(g.b, "-1"...)
	case g.chance(0.01):
		g.b = append(g.b, "-0"...)
	case g.chance(0.003):
		g.b = append(g.b, "2147483648"...)
	case g.chance(0.003):
		g.b = append(g.b, "9223372036854775808"...)
	case g.chance(0.003):
		g.b = append(g.b, "7.0"...)
	case g.chance(0.003):
		g.any(1)
	default:
		g.b = strconv.AppendInt(g.b, g.r.Int64N(limit), 10)
	}
}

func (g *gen) timestamp() {
	ts := 1655952591589 + g.r.Int64N(1e6)
	switch {
	case g.chance(0.2):
		g.stringOf(strconv.AppendInt(nil, ts, 10))
	case g.chance(0.05):
		g.b = append(g.b, "null"...)
	case g.chance(0.05):
		g.b = append(g.b, "-1"...)
	case g.chance(0.005):
		g.text()
	case g.chance(0.005):
		g.number()
	default:
		g.b = strconv.AppendInt(g.b, ts, 10)
	}
}

func (g *gen) value() {
	switch {
	case g.chance(0.1):
		g.b = append(g.b, "null"...)
	case g.chance(0.2):
		g.any(4)
	case g.enc == events.Base64:
		v := make([]byte, g.r.IntN(40))
		for i := range v {
			v[i] = byte(g.r.Uint32())
		}
		s := base64.StdEncoding.EncodeToString(v)
		if g.chance(0.01) {
			s += "!"
		}
		g.stringOf([]byte(s))
	default:
		g.text()
	}
}

func (g *gen) headers() {
	switch {
	case g.chance(0.1):
		g.b = append(g.b, "null"...)
	case g.chance(0.005):
		g.any(2)
	default:
		members := []func(){func() { g.key("isReadOnly"); g.any(1) }}
		if g.chance(0.9) {
			members = append(members, func() {
				g.key("headers")
				if g.chance(0.05) {
					g.nullOr(func() { g.any(2) })
					return
				}
				g.b = append(g.b, '[')
				for i := g.r.IntN(3); i > 0; i-- {
					g.ws()
					g.object([]func(){func() { g.key("key"); g.text() }, func() { g.key("value"); g.text() }})
					g.ws()
					if i > 1 {
						g.b = append(g.b, ',')
					}
				}
				g.b = append(g.b, ']')
			})
		}
		g.object(members)
	}
}

// any writes a random JSON value nested at most depth deep.
func (g *gen) any(depth int) {
	switch k := g.r.IntN(7); {
	case k == 0 || depth == 0 && k >= 4:
		g.text()
	case k == 1:
		g.number()
	case k == 2:
		g.b = append(g.b, []string{"true", "false", "null"}[g.r.IntN(3)]...)
	case k == 3 && depth > 0:
		g.b = append(g.b, '[')
		g.ws()
		for i := g.r.IntN(4); i > 0; i-- {
			g.any(depth - 1)
			g.ws()
			if i > 1 {
				g.b = append(g.b, ',')
				g.ws()
			}
		}
		g.b = append(g.b, ']')
	default:
		var members []func()
		for i := g.r.IntN(4); i > 0; i-- {
			members = append(members, func() {
				g.b = append(g.b, '"')
				g.textBody()
				g.b = append(g.b, '"')
				g.colon()
				g.any(depth - 1)
			})
		}
		g.object(members)
	}
}

func (g *gen) number() {
	if g.chance(0.5) {
		g.b = append(g.b, '-')
	}
	g.b = strconv.AppendInt(g.b, g.r.Int64N(1000), 10)
	if g.chance(0.3) {
		g.b = append(g.b, '.')
		g.b = strconv.AppendInt(g.b, g.r.Int64N(1000), 10)
	}
	if g.chance(0.2) {
		g.b = append(g.b, "eE"[g.r.IntN(2)])
		if g.chance(0.5) {
			g.b = append(g.b, "+-"[g.r.IntN(2)])
		}
		g.b = strconv.AppendInt(g.b, g.r.Int64N(30), 10)
	}
}

func (g *gen) text() {
	g.b = append(g.b, '"')
	g.textBody()
	g.b = append(g.b, '"')
}

// textBody writes a string body out of tricky pieces, escaped or not.
func (g *gen) textBody() {
	pieces := []string{
		"hello", " ", "kafka", "é", "杭州", "😀", "/", "\u2028", "\x7f", "\uFFFD", "a\"b", "c\\d", "\n", "\t", "\x01", "\x00", "\x1f",
	}
	raw := []string{
		`\ud83d\ude00`, `\uD83D\uDE00`, `\ud800`, `\udc00`, `\ud800\u0041`, `\ud800\ud800\udc00`, `\udbff\udfff`, `\u0000`, `\/`, `\u00e9`,
		"\xff", "\xc3", "\xed\xa0\x80", "\xf0\x9f\x98",
	}
	for n := g.r.IntN(8); n > 0; n-- {
		if g.chance(0.2) {
			g.b = append(g.b, raw[g.r.IntN(len(raw))]...)
		} else {
			g.escape([]byte(pieces[g.r.IntN(len(pieces))]))
		}
	}
	if g.chance(0.05) {
		// A long run, to go through the eight-bytes-at-a-time path.
		for i := g.r.IntN(200); i > 0; i-- {
			g.b = append(g.b, "abcdefgh"[i%8])
		}
	}
}

// stringOf writes s as a JSON string, escaping what must be escaped and,
// at random, some of what need not be.
func (g *gen) stringOf(s []byte) {
	g.b = append(g.b, '"')
	g.escape(s)
	g.b = append(g.b, '"')
}

func (g *gen) escape(s []byte) {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r == '"' || r == '\\' || r < 0x20 && r != '\n':
			if g.chance(0.5) && r >= 0x20 {
				g.b = append(g.b, '\\', byte(r))
			} else {
				g.b = append(g.b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
			}
		case r == '\n':
			g.b = append(g.b, `\n`...)
		case r == '/' && g.chance(0.5):
			g.b = append(g.b, `\/`...)
		case r == utf8.RuneError && n == 1:
			g.b = append(g.b, s[i]) // invalid UTF-8 stays invalid
		case g.chance(0.1):
			if r >= 0x10000 {
				r -= 0x10000
				g.b = fmt.Appendf(g.b, `\u%04x\u%04X`, 0xD800+(r>>10), 0xDC00+(r&0x3ff))
			} else {
				g.b = fmt.Appendf(g.b, `\u%04X`, r)
			}
		default:
			g.b = append(g.b, s[i:i+n]...)
		}
		i += n
	}
}

// TestEquivalence checks Decode against the encoding/json reference on many
// generated payloads: the same records, or an error from both.
func TestEquivalence(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	failures, errs := 0, 0
	for _, enc := range []events.ValueEncoding{events.Text, events.Base64} {
		g := &gen{r: rand.New(rand.NewPCG(1, uint64(enc))), enc: enc}
		dec, err := events.NewDecoder(events.WithValueEncoding(enc))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n && failures < 5; i++ {
			payload := g.payload()
			if d := compareWithRef(payload, enc); d != "" {
				failures++
				t.Errorf("%v payload %d: %s\npayload: %s", enc, i, d, payload)
			}
			// The same through a Decoder that reuses its memory.
			if d := compareDecoderWithRef(dec, payload, enc); d != "" {
				failures++
				t.Errorf("%v payload %d: %s\npayload: %s", enc, i, d, payload)
			}
			if _, err := events.Decode(payload, events.WithValueEncoding(enc)); err != nil {
				errs++
			}
		}
	}
	t.Logf("%d of %d payloads invalid", errs, 2*n)
	// Most payloads should be valid, or the test compares little.
	if errs > 2*n/5 {
		t.Errorf("%d of %d payloads are invalid", errs, 2*n)
	}
}

// TestEquivalenceMutated corrupts generated payloads a byte or two at a time:
// both decoders must reject the same ones, and agree on the rest.
func TestEquivalenceMutated(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	g := &gen{r: rand.New(rand.NewPCG(2, 2))}
	failures := 0
	for i := 0; i < n && failures < 5; i++ {
		payload := g.payload()
		if len(payload) == 0 {
			continue
		}
		for k := g.r.IntN(2) + 1; k > 0; k-- {
			p := g.r.IntN(len(payload))
			switch g.r.IntN(3) {
			case 0:
				payload = append(payload[:p], payload[p+1:]...)
			case 1:
				payload[p] = `"\{}[],:0-.eu "`[g.r.IntN(15)]
			default:
				payload = payload[:p]
			}
			if len(payload) == 0 {
				break
			}
		}
		if d := compareWithRef(payload, events.Text); d != "" {
			failures++
			t.Errorf("mutated payload %d: %s\npayload: %q", i, d, payload)
		}
	}
}

// compareWithRef decodes payload with Decode and with the reference and
// describes any disagreement.
// It also decodes a copy with InPlace, which must agree as well.
func compareWithRef(payload []byte, enc events.ValueEncoding) string {
	got, err := events.Decode(payload, events.WithValueEncoding(enc))
	if d := compareRecordsWithRef(got, err, payload, enc); d != "" {
		return d
	}
	scratch := append([]byte(nil), payload...)
	got, err = events.Decode(scratch, events.WithValueEncoding(enc), events.InPlace())
	if d := compareRecordsWithRef(got, err, payload, enc); d != "" {
		return "InPlace: " + d
	}
	return ""
}

func compareDecoderWithRef(dec *events.Decoder, payload []byte, enc events.ValueEncoding) string {
	got, err := dec.Decode(payload)
	return compareRecordsWithRef(got, err, payload, enc)
}

func compareRecordsWithRef(got []events.Record, err error, payload []byte, enc events.ValueEncoding) string {
	want, refErr := refDecode(payload, enc)
	switch {
	case err != nil && refErr != nil:
		return ""
	case err != nil:
		return fmt.Sprintf("Decode: %v; the reference accepts it", err)
	case refErr != nil:
		return fmt.Sprintf("the reference: %v; Decode accepts it", refErr)
	}
	return diffRecords(got, want)
}
