package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/ingotml/ingot/tensor"
)

// Reduction says how a loss combines its per-element values.
type Reduction int

// Reductions. Mean is the default (the zero value), as in PyTorch.
const (
	Mean Reduction = iota // average over elements (see each loss)
	Sum                   // total
	None                  // per-element values, unreduced
)

func (r Reduction) apply(op string, l *tensor.Tensor) *tensor.Tensor {
	switch r {
	case Mean:
		return tensor.Mean(l, false)
	case Sum:
		return tensor.Sum(l, false)
	case None:
		return l
	}
	panic(fmt.Sprintf("nn.%s: unknown reduction %d", op, r))
}

func sameShapes(op string, a, b *tensor.Tensor) {
	if !slices.Equal(a.Shape(), b.Shape()) {
		panic(fmt.Sprintf("nn.%s: input %v and target %v differ in shape", op, a, b))
	}
}

// Losses compose tensor ops whose kernels are already stable and fused
// where it matters (log-softmax, softplus), so they need no kernels of
// their own; gradients come from autograd, except for BCELoss (PyTorch's
// gradient formula) and the class pick of NLL/cross-entropy (a scatter of
// the upstream gradient), which record their own backward. Targets receive
// gradients only in MSELoss, L1Loss and BCEWithLogitsLoss, and only when
// they require them.

// MSELoss is (x − t)².
func MSELoss(x, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	sameShapes("MSELoss", x, target)
	d := tensor.Sub(x, target)
	return r.apply("MSELoss", tensor.Mul(d, d))
}

// L1Loss is |x − t| (gradient 0 where they are equal).
func L1Loss(x, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	sameShapes("L1Loss", x, target)
	return r.apply("L1Loss", tensor.Abs(tensor.Sub(x, target)))
}

// BCELoss is binary cross-entropy on probabilities p in [0, 1]:
// −(t·log p + (1−t)·log(1−p)), with each log clamped to ≥ −100 as in
// PyTorch, so p = 0 or 1 gives a finite loss. Its gradient is PyTorch's,
// (p − t)/max(p·(1−p), 10⁻¹²), finite at p = 0 and 1. The target receives
// no gradient.
func BCELoss(p, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	sameShapes("BCELoss", p, target)
	pd, td := p.Detach(), target.Detach()
	var tmp []*tensor.Tensor
	keep := func(t *tensor.Tensor) *tensor.Tensor { tmp = append(tmp, t); return t }
	free := func() {
		for _, t := range tmp {
			t.Release()
		}
		tmp = tmp[:0]
	}
	q := keep(tensor.Affine(pd, -1, 1)) // 1 − p
	lp := keep(tensor.Clamp(keep(tensor.Log(pd)), -100, math.MaxFloat32))
	lq := keep(tensor.Clamp(keep(tensor.Log(q)), -100, math.MaxFloat32))
	// −(t·lp + (1−t)·lq) = −(lq + t·(lp − lq))
	l := tensor.Neg(keep(tensor.Add(lq, keep(tensor.Mul(td, keep(tensor.Sub(lp, lq)))))))
	free()
	if !p.RequiresGrad() {
		pd.Release()
		td.Release()
		return r.apply("BCELoss", l)
	}
	recordOp(l, "BCELoss", []*tensor.Tensor{p}, func(g *tensor.Tensor) []*tensor.Tensor {
		if pd == nil {
			panic("nn.BCELoss: backward through the same forward pass twice (its inputs were released)")
		}
		num := keep(tensor.Sub(pd, td))
		pq := keep(tensor.Mul(pd, keep(tensor.Affine(pd, -1, 1))))
		den := keep(tensor.Clamp(pq, 1e-12, math.MaxFloat32))
		gp := tensor.Mul(g, keep(tensor.Div(num, den)))
		free()
		pd.Release()
		td.Release()
		pd, td = nil, nil
		return []*tensor.Tensor{gp}
	})
	return r.apply("BCELoss", l)
}

// BCEWithLogitsLoss is binary cross-entropy on logits x, computed stably
// as softplus(x) − x·t = max(x, 0) − x·t + log1p(e^−|x|) (the softplus
// kernel evaluates exactly that form); its gradient is σ(x) − t.
func BCEWithLogitsLoss(x, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	sameShapes("BCEWithLogitsLoss", x, target)
	return r.apply("BCEWithLogitsLoss", tensor.Sub(tensor.Softplus(x), tensor.Mul(x, target)))
}

