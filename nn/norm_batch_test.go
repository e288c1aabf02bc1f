package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBatchNormFusedNode checks the training-mode BatchNorm node against
// the float64 reference (refBatchNorm) and central finite differences for
// x, weight and bias, over the cases the fused kernels treat differently:
// [N, C] with more than one 256-column block, long [N, C, L] runs, a large
// mean with a small spread, a strided input, and inputs or parameters that
// do not need gradients.
//
// Tolerances: y to 1e-5 plus the float32 rounding of the saved mean
// relative to the spread (2⁻²⁴·|mean|/std·|w|, for the large-mean case);
// gradients to 2e-4 as in TestBatchNorm (nearly equal terms cancel), and
// 1e-3 relative for the large-mean case whose finite differences
// (h = 1e-6 on values near 100 with spread 0.5) keep fewer digits.
func TestBatchNormFusedNode(t *testing.T) {
	type tc struct {
		shape          []int
		lo, hi         float64
		strided        bool // x is a transposed view
		noX, frozenW   bool
		yTol, gradRTol float64
	}
	cases := []tc{
		{shape: []int{5, 300}, lo: -2, hi: 3, yTol: 1e-5, gradRTol: 2e-4},
		{shape: []int{3, 4, 40}, lo: -1, hi: 1, yTol: 1e-5, gradRTol: 2e-4},
		{shape: []int{4, 3, 3, 5}, lo: 99.5, hi: 100.5, yTol: 2e-4, gradRTol: 1e-3},
		{shape: []int{6, 3}, lo: 99.5, hi: 100.5, yTol: 2e-4, gradRTol: 1e-3},
		{shape: []int{3, 2, 4, 5}, lo: -3, hi: 5, strided: true, yTol: 1e-5, gradRTol: 2e-4},
		{shape: []int{7, 5}, lo: -3, hi: 5, noX: true, yTol: 1e-5, gradRTol: 2e-4},
		{shape: []int{2, 3, 6}, lo: -3, hi: 5, frozenW: true, yTol: 1e-5, gradRTol: 2e-4},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%v_strided%v_noX%v_frozenW%v", c.shape, c.strided, c.noX, c.frozenW), func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, uint64(i)))
			ch, outer, inner := c.shape[1], c.shape[0], 1
			for _, s := range c.shape[2:] {
				inner *= s
			}
			n := outer * ch * inner
			var bn *BatchNorm
			if len(c.shape) == 4 {
				bn = NewBatchNorm2d(cpu, ch)
			} else {
				bn = NewBatchNorm1d(cpu, ch)
			}
			w32, w64 := randF(r, ch, -2, 2)
			b32, b64 := randF(r, ch, -1, 1)
			require.NoError(t, bn.Weight.Set(tensor.FromFloat32(cpu, w32, ch)))
			require.NoError(t, bn.Bias.Set(tensor.FromFloat32(cpu, b32, ch)))
			if c.frozenW {
				bn.Weight.T.SetRequiresGrad(false)
			}
			x32, x64 := randF(r, n, c.lo, c.hi)
			var x *tensor.Tensor
			if c.strided {
				// The same values behind a transposed view: store the
				// first two axes swapped, then transpose back.
				sw := append([]int{ch, outer}, c.shape[2:]...)
				buf := make([]float32, n)
				for o := range outer {
					for ci := range ch {
						copy(buf[(ci*outer+o)*inner:(ci*outer+o+1)*inner], x32[(o*ch+ci)*inner:(o*ch+ci+1)*inner])
					}
				}
				leaf := tensor.FromFloat32(cpu, buf, sw...).SetRequiresGrad(true)
				x = leaf.Transpose(0, 1)
				require.False(t, x.IsContiguous())
				y := bn.Forward(x)
				checkBN(t, c.yTol, c.gradRTol, y, leaf, bn, x64, w64, b64, outer, ch, inner, r, true)
				return
			}
			x = tensor.FromFloat32(cpu, x32, c.shape...).SetRequiresGrad(!c.noX)
			y := bn.Forward(x)
			checkBN(t, c.yTol, c.gradRTol, y, x, bn, x64, w64, b64, outer, ch, inner, r, false)
		})
	}
}

