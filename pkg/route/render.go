package route

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/field"
)

// Reasons of Error (see the package doc).
const (
	reasonNoTimestamp = "no timestamp"
	reasonKeyNull     = "key is null"
	reasonNoHeader    = "header missing"
	reasonHeaderNull  = "header is null"
	reasonValueNull   = "value is null"
	reasonNotJSON     = "value is not JSON"
	reasonNoField     = "field missing"
	reasonFieldNull   = "field is null"
	reasonFieldObject = "field is an object"
	reasonFieldArray  = "field is an array"
	reasonEmpty       = "empty value"
	reasonTooLong     = "value longer than 128 bytes"
	reasonBadTopic    = "topic is not a Kafka topic name"
)

// AppendFolder appends the directory of rec (relative to OSS_PREFIX, ending
// in '/') to dst. If a token cannot be rendered it returns dst unchanged
// and a *Error.
func (r *Router) AppendFolder(dst []byte, rec *events.Record) ([]byte, error) {
	var year, month, day, hour, minute int
	if r.timeTok != "" {
		if rec.Timestamp <= 0 {
			return dst, &Error{Token: r.timeTok, Reason: reasonNoTimestamp}
		}
		year, month, day, hour, minute = r.zone.wallClock(rec.Timestamp)
	}
	start := len(dst)
	var reason string
	for i := range r.parts {
		p := &r.parts[i]
		switch p.kind {
		case kLiteral:
			dst = append(dst, p.text...)
		case kTopic:
			if !kafkaTopic(rec.Topic) {
				reason = reasonBadTopic
			}
			dst = append(dst, rec.Topic...)
		case kPartition:
			dst = strconv.AppendInt(dst, int64(rec.Partition), 10)
		case kYear:
			if year <= 9999 {
				dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10))
			} else {
				dst = strconv.AppendInt(dst, int64(year), 10)
			}
		case kMonth:
			dst = append2(dst, month)
		case kDay:
			dst = append2(dst, day)
		case kHour:
			dst = append2(dst, hour)
		case kMinute:
			dst = append2(dst, minute)
		case kKey:
			if !rec.HasKey {
				reason = reasonKeyNull
				break
			}
			dst, reason = appendValue(dst, rec.Key)
		case kHeader:
			v, ok := field.Header(rec, p.name)
			switch {
			case !ok:
				reason = reasonNoHeader
			case v.Kind != field.String:
				reason = reasonHeaderNull
			default:
				var buf [MaxValue]byte
				dst, reason = appendValue(dst, v.Text(buf[:0]))
			}
		case kValue:
			v, err := field.LookupValue(rec, p.path)
			if err != nil {
				reason = lookupReason(err)
				break
			}
			switch v.Kind {
			case field.String, field.Number, field.Bool:
				var buf [MaxValue]byte
				dst, reason = appendValue(dst, v.Text(buf[:0]))
			case field.Null:
				reason = reasonFieldNull
			case field.Object:
				reason = reasonFieldObject
			default:
				reason = reasonFieldArray
			}
		}
		if reason != "" {
			return dst[:start], &Error{Token: p.text, Reason: reason}
		}
	}
	return dst, nil
}

func lookupReason(err error) string {
	switch {
	case errors.Is(err, field.ErrNullValue):
		return reasonValueNull
	case errors.Is(err, field.ErrNotJSON):
		return reasonNotJSON
	}
	return reasonNoField
}

// wallClock returns the wall time of ms (> 0, milliseconds since the
// epoch) in the zone. It looks the offset up once (time.Time's Date and
// Clock would each look it up) and computes the civil date directly.
func (o *offsets) wallClock(ms int64) (year, month, day, hour, minute int) {
	sec := ms / 1000
	sec += o.at(sec)
	days, rem := sec/86400, sec%86400
	if rem < 0 { // the first hours of 1970 west of UTC
		days, rem = days-1, rem+86400
	}
	year, month, day = civil(days)
	return year, month, day, int(rem / 3600), int(rem % 3600 / 60)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's civil_from_days; days >= -719468, which holds for any
// time after year 0).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], from March
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = int(yoe + era*400)
	if month <= 2 {
		year++
	}
	return year, month, day
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// kafkaTopic reports whether topic is a legal Kafka topic name (as
// events.CheckTopic, without building an error), so that {topic} can be
// used unescaped.
func kafkaTopic(topic string) bool {
	if len(topic) == 0 || len(topic) > events.MaxTopicLen || topic == "." || topic == ".." {
		return false
	}
	for i := 0; i < len(topic); i++ {
		c := topic[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789ABCDEF"

// appendValue appends the escaped form of a data-derived value (see the
// package doc), or returns dst as it was and the reason it cannot.
func appendValue(dst, v []byte) ([]byte, string) {
	switch string(v) {
	case "":
		return dst, reasonEmpty
	case ".":
		return append(dst, "%2E"...), ""
	case "..":
		return append(dst, "%2E%2E"...), ""
	}
	start := len(dst)
	if v[0] == '.' {
		// A leading dot would let data name the sink's own files
		// (.oss_meta_file_…) or the local store's (.localstore-…).
		dst = append(dst, "%2E"...)
		v = v[1:]
	}
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '%' || c == '/' || c == '\\' {
				dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			} else {
				dst = append(dst, c)
			}
			i++
		} else if r, n := utf8.DecodeRune(v[i:]); r == utf8.RuneError && n == 1 {
			dst = append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
			i++
		} else {
			dst = append(dst, v[i:i+n]...)
			i += n
		}
		if len(dst)-start > MaxValue {
			return dst[:start], reasonTooLong
		}
	}
	return dst, ""
}
