package metal

import (
	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
)

// registerNNKernels adds the MSL twins of package nn/kernels (shaders
// conv.metal, rnn.metal, optim.metal, norm.metal). A view a kernel does not use may be
// zero: it binds the status buffer as a placeholder, which the kernel never
// reads.
func registerNNKernels(t *tensor.KernelTable) {
	geom := func(g kernels.ConvGeom) args {
		return args{}.i32(g.N).i32(g.C).i32(g.H).i32(g.W).i32(g.KH).i32(g.KW).i32(g.OH).i32(g.OW).
			i32(g.StrideH).i32(g.StrideW).i32(g.PadH).i32(g.PadW).i32(g.DilH).i32(g.DilW)
	}
	tensor.Implement(t, kernels.Im2colKernel, func(dv tensor.Device, p kernels.Im2colParams) {
		g := p.Geom
		if n := g.N * g.ColRows() * g.ColCols(); n > 0 {
			dv.(*Device).dispatch("im2col", linear(n), []binding{view(p.Cols), view(p.X)}, geom(g))
		}
	})
	tensor.Implement(t, kernels.Col2imKernel, func(dv tensor.Device, p kernels.Col2imParams) {
		g := p.Geom
		if n := g.N * g.C * g.H * g.W; n > 0 {
			dv.(*Device).dispatch("col2im", linear(n), []binding{view(p.X), view(p.Cols)}, geom(g))
		}
	})
	cell := func(n, hidden int, bias bool) args { return args{}.i32(n).i32(hidden).b(bias) }
	tensor.Implement(t, kernels.LSTMCell, func(dv tensor.Device, p kernels.LSTMCellParams) {
		if n := p.N * p.Hidden; n > 0 {
			dv.(*Device).dispatch("lstm_cell_fwd", linear(n),
				[]binding{view(p.Gates), optional(p.BiasIH, p.HasBias), optional(p.BiasHH, p.HasBias), view(p.CPrev), view(p.C), view(p.H)},
				cell(p.N, p.Hidden, p.HasBias))
		}
	})
	tensor.Implement(t, kernels.LSTMCellGrad, func(dv tensor.Device, p kernels.LSTMCellGradParams) {
		if n := p.N * p.Hidden; n > 0 {
			dv.(*Device).dispatch("lstm_cell_bwd", linear(n),
				[]binding{view(p.Act), view(p.C), view(p.CPrev), view(p.DY), view(p.DHRec), view(p.DC), view(p.DGates)},
				cell(p.N, p.Hidden, false))
		}
	})
	tensor.Implement(t, kernels.GRUCell, func(dv tensor.Device, p kernels.GRUCellParams) {
		if n := p.N * p.Hidden; n > 0 {
			dv.(*Device).dispatch("gru_cell_fwd", linear(n),
				[]binding{view(p.XG), view(p.HG), optional(p.BiasIH, p.HasBias), optional(p.BiasHH, p.HasBias), view(p.HPrev), view(p.H)},
				cell(p.N, p.Hidden, p.HasBias))
		}
	})
	tensor.Implement(t, kernels.GRUCellGrad, func(dv tensor.Device, p kernels.GRUCellGradParams) {
		if n := p.N * p.Hidden; n > 0 {
			dv.(*Device).dispatch("gru_cell_bwd", linear(n),
				[]binding{view(p.Act), view(p.HG), view(p.HPrev), view(p.DY), view(p.DHRec), view(p.DXG), view(p.DHG), view(p.DHPrev)},
				cell(p.N, p.Hidden, false))
		}
	})
	tensor.Implement(t, kernels.SGDUpdate, func(dv tensor.Device, p kernels.SGDParams) {
		if p.N > 0 {
			a := args{}.i32(p.N).f32(p.LR).f32(p.WeightDecay).f32(p.Momentum).f32(p.Dampening1).b(p.Nesterov).b(p.First)
			dv.(*Device).dispatch("sgd_update", linear(p.N), []binding{view(p.Param), view(p.Grad), view(p.Buf)}, a)
		}
	})
	tensor.Implement(t, kernels.AdamUpdate, func(dv tensor.Device, p kernels.AdamParams) {
		if p.N > 0 {
			a := args{}.i32(p.N).f32(p.Beta1).f32(p.OneMinusBeta1).f32(p.Beta2).f32(p.OneMinusBeta2).
				f32(p.Eps).f32(p.WeightDecay).f32(p.DecayFactor).f32(p.StepSize).f32(p.BiasCorrection2Sqrt).
				b(p.Decoupled).b(p.AMSGrad)
			dv.(*Device).dispatch("adam_update", linear(p.N),
				[]binding{view(p.Param), view(p.Grad), view(p.ExpAvg), view(p.ExpAvgSq), view(p.MaxExpAvgSq)}, a)
		}
	})
	tensor.Implement(t, kernels.RMSPropUpdate, func(dv tensor.Device, p kernels.RMSPropParams) {
		if p.N > 0 {
			a := args{}.i32(p.N).f32(p.LR).f32(p.Alpha).f32(p.OneMinusAlpha).f32(p.Eps).f32(p.WeightDecay).f32(p.Momentum).b(p.Centered)
			dv.(*Device).dispatch("rmsprop_update", linear(p.N),
				[]binding{view(p.Param), view(p.Grad), view(p.SquareAvg), view(p.GradAvg), view(p.Buf)}, a)
		}
	})
	tensor.Implement(t, kernels.SumSquares, func(dv tensor.Device, p kernels.SumSquaresParams) {
		dv.(*Device).dispatch("sum_squares", groupsFor(1, 1024), []binding{view(p.Out), view(p.X)}, args{}.i32(p.N))
	})
	bnThreads := func(n int) int { // a power of two from 32 to 256, about n
		t := 32
		for t < n && t < 256 {
			t *= 2
		}
		return t
	}
	tensor.Implement(t, kernels.BatchNormStats, func(dv tensor.Device, p kernels.BatchNormStatsParams) {
		if n := p.Outer * p.Inner; p.C > 0 && n > 0 {
			a := args{}.i32(p.Outer).i32(p.C).i32(p.Inner).f32(p.Eps).f32(p.Momentum).b(p.UpdateRunning)
			dv.(*Device).dispatch("batchnorm_stats", groupsFor(p.C, bnThreads(n)),
				[]binding{view(p.X), view(p.Mean), view(p.InvStd), optional(p.RunningMean, p.UpdateRunning), optional(p.RunningVar, p.UpdateRunning)}, a)
		}
	})
	tensor.Implement(t, kernels.BatchNormApply, func(dv tensor.Device, p kernels.BatchNormApplyParams) {
		if n := p.Outer * p.C * p.Inner; n > 0 {
			dv.(*Device).dispatch("batchnorm_apply", linear(n),
				[]binding{view(p.Y), view(p.X), view(p.Mean), view(p.InvStd), view(p.Weight), view(p.Bias)},
				args{}.i32(p.Outer).i32(p.C).i32(p.Inner))
		}
	})
	tensor.Implement(t, kernels.BatchNormGrad, func(dv tensor.Device, p kernels.BatchNormGradParams) {
		if n := p.Outer * p.Inner; p.C > 0 && n > 0 {
			a := args{}.i32(p.Outer).i32(p.C).i32(p.Inner).b(p.NeedDX).b(p.NeedDWeight).b(p.NeedDBias)
			dv.(*Device).dispatch("batchnorm_bwd", groupsFor(p.C, bnThreads(n)),
				[]binding{optional(p.DX, p.NeedDX), optional(p.DWeight, p.NeedDWeight), optional(p.DBias, p.NeedDBias),
					view(p.DY), view(p.X), view(p.Mean), view(p.InvStd), optional(p.Weight, p.NeedDX)}, a)
		}
	})
}

// optional binds v when used, else the placeholder.
func optional(v tensor.View, used bool) binding {
	if used {
		return view(v)
	}
	return binding{}
}