// checkBN compares y and the gradients of x (the leaf; transposed storage
// when swapped), weight and bias with the float64 reference.
func checkBN(t *testing.T, yTol, gTol float64, y, x *tensor.Tensor, bn *BatchNorm, x64, w64, b64 []float64, outer, ch, inner int, r *rand.Rand, swapped bool) {
	t.Helper()
	n := len(x64)
	vals := [][]float64{x64, w64, b64}
	ref := func(v [][]float64) []float64 {
		y, _, _ := refBatchNorm(v[0], v[1], v[2], outer, ch, inner, 1e-5)
		return y
	}
	wantY, _, _ := refBatchNorm(x64, w64, b64, outer, ch, inner, 1e-5)
	assertClose(t, wantY, y.Contiguous().Float32s(), yTol, 1e-5, "y")
	_, gy := randF(r, n, -1, 1)
	backwardWith(y, gy)
	if x.RequiresGrad() {
		want := fdGrad(ref, vals, gy, 0)
		got := x.Grad().Float32s()
		if swapped {
			un := make([]float32, n)
			for o := range outer {
				for ci := range ch {
					copy(un[(o*ch+ci)*inner:(o*ch+ci+1)*inner], got[(ci*outer+o)*inner:(ci*outer+o+1)*inner])
				}
			}
			got = un
		}
		assertClose(t, want, got, 2e-4, gTol, "dx")
	} else {
		assert.Nil(t, x.Grad())
	}
	if bn.Weight.T.RequiresGrad() {
		assertClose(t, fdGrad(ref, vals, gy, 1), bn.Weight.T.Grad().Float32s(), 2e-4, gTol, "dW")
	} else {
		assert.Nil(t, bn.Weight.T.Grad())
	}
	assertClose(t, fdGrad(ref, vals, gy, 2), bn.Bias.T.Grad().Float32s(), 2e-4, gTol, "db")
}

// A second backward through one training forward pass panics with a
// message (the saved statistics were freed), like the convolutions.
func TestBatchNormBackwardTwicePanics(t *testing.T) {
	bn := NewBatchNorm1d(cpu, 3)
	x := tensor.FromFloat32(cpu, []float32{1, 2, 3, 4, 5, 7}, 2, 3).SetRequiresGrad(true)
	y := bn.Forward(x)
	y.BackwardWith(tensor.Ones(cpu, 2, 3))
	assert.PanicsWithValue(t, "nn.BatchNorm1d: backward through the same forward pass twice (its saved statistics were freed)",
		func() { y.BackwardWith(tensor.Ones(cpu, 2, 3)) })
}

// BenchmarkBatchNormTrain times a training forward and backward at the
// DCGAN shapes (batch 64, 32 features, 28×28 images).
func BenchmarkBatchNormTrain(b *testing.B) {
	for _, tc := range []struct {
		name  string
		shape []int
	}{
		{"1d_64x3136", []int{64, 3136}},
		{"2d_64x32x14x14", []int{64, 32, 14, 14}},
		{"2d_64x64x7x7", []int{64, 64, 7, 7}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var bn *BatchNorm
			if len(tc.shape) == 4 {
				bn = NewBatchNorm2d(cpu, tc.shape[1])
			} else {
				bn = NewBatchNorm1d(cpu, tc.shape[1])
			}
			r := rand.New(rand.NewPCG(1, 2))
			n := 1
			for _, s := range tc.shape {
				n *= s
			}
			x32, _ := randF(r, n, -1, 2)
			g32, _ := randF(r, n, -1, 1)
			x := tensor.FromFloat32(cpu, x32, tc.shape...).SetRequiresGrad(true)
			b.SetBytes(int64(4 * n))
			b.ResetTimer()
			for range b.N {
				y := bn.Forward(x)
				y.BackwardWith(tensor.FromFloat32(cpu, g32, tc.shape...))
				y.ReleaseGraph()
				x.ZeroGrad()
			}
		})
	}
}
