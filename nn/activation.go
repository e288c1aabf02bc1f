package nn

import "github.com/ingotml/ingot/tensor"

// Activation modules: stateless layers wrapping the tensor ops, for use in
// Sequential. They have no parameters.

// ReLU is max(x, 0).
type ReLU struct{ Base }

// Forward implements Layer.
func (*ReLU) Forward(x *tensor.Tensor) *tensor.Tensor { return tensor.Relu(x) }

// LeakyReLU is x for x > 0, else Slope·x. NewLeakyReLU(0.01) is PyTorch's
// default; the zero value has slope 0 (a ReLU).
type LeakyReLU struct {
	Base
	Slope float32
}

// NewLeakyReLU makes a LeakyReLU with the given negative slope.
func NewLeakyReLU(slope float32) *LeakyReLU { return &LeakyReLU{Slope: slope} }

// Forward implements Layer.
func (l *LeakyReLU) Forward(x *tensor.Tensor) *tensor.Tensor { return tensor.LeakyRelu(x, l.Slope) }

// Tanh is tanh x.
type Tanh struct{ Base }

// Forward implements Layer.
func (*Tanh) Forward(x *tensor.Tensor) *tensor.Tensor { return tensor.Tanh(x) }

// Sigmoid is 1/(1+e⁻ˣ).
type Sigmoid struct{ Base }

// Forward implements Layer.
func (*Sigmoid) Forward(x *tensor.Tensor) *tensor.Tensor { return tensor.Sigmoid(x) }

// Softplus is ln(1+eˣ), computed stably (PyTorch's Softplus with beta 1;
// its threshold shortcut changes nothing in float32).
type Softplus struct{ Base }

// Forward implements Layer.
func (*Softplus) Forward(x *tensor.Tensor) *tensor.Tensor { return tensor.Softplus(x) }
