package gemm

import (
	"fmt"
	"testing"

	"github.com/ingotml/ingot/internal/cpufeat"
)

// BenchmarkSgemm times C = A·B for each available path on the shapes of
// issue 3, reporting GFLOPS (2·m·n·k per call). Threads follow
// parallel.Threads (INGOT_THREADS).
func BenchmarkSgemm(b *testing.B) {
	for _, p := range cpufeat.Available() {
		for _, s := range [][4]int{{128, 128, 128}, {1024, 1024, 1024}, {2048, 2048, 2048}, {64, 1024, 1024}, {64, 1024, 1024, 1}} {
			m, n, k, tB := s[0], s[1], s[2], s[3] == 1
			name := fmt.Sprintf("%s/%dx%dx%d", p, m, n, k)
			ldb := n
			if tB {
				name += "/transB" // y = x·Wᵀ, the nn.Linear forward shape
				ldb = k
			}
			b.Run(name, func(b *testing.B) {
				if p == cpufeat.Generic && m*n*k > 1<<27 {
					b.Skip("generic path is too slow for this size")
				}
				withPath(b, p, false, func() {
					x, y, z := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
					for i := range x {
						x[i] = float32(i%7) - 3
					}
					for i := range y {
						y[i] = float32(i%5) - 2
					}
					Sgemm(false, tB, m, n, k, 1, x, k, y, ldb, 0, z, n)
					b.ResetTimer()
					cpu0 := cpuTime()
					for b.Loop() {
						Sgemm(false, tB, m, n, k, 1, x, k, y, ldb, 0, z, n)
					}
					reportFlops(b, 2*float64(m*n*k), cpu0)
				})
			})
		}
	}
}
