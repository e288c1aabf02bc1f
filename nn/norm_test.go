package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refNorm normalises x laid out as [outer, c, inner] per channel c over
// (outer, inner) (batch norm) and returns y, the biased mean and variance.
func refBatchNorm(x, w, b []float64, outer, c, inner int, eps float64) (y, mean, variance []float64) {
	y = make([]float64, len(x))
	mean, variance = make([]float64, c), make([]float64, c)
	cnt := float64(outer * inner)
	for ci := range c {
		for o := range outer {
			for i := range inner {
				mean[ci] += x[(o*c+ci)*inner+i]
			}
		}
		mean[ci] /= cnt
		for o := range outer {
			for i := range inner {
				d := x[(o*c+ci)*inner+i] - mean[ci]
				variance[ci] += d * d
			}
		}
		variance[ci] /= cnt
		for o := range outer {
			for i := range inner {
				k := (o*c+ci)*inner + i
				y[k] = (x[k]-mean[ci])/math.Sqrt(variance[ci]+eps)*w[ci] + b[ci]
			}
		}
	}
	return y, mean, variance
}

// TestBatchNorm checks training-mode outputs, gradients (x, weight, bias)
// by finite differences, the running statistics after two steps
// (unbiased variance, momentum 0.1), num_batches_tracked, and eval mode.
// Tolerances: forward 1e-5 (normalised values are O(1), float32 means
// and variances of ≤ 60 values); gradients 2e-4 (the batch-norm gradient
// subtracts nearly equal terms).
func TestBatchNorm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
	}{
		{"1d", []int{6, 3}},
		{"1d-seq", []int{4, 3, 5}},
		{"2d", []int{3, 2, 4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(len(tc.shape))))
			c := tc.shape[1]
			outer, inner := tc.shape[0], 1
			for _, s := range tc.shape[2:] {
				inner *= s
			}
			var bn *BatchNorm
			if len(tc.shape) == 4 {
				bn = NewBatchNorm2d(cpu, c)
			} else {
				bn = NewBatchNorm1d(cpu, c)
			}
			w32, w64 := randF(r, c, 0.5, 2)
			b32, b64 := randF(r, c, -1, 1)
			require.NoError(t, bn.Weight.Set(tensor.FromFloat32(cpu, w32, c)))
			require.NoError(t, bn.Bias.Set(tensor.FromFloat32(cpu, b32, c)))
			n := outer * c * inner
			cached := NewSequential(bn).Params() // prefixed copies taken before training
			rm, rv := make([]float64, c), make([]float64, c)
			for i := range rv {
				rv[i] = 1
			}
			for step := range 2 {
				x32, x64 := randF(r, n, -3, 5)
				x := tensor.FromFloat32(cpu, x32, tc.shape...).SetRequiresGrad(true)
				y := bn.Forward(x)
				vals := [][]float64{x64, w64, b64}
				ref := func(v [][]float64) []float64 {
					y, _, _ := refBatchNorm(v[0], v[1], v[2], outer, c, inner, 1e-5)
					return y
				}
				wantY, mean, variance := refBatchNorm(x64, w64, b64, outer, c, inner, 1e-5)
				assertClose(t, wantY, y.Float32s(), 1e-5, 1e-5, "y")
				cnt := float64(outer * inner)
				for ci := range c {
					rm[ci] = 0.9*rm[ci] + 0.1*mean[ci]
					rv[ci] = 0.9*rv[ci] + 0.1*variance[ci]*cnt/(cnt-1)
				}
				assertClose(t, rm, bn.RunningMean.T.Float32s(), 1e-6, 1e-5, "running_mean")
				assertClose(t, rv, bn.RunningVar.T.Float32s(), 1e-6, 1e-5, "running_var")
				assert.Equal(t, []int32{int32(step + 1)}, bn.NumBatchesTracked.T.Int32s())
				assert.Empty(t, bn.NumBatchesTracked.T.Shape())
				if step == 0 {
					_, gy := randF(r, n, -1, 1)
					backwardWith(y, gy)
					assertClose(t, fdGrad(ref, vals, gy, 0), x.Grad().Float32s(), 2e-4, 2e-4, "dx")
					assertClose(t, fdGrad(ref, vals, gy, 1), bn.Weight.T.Grad().Float32s(), 2e-4, 2e-4, "dW")
					assertClose(t, fdGrad(ref, vals, gy, 2), bn.Bias.T.Grad().Float32s(), 2e-4, 2e-4, "db")
				}
			}
			// Buffers are updated in place: copies of the Param list see them.
			assert.Equal(t, "0.num_batches_tracked", cached[4].Name)
			assert.Equal(t, []int32{2}, cached[4].T.Int32s())
			assertClose(t, rm, cached[2].T.Float32s(), 1e-6, 1e-5, "cached running_mean")
			bn.SetTraining(false)
			x32, x64 := randF(r, n, -3, 5)
			y := bn.Forward(tensor.FromFloat32(cpu, x32, tc.shape...))
			want := make([]float64, n)
			for o := range outer {
				for ci := range c {
					for i := range inner {
						k := (o*c+ci)*inner + i
						want[k] = (x64[k]-rm[ci])/math.Sqrt(rv[ci]+1e-5)*w64[ci] + b64[ci]
					}
				}
			}
			assertClose(t, want, y.Float32s(), 1e-5, 1e-5, "eval y")
			assert.Equal(t, []int32{2}, bn.NumBatchesTracked.T.Int32s(), "eval does not count")
		})
	}
	bn := NewBatchNorm2d(cpu, 3)
	assert.Panics(t, func() { bn.Forward(tensor.Zeros(cpu, 1, 3, 1, 1)) }) // one value per channel
	assert.Panics(t, func() { bn.Forward(tensor.Zeros(cpu, 2, 4, 2, 2)) }) // wrong channels
	assert.Panics(t, func() { NewBatchNorm1d(cpu, 3).Forward(tensor.Zeros(cpu, 2, 3, 2, 2)) })
	names := []string{}
	for _, p := range bn.Params() {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}, names)
	assert.Equal(t, 6, NumParams(bn))
}

