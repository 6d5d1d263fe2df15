package filter

import (
	"bytes"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

// Keep reports whether rec is to be stored (see the package doc).
func (f *Filter) Keep(rec *events.Record) bool {
	keep, _ := f.Decide(rec)
	return keep
}

// Decide is Keep, and also returns the number of the rule that decided: the
// first drop rule that matched, or else the first keep rule that matched;
// 0 when no rule matched (the record is kept if there are no keep rules).
func (f *Filter) Decide(rec *events.Record) (keep bool, rule int) {
	if f == nil {
		return true, 0
	}
	for i := range f.drops {
		if f.drops[i].match(rec) {
			return false, f.drops[i].num
		}
	}
	for i := range f.keeps {
		if f.keeps[i].match(rec) {
			return true, f.keeps[i].num
		}
	}
	return len(f.keeps) == 0, 0
}

func (r *rule) match(rec *events.Record) bool {
	for i := range r.terms {
		if !r.terms[i].match(rec) {
			return false
		}
	}
	return true
}

// subject is what a term found in a record.
type subject struct {
	exists bool
	noText bool        // a header whose value is null
	raw    []byte      // the text of the value or key
	v      field.Value // or else the header's or field's value
}

func (t *term) subject(rec *events.Record) subject {
	switch t.subj {
	case subjValue:
		return subject{exists: rec.ValueKind != events.ValueNull, raw: rec.Value}
	case subjKey:
		return subject{exists: rec.HasKey, raw: rec.Key}
	case subjHeader:
		v, ok := field.Header(rec, t.name)
		return subject{exists: ok, noText: v.Kind != field.String, v: v}
	}
	v, err := field.LookupValue(rec, t.path)
	return subject{exists: err == nil, v: v}
}

func (t *term) match(rec *events.Record) bool {
	s := t.subject(rec)
	var r bool
	switch t.op {
	case opExists:
		r = s.exists
	case opMissing:
		r = !s.exists
	case opMatch:
		// No stack buffer here: regexp keeps its input in its pooled
		// matcher, which would move the buffer to the heap for every call.
		if s.hasText() {
			text := s.text(nil)
			r = (t.lits == nil || containsAny(text, t.lits)) && t.re.Match(text)
		}
	default:
		if !s.hasText() {
			break
		}
		var buf [256]byte // for a JSON string with escapes; longer ones go to the heap
		text := s.text(buf[:0])
		container := s.v.Kind == field.Object || s.v.Kind == field.Array
		switch t.op {
		case opContains:
			r = bytes.Contains(text, t.argBytes)
		case opEqual:
			r = !container && string(text) == t.arg
		case opNotEqual:
			r = container || string(text) != t.arg
		}
	}
	return r != t.not
}

// hasText reports whether the subject has text: it exists and is not a
// header whose value is null.
func (s *subject) hasText() bool { return s.exists && !s.noText }

func (s *subject) text(buf []byte) []byte {
	if s.v.Kind == field.Invalid {
		return s.raw
	}
	return s.v.Text(buf)
}
