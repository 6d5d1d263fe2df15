package verify

import (
	"maps"
	"slices"
)

// report assembles the partition's report.
func (c *checker) report() PartitionReport {
	p := PartitionReport{Topic: c.g.topic, Partition: c.g.partition, FirstOffset: -1, LastOffset: -1,
		Defects: c.defects, Epochs: []EpochReport{}}
	formats := map[objFormat]bool{}
	folders := map[string]bool{}
	for _, es := range c.epochs {
		er := c.epochReport(es)
		p.Epochs = append(p.Epochs, er)
		if es.current {
			p.Epoch = es.epoch
			p.FirstOffset, p.LastOffset, p.ExactOffsets = er.FirstOffset, er.LastOffset, er.ExactOffsets
		}
		for _, o := range es.objs {
			r := &c.res[o.idx]
			if o.size >= 0 {
				p.Objects++
				p.Bytes += o.size
				if legacyRaw(o, r) {
					p.LegacyRaw++
				}
			}
			if o.indexKey != "" {
				p.Indexes++
			}
			p.Records += r.records
			if r.unread {
				p.Unread++
				if o.class.Archived() && !c.cfg.noRead {
					p.Archived++
				}
			}
			if o.invalid {
				p.InvalidRecords += r.records
			}
			if o.size >= 0 || o.indexKey != "" {
				folders[o.folder] = true
			}
			if r.format != fmtNone {
				formats[r.format] = true
			}
			if c.cfg.details {
				or := ObjectReport{Key: o.key, Folder: o.folder, Epoch: o.epoch, NameOffset: o.nameOff,
					Format: r.format.String(), Bytes: o.size, Records: r.records, FirstOffset: r.min, LastOffset: r.max,
					RecordedBytes: o.recorded, Open: o.open, Index: o.indexKey}
				if !r.exact {
					or.FirstOffset, or.LastOffset = -1, -1
				}
				if r.seal != nil {
					or.Sealed, or.Next = true, r.seal.Next
				}
				p.ObjectList = append(p.ObjectList, or)
			}
		}
	}
	p.Folders = len(folders)
	switch len(formats) {
	case 0:
	case 1:
		for f := range formats {
			p.Format = f.String()
		}
	default:
		p.Format = "mixed"
	}
	if m := c.meta; m != nil {
		ms := &MetaState{Key: c.metaKey, Epoch: m.Epoch, Committed: m.Committed, RecordsWritten: m.Records, UpdatedAt: m.UpdatedAt,
			Writer: m.Writer, Open: []OpenObject{}}
		for _, name := range slices.Sorted(maps.Keys(m.Folders)) {
			f := m.Folders[name]
			ms.Open = append(ms.Open, OpenObject{Folder: name, Object: f.Object, Encoding: f.Encoding,
				FirstOffset: f.FirstOffset, LastOffset: f.LastOffset, Size: f.Size, IndexSize: f.IndexSize, Records: f.Records})
		}
		p.Meta = ms
	}
	slices.SortStableFunc(p.Defects, compareDefects)
	if p.Defects == nil {
		p.Defects = []Defect{}
	}
	for _, d := range p.Defects {
		if d.Severity == SeverityError {
			p.Errors++
		} else {
			p.Warnings++
		}
	}
	return p
}

// legacyRaw reports whether o is a raw object without a record index, read
// by its lines. (An object whose index exists but cannot be used is read
// the same way; its index defect says why.)
func legacyRaw(o *dataObject, r *objResult) bool {
	return o.indexKey == "" && !r.indexed && r.format == fmtRaw
}

// epochReport sums one epoch. Its offsets are exact when every object of
// the epoch is JSONL or indexed; otherwise the first offset comes from the
// object names and the last is the meta object's committed offset.
func (c *checker) epochReport(es *epochState) EpochReport {
	er := EpochReport{Epoch: es.epoch, Current: es.current, FirstOffset: -1, LastOffset: -1}
	er.Committed, er.RecordsWritten, _ = es.recorded(c.meta)
	exact, any := true, false
	minName, lo, hi := int64(-1), int64(-1), int64(-1)
	for _, o := range es.objs {
		r := &c.res[o.idx]
		if o.size >= 0 {
			er.Objects++
			er.Bytes += o.size
			if !r.exact {
				exact = false
			}
			if legacyRaw(o, r) {
				er.LegacyRaw++
			}
		}
		er.Records += r.records
		if r.records == 0 && o.size < 0 {
			continue // an index without data and records
		}
		any = true
		if minName < 0 || o.nameOff < minName {
			minName = o.nameOff
		}
		if r.exact && r.min >= 0 && (lo < 0 || r.min < lo) {
			lo = r.min
		}
		if r.exact {
			hi = max(hi, r.max)
		}
	}
	if exact && any {
		er.ExactOffsets = true
		er.FirstOffset, er.LastOffset = lo, hi
		return er
	}
	er.FirstOffset = minName
	if lo >= 0 && (er.FirstOffset < 0 || lo < er.FirstOffset) {
		er.FirstOffset = lo
	}
	if c.meta != nil {
		er.LastOffset = er.Committed
	}
	return er
}
