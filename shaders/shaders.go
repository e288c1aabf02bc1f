// Package shaders holds the Metal Shading Language sources of every GPU
// kernel, embedded with go:embed: the single source of truth for the Metal
// device and the MSL emulator that tests it on Linux. One kernel family per
// file; variants are template instantiations with explicit host names.
// ingot.h is shared: Sources inlines it where a file includes it.
package shaders

import (
	"embed"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.metal ingot.h
var files embed.FS

// Source is one kernel file with ingot.h inlined.
type Source struct {
	Name string // e.g. "gemm.metal"
	Text string
}

const include = `#include "ingot.h"`

// Sources returns every .metal file, sorted by name, with ingot.h inlined
// (preceded by #line directives so compiler messages name the right file
// and line).
func Sources() []Source {
	header, err := files.ReadFile("ingot.h")
	if err != nil {
		panic(err)
	}
	names, err := fs.Glob(files, "*.metal")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var out []Source
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, Source{Name: n, Text: Inline(n, string(b), string(header))})
	}
	return out
}

// Inline replaces the line `#include "ingot.h"` of a file with the header.
func Inline(name, text, header string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == include {
			lines[i] = "#line 1 \"ingot.h\"\n" + header + "\n#line " + strconv.Itoa(i+2) + " \"" + name + "\""
			return strings.Join(lines, "\n")
		}
	}
	return text
}
