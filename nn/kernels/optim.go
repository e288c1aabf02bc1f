package kernels

import "github.com/ingotml/ingot/tensor"

// Optimizer updates: one kernel per parameter per step, updating the
// parameter and its state in place, with PyTorch 1.13's arithmetic (its
// single-tensor CPU path). Scalars that PyTorch computes in double on the
// host (1−β, bias corrections, lr/(1−β1ᵗ)) arrive precomputed and rounded
// to float32, as PyTorch's kernels receive them. All views are contiguous
// and hold N elements; state views an update does not use may be zero.

// SGDParams: d = Grad + WeightDecay·Param; with Momentum ≠ 0, Buf = d on
// the first step (First) and Buf = Momentum·Buf + Dampening1·d after
// (Dampening1 = 1 − dampening), then d = d + Momentum·Buf (Nesterov) or
// d = Buf; finally Param −= LR·d.
type SGDParams struct {
	Param, Grad, Buf     tensor.View
	N                    int
	LR, WeightDecay      float32
	Momentum, Dampening1 float32
	Nesterov, First      bool
}

// AdamParams: g = Grad (+ WeightDecay·Param unless Decoupled); Param ×=
// DecayFactor when Decoupled (AdamW, 1 − lr·wd);
//
//	ExpAvg = Beta1·ExpAvg + OneMinusBeta1·g
//	ExpAvgSq = Beta2·ExpAvgSq + OneMinusBeta2·g²
//	v = ExpAvgSq, or MaxExpAvgSq = max(MaxExpAvgSq, ExpAvgSq) with AMSGrad
//	Param += −StepSize · ExpAvg / (√v / BiasCorrection2Sqrt + Eps)
type AdamParams struct {
	Param, Grad, ExpAvg, ExpAvgSq, MaxExpAvgSq tensor.View
	N                                          int
	Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 float32
	Eps, WeightDecay, DecayFactor              float32
	StepSize, BiasCorrection2Sqrt              float32
	Decoupled, AMSGrad                         bool
}

// RMSPropParams: g = Grad + WeightDecay·Param;
//
//	SquareAvg = Alpha·SquareAvg + OneMinusAlpha·g²
//	avg = √SquareAvg + Eps, or, Centered, GradAvg = Alpha·GradAvg +
//	      OneMinusAlpha·g and avg = √(SquareAvg − GradAvg²) + Eps
//	Momentum > 0: Buf = Momentum·Buf + g/avg, Param −= LR·Buf
//	else Param −= LR·g/avg
type RMSPropParams struct {
	Param, Grad, SquareAvg, GradAvg, Buf tensor.View
	N                                    int
	LR, Alpha, OneMinusAlpha, Eps        float32
	WeightDecay, Momentum                float32
	Centered                             bool
}

// SumSquaresParams: Out[0] = Σ X[i]² over N elements (accumulated in
// float64 on the CPU), for gradient-norm clipping.
type SumSquaresParams struct {
	Out, X tensor.View
	N      int
}

// The optimizer kernels.
var (
	SGDUpdate     = tensor.NewKernel[SGDParams]("sgd_update")
	AdamUpdate    = tensor.NewKernel[AdamParams]("adam_update")
	RMSPropUpdate = tensor.NewKernel[RMSPropParams]("rmsprop_update")
	SumSquares    = tensor.NewKernel[SumSquaresParams]("sum_squares")
)
