package nn

import (
	"fmt"
	"slices"

	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
)

// BatchNorm is PyTorch's BatchNorm1d/BatchNorm2d: per-channel
// normalisation over the batch (and spatial positions) with an affine
// weight/bias, running_mean and running_var buffers and
// num_batches_tracked.
//
// In training mode it normalises with the batch statistics (biased
// variance) and updates the running statistics with
// running = (1−momentum)·running + momentum·batch, using the unbiased
// variance n/(n−1)·var, exactly like PyTorch. In eval mode it normalises
// with the running statistics. num_batches_tracked is an int32 scalar in
// memory and is written to weight files as I64 like PyTorch's. PyTorch's
// momentum=None (a cumulative average) is not supported; set Momentum to
// another constant if needed.
type BatchNorm struct {
	Base
	Weight, Bias            *Param // [C]
	RunningMean, RunningVar *Param // [C] buffers
	NumBatchesTracked       *Param // int32 scalar buffer
	Features                int
	Eps, Momentum           float32
	spatial                 int // 1 for BatchNorm1d ([N,C] or [N,C,L]), 2 for 2d ([N,C,H,W])
}

// NewBatchNorm1d normalises [N, C] or [N, C, L] inputs.
func NewBatchNorm1d(d tensor.Device, features int) *BatchNorm { return newBatchNorm(d, features, 1) }

// NewBatchNorm2d normalises [N, C, H, W] inputs.
func NewBatchNorm2d(d tensor.Device, features int) *BatchNorm { return newBatchNorm(d, features, 2) }

func newBatchNorm(d tensor.Device, features, spatial int) *BatchNorm {
	if features <= 0 {
		panic(fmt.Sprintf("nn.NewBatchNorm%dd: %d features", spatial, features))
	}
	b := &BatchNorm{Features: features, Eps: 1e-5, Momentum: 0.1, spatial: spatial}
	b.Weight = b.AddParam("weight", tensor.Ones(d, features))
	b.Bias = b.AddParam("bias", tensor.Zeros(d, features))
	b.RunningMean = b.AddBuffer("running_mean", tensor.Zeros(d, features))
	b.RunningVar = b.AddBuffer("running_var", tensor.Ones(d, features))
	b.NumBatchesTracked = b.AddBuffer("num_batches_tracked", tensor.FromInt32(d, []int32{0}, []int{}...))
	b.SetTraining(true)
	return b
}

// Forward normalises x per channel (axis 1).
func (b *BatchNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	okRank := x.Rank() == 4
	if b.spatial == 1 {
		okRank = x.Rank() == 2 || x.Rank() == 3
	}
	if !okRank || x.Dim(1) != b.Features {
		panic(fmt.Sprintf("nn.BatchNorm%dd(%d): unexpected input %v", b.spatial, b.Features, x))
	}
	n := x.Len() / b.Features
	if !b.Training() {
		bshape := []int{b.Features}
		for i := 2; i < x.Rank(); i++ {
			bshape = append(bshape, 1)
		}
		w, bias := b.Weight.T.Reshape(bshape...), b.Bias.T.Reshape(bshape...)
		rm, rv := b.RunningMean.T.Reshape(bshape...), b.RunningVar.T.Reshape(bshape...)
		std := tensor.Sqrt(tensor.AddScalar(rv, b.Eps))
		return tensor.Add(tensor.Mul(tensor.Div(tensor.Sub(x, rm), std), w), bias)
	}
	if n <= 1 {
		panic(fmt.Sprintf("nn.BatchNorm%dd: expected more than 1 value per channel when training, got input %v", b.spatial, x))
	}
	return b.trainForward(x, n)
}

