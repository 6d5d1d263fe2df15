package verify

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/objindex"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// compareMeta compares the meta object with what the objects hold, epoch
// by epoch, and follows the seals from object to object.
func (c *checker) compareMeta() {
	for _, es := range c.epochs {
		c.checkSeals(es)
	}
	c.checkFinalize()
	m := c.meta
	if m == nil {
		n := 0
		for _, o := range c.objs {
			if o.size >= 0 {
				n++
			}
		}
		if !c.metaBad && n > 0 {
			c.addf(CodeMetaMissing, c.metaKey, nil, nil,
				"%d data objects but no meta object: the sink refuses to write this partition (meta object missing) until the meta object is restored, or the objects are moved away",
				n)
		}
		return
	}
	for _, es := range c.epochs {
		if es.current {
			for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
				c.folderListed(name, m.Folders[name])
				c.compareOpen(name, m.Folders[name])
			}
		}
		c.compareEpoch(es)
	}
}

// folderListed warns when the meta object names a folder in a directory
// the run did not list: its other objects were not searched, and their
// records look missing.
func (c *checker) folderListed(name string, f *sink.Folder) {
	dir := sink.FolderDir(c.g.topic, name)
	if covered(c.dirs, dir) {
		return
	}
	c.addf(CodeFolderNotListed, f.Object, nil, nil,
		"the meta object names folder %q, in directory %q, which this run did not search: its objects other than the open one were not read, so records and objects there may be reported missing. Search the directories the sink's routing template (SINK_FOLDER) writes to: sinkctl verify --folder TEMPLATE (WithDirs)",
		name, dir)
}

// checkSeals checks that every seal hands the partition on to the next
// object of its folder, and reports the objects a seal names that are gone
// with their index: the offsets from the seal's next offset to the next
// object that exists.
func (c *checker) checkSeals(es *epochState) {
	committed, _, known := es.recorded(c.meta)
	for i, o := range es.objs {
		r := &c.res[o.idx]
		s := r.seal
		if s == nil {
			continue
		}
		if want := sink.ObjectKey(c.cfg.prefix, c.g.topic, o.folder, c.g.partition, s.NextOffset, es.epoch) + c.extOf(s.NextEnc); s.Next != want {
			c.add(Defect{Code: CodeSealMismatch, Object: o.key, Other: o.indexKey, Offset: ptr(s.NextOffset),
				Message: fmt.Sprintf("its index seals it with next object %s for offset %d, but this partition's object for that offset in epoch %d is %s", s.Next, s.NextOffset, es.epoch, want)})
			continue
		}
		if r.max >= 0 && s.NextOffset <= r.max {
			c.add(Defect{Code: CodeSealMismatch, Object: o.key, Other: o.indexKey, Offset: ptr(s.NextOffset),
				Message: fmt.Sprintf("its index seals it with next offset %d, but it holds offsets up to %d", s.NextOffset, r.max)})
		}
		next := nextInFolder(es, i)
		if next != nil && next.key == s.Next {
			if next.indexKey == "" && next.size >= 0 {
				// Only a sink that writes indexes seals objects, and it
				// opens none without one.
				c.add(Defect{Code: CodeIndexMissing, Object: next.key, Other: objindex.Key(next.key), Offset: ptr(next.nameOff),
					Message: fmt.Sprintf("the object has no record index, but %s is sealed with it as the next object, and the sink gives every object it opens an index: its records cannot be told apart exactly", o.key)})
			}
			continue
		}
		if next != nil && next.nameOff < s.NextOffset {
			c.add(Defect{Code: CodeSealMismatch, Object: next.key, Offset: ptr(next.nameOff), Other: o.key,
				Message: fmt.Sprintf("named for offset %d, but %s, before it, is sealed with next object %s for offset %d: no object of the protocol starts in between",
					next.nameOff, o.key, s.Next, s.NextOffset)})
			continue
		}
		var f *sink.Folder
		if es.current && c.meta != nil {
			f = c.meta.Folders[o.folder]
		}
		if f != nil && f.Object == s.Next {
			continue // the open object: compareOpen
		}
		upper := int64(-1)
		switch {
		case next != nil:
			upper = next.nameOff - 1
		case f != nil && f.FirstOffset > s.NextOffset:
			upper = f.FirstOffset - 1
		case known:
			upper = committed
		}
		if upper < s.NextOffset {
			continue // not written yet: the sink's next batch opens it
		}
		// Offsets that other folders hold are not the gone object's.
		gone := es.seen.holes(s.NextOffset, upper)
		if gone.empty() {
			continue
		}
		c.add(Defect{Code: CodeObjectMissing, Object: s.Next, Other: o.key, Offset: ptr(gone.list[0].First), Ranges: gone.ranges(),
			Message: fmt.Sprintf("%s is sealed with next object %s, but neither it nor its index exists: the records of offsets %s are gone "+
				"(offset %d for certain; others may be Kafka gaps, such as compaction, or records the sink did not store: --brokers/--group tells which records Kafka has that the store lacks)",
				o.key, s.Next, gone.String(), s.NextOffset)})
	}
}

