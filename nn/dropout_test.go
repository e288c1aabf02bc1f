package nn

import (
	"math"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDropout: in training each element is 0 or x/(1−p); the kept
// fraction is 1−p within 4 standard errors; the gradient is the same mask
// scaling; a seed reproduces the masks; eval mode is the identity.
func TestDropout(t *testing.T) {
	const n, p = 20000, 0.3
	x := tensor.Ones(cpu, n).SetRequiresGrad(true)
	d := NewDropout(p, tensor.NewRNG(11))
	y := d.Forward(x)
	got := y.Float32s()
	kept := 0
	for _, v := range got {
		switch v {
		case 0:
		case float32(1 / (1 - p)):
			kept++
		default:
			require.Failf(t, "value", "dropout output %v is neither 0 nor 1/(1−p)", v)
		}
	}
	se := math.Sqrt(p * (1 - p) / n)
	assert.InDelta(t, 1-p, float64(kept)/n, 4*se)
	y.BackwardWith(tensor.Ones(cpu, n))
	assert.Equal(t, got, x.Grad().Float32s(), "gradient is the scaled mask")
	assert.Panics(t, func() { y.BackwardWith(tensor.Ones(cpu, n)) }, "the mask is freed by the first backward")

	again := NewDropout(p, tensor.NewRNG(11)).Forward(tensor.Ones(cpu, n)).Float32s()
	assert.Equal(t, got, again, "same seed, same mask")
	next := d.Forward(tensor.Ones(cpu, n)).Float32s()
	assert.NotEqual(t, got, next, "the generator advances")

	d.SetTraining(false)
	in := tensor.Ones(cpu, 5)
	assert.Same(t, in, d.Forward(in))
	d.SetTraining(true)
	assert.Equal(t, make([]float32, 4), NewDropout(1, tensor.NewRNG(1)).Forward(tensor.Ones(cpu, 4)).Float32s())
	assert.Panics(t, func() { NewDropout(1.5, tensor.NewRNG(1)) })
}
