package verify

import (
	"errors"
	"strconv"
	"strings"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// Data objects in an archive class (Archive, ColdArchive, DeepColdArchive)
// refuse reads until restored, and with WithoutReading none is read: such
// an object is checked from what can be known without its bytes. Its name
// was derived as the sink derives it (assignEpochs, nameSuffix, as for
// every object); its record index (Standard, always readable) must
// resolve against its size, without CRCs (index_inconsistent otherwise),
// and the first record it names must be the name's offset; the tags and
// user metadata the sink puts on objects written final (first and last
// offset, records, topic, partition) must say what the index says
// (tag_mismatch). An archived object not restored is reported (archived,
// a warning: its bytes were not checked), so that a run never fails on
// store.ErrNotRestored nor passes for having read what it did not.

// frozen reports whether o's bytes are in an archive class without a
// finished restore (one Stat, kept for checkUnread). The staging object of
// a staged encoding, read while it exists, is always Standard.
func (c *checker) frozen(o *dataObject) bool {
	if o.size < 0 || o.src != o.key || !o.class.Archived() {
		return false
	}
	in := c.objectInfo(o)
	return in == nil || in.Restore != store.RestoreDone
}

// objectInfo returns o's Stat, looking it up once; nil when that fails
// (reported as unreadable).
func (c *checker) objectInfo(o *dataObject) *store.Info {
	if o.info != nil {
		return o.info
	}
	in, err := c.st.Stat(c.ctx, o.key)
	if err != nil {
		if c.ctx.Err() == nil {
			c.addf(CodeUnreadable, o.key, nil, nil, "cannot look up the object: %v", err)
		}
		return nil
	}
	o.info = &in
	o.class = in.StorageClass
	return o.info
}

// checkUnread checks o without reading its bytes (see above).
func (c *checker) checkUnread(es *epochState, o *dataObject) objResult {
	r := objResult{min: -1, max: -1, recMax: -1, recLast: -1, freshMin: -1}
	if o.size < 0 {
		// Only its index exists: nothing to read either way.
		if o.indexKey != "" {
			if res, ok := c.checkIndexed(es, o); ok {
				return res
			}
		}
		return r
	}
	r.unread = true
	archived := o.class.Archived() && o.src == o.key
	if archived && !c.cfg.noRead {
		c.addf(CodeArchived, o.key, nil, nil,
			"the object is in the storage class %s and not restored: its bytes cannot be read, so its CRCs and records were not checked (only its name, size, index and tags). "+
				"Restore it to check it (sinkctl restore requests the restores it needs; or OSS RestoreObject), or check names, sizes and tags only (--metadata-only)", o.class)
	}
	if o.indexKey == "" {
		// A legacy object: nothing but its name and size to go by.
		es.inexact = true
		return r
	}
	opts := &walkOpts{dataLen: o.size, rec: c.openFolder(o), recordedEnd: o.recorded, unread: !o.built, built: o.built,
		forced: map[int64]bool{}, recForced: map[int64]bool{}, crcs: map[crcKey]bool{}}
	w := c.walk(o, opts)
	if c.walkFailed(es, o, w, "its record index %s cannot be used: %v",
		"its record index %s does not resolve against the object's size (its bytes not read): %v") {
		return r
	}
	r.read, r.indexed, r.exact = true, true, true
	c.fromIndex(&r, w)
	if w.enc != "" {
		r.format = formatOfEnc(w.enc)
		c.checkExt(o, w.enc)
	}
	if w.first >= 0 && w.first != o.nameOff {
		c.addf(CodeNameOffset, o.key, nil, ptr(w.first),
			"named for offset %d, but its index says its first record has offset %d", o.nameOff, w.first)
	}
	if o.src == o.key {
		// A staging object (staged records not yet written) has no
		// tags or metadata of the sink's.
		c.checkTags(o, w)
	}
	return r
}

// The keys of the tags and user metadata the sink writes on objects
// written final, each under any of its spellings: compared with letter
// case, '-', '_' and spaces removed, so that "first-offset",
// "first_offset" and "FirstOffset" are one key.
var tagKeys = map[string]string{
	"firstoffset": "first offset", "startoffset": "first offset",
	"lastoffset": "last offset", "endoffset": "last offset",
	"records": "records", "recordcount": "records",
	"topic": "topic", "partition": "partition",
}

func normTagKey(k string) string {
	k = strings.ToLower(k)
	for _, c := range []string{"-", "_", " ", "kafka"} {
		k = strings.ReplaceAll(k, c, "")
	}
	return k
}

// checkTags compares o's tags and user metadata with what its index says
// (w). Objects without them (appendable objects, earlier versions) pass.
func (c *checker) checkTags(o *dataObject, w *walkResult) {
	want := map[string]string{
		"first offset": strconv.FormatInt(w.min, 10),
		"last offset":  strconv.FormatInt(w.max, 10),
		"records":      strconv.FormatInt(w.records, 10),
		"topic":        c.g.topic,
		"partition":    strconv.Itoa(int(c.g.partition)),
	}
	if w.records == 0 {
		delete(want, "first offset")
		delete(want, "last offset")
	}
	var sources []struct {
		what string
		tags []store.Tag
	}
	if in := c.objectInfo(o); in != nil && len(in.Metadata) > 0 {
		sources = append(sources, struct {
			what string
			tags []store.Tag
		}{"user metadata", in.Metadata})
	}
	if o.info != nil && !o.info.Appendable {
		// Only objects written final (normal objects) are tagged: one
		// request each.
		tags, err := c.st.Tags(c.ctx, o.key)
		switch {
		case err == nil:
			sources = append(sources, struct {
				what string
				tags []store.Tag
			}{"tag", tags})
		case store.IsNotFound(err), errors.Is(err, store.ErrUnsupported):
			// Gone since (reported with its data), or a store that keeps
			// no tags (localstore).
		default:
			if c.ctx.Err() == nil {
				c.addf(CodeUnreadable, o.key, nil, nil, "cannot read the object's tags: %v", err)
			}
		}
	}
	for _, s := range sources {
		for _, t := range s.tags {
			name, ok := tagKeys[normTagKey(t.Key)]
			if !ok {
				continue
			}
			if v, ok := want[name]; ok && strings.TrimSpace(t.Value) != v {
				c.addf(CodeTagMismatch, o.key, nil, nil, "its %s %s=%q says the %s is %s, its record index %s says %s",
					s.what, t.Key, t.Value, name, t.Value, o.indexKey, v)
			}
		}
	}
}