// nextInFolder returns the object after es.objs[i] in its folder that
// still exists (data or index), or nil.
func nextInFolder(es *epochState, i int) *dataObject {
	for _, o := range es.objs[i+1:] {
		if o.folder != es.objs[i].folder {
			return nil
		}
		if o.size >= 0 || o.indexKey != "" {
			return o
		}
	}
	return nil
}

// compareEpoch compares the records of one epoch with the meta object's
// counts for it.
func (c *checker) compareEpoch(es *epochState) {
	committed, written, known := es.recorded(c.meta)
	if !known {
		return
	}
	var exactRec, rawRec int64 // recorded records, of exact objects and legacy raw lines
	var last *dataObject       // the recorded object with the largest name offset
	recMax := int64(-1)
	for _, o := range es.objs {
		r := &c.res[o.idx]
		lost := int64(0)
		if r.idx != nil {
			lost = r.idx.lostRec
		}
		if (o.recorded > 0 || lost > 0) && (last == nil || o.nameOff > last.nameOff) {
			last = o
		}
		switch {
		case r.exact && r.format == fmtJSONL && !r.indexed:
			exactRec += r.fresh
		case r.exact || r.indexed:
			exactRec += r.recRecords + lost
		default:
			rawRec += r.recRecords
		}
		if r.exact {
			recMax = max(recMax, r.recMax)
		}
		if o.open {
			continue
		}
		if o.nameOff > committed {
			if r.indexed && r.records == 0 {
				continue // announcements that never landed
			}
			ended := ""
			if !es.current {
				ended = fmt.Sprintf(" in epoch %d, which has ended: nothing will absorb them", es.epoch)
			}
			what := plural(r.records, "line")
			if r.indexed {
				what = plural(r.records, "record")
			}
			c.addf(CodeUnrecordedObject, o.key, nil, ptr(o.nameOff),
				"named for offset %d, after the committed offset %d: %s (%d bytes) that an invocation wrote and failed to record%s. %s",
				o.nameOff, committed, what, max(o.size, 0), ended, recovery(r))
			continue
		}
		var f *sink.Folder
		if es.current {
			f = c.meta.Folders[o.folder]
		}
		if f != nil && r.format == fmtRaw && !r.exact && o.nameOff > f.FirstOffset {
			c.addf(CodeOverlap, o.key, nil, ptr(o.nameOff),
				"named for offset %d, inside the range of the open object %s (offsets %d to %d): two objects claim the same offsets",
				o.nameOff, f.Object, f.FirstOffset, committed)
		}
	}
	if es.inexact {
		return
	}
	epoch := ""
	if !es.current {
		epoch = fmt.Sprintf(" of ended epoch %d", es.epoch)
	}
	switch need := written - exactRec; {
	case rawRec == 0 && exactRec != written, rawRec > 0 && rawRec < need:
		stored := exactRec + rawRec
		d := Defect{Code: CodeRecordsMismatch, Object: c.metaKey}
		what := fmt.Sprintf("the meta object's records_written%s is %d, the recorded data holds %d records", epoch, written, stored)
		if stored < written {
			gaps := c.gaps(es, committed)
			before := ""
			if first := firstNamed(es); first > 0 {
				before = fmt.Sprintf("; or before offset %d, where the first object starts", first)
			}
			if gaps.empty() {
				what += fmt.Sprintf(" (%d fewer; no gap between objects locates them%s)", written-stored, before)
			} else {
				d.Ranges = gaps.ranges()
				what += fmt.Sprintf(" (%d fewer): offsets %s are in no object: a deleted object, or Kafka gaps (compaction, transaction markers)%s; --brokers/--group tells which",
					written-stored, gaps.String(), before)
			}
		}
		if rawRec > 0 {
			what += " (lines of raw objects without an index are counted as records)"
		}
		d.Message = what
		c.add(d)
	case rawRec > 0 && rawRec > need:
		c.addf(CodeRawUnverifiable, c.metaKey, nil, nil,
			"unverifiable exactly: the raw objects without a record index hold %d lines where the meta object's records_written%s leaves %d records for them; "+
				"a value that contains a newline (or a binary value with a 0x0A byte) makes more lines than records, so this is no proof of a duplicate. Objects written from now on have an index and are checked exactly",
			rawRec, epoch, need)
	}
	// A routed sink commits partition-wide, so a folder's open object may
	// hold records it adopted beyond the committed offset (package sink,
	// Routing); and one that drops records (WithExpected) commits the
	// offsets of records it stored nowhere.
	allowed := committed
	if es.current {
		for _, f := range c.meta.Folders {
			allowed = max(allowed, f.LastOffset)
		}
	}
	dropped := c.cfg.expected != nil && recMax < committed
	if last != nil && c.res[last.idx].exact && recMax >= 0 && (recMax < committed || recMax > allowed) && !dropped {
		what := "records up to the committed offset are missing"
		if recMax > committed {
			what = "recorded data holds offsets past the committed offset"
			if allowed > committed {
				what += fmt.Sprintf(" and past every folder's last offset (%d)", allowed)
			}
		} else {
			what += " (or, if the sink filters or drops records, SINK_FILTER or SINK_INVALID=drop, the last ones were dropped: give verify the sink's settings)"
		}
		c.addf(CodeCommittedMismatch, c.metaKey, nil, ptr(committed),
			"the meta object's committed_offset%s is %d, the last recorded offset is %d: %s", epoch, committed, recMax, what)
	}
}

