package bench

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// TestGEMMReport prints the GEMM comparison table when INGOT_GEMM_REPORT
// holds a size list (until the CLI's `ingot bench gemm` exists), e.g.
//
//	INGOT_GEMM_REPORT=128,1024,2048,64x1024x1024 INGOT_GEMM_THREADS=2 \
//	  INGOT_GEMM_PATHS=avx512 go test ./bench -run TestGEMMReport -v -count=1
func TestGEMMReport(t *testing.T) {
	spec := os.Getenv("INGOT_GEMM_REPORT")
	if spec == "" {
		t.Skip("set INGOT_GEMM_REPORT to a size list to print the GEMM table")
	}
	sizes, err := ParseSizes(spec)
	require.NoError(t, err)
	threads, _ := strconv.Atoi(os.Getenv("INGOT_GEMM_THREADS"))
	repeat, _ := strconv.Atoi(os.Getenv("INGOT_GEMM_REPEAT"))
	var paths []cpufeat.Path
	if s := os.Getenv("INGOT_GEMM_PATHS"); s != "" {
		for _, p := range strings.Split(s, ",") {
			paths = append(paths, cpufeat.Path(strings.TrimSpace(p)))
		}
	}
	_, err = RunGEMM(os.Stdout, GEMMConfig{Sizes: sizes, Threads: threads, Repeat: repeat, Paths: paths})
	require.NoError(t, err)
}
