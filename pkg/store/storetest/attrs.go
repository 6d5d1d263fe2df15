package storetest

import (
	"errors"
	"fmt"
	"hash/crc64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
)

// writeFuncs are the three writes that create an object with attributes.
var writeFuncs = []struct {
	name       string
	appendable bool
	write      func(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) error
}{
	{"Put", false, putFuncs[0].put},
	{"PutReader", false, putFuncs[1].put},
	{"Append", true, func(t *testing.T, s store.Store, key string, data []byte, opts ...store.WriteOption) error {
		_, err := s.Append(ctxFor(t), key, 0, data, opts...)
		return err
	}},
}

// wantClass checks a reported class: the one written, or for a store that
// keeps none "" or Standard.
func wantClass(t *testing.T, what string, got, want store.StorageClass, keeps bool) {
	t.Helper()
	if !keeps {
		if got != "" && got != store.Standard {
			t.Errorf("%s: StorageClass %q from a store that keeps none, want \"\" or Standard", what, got)
		}
		return
	}
	if got != want {
		t.Errorf("%s: StorageClass %q, want %q", what, got, want)
	}
}

// testAttributes: the class, encryption, tags and metadata of the write
// that creates an object come back from Stat, List, ListPage and Tags;
// later appends do not change them. A store run WithoutAttributes reports
// none, and Tags fails with ErrUnsupported.
func testAttributes(t *testing.T, s store.Store, keeps bool) {
	ctx := ctxFor(t)
	tags := []store.Tag{{Key: "topic", Value: "orders"}, {Key: "note", Value: "a b+c=d"}, {Key: "Range", Value: "0-99:x/y_z."}}
	sortedTags := []store.Tag{{Key: "Range", Value: "0-99:x/y_z."}, {Key: "note", Value: "a b+c=d"}, {Key: "topic", Value: "orders"}}
	meta := []store.Tag{{Key: "First-Offset", Value: "42"}, {Key: "topic", Value: "orders and more"}}
	wantMeta := []store.Tag{{Key: "first-offset", Value: "42"}, {Key: "topic", Value: "orders and more"}}
	for _, wf := range writeFuncs {
		t.Run(wf.name, func(t *testing.T) {
			key := "attrs/" + wf.name
			sse, keyID := "KMS", "customer-key-1"
			if wf.appendable {
				keyID = "" // appendable objects take the default key only
			}
			opts := []store.WriteOption{
				store.WithStorageClass(store.IA), store.WithSSE(sse, keyID),
				store.WithTags(tags...), store.WithMetadata(meta...),
			}
			if err := wf.write(t, s, key, []byte("abc"), opts...); err != nil {
				t.Fatalf("%s(%q) with attributes: %v", wf.name, key, err)
			}
			check := func(t *testing.T) {
				t.Helper()
				info, err := s.Stat(ctx, key)
				if err != nil {
					t.Fatalf("Stat(%q): %v", key, err)
				}
				wantClass(t, "Stat", info.StorageClass, store.IA, keeps)
				if !keeps {
					if info.SSE != "" || info.SSEKeyID != "" || len(info.Metadata) != 0 {
						t.Errorf("Stat(%q) = {SSE %q, SSEKeyID %q, Metadata %v} from a store that keeps none", key, info.SSE, info.SSEKeyID, info.Metadata)
					}
					if _, err := s.Tags(ctx, key); !errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err) {
						t.Errorf("Tags(%q) error = %v from a store that keeps none, want one wrapping store.ErrUnsupported", key, err)
					}
					return
				}
				if info.SSE != sse || info.SSEKeyID != keyID {
					t.Errorf("Stat(%q) = {SSE %q, SSEKeyID %q}, want {%q, %q}", key, info.SSE, info.SSEKeyID, sse, keyID)
				}
				if !slices.Equal(info.Metadata, wantMeta) {
					t.Errorf("Stat(%q).Metadata = %v, want %v", key, info.Metadata, wantMeta)
				}
				got, err := s.Tags(ctx, key)
				if err != nil {
					t.Fatalf("Tags(%q): %v", key, err)
				}
				if !slices.Equal(got, sortedTags) {
					t.Errorf("Tags(%q) = %v, want %v", key, got, sortedTags)
				}
			}
			check(t)
			if wf.appendable {
				n := mustAppend(t, s, key, 3, []byte("d"), store.WithStorageClass(store.Archive),
					store.WithSSE("SM4", ""), store.WithTags(store.Tag{Key: "later", Value: "1"}), store.WithMetadata(store.Tag{Key: "later", Value: "1"}))
				mustAppend(t, s, key, n, []byte("e"))
				wantContent(t, s, key, []byte("abcde"), true)
				check(t)
			} else {
				wantContent(t, s, key, []byte("abc"), false)
			}
			infos, err := s.List(ctx, key)
			if err != nil {
				t.Fatalf("List(%q): %v", key, err)
			}
			page, _, err := s.ListPage(ctx, key, "", 0)
			if err != nil {
				t.Fatalf("ListPage(%q): %v", key, err)
			}
			if len(infos) != 1 || len(page) != 1 {
				t.Fatalf("List and ListPage(%q) = %d and %d objects, want 1", key, len(infos), len(page))
			}
			wantClass(t, "List", infos[0].StorageClass, store.IA, keeps)
			wantClass(t, "ListPage", page[0].StorageClass, store.IA, keeps)
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		mustPut(t, s, "attrs/plain", []byte("x"))
		mustAppend(t, s, "attrs/plain-appendable", 0, []byte("x"))
		for _, key := range []string{"attrs/plain", "attrs/plain-appendable"} {
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if info.StorageClass != "" && info.StorageClass != store.Standard {
				t.Errorf("Stat(%q).StorageClass = %q without WithStorageClass, want Standard", key, info.StorageClass)
			}
			if len(info.Metadata) != 0 || info.SSEKeyID != "" || info.Restore != store.RestoreNone {
				t.Errorf("Stat(%q) = {Metadata %v, SSEKeyID %q, Restore %v} for a plain write", key, info.Metadata, info.SSEKeyID, info.Restore)
			}
			if !keeps {
				continue
			}
			if got, err := s.Tags(ctx, key); err != nil || len(got) != 0 {
				t.Errorf("Tags(%q) = %v, %v for an untagged object, want none", key, got, err)
			}
		}
		// A replace drops the old attributes.
		mustPut(t, s, "attrs/replaced", []byte("x"), store.WithStorageClass(store.IA), store.WithTags(tags...), store.WithMetadata(meta...))
		mustPut(t, s, "attrs/replaced", []byte("y"))
		info, err := s.Stat(ctx, "attrs/replaced")
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if info.StorageClass == store.IA || len(info.Metadata) != 0 {
			t.Errorf("Stat after a plain replace = {StorageClass %q, Metadata %v}, want the defaults", info.StorageClass, info.Metadata)
		}
		if got, err := s.Tags(ctx, "attrs/replaced"); keeps && (err != nil || len(got) != 0) {
			t.Errorf("Tags after a plain replace = %v, %v, want none", got, err)
		}
	})
	t.Run("AbsentKey", func(t *testing.T) {
		if _, err := s.Tags(ctx, "attrs/absent"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Tags of an absent key: error = %v, want one wrapping store.ErrNotFound", err)
		}
	})
}

