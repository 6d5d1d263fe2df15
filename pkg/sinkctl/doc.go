// Package sinkctl is the operator's command line for the Kafka → OSS sink:
// subcommands that run the sink from any Kafka and inspect what it wrote,
// reading the store from the same environment as the function. The binary
// is cmd/sinkctl (the FC handler does not link it); Main is the whole
// command, so tests run it in-process.
//
//	sinkctl consume [flags]   the FC trigger, locally: a consumer group feeding the handler (package consume)
//	sinkctl verify [flags]    is every record there exactly once? (package verify)
//	sinkctl restore [flags]   from the store back into Kafka, resumable (package restore)
//	sinkctl status [flags]    where the backup stands: Kafka's, the group's and the store's offsets, the lag
//	sinkctl ls / cat          the data objects, and their records (through package restore's readers)
//	sinkctl version           the build information (package buildinfo)
//
// Subcommands join through the table in commands(); each parses its own
// flags through cmdFlags (package cliflag), so that all answer -h with
// their help on stdout (exit 0, ending in examples), a misspelled flag
// with one line naming the closest one (exit 2), and spell the timeouts
// alike: --kafka-timeout for Kafka, --oss-timeout for OSS
// (--kafka-connect-timeout is a deprecated alias; --connect-timeout, which
// meant one in consume and the other elsewhere, is refused naming both).
// They share the store selection of storeFlags:
//
//   - --dir DIR: a local directory laid out as the bucket (as written by
//     `function invoke`); it must exist.
//   - otherwise, with OSS_BUCKET set: OSS, configured exactly as the
//     function is (package config: OSS_BUCKET, OSS_ENDPOINT or FC_REGION,
//     OSS_PREFIX), with the credentials ALIBABA_CLOUD_ACCESS_KEY_ID,
//     ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN.
//     One listing request, bounded by --oss-timeout, checks the
//     endpoint, bucket and credentials before any work, so an unreachable
//     endpoint or a wrong key fails fast with a message that says which.
//   - otherwise: the function's local directory (SINK_LOCAL_DIR, default
//     ./oss-local), which must exist.
//
// --prefix defaults to OSS_PREFIX. Credentials are never printed: error
// messages name the variables, not their values.
//
// Exit codes: 0 success (verify: no error-level defect; warnings allowed),
// 1 the check failed (verify: at least one error-level defect), 2 the
// command could not run (usage, configuration, store unreachable or
// access denied, interrupted), 3 restore: archived objects it must read
// are not restored yet (--no-wait, --dry-run; nothing produced, run again
// later). Results go to stdout; diagnostics, and
// progress when stderr is a terminal, to stderr.
package sinkctl