// firstNamed returns the smallest name offset of es's objects, -1 if none.
func firstNamed(es *epochState) int64 {
	first := int64(-1)
	for _, o := range es.objs {
		if first < 0 || o.nameOff < first {
			first = o.nameOff
		}
	}
	return first
}

// gaps returns the offsets, up to committed, that fall between the objects
// of each folder of es: candidates for deleted objects. A seal proves that
// its next offset follows its records, so sealed objects leave no gap;
// legacy raw objects are taken to hold one offset per line. With several
// folders, see unionGaps.
func (c *checker) gaps(es *epochState, committed int64) rangeList {
	if len(es.objs) > 0 && es.objs[0].folder != es.objs[len(es.objs)-1].folder {
		return c.unionGaps(es, committed)
	}
	var out []Range
	for i, o := range es.objs {
		r := &c.res[o.idx]
		var next *dataObject
		if i+1 < len(es.objs) && es.objs[i+1].folder == o.folder {
			next = es.objs[i+1]
		}
		last := r.max
		if !r.exact {
			last = o.nameOff + r.records - 1
		}
		if r.seal != nil {
			last = r.seal.NextOffset - 1
		}
		if last < o.nameOff-1 {
			last = o.nameOff - 1
		}
		end := committed
		if next != nil {
			end = min(next.nameOff-1, committed)
		} else if !r.exact {
			continue // the meta object's committed offset tells nothing of a raw line count
		}
		if last+1 <= end {
			out = append(out, Range{last + 1, end})
		}
	}
	slices.SortFunc(out, func(a, b Range) int { return int(a.First - b.First) })
	var l rangeList
	for _, r := range out {
		l.add(r.First, r.Last)
	}
	return l
}

