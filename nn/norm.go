package nn

import (
	"fmt"
	"slices"

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
	axes := []int{0}
	bshape := []int{b.Features}
	for i := 2; i < x.Rank(); i++ {
		axes = append(axes, i)
		bshape = append(bshape, 1)
	}
	n := x.Len() / b.Features
	w, bias := b.Weight.T.Reshape(bshape...), b.Bias.T.Reshape(bshape...)
	if !b.Training() {
		rm, rv := b.RunningMean.T.Reshape(bshape...), b.RunningVar.T.Reshape(bshape...)
		std := tensor.Sqrt(tensor.AddScalar(rv, b.Eps))
		return tensor.Add(tensor.Mul(tensor.Div(tensor.Sub(x, rm), std), w), bias)
	}
	if n <= 1 {
		panic(fmt.Sprintf("nn.BatchNorm%dd: expected more than 1 value per channel when training, got input %v", b.spatial, x))
	}
	mean := tensor.Mean(x, true, axes...)
	xc := tensor.Sub(x, mean)
	v := tensor.Mean(tensor.Mul(xc, xc), true, axes...)
	y := tensor.Add(tensor.Mul(tensor.Div(xc, tensor.Sqrt(tensor.AddScalar(v, b.Eps))), w), bias)
	b.updateRunning(mean, v, n)
	return y
}

// updateRunning folds the batch statistics into the buffers in place,
// without touching the graph.
func (b *BatchNorm) updateRunning(mean, v *tensor.Tensor, n int) {
	m := b.Momentum
	mdet, vdet := mean.Detach(), v.Detach()
	md, vd := mdet.Reshape(b.Features), vdet.Reshape(b.Features)
	// running += m·(batch − running); the variance is made unbiased first.
	vu := tensor.Scale(vd, float32(n)/float32(n-1))
	dm := tensor.Sub(md, b.RunningMean.T)
	dv := tensor.Sub(vu, b.RunningVar.T)
	b.RunningMean.T.AddScaled(m, dm)
	b.RunningVar.T.AddScaled(m, dv)
	for _, t := range []*tensor.Tensor{mdet, vdet, md, vd, vu, dm, dv} {
		t.Release()
	}
	// num_batches_tracked += 1 in place on the device (no host round trip,
	// and every holder of the tensor sees it): through float32, exact up to
	// 2²⁴ batches.
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
