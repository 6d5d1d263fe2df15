// Package eventstest builds Kafka trigger payloads for tests and benchmarks:
// the three shapes the trigger sends (CloudEvents objects, strings holding
// serialized CloudEvents, RawData objects), from records you give it (Encode)
// or from generated records (Records, Batch).
//
// Generation is deterministic: the same BatchConfig (including Seed) always
// gives the same bytes, so tests can compare outputs across runs and
// benchmarks of different packages measure the same payload. Bench returns the
// configuration of a full-size batch (10,000 records, about 32 MB).
//
// Strings are escaped the way the trigger's Java side (Gson) does: besides
// the JSON-mandated escapes, '<', '>', '&', '=' and the apostrophe become
// \u003c and the like, as in the fc-runtime-go-sdk README sample ("charset\u003dutf-8").
package eventstest