// unionGaps returns the offsets, from the first object's name to
// committed, that no folder of es holds: a record stored in any folder
// covers its offset. A seal proves nothing here (the folder's next offset
// follows, but the offsets in between may be in other folders), so Kafka
// gaps and records the sink dropped (filters) are among them too. Objects
// whose data is gone cover the offsets their index says landed (reported
// as data_missing); legacy raw objects one offset per line from their name.
func (c *checker) unionGaps(es *epochState, committed int64) rangeList {
	var held []Range
	for _, s := range es.seen.spans {
		held = append(held, Range{s.lo, s.hi})
	}
	for _, o := range es.objs {
		r := &c.res[o.idx]
		if !r.exact && r.records > 0 {
			held = append(held, Range{o.nameOff, o.nameOff + r.records - 1})
		}
		if r.idx != nil {
			held = append(held, r.idx.lost.ranges()...)
		}
	}
	slices.SortFunc(held, func(a, b Range) int { return cmp.Compare(a.First, b.First) })
	var l rangeList
	next := firstNamed(es)
	if next < 0 {
		return l
	}
	for _, h := range held {
		if h.First > next && next <= committed {
			l.add(next, min(h.First-1, committed))
		}
		next = max(next, h.Last+1)
	}
	if next <= committed {
		l.add(next, committed)
	}
	return l
}

// compareOpen checks one folder's open object against the meta object.
func (c *checker) compareOpen(name string, f *sink.Folder) {
	o := c.object(f.Object)
	if o == nil && c.lookupFailed[f.Object] {
		return
	}
	if o == nil || o.size < 0 {
		if f.Size == 0 {
			return // announced by a seal; nothing landed yet
		}
		d := Defect{Code: CodeOpenObjectMissing, Object: f.Object, Offset: ptr(f.FirstOffset), Ranges: []Range{{f.FirstOffset, f.LastOffset}}}
		held := fmt.Sprintf("offsets %d to %d", f.FirstOffset, f.LastOffset)
		if o != nil {
			if r := &c.res[o.idx]; r.idx != nil && !r.idx.lost.empty() {
				d.Ranges, d.Other = r.idx.lost.ranges(), o.indexKey
				held = "by its index, offsets " + r.idx.lost.String()
			}
		}
		d.Message = fmt.Sprintf("the meta object records open object %s for folder %q (%d records, %d bytes, %s), but it does not exist: those records are gone",
			f.Object, name, f.Records, f.Size, held)
		c.add(d)
		return
	}
	r := &c.res[o.idx]
	if !r.read {
		return // unreadable, reported
	}
	if o.size < f.Size {
		c.addf(CodeOpenObjectSize, o.key, nil, nil,
			"the object holds %d bytes, the meta object records %d: recorded data is gone", o.size, f.Size)
		return
	}
	if r.indexed {
		c.compareOpenIndexed(o, f, r)
		return
	}
	if f.IndexSize > 0 && o.indexKey == "" {
		// (An index that exists but cannot be used is reported as such.)
		c.add(Defect{Code: CodeIndexMissing, Object: o.key, Other: objindex.Key(o.key),
			Message: fmt.Sprintf("the meta object records index_size %d, but the object's record index does not exist: its records cannot be told apart exactly", f.IndexSize)})
	}
	if !r.boundary {
		c.addf(CodeOpenObjectSize, o.key, &Position{Byte: f.Size}, nil,
			"the recorded size %d is not at the end of a line", f.Size)
		return
	}
	switch {
	case r.recRecords == f.Records:
	case r.format == fmtRaw && r.recRecords > f.Records:
		c.addf(CodeRawUnverifiable, o.key, nil, nil,
			"unverifiable exactly: the recorded %d bytes hold %d lines, the meta object records %d records; without a record index a raw value containing a newline makes more lines than records, so this is no proof of a duplicate",
			f.Size, r.recRecords, f.Records)
	default:
		c.addf(CodeOpenObjectRecords, o.key, nil, nil,
			"the recorded %d bytes hold %d lines, the meta object records %d records", f.Size, r.recRecords, f.Records)
	}
	if o.nameOff != f.FirstOffset {
		c.addf(CodeOpenObjectOffsets, o.key, nil, ptr(o.nameOff),
			"named for offset %d, the meta object records first_offset %d", o.nameOff, f.FirstOffset)
	}
	if r.format == fmtJSONL && r.recLast >= 0 && r.recLast != f.LastOffset {
		c.addf(CodeOpenObjectOffsets, o.key, nil, ptr(r.recLast),
			"the last recorded record has offset %d, the meta object records last_offset %d", r.recLast, f.LastOffset)
	}
	if extra := o.size - f.Size; extra > 0 && !r.torn {
		c.addf(CodeUnrecordedTail, o.key, &Position{Byte: f.Size, Line: r.recRecords + 1}, nil,
			"%d bytes (%s) past the recorded size %d: written by an invocation that failed before recording them. %s",
			extra, plural(r.tailLines, "whole line"), f.Size, recovery(r))
	}
}

