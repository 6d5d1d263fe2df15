// Command fcpack writes the deployable archive of the sink for Function
// Compute's go1 runtime: it checks that the binary is a static, stripped,
// -trimpath linux/amd64 executable and zips it as "main", mode 0755, with
// fixed timestamps. `make package` runs it after `make build`.
//
//	fcpack [-bin target/main] [-out target/function.zip]
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcpack"
)

func main() {
	bin := flag.String("bin", "target/main", "the executable built for linux/amd64")
	out := flag.String("out", "target/function.zip", "the archive to write")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: fcpack [-bin FILE] [-out FILE]")
		os.Exit(2)
	}
	info, err := fcpack.Package(*bin, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	archive, err := os.ReadFile(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s (%d bytes, %s, %s), %d bytes, sha256 %x\n",
		*out, fcpack.EntryName, info.Size, info.Path, info.GoVersion, len(archive), sha256.Sum256(archive))
}
