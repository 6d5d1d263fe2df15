package localstore

import (
	"strings"
	"sync"
)

// dirReads lets concurrent listings of one directory share the reading of
// it. The sink lists each new partition's objects (twice: staging and
// data objects) in the topic's directory, which holds every partition's:
// 512 new partitions read a directory of up to 1,500 entries 1,024 times,
// and reading it is most of such an invocation's cpu. A listing may use a
// read of the directory only if the read began after the listing did, so
// that it reflects every change completed before the listing was asked
// for, as a read of its own would: a listing that arrives while a read is
// under way waits for the next one, which begins when that one ends and
// serves every listing that arrived meanwhile. A listing that finds no
// read under way reads at once, keeping only its own names.
type dirReads struct {
	mu sync.Mutex
	m  map[string]*dirQueue // directories being read
}

// dirQueue is the state of one directory's reads.
type dirQueue struct {
	next *dirRead // the read the listings arriving now wait for, nil if none waits yet
}

// dirRead is one shared read of a directory: every directory and regular
// file in it, not sorted.
type dirRead struct {
	done chan struct{}
	ents []dirEntry
	err  error
}

// read returns the entries of dir that m keeps, from a read of dir that
// began after the call.
func (r *dirReads) read(dir string, m nameMatch) ([]dirEntry, error) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[string]*dirQueue{}
	}
	if q := r.m[dir]; q != nil {
		// A read is under way, begun perhaps before this call: wait for
		// the next.
		if q.next == nil {
			q.next = &dirRead{done: make(chan struct{})}
		}
		rd := q.next
		r.mu.Unlock()
		<-rd.done
		if rd.err != nil {
			return nil, rd.err
		}
		var out []dirEntry
		for _, e := range rd.ents {
			if m.keepString(e.name, e.isDir) {
				out = append(out, e)
			}
		}
		return out, nil
	}
	q := &dirQueue{}
	r.m[dir] = q
	r.mu.Unlock()
	ents, err := readDir(dir, m.keep)
	r.handOff(dir, q)
	return ents, err
}

// handOff ends a read of dir: the listings that arrived during it get the
// next read, done for them all; when none arrived, dir is no longer being
// read.
func (r *dirReads) handOff(dir string, q *dirQueue) {
	r.mu.Lock()
	rd := q.next
	q.next = nil
	if rd == nil {
		delete(r.m, dir)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	go func() {
		// Every listing waiting for rd arrived before this read begins.
		rd.ents, rd.err = readDir(dir, func([]byte, bool) bool { return true })
		close(rd.done)
		r.handOff(dir, q)
	}()
}

// nameMatch says which names in a directory can hold keys that start with
// a prefix: rest is what a name must start with (the prefix less the
// directory's own key).
type nameMatch struct{ rest string }

// keep is keepString for a name in readDir's buffer, without converting it.
func (m nameMatch) keep(name []byte, isDir bool) bool {
	switch {
	case hasPrefix(name, reservedPrefix):
		return false
	case isDir:
		return hasPrefix(name, m.rest) || len(m.rest) > len(name) && m.rest[len(name)] == '/' && m.rest[:len(name)] == string(name)
	}
	return hasPrefix(name, m.rest)
}

func (m nameMatch) keepString(name string, isDir bool) bool {
	switch {
	case strings.HasPrefix(name, reservedPrefix):
		return false // the store's own files and directories: never objects
	case isDir:
		// Its keys start with name+"/": that must start with rest, or
		// rest with it (the prefix reaches below the directory).
		return strings.HasPrefix(name, m.rest) || len(m.rest) > len(name) && m.rest[len(name)] == '/' && strings.HasPrefix(m.rest, name)
	}
	return strings.HasPrefix(name, m.rest)
}
