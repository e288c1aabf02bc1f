package nn

import (
	"fmt"

	"github.com/ingotml/ingot/tensor"
)

// Dropout zeroes each element with probability P in training mode and
// scales the survivors by 1/(1−P), so the expectation is unchanged; in eval
// mode it is the identity. The mask comes from the counter-based RNG, so a
// seed gives the same masks on every device.
type Dropout struct {
	Base
	P   float32
	RNG *tensor.RNG
}

// NewDropout makes a Dropout with drop probability p in [0, 1].
func NewDropout(p float32, rng *tensor.RNG) *Dropout {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nn.NewDropout: probability %v outside [0, 1]", p))
	}
	if rng == nil {
		panic("nn.NewDropout: nil RNG")
	}
	dr := &Dropout{P: p, RNG: rng}
	dr.SetTraining(true)
	return dr
}

// Forward applies the mask in training mode. The scaled mask is kept by
// the autograd node for the backward pass and freed by it.
func (dr *Dropout) Forward(x *tensor.Tensor) *tensor.Tensor {
	if !dr.Training() || dr.P == 0 {
		return x
	}
	d := x.Device()
	var mask *tensor.Tensor
	if dr.P == 1 {
		mask = tensor.Zeros(d, x.Shape()...)
	} else {
		m := dr.RNG.Bernoulli(d, 1-dr.P, x.Shape()...)
		mask = tensor.Scale(m, 1/(1-dr.P))
		m.Release()
	}
	xd := x.Detach()
	y := tensor.Mul(xd, mask)
	xd.Release()
	if !x.RequiresGrad() {
		mask.Release()
		return y
	}
	recordOp(y, "Dropout", []*tensor.Tensor{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		if mask == nil {
			panic("nn.Dropout: backward through the same forward pass twice (its mask was freed)")
		}
		gx := tensor.Mul(g, mask)
		mask.Release()
		mask = nil
		return []*tensor.Tensor{gx}
	})
	return y
}
