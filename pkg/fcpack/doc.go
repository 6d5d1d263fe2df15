// Package fcpack builds and packages the sink for Function Compute's go1
// runtime, and checks that the result is what that runtime runs.
//
// The go1 runtime executes the file named by the function's handler ("main")
// from the root of the uploaded code package. So the deployable artifact is a
// zip archive holding exactly one entry, EntryName, whose unix mode says
// "regular file, 0755" (a zip written without unix attributes is unpacked
// without the execute bit, and the instance fails to start), containing a
// static linux/amd64 executable: no ELF interpreter, no dynamic section (the
// runtime image promises no particular libc), stripped (-s -w), and built
// with -trimpath so that no build machine paths end up in it. The commit is
// stamped into package buildinfo with -X (CommitVar), so `main --version`
// names it even when the toolchain's VCS stamp is off.
//
// The archive is deterministic: fixed timestamps, one entry, a fixed
// compression level, so packaging the same binary twice gives identical
// bytes, and rebuilding from the same sources with the same Go toolchain
// (and the same commit) gives an identical archive.
//
// BuildArgs and BuildEnv are the one definition of the build command; the
// Makefile's build target spells the same command out (a test keeps the two
// equal). Verify refuses binaries that would not run on go1, so `make
// package` fails at home rather than at the first invocation.
package fcpack
