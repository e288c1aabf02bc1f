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
