package nn

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/ingotml/ingot/tensor"
)

// Sequential chains layers; child i is named "i", so parameters are
// "0.weight", "2.bias"… exactly as in PyTorch's nn.Sequential.
type Sequential struct {
	Base
	Layers []Layer
}

// NewSequential chains layers in order.
func NewSequential(layers ...Layer) *Sequential {
	s := &Sequential{}
	for _, l := range layers {
		s.Append(l)
	}
	s.SetTraining(true)
	return s
}

// Append adds a layer at the end.
func (s *Sequential) Append(l Layer) {
	s.AddModule(strconv.Itoa(len(s.Layers)), l)
	s.Layers = append(s.Layers, l)
}

// Forward runs the layers in order.
func (s *Sequential) Forward(x *tensor.Tensor) *tensor.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// Flatten reshapes [N, ...] to [N, rest] (PyTorch's nn.Flatten with
// start_dim 1).
type Flatten struct{ Base }

// Forward implements Layer.
func (*Flatten) Forward(x *tensor.Tensor) *tensor.Tensor { return x.Flatten() }

// Reshape reshapes [N, ...] to [N, Shape...], keeping the batch dimension
// (PyTorch's nn.Unflatten(1, Shape) on a flat input). One entry may be −1.
type Reshape struct {
	Base
	Shape []int
}

// NewReshape makes a Reshape to per-sample shape.
func NewReshape(shape ...int) *Reshape { return &Reshape{Shape: slices.Clone(shape)} }

// Forward implements Layer.
func (r *Reshape) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Rank() == 0 {
		panic(fmt.Sprintf("nn.Reshape: input %v has no batch dimension", x))
	}
	return x.Reshape(append([]int{x.Dim(0)}, r.Shape...)...)
}
