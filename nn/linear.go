package nn

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// LayerOption adjusts a layer at construction.
type LayerOption func(*layerOptions)

type layerOptions struct {
	noBias bool
}

// WithoutBias builds the layer without a bias (PyTorch's bias=False).
func WithoutBias() LayerOption { return func(o *layerOptions) { o.noBias = true } }

func applyOptions(opts []LayerOption) layerOptions {
	var o layerOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Linear is y = x·Wᵀ + b over the last dimension of x (any leading
// dimensions), with PyTorch's layout: weight [out, in], bias [out].
type Linear struct {
	Base
	Weight *Param // [out, in]
	Bias   *Param // [out], or nil
	In     int
	Out    int
}

// NewLinear makes a Linear layer initialised like PyTorch (see init.go).
func NewLinear(d tensor.Device, rng *tensor.RNG, in, out int, opts ...LayerOption) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn.NewLinear: invalid sizes in=%d out=%d", in, out))
	}
	o := applyOptions(opts)
	l := &Linear{In: in, Out: out}
	b := defaultBound(in)
	l.Weight = l.AddParam("weight", UniformInit(d, rng, b, out, in))
	if !o.noBias {
		l.Bias = l.AddParam("bias", UniformInit(d, rng, b, out))
	}
	return l
}

// Forward maps [..., in] to [..., out]. Leading dimensions are folded
// into one GEMM (a view when x is contiguous), and the weight is read
// through its transposed view (no copy).
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Rank() < 1 || x.Dim(-1) != l.In {
		panic(fmt.Sprintf("nn.Linear(%d→%d): input %v", l.In, l.Out, x))
	}
	x2 := x
	if x.Rank() != 2 {
		x2 = x.Reshape(-1, l.In)
	}
	wt := l.Weight.T.T()
	y := tensor.MatMul(x2, wt)
	if l.Bias != nil {
		yb := tensor.Add(y, l.Bias.T)
		releaseUnless(yb, y)
		y = yb
	}
	if x.Rank() != 2 {
		shape := append(append([]int(nil), x.Shape()[:x.Rank()-1]...), l.Out)
		yr := y.Reshape(shape...)
		releaseUnless(yr, y, x2)
		y = yr
	}
	releaseUnless(y, wt)
	return y
}
