package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The AVX-512 Adam update is bit-identical to the scalar loop.
func TestAdamVectorMatchesScalar(t *testing.T) {
	if !useAVX512 {
		t.Skip("needs an AVX-512 CPU (and INGOT_CPU unset or avx512)")
	}
	r := rand.New(rand.NewPCG(4, 2))
	for _, n := range []int{16, 48, 1024} {
		mk := func(scale float64) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32((r.Float64()*2 - 1) * scale)
			}
			return x
		}
		param, grad, m := mk(1), mk(0.1), mk(0.01)
		v := mk(0.001)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		p := AdamParams{Beta1: 0.9, OneMinusBeta1: 0.1, Beta2: 0.999, OneMinusBeta2: float32(1 - 0.999),
			Eps: 1e-8, StepSize: 1e-3 / 0.19, BiasCorrection2Sqrt: float32(math.Sqrt(1 - 0.998))}
		sp, sm, sv := append([]float32(nil), param...), append([]float32(nil), m...), append([]float32(nil), v...)
		require.Equal(t, n, adamVector(&p, param, grad, m, v))
		for i := range n { // the scalar loop of cpuAdam for the plain case
			mi := float32(sm[i]*p.Beta1) + float32(grad[i]*p.OneMinusBeta1)
			vi := float32(sv[i]*p.Beta2) + float32(float32(p.OneMinusBeta2*grad[i])*grad[i])
			denom := float32(float32(math.Sqrt(float64(vi)))/p.BiasCorrection2Sqrt) + p.Eps
			sp[i] += float32(-p.StepSize*mi) / denom
			require.Equal(t, math.Float32bits(mi), math.Float32bits(m[i]), "m[%d]", i)
			require.Equal(t, math.Float32bits(vi), math.Float32bits(v[i]), "v[%d]", i)
			require.Equal(t, math.Float32bits(sp[i]), math.Float32bits(param[i]), "param[%d]", i)
		}
	}
}