// TestLayerNorm checks forward and gradients over the trailing two
// dimensions against the float64 reference.
func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	ln := NewLayerNorm(cpu, 3, 4)
	w32, w64 := randF(r, 12, 0.5, 2)
	b32, b64 := randF(r, 12, -1, 1)
	require.NoError(t, ln.Weight.Set(tensor.FromFloat32(cpu, w32, 3, 4)))
	require.NoError(t, ln.Bias.Set(tensor.FromFloat32(cpu, b32, 3, 4)))
	x32, x64 := randF(r, 2*12, -3, 3)
	x := tensor.FromFloat32(cpu, x32, 2, 3, 4).SetRequiresGrad(true)
	ref := func(v [][]float64) []float64 {
		y := make([]float64, 24)
		for s := range 2 {
			seg := v[0][s*12 : s*12+12]
			m, q := 0.0, 0.0
			for _, a := range seg {
				m += a
			}
			m /= 12
			for _, a := range seg {
				q += (a - m) * (a - m)
			}
			q /= 12
			for i, a := range seg {
				y[s*12+i] = (a-m)/math.Sqrt(q+1e-5)*v[1][i] + v[2][i]
			}
		}
		return y
	}
	vals := [][]float64{x64, w64, b64}
	y := ln.Forward(x)
	assertClose(t, ref(vals), y.Float32s(), 1e-5, 1e-5, "y")
	_, gy := randF(r, 24, -1, 1)
	backwardWith(y, gy)
	assertClose(t, fdGrad(ref, vals, gy, 0), x.Grad().Float32s(), 2e-4, 2e-4, "dx")
	assertClose(t, fdGrad(ref, vals, gy, 1), ln.Weight.T.Grad().Float32s(), 2e-4, 2e-4, "dW")
	assertClose(t, fdGrad(ref, vals, gy, 2), ln.Bias.T.Grad().Float32s(), 2e-4, 2e-4, "db")
	assert.Panics(t, func() { ln.Forward(tensor.Zeros(cpu, 2, 4, 3)) })
}
