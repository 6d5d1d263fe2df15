package ossstore

import (
	"errors"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/osstest"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// TestListReportsStorageClass: List and ListPage (one page at a time)
// report each object's class through the SDK: as written, the bucket's
// default for objects written without one, and as a lifecycle rule moved
// it (an appendable object to Archive included).
func TestListReportsStorageClass(t *testing.T) {
	srv := newServer(t, osstest.WithDefaultStorageClass(osstest.ClassIA))
	s := newStore(t, srv, "classes")
	ctx := t.Context()
	want := map[string]store.StorageClass{}
	for _, c := range store.StorageClasses {
		k := "c/" + string(c)
		if err := s.Put(ctx, k, []byte(k), store.WithStorageClass(c)); err != nil {
			t.Fatal(err)
		}
		want[k] = c
	}
	if err := s.Put(ctx, "c/default", []byte("x")); err != nil {
		t.Fatal(err)
	}
	want["c/default"] = store.IA
	if _, err := s.Append(ctx, "c/log", 0, []byte("appended"), store.WithStorageClass(store.Standard)); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetStorageClassDirect("classes", "c/log", osstest.ClassArchive); err != nil {
		t.Fatal(err)
	}
	want["c/log"] = store.Archive

	check := func(how string, infos []store.Info) {
		t.Helper()
		for _, in := range infos {
			if w, ok := want[in.Key]; !ok || in.StorageClass != w {
				t.Errorf("%s: %s has class %q, want %q", how, in.Key, in.StorageClass, w)
			}
			if in.Appendable != (in.Key == "c/log") {
				t.Errorf("%s: %s appendable %v", how, in.Key, in.Appendable)
			}
		}
	}
	infos, err := s.List(ctx, "c/")
	if err != nil || len(infos) != len(want) {
		t.Fatalf("List: %d objects, %v; want %d", len(infos), err, len(want))
	}
	check("List", infos)
	after, n := "", 0
	for {
		page, more, err := s.ListPage(ctx, "c/", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		check("ListPage", page)
		n += len(page)
		if !more {
			break
		}
		after = page[len(page)-1].Key
	}
	if n != len(want) {
		t.Fatalf("ListPage: %d objects, want %d", n, len(want))
	}
	// The appendable object moved to Archive is refused until restored.
	if _, err := s.Get(ctx, "c/log"); !errors.Is(err, store.ErrNotRestored) {
		t.Fatalf("Get of the archived appendable object: %v", err)
	}
	if in, err := s.Stat(ctx, "c/log"); err != nil || in.StorageClass != store.Archive || !in.Appendable || in.Restore != store.RestoreNone {
		t.Fatalf("Stat of the archived appendable object: %+v, %v", in, err)
	}
}

// TestStatReportsRestoreThroughExpiry follows one object's restore
// through Stat: none, in progress, done with the expiry the server sets
// (readable, GetRange included), and after the expiry none again (reads
// refused, a new restore accepted with 202).
func TestStatReportsRestoreThroughExpiry(t *testing.T) {
	clock := osstest.NewManualClock(time.Date(2026, 6, 7, 8, 9, 10, 0, time.UTC))
	srv := newServer(t, osstest.WithClock(clock.Now), osstest.WithRestoreDelay(func(class, tier string) time.Duration {
		if class != osstest.ClassDeepColdArchive || tier != osstest.TierExpedited {
			t.Errorf("restore of %s with tier %q", class, tier)
		}
		return 12 * time.Hour
	}))
	s := newStore(t, srv, "expiry")
	ctx := t.Context()
	if err := s.Put(ctx, "deep", []byte("deep data"), store.WithStorageClass(store.DeepColdArchive)); err != nil {
		t.Fatal(err)
	}
	stat := func(want store.RestoreState) store.Info {
		t.Helper()
		in, err := s.Stat(ctx, "deep")
		if err != nil || in.StorageClass != store.DeepColdArchive || in.Restore != want {
			t.Fatalf("Stat = {%q %v %v}, %v; want %v", in.StorageClass, in.Restore, in.RestoreExpiry, err, want)
		}
		return in
	}
	stat(store.RestoreNone)
	if got, err := s.Restore(ctx, "deep", 2, store.TierExpedited); err != nil || got != store.RestoreRequested {
		t.Fatalf("Restore = %v, %v", got, err)
	}
	if in := stat(store.RestoreInProgress); !in.RestoreExpiry.IsZero() {
		t.Fatalf("an expiry while in progress: %v", in.RestoreExpiry)
	}
	clock.Advance(12 * time.Hour)
	in := stat(store.RestoreDone)
	if want := clock.Now().Add(48 * time.Hour); !in.RestoreExpiry.Equal(want) {
		t.Fatalf("RestoreExpiry %v, want %v", in.RestoreExpiry, want)
	}
	if b, err := s.GetRange(ctx, "deep", 5, 4); err != nil || string(b) != "data" {
		t.Fatalf("GetRange of the restored copy = %q, %v", b, err)
	}
	clock.Advance(48 * time.Hour)
	stat(store.RestoreNone)
	if _, err := s.Get(ctx, "deep"); !errors.Is(err, store.ErrNotRestored) {
		t.Fatalf("Get after the copy expired: %v", err)
	}
	if got, err := s.Restore(ctx, "deep", 1, store.TierExpedited); err != nil || got != store.RestoreRequested {
		t.Fatalf("Restore after the copy expired = %v, %v", got, err)
	}
	// A Bulk restore of a DeepColdArchive object is OSS's 400: permanent.
	if _, err := s.Restore(ctx, "deep", 1, store.TierBulk); err == nil || !store.IsPermanent(err) {
		t.Fatalf("Bulk restore of a DeepColdArchive object: %v, want a permanent error", err)
	}
}
