package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// A model family (vae, gan, dcgan, charlm, textgan) plugs into the verbs
// `ingot train|sample|eval <family>` and `ingot bench train <family>` by
// registering its functions, from an init function in its own file:
//
//	func init() { registerFamily("vae", family{train: trainVAE, sample: sampleVAE, ...}) }
//
// Each function receives the arguments after the family name.
type family struct {
	summary                    string
	train, sample, eval, bench func(args []string, out io.Writer) error
}

var families = map[string]family{}

func registerFamily(name string, f family) {
	if _, dup := families[name]; dup {
		panic("ingot: family " + name + " registered twice")
	}
	families[name] = f
}

// verbs are the commands that take a family.
var verbs = []struct {
	name, summary string
	pick          func(family) func([]string, io.Writer) error
}{
	{"train", "train a model", func(f family) func([]string, io.Writer) error { return f.train }},
	{"sample", "generate images or text from a trained model", func(f family) func([]string, io.Writer) error { return f.sample }},
	{"eval", "evaluate a trained model", func(f family) func([]string, io.Writer) error { return f.eval }},
}

func init() {
	for _, v := range verbs {
		register(&command{name: v.name, summary: v.summary, run: func(args []string, out io.Writer) error {
			return runFamily(v.name, v.pick, args, out)
		}})
	}
}

// runFamily dispatches `ingot <verb> <family> args...`.
func runFamily(verb string, pick func(family) func([]string, io.Writer) error, args []string, out io.Writer) error {
	names := familiesWith(pick)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(out, "Usage: ingot %s <model> [flags]\n\nModels:\n", verb)
		for _, n := range names {
			fmt.Fprintf(out, "  %-8s %s\n", n, families[n].summary)
		}
		fmt.Fprintf(out, "\nRun 'ingot %s <model> -h' for the model's flags.\n", verb)
		if len(args) == 0 {
			return usagef("which model? one of: %s", strings.Join(names, ", "))
		}
		return nil
	}
	f, ok := families[args[0]]
	if !ok || pick(f) == nil {
		return usagef("unknown model %q for %s (have: %s)", args[0], verb, strings.Join(names, ", "))
	}
	return pick(f)(args[1:], out)
}

func familiesWith(pick func(family) func([]string, io.Writer) error) []string {
	var names []string
	for n, f := range families {
		if pick(f) != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
