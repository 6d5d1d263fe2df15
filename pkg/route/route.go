package route

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	// The zone database is compiled in: FC's runtime may have no
	// /usr/share/zoneinfo, and every instance must render the same folders.
	_ "time/tzdata"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

// Limits of a template and of what data may put in a folder.
const (
	// MaxLiteral is the longest literal text between two tokens.
	MaxLiteral = 512
	// MaxValue is the longest value, after escaping, that a data-derived
	// token ({key}, {header:NAME}, {value:PATH}) may put in a folder.
	MaxValue = 128
)

// DefaultTemplate is SINK_FOLDER's default: the layout from before routing.
const DefaultTemplate = "{topic}/"

type kind uint8

const (
	kLiteral kind = iota
	kTopic
	kPartition
	kYear
	kMonth
	kDay
	kHour
	kMinute
	kKey
	kHeader
	kValue
)

// tokens maps the names of the simple tokens to their kinds.
var tokens = map[string]kind{
	"topic": kTopic, "partition": kPartition,
	"yyyy": kYear, "MM": kMonth, "dd": kDay, "HH": kHour, "mm": kMinute,
	"key": kKey,
}

const known = "{topic} {partition} {yyyy} {MM} {dd} {HH} {mm} {key} {header:NAME} {value:PATH}"

type part struct {
	kind kind
	text string // the literal text, or the token as written ("{value:user.id}")
	name string // {header:NAME}
	path field.Path
}

// Router renders one template. It is immutable and safe for concurrent use.
type Router struct {
	template string // normalized: ends in '/'
	loc      *time.Location
	zone     offsets
	parts    []part
	timeTok  string // the first time token, for "no timestamp"; "" if none
	dynamic  int    // index of the first record-dependent part; len(parts) if none
	maxLen   int
}

// TemplateError is New's error: what is wrong at which 1-based byte
// position of the template.
type TemplateError struct {
	Pos    int
	Reason string
}

func (e *TemplateError) Error() string {
	return "SINK_FOLDER: position " + strconv.Itoa(e.Pos) + ": " + e.Reason
}

// Error says why a record's folder cannot be computed: which token, and why
// (see the package doc). It never holds the record's contents.
type Error struct {
	Token  string // as written in the template, e.g. "{value:user.id}"
	Reason string
}

func (e *Error) Error() string {
	return "cannot compute the folder (SINK_FOLDER " + e.Token + "): " + e.Reason
}

// New parses template (see the package doc). Time tokens render in loc; a
// nil loc is UTC.
func New(template string, loc *time.Location) (*Router, error) {
	if loc == nil {
		loc = time.UTC
	}
	if template == "" {
		return nil, &TemplateError{Pos: 1, Reason: "empty template (the default is " + DefaultTemplate + ")"}
	}
	if err := checkChars(template); err != nil {
		return nil, err
	}
	t := template
	if !strings.HasSuffix(t, "/") {
		t += "/"
	}
	p := parser{t: t, r: &Router{template: t, loc: loc}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	r := p.r
	if r.timeTok != "" {
		r.zone = newOffsets(loc)
	}
	r.dynamic = len(r.parts)
	for i, pt := range r.parts {
		if pt.kind >= kYear {
			r.dynamic = i
			break
		}
	}
	for _, pt := range r.parts {
		r.maxLen += maxWidth(pt)
	}
	return r, nil
}

// checkChars refuses what may not appear anywhere in a template.
func checkChars(t string) error {
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return &TemplateError{Pos: i + 1, Reason: fmt.Sprintf("control character %#02x", c)}
		case c == '\\':
			return &TemplateError{Pos: i + 1, Reason: `'\' is not allowed (folders are separated by '/')`}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(t[i:])
			if r == utf8.RuneError && n == 1 {
				return &TemplateError{Pos: i + 1, Reason: "not UTF-8"}
			}
			i += n
			continue
		}
		i++
	}
	return nil
}

type parser struct {
	t string
	r *Router

	lit      strings.Builder // the literal text being collected
	litStart int             // its position in t

	segStart int  // position in t of the current segment
	segLen   int  // literal bytes in the current segment
	segDots  bool // whether they are all '.'
	segToken bool // whether it holds a token
}

func (p *parser) parse() error {
	t := p.t
	if t[0] == '/' {
		return &TemplateError{Pos: 1, Reason: "leading '/' (the folder is relative to OSS_PREFIX)"}
	}
	p.segDots = true
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(t) && t[i+1] == c:
			p.literal(i, c)
			i += 2
		case c == '{':
			j := strings.IndexByte(t[i+1:], '}')
			if j < 0 {
				return &TemplateError{Pos: i + 1, Reason: "unclosed '{' (write {{ for a literal brace)"}
			}
			tok := t[i : i+j+2]
			pt, err := token(tok, i)
			if err != nil {
				return err
			}
			if err := p.flush(); err != nil {
				return err
			}
			p.r.parts = append(p.r.parts, pt)
			p.segToken = true
			if pt.kind >= kYear && pt.kind <= kMinute && p.r.timeTok == "" {
				p.r.timeTok = tok
			}
			i += len(tok)
		case c == '}':
			return &TemplateError{Pos: i + 1, Reason: "'}' without '{' (write }} for a literal brace)"}
		case c == '/':
			if err := p.endSegment(i); err != nil {
				return err
			}
			p.literal(i, c)
			p.segStart, p.segLen, p.segDots, p.segToken = i+1, 0, true, false
			i++
		default:
			p.literal(i, c)
			i++
		}
	}
	return p.flush()
}

