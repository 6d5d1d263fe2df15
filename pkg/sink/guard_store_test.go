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
