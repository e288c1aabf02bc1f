package kernels

import "github.com/ingotml/ingot/tensor"

// Batch normalisation in training mode, as three fused kernels over a
// contiguous input X viewed as [Outer, C, Inner] (N×C, N×C×L or N×C×H×W
// with Inner = L or H·W): the statistics of every channel c are taken over
// its n = Outer·Inner values. All views are contiguous float32; the
// per-channel views hold C elements.
//
// The statistics are two-pass: a first mean m̃, then the sums of
// d = x − m̃ and d², giving mean = m̃ + Σd/n and the biased variance
// Σd²/n − (Σd/n)², so an input with a large mean and a small spread keeps
// its variance (no E[x²] − E[x]² cancellation), and an inaccurate m̃ is
// corrected exactly to first order. The CPU accumulates in float64, Metal
// in float with a threadgroup tree.

// BatchNormStatsParams: Mean[c] = the mean of channel c, InvStd[c] =
// 1/√(var + Eps) with the biased variance var. With UpdateRunning, also
// RunningMean += Momentum·(mean − RunningMean) and RunningVar +=
// Momentum·(var·n/(n−1) − RunningVar) (PyTorch's unbiased running
// variance), in float32 from the rounded mean and variance. n must be > 1
// when UpdateRunning.
type BatchNormStatsParams struct {
	X                       tensor.View
	Mean, InvStd            tensor.View
	RunningMean, RunningVar tensor.View // read and written when UpdateRunning
	Outer, C, Inner         int
	Eps, Momentum           float32
	UpdateRunning           bool
}

// BatchNormApplyParams: Y = (X − Mean[c])·(InvStd[c]·Weight[c]) + Bias[c].
// Y may alias X.
type BatchNormApplyParams struct {
	Y, X                       tensor.View
	Mean, InvStd, Weight, Bias tensor.View
	Outer, C, Inner            int
}

// BatchNormGradParams is the backward of the training-mode forward from
// the upstream gradient DY, the input X and the saved Mean and InvStd: with
// x̂ = (X − Mean[c])·InvStd[c] and per-channel sums over its n values,
//
//	DBias[c] = Σ DY,  DWeight[c] = Σ DY·x̂
//	DX = Weight[c]·InvStd[c]·(DY − Σ DY/n − x̂·Σ(DY·x̂)/n)
//
// each written only when its Need flag is set (the others may be zero
// views). DX may alias DY.
type BatchNormGradParams struct {
	DX, DWeight, DBias             tensor.View
	DY, X                          tensor.View
	Mean, InvStd, Weight           tensor.View
	Outer, C, Inner                int
	NeedDX, NeedDWeight, NeedDBias bool
}

// The batch-normalisation kernels.
var (
	BatchNormStats = tensor.NewKernel[BatchNormStatsParams]("batchnorm_stats")
	BatchNormApply = tensor.NewKernel[BatchNormApplyParams]("batchnorm_apply")
	BatchNormGrad  = tensor.NewKernel[BatchNormGradParams]("batchnorm_bwd")
)
