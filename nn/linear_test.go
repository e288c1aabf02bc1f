package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func refLinear(x, w, b []float64, n, in, out int) []float64 {
	y := make([]float64, n*out)
	for i := range n {
		for o := range out {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for k := range in {
				s += x[i*in+k] * w[o*in+k]
			}
			y[i*out+o] = s
		}
	}
	return y
}

// TestLinear checks forward values and the gradients of x, weight and bias
// against a float64 reference and its finite differences. Tolerance 1e-5
// absolute + 1e-5 relative: float32 dot products of ≤ 7 terms of magnitude
// ≤ 4 round to well below that.
func TestLinear(t *testing.T) {
	for _, tc := range []struct {
		name    string
		shape   []int // input shape
		in, out int
		noBias  bool
	}{
		{"batch", []int{4, 7}, 7, 3, false},
		{"seq", []int{2, 3, 5}, 5, 6, false},
		{"vector", []int{5}, 5, 2, false},
		{"nobias", []int{3, 4}, 4, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			var opts []LayerOption
			if tc.noBias {
				opts = append(opts, WithoutBias())
			}
			l := NewLinear(cpu, tensor.NewRNG(1), tc.in, tc.out, opts...)
			n := 1
			for _, s := range tc.shape[:len(tc.shape)-1] {
				n *= s
			}
			x32, x64 := randF(r, n*tc.in, -2, 2)
			x := tensor.FromFloat32(cpu, x32, tc.shape...).SetRequiresGrad(true)
			y := l.Forward(x)
			wantShape := append(append([]int{}, tc.shape[:len(tc.shape)-1]...), tc.out)
			require.Equal(t, wantShape, y.Shape())
			vals := [][]float64{x64, f64(l.Weight.T.Float32s()), nil}
			if !tc.noBias {
				vals[2] = f64(l.Bias.T.Float32s())
			}
			ref := func(v [][]float64) []float64 { return refLinear(v[0], v[1], v[2], n, tc.in, tc.out) }
			assertClose(t, ref(vals), y.Float32s(), 1e-5, 1e-5, "y")
			_, gy := randF(r, n*tc.out, -1, 1)
			backwardWith(y, gy)
			assertClose(t, fdGrad(ref, vals, gy, 0), x.Grad().Float32s(), 1e-4, 1e-4, "dx")
			assertClose(t, fdGrad(ref, vals, gy, 1), l.Weight.T.Grad().Float32s(), 1e-4, 1e-4, "dW")
			if !tc.noBias {
				assertClose(t, fdGrad(ref, vals, gy, 2), l.Bias.T.Grad().Float32s(), 1e-4, 1e-4, "db")
			}
			names := []string{}
			for _, p := range l.Params() {
				names = append(names, p.Name)
			}
			if tc.noBias {
				assert.Equal(t, []string{"weight"}, names)
			} else {
				assert.Equal(t, []string{"weight", "bias"}, names)
			}
		})
	}
	assert.Panics(t, func() { NewLinear(cpu, tensor.NewRNG(1), 3, 2).Forward(tensor.Zeros(cpu, 2, 4)) })
}

// TestLinearInferenceReuse: without gradients, repeated calls reuse the
// allocator's buffers once the output is released.
func TestLinearInferenceReuse(t *testing.T) {
	l := NewLinear(cpu, tensor.NewRNG(1), 6, 4)
	for _, p := range l.Params() {
		require.NoError(t, p.Set(p.T.Detach()))
		p.T.SetRequiresGrad(false)
	}
	for _, shape := range [][]int{{3, 6}, {2, 3, 6}, {6}} {
		x := tensor.Ones(cpu, shape...)
		alloc := cpu.Allocator()
		for i := range 3 {
			fresh := alloc.Stats().Fresh
			l.Forward(x).Release()
			if i > 0 {
				assert.Equal(t, fresh, alloc.Stats().Fresh, "shape %v", shape)
			}
		}
	}
}
