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

// Forward applies the mask in training mode.
func (dr *Dropout) Forward(x *tensor.Tensor) *tensor.Tensor {
	if !dr.Training() || dr.P == 0 {
		return x
	}
	if dr.P == 1 {
		z := tensor.Zeros(x.Device(), x.Shape()...)
		return tensor.Mul(x, z)
	}
	mask := dr.RNG.Bernoulli(x.Device(), 1-dr.P, x.Shape()...)
	scaled := tensor.Scale(mask, 1/(1-dr.P))
	mask.Release()
	return tensor.Mul(x, scaled)
}
