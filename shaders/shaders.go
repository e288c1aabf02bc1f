// Package shaders holds the Metal Shading Language sources of every GPU
// kernel, embedded with go:embed: the single source of truth for the Metal
// device and the MSL emulator that tests it on Linux. One kernel family per
// file; variants are template instantiations with explicit host names.
// ingot.h is shared; Library joins everything into one unit.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.metal ingot.h
var files embed.FS

// Source is MSL source text under a file name for compiler messages.
type Source struct {
	Name string
	Text string
}

const include = `#include "ingot.h"`

// Library returns every kernel as one translation unit, "ingot.metal":
// ingot.h once, then each .metal file (sorted by name) behind a #line
// directive, so compiler messages name the original file and line. One
// unit keeps the header's definitions single for any driver, and makes
// kernel and helper names unique across files.
func Library() Source {
	header, err := files.ReadFile("ingot.h")
	if err != nil {
		panic(err)
	}
	names, err := fs.Glob(files, "*.metal")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("#line 1 \"ingot.h\"\n")
	b.Write(header)
	for _, n := range names {
		text, err := files.ReadFile(n)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "\n#line 1 %q\n", n)
		for _, l := range strings.SplitAfter(string(text), "\n") {
			if strings.TrimSpace(l) == include {
				l = "\n" // keep line numbers
			}
			b.WriteString(l)
		}
	}
	return Source{Name: "ingot.metal", Text: b.String()}
}

// Files lists the kernel files (for tools and tests).
func Files() []string {
	names, _ := fs.Glob(files, "*.metal")
	sort.Strings(names)
	return names
}
