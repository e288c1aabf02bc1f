// Command ingot trains, samples, evaluates and benchmarks ingot's models.
//
//	ingot info                 version, devices, CPU features
//	ingot bench gemm           matrix-multiplication throughput
//
// Run 'ingot help' for the full list and 'ingot <command> -h' for flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. run receives the arguments after its name and
// returns an error for the user (a usageError prints the command's usage).
type command struct {
	name, summary string
	run           func(args []string, stdout io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is bad input from the user: it is printed with a hint to -h.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status: 0 success,
// 1 failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return run([]string{c.name, "-h"}, stdout, stderr)
			}
		}
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ingot: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}
	err := c.run(args[1:], stdout)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ingot %s: %v\nRun 'ingot %s -h' for usage.\n", c.name, err, c.name)
		return 2
	default:
		fmt.Fprintf(stderr, "ingot %s: %v\n", c.name, err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `ingot trains and runs GANs, VAEs and LSTM models on Apple-silicon GPUs
(Metal) and on any CPU, in pure Go.

Usage:
  ingot <command> [arguments]

Commands:
`)
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Run 'ingot <command> -h' for a command's flags and examples.
Environment: INGOT_DEVICE=cpu|metal chooses the device, INGOT_THREADS the
CPU threads, INGOT_CPU=avx512|avx2|neon|generic forces a CPU kernel path.
`)
}

// flags is a subcommand's flag set that reports errors instead of exiting,
// with a usage text made of a synopsis, the flags and examples.
type flags struct {
	*flag.FlagSet
	synopsis, examples string
	out                io.Writer
}

func newFlags(name, synopsis, examples string, out io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // printed by parse, once
	return &flags{FlagSet: fs, synopsis: synopsis, examples: examples, out: out}
}

func (f *flags) usage() {
	fmt.Fprintf(f.out, "Usage: %s\n\n", f.synopsis)
	f.SetOutput(f.out)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	if f.examples != "" {
		fmt.Fprintf(f.out, "\nExamples:\n%s", f.examples)
	}
}

// parse parses flags, turning errors into usage errors; -h prints usage.
// Positional arguments are refused unless the command takes them.
func parse(f *flags, args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage()
			return flag.ErrHelp
		}
		return usageError{strings.TrimSpace(err.Error())}
	}
	return nil
}
