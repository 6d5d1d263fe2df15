package sinkctl

import (
	"flag"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/cliflag"
)

// cmdFlags is a command's flag set with its help text: every command
// parses through it, so that they all treat help, misspellings and
// renamed flags alike (package cliflag).
type cmdFlags struct {
	*flag.FlagSet
	name     string // "verify"
	head     string // synopsis and description, ending in a newline
	examples []string
}

func newCmdFlags(name, head string, examples ...string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &cmdFlags{FlagSet: fs, name: name, head: head, examples: examples}
}

// timeoutFlags registers the renamed timeout flags: --kafka-connect-timeout
// is an alias of --kafka-timeout (it meant the same everywhere);
// --connect-timeout, which meant Kafka in consume and OSS elsewhere, is
// refused with a message naming both replacements. Call it after the
// command's own --kafka-timeout (when it has one).
func (c *cmdFlags) timeoutFlags(env Env) {
	if c.Lookup("kafka-timeout") != nil {
		cliflag.Deprecated(c.FlagSet, "kafka-connect-timeout", "kafka-timeout", env.Stderr, "sinkctl "+c.name+": ")
	}
	cliflag.Removed(c.FlagSet, "connect-timeout",
		"it meant Kafka in consume and OSS elsewhere; use --kafka-timeout for Kafka requests and --oss-timeout for OSS requests")
}

// parse parses args. It returns ok=false with the exit code when the
// command must end: 0 after printing the help to stdout (-h), 2 after one
// line naming the problem (a misspelled flag with the closest one, a bad
// value, an argument where only flags go unless allowArgs).
func (c *cmdFlags) parse(args []string, env Env, allowArgs bool) (int, bool) {
	err := cliflag.Parse(c.FlagSet, args)
	switch {
	case cliflag.IsHelp(err):
		c.usage(env)
		return ExitOK, false
	case err != nil:
		fmt.Fprintf(env.Stderr, "sinkctl %s: %v (see sinkctl %s -h)\n", c.name, err, c.name)
		return ExitUsage, false
	case !allowArgs && c.NArg() > 0:
		fmt.Fprintf(env.Stderr, "sinkctl %s: unexpected argument %q (flags only; see sinkctl %s -h)\n", c.name, c.Arg(0), c.name)
		return ExitUsage, false
	}
	return ExitOK, true
}

func (c *cmdFlags) usage(env Env) {
	cliflag.Usage(env.Stdout, c.FlagSet, c.head, c.examples...)
}

// parseArgs parses args allowing flags after the arguments too
// (`sinkctl cat OBJ --json`), and returns the arguments; "--" ends the
// flags.
func (c *cmdFlags) parseArgs(args []string, env Env) ([]string, int, bool) {
	var rest []string
	for {
		if code, ok := c.parse(args, env, true); !ok {
			return nil, code, false
		}
		args = c.Args()
		if len(args) == 0 {
			return rest, ExitOK, true
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), ExitOK, true
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}
