package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// TestBatchNormPathsAgree runs the kernels through the assembly run and
// column kernels and through the vmath loops (the path of CPUs without AVX2
// and of other architectures) and requires the same results within float32
// rounding: the conformance cases in kerneltest check whichever path this
// CPU takes against float64 references, this keeps the other one honest.
// Tolerances: 1e-6 relative to the magnitudes involved (both paths sum in
// float64 or in float32 runs rounded once; the element-wise paths differ
// by an FMA's rounding).
func TestBatchNormPathsAgree(t *testing.T) {
	if !bnUseVector {
		t.Skip("no assembly run kernels on this CPU")
	}
	defer func(v bool) { bnUseVector = v }(bnUseVector)
	r := rand.New(rand.NewPCG(41, 42))
	cpu := tensor.CPU()
	for _, s := range []struct {
		outer, c, inner int
		mean            float32
	}{{2, 3, 7, 0}, {5, 4, 49, 0}, {3, 2, 196, 1}, {4, 3, 1000, 0}, {6, 2, 17, 500}, {5, 300, 1, 0}, {4, 37, 1, 200}} {
		t.Run(fmt.Sprintf("%dx%dx%d_mean%g", s.outer, s.c, s.inner, s.mean), func(t *testing.T) {
			total := s.outer * s.c * s.inner
			rnd := func(n int, lo, hi float32) *tensor.Tensor {
				v := make([]float32, n)
				for i := range v {
					v[i] = lo + (hi-lo)*r.Float32()
				}
				return tensor.FromFloat32(cpu, v, n)
			}
			x, g := rnd(total, s.mean-1, s.mean+1), rnd(total, -1, 1)
			w, b := rnd(s.c, -2, 2), rnd(s.c, -1, 1)
			type result struct{ mean, invstd, y, dx, dw, db []float32 }
			vw := func(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }
			// Both paths normalise with the statistics of the vector path
			// (the statistics themselves may differ by a rounding).
			mean0, invstd0 := tensor.Empty(cpu, tensor.Float32, s.c), tensor.Empty(cpu, tensor.Float32, s.c)
			BatchNormStats.Run(cpu, BatchNormStatsParams{X: vw(x), Mean: vw(mean0), InvStd: vw(invstd0), Outer: s.outer, C: s.c, Inner: s.inner, Eps: 1e-5})
			run := func(vector bool) result {
				bnUseVector = vector
				mean, invstd := tensor.Empty(cpu, tensor.Float32, s.c), tensor.Empty(cpu, tensor.Float32, s.c)
				y, dx := tensor.Empty(cpu, tensor.Float32, total), tensor.Empty(cpu, tensor.Float32, total)
				dw, db := tensor.Empty(cpu, tensor.Float32, s.c), tensor.Empty(cpu, tensor.Float32, s.c)
				BatchNormStats.Run(cpu, BatchNormStatsParams{X: vw(x), Mean: vw(mean), InvStd: vw(invstd), Outer: s.outer, C: s.c, Inner: s.inner, Eps: 1e-5})
				BatchNormApply.Run(cpu, BatchNormApplyParams{Y: vw(y), X: vw(x), Mean: vw(mean0), InvStd: vw(invstd0), Weight: vw(w), Bias: vw(b),
					Outer: s.outer, C: s.c, Inner: s.inner})
				BatchNormGrad.Run(cpu, BatchNormGradParams{DX: vw(dx), DWeight: vw(dw), DBias: vw(db), DY: vw(g), X: vw(x), Mean: vw(mean0), InvStd: vw(invstd0),
					Weight: vw(w), Outer: s.outer, C: s.c, Inner: s.inner, NeedDX: true, NeedDWeight: true, NeedDBias: true})
				return result{mean.Float32s(), invstd.Float32s(), y.Float32s(), dx.Float32s(), dw.Float32s(), db.Float32s()}
			}
			a, v := run(true), run(false)
			near := func(what string, want, got []float32, scale float64) {
				for i := range want {
					require.InDeltaf(t, want[i], got[i], 1e-6*(scale+math.Abs(float64(want[i]))), "%s[%d]", what, i)
				}
			}
			near("mean", a.mean, v.mean, 1) // the spread: sums of values of either sign cancel
			near("invstd", a.invstd, v.invstd, 0)
			near("y", a.y, v.y, 4)
			// dx subtracts nearly equal terms of size |w|·invstd·|g|.
			near("dx", a.dx, v.dx, 10)
			near("dweight", a.dw, v.dw, float64(total))
			near("dbias", a.db, v.db, float64(total))
		})
	}
}