// pickClass returns logp[i, target[i]] as [N]; its backward scatters the
// upstream gradient back to those entries (and frees the index). Targets
// are checked on the host: they come from host data, so reading them
// waits for nothing on an asynchronous device.
func pickClass(op string, logp, target *tensor.Tensor) *tensor.Tensor {
	if logp.Rank() != 2 || target.DType() != tensor.Int32 || target.Rank() != 1 || target.Dim(0) != logp.Dim(0) {
		panic(fmt.Sprintf("nn.%s: want input [N, C] and int32 target [N], have %v and %v", op, logp, target))
	}
	n, c := logp.Dim(0), logp.Dim(1)
	ts := target.Int32s()
	flat := make([]int32, n)
	for i, t := range ts {
		if t < 0 || int(t) >= c {
			panic(fmt.Sprintf("nn.%s: target %d at position %d is not a class in [0, %d)", op, t, i, c))
		}
		flat[i] = int32(i*c) + t
	}
	d := logp.Device()
	idx := tensor.FromInt32(d, flat, n)
	ld := logp.Detach()
	table := ld.Reshape(n*c, 1)
	picked := tensor.Gather(table, idx)
	y := picked.Reshape(n)
	for _, t := range []*tensor.Tensor{ld, table, picked} {
		t.Release()
	}
	if !logp.RequiresGrad() {
		idx.Release()
		return y
	}
	recordOp(y, op, []*tensor.Tensor{logp}, func(g *tensor.Tensor) []*tensor.Tensor {
		if idx == nil {
			panic(fmt.Sprintf("nn.%s: backward through the same forward pass twice (its targets were freed)", op))
		}
		gc := g.Contiguous()
		gl := tensor.Zeros(d, n, c)
		tensor.ScatterAddKernel.Run(d, tensor.ScatterAddParams{Out: kview(gl), Src: kview(gc), Index: kview(idx), N: n, Rows: n * c, Cols: 1})
		if gc != g {
			gc.Release()
		}
		idx.Release()
		idx = nil
		return []*tensor.Tensor{gl}
	})
	return y
}

// NLLLoss is −logp[i, target[i]] for log-probabilities logp [N, C] and
// int32 class indices target [N]; Mean averages over N.
func NLLLoss(logp, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	return r.apply("NLLLoss", tensor.Neg(pickClass("NLLLoss", logp, target)))
}

// CrossEntropyLoss is NLLLoss of the log-softmax of logits [N, C] over
// int32 class indices [N] (PyTorch's F.cross_entropy without weights or
// label smoothing). The log-softmax kernel is fused and stable (max
// subtracted, log-sum-exp in float64 on the CPU); the gradient is
// softmax(x) − onehot(t), scaled by the reduction.
func CrossEntropyLoss(logits, target *tensor.Tensor, r Reduction) *tensor.Tensor {
	if logits.Rank() != 2 {
		panic(fmt.Sprintf("nn.CrossEntropyLoss: want logits [N, C], have %v", logits))
	}
	return NLLLoss(tensor.LogSoftmax(logits, 1), target, r)
}

// GaussianKL is the KL divergence of N(mu, exp(logvar)) from N(0, I), the
// VAE regulariser: −½·Σ(1 + logvar − mu² − exp(logvar)) summed over every
// dimension but the first (the batch). None gives the per-sample values
// [N]; Mean averages them over the batch; Sum adds them.
func GaussianKL(mu, logvar *tensor.Tensor, r Reduction) *tensor.Tensor {
	sameShapes("GaussianKL", mu, logvar)
	if mu.Rank() < 1 {
		panic(fmt.Sprintf("nn.GaussianKL: want [N, ...] inputs, have %v", mu))
	}
	t := tensor.Sub(tensor.AddScalar(logvar, 1), tensor.Add(tensor.Mul(mu, mu), tensor.Exp(logvar)))
	var per *tensor.Tensor
	if mu.Rank() == 1 {
		per = tensor.Scale(t, -0.5)
	} else {
		axes := make([]int, mu.Rank()-1)
		for i := range axes {
			axes[i] = i + 1
		}
		per = tensor.Scale(tensor.Sum(t, false, axes...), -0.5)
	}
	return r.apply("GaussianKL", per)
}

// L1Penalty is Σ|w| over m's trainable parameters (biases included; pass a
// smaller module to exclude some). Multiply by the strength yourself.
func L1Penalty(m Module) *tensor.Tensor {
	return penalty("L1Penalty", m, func(w *tensor.Tensor) *tensor.Tensor { return tensor.Sum(tensor.Abs(w), false) })
}

// L2Penalty is Σw² over m's trainable parameters (no ½ factor).
func L2Penalty(m Module) *tensor.Tensor {
	return penalty("L2Penalty", m, func(w *tensor.Tensor) *tensor.Tensor { return tensor.Sum(tensor.Mul(w, w), false) })
}

func penalty(op string, m Module, f func(*tensor.Tensor) *tensor.Tensor) *tensor.Tensor {
	ps := Trainable(m)
	if len(ps) == 0 {
		panic(fmt.Sprintf("nn.%s: module has no trainable parameters", op))
	}
	var total *tensor.Tensor
	for _, p := range ps {
		v := f(p.T)
		if total == nil {
			total = v
		} else {
			total = tensor.Add(total, v)
		}
	}
	return total
}
