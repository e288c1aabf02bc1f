package shaders

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Library joins every kernel file once, behind a #line directive, with
// ingot.h inlined a single time, and keeps each file's line numbers.
func TestLibraryJoinsFilesWithLineDirectives(t *testing.T) {
	lib := Library()
	require.Equal(t, "ingot.metal", lib.Name)
	files := Files()
	require.Contains(t, files, "gemm.metal")
	assert.Equal(t, 1, strings.Count(lib.Text, "struct Layout {"), "ingot.h inlined once")
	lines := strings.Split(lib.Text, "\n")
	for _, l := range lines {
		require.NotEqual(t, `#include "ingot.h"`, strings.TrimSpace(l), "include left in the unit")
	}
	for _, f := range files {
		src, err := files_.ReadFile(f)
		require.NoError(t, err)
		start := -1
		for i, l := range lines {
			if l == `#line 1 "`+f+`"` {
				start = i + 1
			}
		}
		require.GreaterOrEqual(t, start, 0, "no #line for %s", f)
		// Line k of the file is line start+k-1 of the unit (1-based k).
		for k, l := range strings.Split(strings.TrimRight(string(src), "\n"), "\n") {
			if strings.TrimSpace(l) == `#include "ingot.h"` {
				continue
			}
			require.Equal(t, l, lines[start+k], "%s line %d", f, k+1)
		}
	}
}

var files_ = files
