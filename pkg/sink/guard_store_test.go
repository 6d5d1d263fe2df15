package sink

import (
	"context"
	"errors"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

// TestGuardListPage checks that a page listing is counted as a request and
// refused once the deadline has passed, like every other store call.
func TestGuardListPage(t *testing.T) {
	mem := memstore.New()
	for _, k := range []string{"p/a", "p/b", "p/c", "q/a"} {
		if err := mem.Put(t.Context(), k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	g := &guardedStore{st: mem}

	infos, more, err := g.ListPage(t.Context(), "p/", "p/a", 1)
	if err != nil || len(infos) != 1 || infos[0].Key != "p/b" || !more {
		t.Fatalf("ListPage = %+v, %v, %v; want [p/b], more, no error", infos, more, err)
	}
	if g.requests != 1 {
		t.Fatalf("requests = %d after one ListPage, want 1", g.requests)
	}

	errLate := errors.New("invocation deadline passed")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errLate)
	if _, _, err := g.ListPage(ctx, "p/", "", 0); !errors.Is(err, errLate) {
		t.Fatalf("ListPage after the deadline: error = %v, want one wrapping the deadline's cause", err)
	}
	if g.requests != 1 {
		t.Fatalf("requests = %d: a refused ListPage was counted", g.requests)
	}
}

// TestGuardLargeReads: a GetRange of largeRead bytes or more takes a place
// in the Sink's bound first, once per partition, and waits (here: fails on
// the cancelled context) while every place is held; smaller reads never
// wait; release frees the place.
func TestGuardLargeReads(t *testing.T) {
	mem := memstore.New()
	if err := mem.Put(t.Context(), "obj", make([]byte, 2*largeRead)); err != nil {
		t.Fatal(err)
	}
	bound := make(chan struct{}, 2)
	a, b, c := &guardedStore{st: mem, large: bound}, &guardedStore{st: mem, large: bound}, &guardedStore{st: mem, large: bound}
	full, cancel := context.WithCancel(t.Context())
	cancel()
	steps := []struct {
		name    string
		g       *guardedStore
		ctx     context.Context
		n       int64
		wantErr bool
		held    int // places held afterwards
	}{
		{"a small read takes no place", a, t.Context(), largeRead - 1, false, 0},
		{"a large read takes one", a, t.Context(), largeRead, false, 1},
		{"and keeps it", a, t.Context(), largeRead, false, 1},
		{"b takes the second", b, t.Context(), 2 * largeRead, false, 2},
		{"c finds none", c, full, largeRead, true, 2},
		{"c reads small ones meanwhile", c, t.Context(), largeRead - 1, false, 2},
	}
	for _, st := range steps {
		_, err := st.g.GetRange(st.ctx, "obj", 0, st.n)
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: error %v, want error %v", st.name, err, st.wantErr)
		}
		if len(bound) != st.held {
			t.Fatalf("%s: %d places held, want %d", st.name, len(bound), st.held)
		}
	}
	if c.requests != 1 {
		t.Fatalf("c made %d requests, want 1: a read that waited for a place in vain is none", c.requests)
	}
	a.release()
	if _, err := c.GetRange(t.Context(), "obj", 0, largeRead); err != nil || len(bound) != 2 {
		t.Fatalf("after a release: %v, %d places held; want the read, 2", err, len(bound))
	}
	a.release() // twice: nothing more to give back
	b.release()
	c.release()
	if len(bound) != 0 {
		t.Fatalf("%d places held after every release", len(bound))
	}
}
