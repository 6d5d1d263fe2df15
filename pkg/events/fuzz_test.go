package events_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events/eventstest"
)

// FuzzDecode checks that Decode never panics, returns either records or a
// *DecodeError inside the payload, agrees with the reference decoder, and
// decodes the same in place.
// A plain go test runs the seed corpus only; fuzz with
// go test -run XXX -fuzz FuzzDecode ./pkg/events/
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"*.json", "malformed/*.json"} {
		files, err := filepath.Glob(filepath.Join(repoTestdata, pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, path := range files {
			b, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, false)
			f.Add(b, true)
		}
	}
	for _, shape := range eventstest.Shapes() {
		f.Add(eventstest.Batch(eventstest.BatchConfig{Records: 2, Partitions: 2, ValueSize: 40, Keys: true, Headers: true, Shape: shape}), false)
	}
	g := &gen{r: rand.New(rand.NewPCG(3, 3))}
	for range 20 {
		f.Add(g.payload(), false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, b64 bool) {
		enc := events.Text
		if b64 {
			enc = events.Base64
		}
		recs, err := events.Decode(payload, events.WithValueEncoding(enc))
		if err != nil {
			var de *events.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is a %T, not a *DecodeError", err, err)
			}
			if de.Offset < 0 || de.Offset > len(payload) {
				t.Fatalf("error %v: offset outside the payload (%d bytes)", err, len(payload))
			}
			if recs != nil {
				t.Fatalf("records returned with error %v", err)
			}
		}
		if d := compareWithRef(payload, enc); d != "" {
			t.Fatal(d)
		}
		// In place (as the handler decodes), over a copy: the same records
		// and the same error.
		scratch := append([]byte(nil), payload...)
		got, gotErr := events.Decode(scratch, events.WithValueEncoding(enc), events.InPlace())
		if (gotErr == nil) != (err == nil) || (err != nil && gotErr.Error() != err.Error()) {
			t.Fatalf("in place: error %v, want %v", gotErr, err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(recs)) {
			t.Fatalf("in place: records differ")
		}
	})
}