// testWriteRefusals: every store refuses the writes OSS refuses
// (store.CheckWriteOptions) with ErrUnsupported, and writes nothing.
func testWriteRefusals(t *testing.T, s store.Store) {
	eleven := make([]store.Tag, 11)
	for i := range eleven {
		eleven[i] = store.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	both := []struct {
		name string
		opt  store.WriteOption
	}{
		{"unknown class", store.WithStorageClass("Glacier")},
		{"unknown encryption", store.WithSSE("DES", "")},
		{"key id without KMS", store.WithSSE("AES256", "key")},
		{"eleven tags", store.WithTags(eleven...)},
		{"duplicate tag", store.WithTags(store.Tag{Key: "a", Value: "1"}, store.Tag{Key: "a", Value: "2"})},
		{"tag character", store.WithTags(store.Tag{Key: "a!", Value: "1"})},
		{"empty tag key", store.WithTags(store.Tag{Key: "", Value: "1"})},
		{"long tag key", store.WithTags(store.Tag{Key: strings.Repeat("k", 129), Value: "1"})},
		{"long tag value", store.WithTags(store.Tag{Key: "k", Value: strings.Repeat("v", 257)})},
		{"metadata key", store.WithMetadata(store.Tag{Key: "under_score", Value: "1"})},
		{"metadata value", store.WithMetadata(store.Tag{Key: "k", Value: "line\nbreak"})},
		{"metadata size", store.WithMetadata(store.Tag{Key: "k", Value: strings.Repeat("v", 8<<10)})},
	}
	appendOnly := []struct {
		name string
		opt  store.WriteOption
	}{
		{"ColdArchive", store.WithStorageClass(store.ColdArchive)},
		{"DeepColdArchive", store.WithStorageClass(store.DeepColdArchive)},
		{"customer KMS key", store.WithSSE("KMS", "customer-key")},
	}
	wantRefused := func(t *testing.T, what, key string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err) {
			t.Fatalf("%s(%q) error = %v, want one wrapping store.ErrUnsupported", what, key, err)
		}
		wantAbsent(t, s, key)
	}
	for _, tc := range both {
		t.Run(tc.name, func(t *testing.T) {
			for _, wf := range writeFuncs {
				key := "refused/" + wf.name
				wantRefused(t, wf.name, key, wf.write(t, s, key, []byte("x"), tc.opt))
			}
		})
	}
	for _, tc := range appendOnly {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(ctxFor(t), "refused/append", 0, []byte("x"), tc.opt)
			wantRefused(t, "Append", "refused/append", err)
			// A Put takes it.
			mustPut(t, s, "refused/put", []byte("x"), tc.opt)
			if err := s.Delete(ctxFor(t), "refused/put"); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("limits", func(t *testing.T) {
		ten := eleven[:10]
		opts := []store.WriteOption{
			store.WithTags(append(slices.Clone(ten[:9]), store.Tag{Key: strings.Repeat("k", 128), Value: strings.Repeat("v", 256)})...),
			store.WithMetadata(store.Tag{Key: "k", Value: strings.Repeat("v", 8<<10-1)}),
		}
		for _, wf := range writeFuncs {
			key := "limits/" + wf.name
			if err := wf.write(t, s, key, []byte("x"), opts...); err != nil {
				t.Errorf("%s(%q) at the limits: %v", wf.name, key, err)
			}
		}
	})
}

// testArchived: objects of an archive class refuse Get and GetRange with
// ErrNotRestored until a restore finished; Restore answers Requested, then
// InProgress (for a store whose restores wait: WithCompleteRestore) and
// Done; after it the bytes read back. A store WithoutAttributes keeps no
// class: its objects read at once and Restore fails with ErrUnsupported.
func testArchived(t *testing.T, s store.Store, cfg config) {
	ctx := ctxFor(t)
	cases := []struct {
		name  string
		class store.StorageClass
		tier  store.RestoreTier
		write func(key string, data []byte) error
	}{
		{"Archive", store.Archive, "", func(k string, d []byte) error {
			return s.Put(ctx, k, d, store.WithStorageClass(store.Archive))
		}},
		{"ColdArchive", store.ColdArchive, store.TierExpedited, func(k string, d []byte) error {
			return s.PutReader(ctx, k, newReaderAt(d), int64(len(d)), store.WithStorageClass(store.ColdArchive))
		}},
		{"DeepColdArchive", store.DeepColdArchive, store.TierStandard, func(k string, d []byte) error {
			return s.Put(ctx, k, d, store.WithStorageClass(store.DeepColdArchive))
		}},
		{"AppendedArchive", store.Archive, "", func(k string, d []byte) error {
			n, err := s.Append(ctx, k, 0, d[:3], store.WithStorageClass(store.Archive))
			if err != nil {
				return err
			}
			_, err = s.Append(ctx, k, n, d[3:])
			return err
		}},
	}
	data := []byte("archived records")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "archived/" + tc.name
			if err := tc.write(key, data); err != nil {
				t.Fatalf("writing %q as %s: %v", key, tc.class, err)
			}
			appendable := tc.name == "AppendedArchive"
			if !cfg.keepsAttributes {
				wantContent(t, s, key, data, appendable)
				if _, err := s.Restore(ctx, key, 1, tc.tier); !errors.Is(err, store.ErrUnsupported) {
					t.Fatalf("Restore(%q) on a store that keeps no class: error = %v, want one wrapping store.ErrUnsupported", key, err)
				}
				return
			}
			wantNotRestored(t, s, key, len(data))
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat(%q) of an archived object: %v", key, err)
			}
			if info.StorageClass != tc.class || info.Size != int64(len(data)) || info.Appendable != appendable || info.Restore != store.RestoreNone {
				t.Fatalf("Stat(%q) = {StorageClass %q, Size %d, Appendable %v, Restore %v}, want {%q, %d, %v, none}",
					key, info.StorageClass, info.Size, info.Appendable, info.Restore, tc.class, len(data), appendable)
			}

			state, err := s.Restore(ctx, key, 1, tc.tier)
			if err != nil || state != store.RestoreRequested {
				t.Fatalf("first Restore(%q) = %v, %v; want requested", key, state, err)
			}
			if cfg.completeRestore != nil {
				state, err = s.Restore(ctx, key, 1, tc.tier)
				if err != nil || state != store.RestoreInProgress {
					t.Fatalf("Restore(%q) while one runs = %v, %v; want in progress", key, state, err)
				}
				if info, err := s.Stat(ctx, key); err != nil || info.Restore != store.RestoreInProgress {
					t.Fatalf("Stat(%q) while a restore runs = {Restore %v}, %v; want in progress", key, info.Restore, err)
				}
				wantNotRestored(t, s, key, len(data))
				cfg.completeRestore(t, s, key)
			}
			state, err = s.Restore(ctx, key, 2, tc.tier)
			if err != nil || state != store.RestoreDone {
				t.Fatalf("Restore(%q) after the restore finished = %v, %v; want done", key, state, err)
			}
			info, err = s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if info.Restore != store.RestoreDone || info.StorageClass != tc.class {
				t.Fatalf("Stat(%q) of a restored object = {Restore %v, StorageClass %q}, want {done, %q}", key, info.Restore, info.StorageClass, tc.class)
			}
			if !info.RestoreExpiry.IsZero() && !info.RestoreExpiry.After(time.Now()) {
				t.Errorf("Stat(%q).RestoreExpiry = %v, in the past", key, info.RestoreExpiry)
			}
			wantContent(t, s, key, data, appendable)
			got, err := s.GetRange(ctx, key, 3, 5)
			if err != nil || string(got) != string(data[3:8]) {
				t.Fatalf("GetRange(%q, 3, 5) after the restore = %q, %v; want %q", key, got, err, data[3:8])
			}
		})
	}
}