// trainForward is the training-mode forward as one autograd node over the
// fused kernels of package nn/kernels: batchnorm_stats (which also folds
// the batch statistics into the running buffers), batchnorm_apply, and
// batchnorm_bwd for the gradients of x, weight and bias. The per-channel
// mean and 1/√(var+eps) are the only tensors saved beside x; the backward
// frees them, so a second backward through the same forward pass panics
// (as PyTorch does without retain_graph).
func (b *BatchNorm) trainForward(x *tensor.Tensor, n int) *tensor.Tensor {
	if x.DType() != tensor.Float32 {
		panic(fmt.Sprintf("nn.BatchNorm%dd: want float32 input, have %v", b.spatial, x))
	}
	d := x.Device()
	if b.Weight.T.Device() != d {
		panic(fmt.Sprintf("nn.BatchNorm%dd: input %v on %s, parameters on %s", b.spatial, x, d.Name(), b.Weight.T.Device().Name()))
	}
	xc := x.Contiguous() // recorded when x needs gradients and is strided
	outer, c := x.Dim(0), b.Features
	inner := n / outer
	mean := tensor.Empty(d, tensor.Float32, c)
	invstd := tensor.Empty(d, tensor.Float32, c)
	kernels.BatchNormStats.Run(d, kernels.BatchNormStatsParams{
		X: kview(xc), Mean: kview(mean), InvStd: kview(invstd),
		RunningMean: kview(b.RunningMean.T), RunningVar: kview(b.RunningVar.T),
		Outer: outer, C: c, Inner: inner, Eps: b.Eps, Momentum: b.Momentum, UpdateRunning: true,
	})
	b.countBatch()
	w, bias := b.Weight.T, b.Bias.T
	y := tensor.Empty(d, tensor.Float32, x.Shape()...)
	kernels.BatchNormApply.Run(d, kernels.BatchNormApplyParams{
		Y: kview(y), X: kview(xc), Mean: kview(mean), InvStd: kview(invstd), Weight: kview(w), Bias: kview(bias),
		Outer: outer, C: c, Inner: inner,
	})
	any, need := needs(xc, w, bias) // decided now, as the graph is recorded
	if !any {
		mean.Release()
		invstd.Release()
		if xc != x {
			xc.Release()
		}
		return y
	}
	recordOp(y, fmt.Sprintf("BatchNorm%dd", b.spatial), []*tensor.Tensor{xc, w, bias}, func(g *tensor.Tensor) []*tensor.Tensor {
		if mean == nil {
			panic(fmt.Sprintf("nn.BatchNorm%dd: backward through the same forward pass twice (its saved statistics were freed)", b.spatial))
		}
		gc := g.Contiguous()
		p := kernels.BatchNormGradParams{
			DY: kview(gc), X: kview(xc), Mean: kview(mean), InvStd: kview(invstd), Weight: kview(w),
			Outer: outer, C: c, Inner: inner,
			NeedDX: need[0], NeedDWeight: need[1], NeedDBias: need[2],
		}
		grads := make([]*tensor.Tensor, 3)
		if p.NeedDX {
			grads[0] = tensor.Empty(d, tensor.Float32, xc.Shape()...)
			p.DX = kview(grads[0])
		}
		if p.NeedDWeight {
			grads[1] = tensor.Empty(d, tensor.Float32, c)
			p.DWeight = kview(grads[1])
		}
		if p.NeedDBias {
			grads[2] = tensor.Empty(d, tensor.Float32, c)
			p.DBias = kview(grads[2])
		}
		kernels.BatchNormGrad.Run(d, p)
		if gc != g {
			gc.Release()
		}
		mean.Release()
		invstd.Release()
		mean, invstd = nil, nil
		return grads
	})
	return y
}

// countBatch adds one to num_batches_tracked in place on the device (no
// host round trip, and every holder of the tensor sees it): through
// float32, exact up to 2²⁴ batches.
func (b *BatchNorm) countBatch() {
	nbt := b.NumBatchesTracked.T
	f := tensor.Cast(nbt, tensor.Float32)
	f1 := tensor.AddScalar(f, 1)
	tensor.CastKernel.Run(nbt.Device(), tensor.CastParams{Out: kview(nbt), OutType: tensor.Int32, X: kview(f1), XType: tensor.Float32, N: 1})
	f.Release()
	f1.Release()
}

// LayerNorm is PyTorch's nn.LayerNorm: normalisation over the trailing
// dimensions given by Shape (biased variance, eps 1e-5) with an
// elementwise affine weight and bias of that shape.
type LayerNorm struct {
	Base
	Weight, Bias *Param
	Shape        []int
	Eps          float32
}

// NewLayerNorm normalises over the trailing dimensions shape.
func NewLayerNorm(d tensor.Device, shape ...int) *LayerNorm {
	if len(shape) == 0 {
		panic("nn.NewLayerNorm: empty normalized shape")
	}
	l := &LayerNorm{Shape: slices.Clone(shape), Eps: 1e-5}
	l.Weight = l.AddParam("weight", tensor.Ones(d, shape...))
	l.Bias = l.AddParam("bias", tensor.Zeros(d, shape...))
	return l
}

// Forward normalises x over its trailing dimensions.
func (l *LayerNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	k := len(l.Shape)
	if x.Rank() < k || !slices.Equal(x.Shape()[x.Rank()-k:], l.Shape) {
		panic(fmt.Sprintf("nn.LayerNorm(%v): input %v", l.Shape, x))
	}
	axes := make([]int, k)
	for i := range axes {
		axes[i] = x.Rank() - k + i
	}
	mean := tensor.Mean(x, true, axes...)
	xc := tensor.Sub(x, mean)
	v := tensor.Mean(tensor.Mul(xc, xc), true, axes...)
	xh := tensor.Div(xc, tensor.Sqrt(tensor.AddScalar(v, l.Eps)))
	return tensor.Add(tensor.Mul(xh, l.Weight.T), l.Bias.T)
}
