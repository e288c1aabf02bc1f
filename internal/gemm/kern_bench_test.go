package gemm

import (
	"github.com/ingotml/ingot/internal/cpufeat"
	"testing"
)

// BenchmarkKernel times the micro-kernel alone on L1/L2-resident panels (an
// upper bound for the blocked algorithm), in GFLOPS.
func BenchmarkKernel(b *testing.B) {
	for _, p := range []string{"avx512", "avx2"} {
		b.Run(p, func(b *testing.B) {
			im, err := implFor(cpufeat.Path(p))
			if err != nil {
				b.Skip(err)
			}
			kc := im.kc
			a := make([]float32, im.mr*kc)
			bb := make([]float32, im.nc*kc)
			c := make([]float32, im.mr*im.nr)
			np := im.nc / im.nr
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				for q := range np {
					im.kern(kc, &a[0], &bb[q*im.nr*kc], &c[0], im.nr, 1, 0, 0, im.mr, im.nr)
				}
			}
			reportFlops(b, 2*float64(im.mr*im.nr*kc*np), cpu0)
		})
	}
}
