package optim

import (
	"math"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
)

// ClipGradNorm scales the gradients of params so that their global L2
// norm (all gradients as one vector) is at most maxNorm, like PyTorch's
// clip_grad_norm_ (coefficient maxNorm/(norm+1e-6), applied when below 1).
// It returns the norm before clipping. A NaN or infinite norm is returned
// as is and the gradients are left untouched, so the caller can skip the
// step. Parameters without gradients are ignored.
func ClipGradNorm(params []*nn.Param, maxNorm float64) float32 {
	type devSum struct {
		partial *tensor.Tensor
		n       int
	}
	var grads []*tensor.Tensor
	for _, p := range params {
		if g := p.T.Grad(); g != nil {
			grads = append(grads, g)
		}
	}
	if len(grads) == 0 {
		return 0
	}
	// One partial sum per gradient, written on its device; one read each.
	sums := map[tensor.Device]*devSum{}
	var order []tensor.Device
	idx := make([]int, len(grads))
	for i, g := range grads {
		d := g.Device()
		if sums[d] == nil {
			sums[d] = &devSum{}
			order = append(order, d)
		}
		idx[i] = sums[d].n
		sums[d].n++
	}
	for _, d := range order {
		sums[d].partial = tensor.Empty(d, tensor.Float32, sums[d].n)
	}
	for i, g := range grads {
		s := sums[g.Device()]
		if !g.IsContiguous() {
			panic("optim.ClipGradNorm: gradient " + g.String() + " is not contiguous")
		}
		kernels.SumSquares.Run(g.Device(), kernels.SumSquaresParams{
			Out: tensor.View{Buf: s.partial.Buffer(), Off: s.partial.Offset() + idx[i]}, X: view(g), N: g.Len()})
	}
	var total float64
	for _, d := range order {
		for _, v := range sums[d].partial.Float32s() {
			total += float64(v)
		}
		sums[d].partial.Release()
	}
	norm := math.Sqrt(total)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return float32(norm)
	}
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		for _, g := range grads {
			tensor.UnaryKernel.Run(g.Device(), tensor.UnaryParams{Op: tensor.OpAffine, Alpha: float32(coef), Out: view(g),
				X: layout(g), N: g.Len()})
		}
	}
	return float32(norm)
}

func layout(t *tensor.Tensor) tensor.Layout {
	l := tensor.Layout{Buf: t.Buffer(), Off: t.Offset(), Rank: 1}
	l.Shape[0], l.Strides[0] = t.Len(), 1
	return l
}