func (p *parser) literal(i int, c byte) {
	if p.lit.Len() == 0 {
		p.litStart = i
	}
	p.lit.WriteByte(c)
	if c != '/' {
		p.segLen++
		p.segDots = p.segDots && c == '.'
	}
}

func (p *parser) flush() error {
	if p.lit.Len() == 0 {
		return nil
	}
	if p.lit.Len() > MaxLiteral {
		return &TemplateError{Pos: p.litStart + 1, Reason: fmt.Sprintf("literal text of %d bytes (at most %d between tokens)", p.lit.Len(), MaxLiteral)}
	}
	p.r.parts = append(p.r.parts, part{kind: kLiteral, text: p.lit.String()})
	p.lit.Reset()
	return nil
}

// endSegment checks the segment that the '/' at i ends. A segment with a
// token is never empty, "." or "..": data values are never empty and their
// dots are escaped, topics are never "." or "..".
func (p *parser) endSegment(i int) error {
	if i > p.segStart && p.t[p.segStart] == '.' && !(p.segDots && p.segLen <= 2 && !p.segToken) {
		// Names starting with '.' are the sink's own (.oss_meta_file_…,
		// .oss_index_…) and the local store's: a folder must not be one.
		return &TemplateError{Pos: p.segStart + 1, Reason: fmt.Sprintf("segment %q starts with '.' (names starting with '.' are the sink's own)", p.t[p.segStart:i])}
	}
	if p.segToken {
		return nil
	}
	switch {
	case p.segLen == 0:
		return &TemplateError{Pos: i + 1, Reason: "empty segment ('//')"}
	case p.segDots && p.segLen <= 2:
		return &TemplateError{Pos: p.segStart + 1, Reason: fmt.Sprintf("segment %q is not allowed", p.t[p.segStart:i])}
	}
	return nil
}

// token parses tok ("{name}"), found at index at of the template.
func token(tok string, at int) (part, error) {
	inner := tok[1 : len(tok)-1]
	if k, ok := tokens[inner]; ok {
		return part{kind: k, text: tok}, nil
	}
	unknown := func(why string) error {
		return &TemplateError{Pos: at + 1, Reason: "unknown token " + tok + why + "; known: " + known}
	}
	if name, ok := strings.CutPrefix(inner, "header:"); ok {
		if name == "" {
			return part{}, unknown(" (empty header name)")
		}
		return part{kind: kHeader, text: tok, name: name}, nil
	}
	if path, ok := strings.CutPrefix(inner, "value:"); ok {
		fp, err := field.ParsePath(path)
		if err != nil {
			pe := err.(*field.PathError)
			return part{}, &TemplateError{Pos: at + 1 + len("{value:") + pe.Offset, Reason: "token " + tok + ": bad path: " + pe.Reason}
		}
		return part{kind: kValue, text: tok, path: fp}, nil
	}
	return part{}, unknown("")
}

// maxWidth is the most bytes a part can render.
func maxWidth(p part) int {
	switch p.kind {
	case kLiteral:
		return len(p.text)
	case kTopic:
		return events.MaxTopicLen
	case kPartition:
		return 10
	case kYear:
		return 9 // time.UnixMilli(math.MaxInt64) is in year 292278994
	case kMonth, kDay, kHour, kMinute:
		return 2
	}
	return MaxValue
}

// String returns the template, with its trailing '/'.
func (r *Router) String() string { return r.template }

// Location returns the zone time tokens render in.
func (r *Router) Location() *time.Location { return r.loc }

// Static reports whether the template uses only {topic} and {partition}, so
// that all records of a partition share one folder.
func (r *Router) Static() bool { return r.dynamic == len(r.parts) }

// MaxLen returns the longest directory the template can render, for checks
// against the 1023-byte limit of an OSS key together with OSS_PREFIX and the
// file name.
func (r *Router) MaxLen() int { return r.maxLen }

// StaticDir returns the part of every directory of topic's partition that
// does not depend on the records: the rendered parts before the first
// record-dependent token, up to their last '/' ("orders/" for
// "{topic}/dt={yyyy}/", "" for "{key}/"); the whole directory if Static.
func (r *Router) StaticDir(topic string, partition int32) string {
	var b []byte
	for _, pt := range r.parts[:r.dynamic] {
		switch pt.kind {
		case kLiteral:
			b = append(b, pt.text...)
		case kTopic:
			b = append(b, topic...)
		case kPartition:
			b = strconv.AppendInt(b, int64(partition), 10)
		}
	}
	if !r.Static() {
		i := strings.LastIndexByte(string(b), '/')
		b = b[:i+1]
	}
	return string(b)
}
