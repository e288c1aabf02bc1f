package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/internal/cpufeat"
)

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][3]int
		err  string
	}{
		{"1024", [][3]int{{1024, 1024, 1024}}, ""},
		{"1024,2048, 64x1024x1024", [][3]int{{1024, 1024, 1024}, {2048, 2048, 2048}, {64, 1024, 1024}}, ""},
		{"3X5x7", [][3]int{{3, 5, 7}}, ""},
		{"", nil, `item 1 of ""`},
		{"128,abc", nil, `"abc" is not a positive integer`},
		{"64x1024", nil, "want N or MxNxK"},
		{"0", nil, `"0" is not a positive integer`},
		{"2x-3x4", nil, `"-3" is not a positive integer`},
	} {
		got, err := ParseSizes(tc.in)
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
	}
}

func TestRunGEMMTableAndJSON(t *testing.T) {
	sizes := [][3]int{{17, 33, 9}, {64, 65, 66}}
	var buf bytes.Buffer
	rows, err := RunGEMM(&buf, GEMMConfig{Sizes: sizes, Threads: 1, Repeat: 1})
	require.NoError(t, err)
	// one row per available path (Accelerate may fail to load) plus gonum, per size
	require.GreaterOrEqual(t, len(rows), 2*len(sizes))
	for _, r := range rows {
		assert.Positive(t, r.GFLOPSMedian, r.Name)
		assert.GreaterOrEqual(t, r.GFLOPSBest, r.GFLOPSMedian, r.Name)
		assert.Equal(t, 1, r.Threads)
		if r.Name != "gonum" {
			assert.Positive(t, r.VsGonum, r.Name)
		}
	}
	out := buf.String()
	assert.Contains(t, out, "gflops_median")
	assert.Contains(t, out, "ingot-"+string(cpufeat.Best()))
	assert.Contains(t, out, "gonum")

	buf.Reset()
	rows, err = RunGEMM(&buf, GEMMConfig{Sizes: sizes[:1], Repeat: 1, JSON: true, Paths: []cpufeat.Path{cpufeat.Generic}})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, len(rows))
	require.Len(t, rows, 2) // generic + gonum
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		for _, key := range []string{"name", "m", "n", "k", "threads", "gflops_median", "gflops_best", "ms_median"} {
			assert.Contains(t, m, key, l)
		}
	}
}

func TestRunGEMMBadConfig(t *testing.T) {
	_, err := RunGEMM(&bytes.Buffer{}, GEMMConfig{Sizes: [][3]int{{0, 1, 1}}})
	assert.ErrorContains(t, err, "dimensions must be positive")
	_, err = RunGEMM(&bytes.Buffer{}, GEMMConfig{Repeat: -1})
	assert.ErrorContains(t, err, "must not be negative")
	_, err = RunGEMM(&bytes.Buffer{}, GEMMConfig{Paths: []cpufeat.Path{"vax"}})
	assert.ErrorContains(t, err, `kernel path "vax" is not available`)
}