// compareOpenIndexed checks the open object's index against the meta
// object: the first index_size bytes of the index must resolve to exactly
// the recorded size, records and last offset.
func (c *checker) compareOpenIndexed(o *dataObject, f *sink.Folder, r *objResult) {
	p := r.idx.rec
	bad := func(format string, args ...any) {
		c.add(Defect{Code: CodeOpenObjectSize, Object: o.key, Other: o.indexKey, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case p == nil:
		return
	case p.shortIndex:
		bad("its record index holds %d bytes, the meta object records index_size %d: recorded index entries are gone", o.indexSize, f.IndexSize)
		return
	case p.midEntry:
		bad("the meta object's index_size %d is not at the end of an entry of its record index", f.IndexSize)
		return
	case p.err != nil:
		bad("the recorded state (index_size %d, size %d) does not resolve: %v", f.IndexSize, f.Size, p.err)
		return
	case p.midAppend:
		bad("the recorded size %d falls inside an append its index says landed", f.Size)
		return
	case p.end != f.Size:
		bad("the first %d bytes of its record index account for %d data bytes, the meta object records size %d", f.IndexSize, p.end, f.Size)
		return
	}
	if p.records != f.Records {
		c.add(Defect{Code: CodeOpenObjectRecords, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its recorded index entries hold %d records, the meta object records %d", p.records, f.Records)})
	}
	if f.Records > 0 && p.last != f.LastOffset {
		c.add(Defect{Code: CodeOpenObjectOffsets, Object: o.key, Other: o.indexKey, Offset: ptr(p.last),
			Message: fmt.Sprintf("its last recorded record has offset %d, the meta object records last_offset %d", p.last, f.LastOffset)})
	}
	if enc := r.idx.enc; enc != "" && enc != f.Encoding {
		c.add(Defect{Code: CodeOpenObjectEncoding, Object: o.key, Other: o.indexKey,
			Message: fmt.Sprintf("its index says its records are in encoding %s, the meta object records %s: the sink only appends records of one encoding to an object", enc, f.Encoding)})
	}
	if t := r.idx; t.tailRecords > 0 {
		c.add(Defect{Code: CodeUnrecordedTail, Object: o.key, Other: o.indexKey, Pos: &Position{Byte: f.Size}, Offset: ptr(t.tail.list[0].First),
			Ranges: t.tail.ranges(),
			Message: fmt.Sprintf("%d bytes past the recorded size %d hold %s (offsets %s) that its index says landed: written by an invocation that failed before recording them. %s",
				t.tailBytes, f.Size, plural(t.tailRecords, "record"), t.tail.String(), recovery(r))})
	}
}

// recovery says what becomes of unrecorded records.
func recovery(r *objResult) string {
	if r.torn || r.tailBad {
		return "They are not records the sink can absorb (see the errors of this object): its next batch for this partition will stop with a conflict"
	}
	return "Pending recovery: the sink's next batch for this partition absorbs them " +
		"(it stops with a conflict instead if they are not the records Kafka redelivers)"
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