// wantNotRestored checks that every read of key fails with ErrNotRestored.
func wantNotRestored(t *testing.T, s store.Store, key string, size int) {
	t.Helper()
	ctx := ctxFor(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotRestored) || !store.IsPermanent(err) {
			t.Fatalf("%s of an archived object: error = %v, want one wrapping store.ErrNotRestored", what, err)
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrAccessDenied) {
			t.Fatalf("%s of an archived object: error %v wraps ErrNotFound or ErrAccessDenied", what, err)
		}
	}
	_, err := s.Get(ctx, key)
	check(fmt.Sprintf("Get(%q)", key), err)
	_, err = s.GetRange(ctx, key, 1, int64(size-1))
	check(fmt.Sprintf("GetRange(%q, 1, %d)", key, size-1), err)
	_, err = s.GetRange(ctx, key, 0, 0)
	check(fmt.Sprintf("GetRange(%q, 0, 0)", key), err)
}

// testRestoreRefusals: Restore of an object in no archive class fails with
// ErrUnsupported, of an absent key with ErrNotFound.
func testRestoreRefusals(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	mustPut(t, s, "restore/standard", []byte("x"))
	mustPut(t, s, "restore/ia", []byte("x"), store.WithStorageClass(store.IA))
	mustAppend(t, s, "restore/appendable", 0, []byte("x"))
	for _, key := range []string{"restore/standard", "restore/ia", "restore/appendable"} {
		state, err := s.Restore(ctx, key, 1, "")
		if !errors.Is(err, store.ErrUnsupported) || !store.IsPermanent(err) {
			t.Errorf("Restore(%q) of an object in no archive class = %v, %v; want an error wrapping store.ErrUnsupported", key, state, err)
		}
	}
	if _, err := s.Restore(ctx, "restore/absent", 1, ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Restore of an absent key: error = %v, want one wrapping store.ErrNotFound", err)
	}
	wantAbsent(t, s, "restore/absent")
}

// testCRC64: a store that reports a CRC-64 (HasCRC64) reports the object's
// CRC-64/ECMA, also after appends and replaces.
func testCRC64(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	tab := crc64.MakeTable(crc64.ECMA)
	check := func(key string, data []byte) {
		t.Helper()
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if want := crc64.Checksum(data, tab); info.HasCRC64 && info.CRC64 != want {
			t.Errorf("Stat(%q).CRC64 = %d, want %d", key, info.CRC64, want)
		}
		if !info.HasCRC64 && info.CRC64 != 0 {
			t.Errorf("Stat(%q).CRC64 = %d without HasCRC64", key, info.CRC64)
		}
	}
	mustPut(t, s, "crc/put", []byte("hello"))
	check("crc/put", []byte("hello"))
	mustPut(t, s, "crc/put", nil)
	check("crc/put", nil)
	n := mustAppend(t, s, "crc/append", 0, []byte("hel"))
	check("crc/append", []byte("hel"))
	mustAppend(t, s, "crc/append", n, []byte("lo"))
	check("crc/append", []byte("hello"))
}
