package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSequential checks PyTorch's child naming, chaining, mode switching
// and the shape layers.
func TestSequential(t *testing.T) {
	rng := tensor.NewRNG(1)
	s := NewSequential(
		NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 2, Kernel: Sq(3), Padding: Sq(1)}),
		NewBatchNorm2d(cpu, 2),
		&ReLU{},
		&Flatten{},
		NewLinear(cpu, rng, 2*4*4, 3),
		NewDropout(0.5, rng),
		NewReshape(3, 1),
	)
	var names []string
	for _, p := range s.Params() {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
		"1.num_batches_tracked", "4.weight", "4.bias"}, names)
	assert.Equal(t, 2*9+2+2+2+32*3+3, NumParams(s))

	x := tensor.FromFloat32(cpu, make([]float32, 2*16), 2, 1, 4, 4)
	y := s.Forward(x)
	assert.Equal(t, []int{2, 3, 1}, y.Shape())

	s.SetTraining(false)
	assert.False(t, s.Layers[1].(*BatchNorm).Training())
	assert.False(t, s.Layers[5].(*Dropout).Training())
	// Eval mode is deterministic: Dropout is the identity.
	r := rand.New(rand.NewPCG(1, 1))
	v, _ := randF(r, 32, -1, 1)
	xin := tensor.FromFloat32(cpu, v, 2, 1, 4, 4)
	assert.Equal(t, s.Forward(xin).Float32s(), s.Forward(xin).Float32s())

	// Flatten and Reshape keep the batch dimension.
	f := (&Flatten{}).Forward(tensor.Zeros(cpu, 2, 3, 4))
	assert.Equal(t, []int{2, 12}, f.Shape())
	rs := NewReshape(-1, 2).Forward(tensor.Zeros(cpu, 3, 8))
	require.Equal(t, []int{3, 4, 2}, rs.Shape())
}

// TestFrozen: inside Frozen a backward pass reaches the input but leaves the
// frozen layer's parameters without gradients; afterwards each parameter
// requires gradients as before (parameters listed twice, and one switched
// off beforehand, included).
func TestFrozen(t *testing.T) {
	rng := tensor.NewRNG(1)
	a, b := NewLinear(cpu, rng, 3, 2), NewLinear(cpu, rng, 2, 1)
	a.Bias.T.SetRequiresGrad(false)
	x := tensor.Ones(cpu, 4, 3).SetRequiresGrad(true)
	Frozen(func() {
		for _, p := range []*Param{a.Weight, a.Bias} {
			require.False(t, p.T.RequiresGrad())
		}
		tensor.Sum(a.Forward(x), false).Backward()
	}, a, b, a) // a twice: its parameters are listed twice, as shared ones would be
	assert.NotNil(t, x.Grad(), "the input's gradient")
	assert.Nil(t, a.Weight.T.Grad(), "a frozen weight got a gradient")
	assert.True(t, a.Weight.T.RequiresGrad())
	assert.False(t, a.Bias.T.RequiresGrad(), "a parameter switched off before stays off")
	assert.True(t, b.Bias.T.RequiresGrad())
}
