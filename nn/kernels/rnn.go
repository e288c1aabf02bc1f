package kernels

import "github.com/ingotml/ingot/tensor"

// Recurrent cells. A sequence layer computes the input projection of every
// timestep as one GEMM and, per step, adds the recurrent GEMM into the same
// buffer and runs one of these fused kernels over the batch. The forward
// kernels overwrite the gate pre-activations with the activations, which
// is what the backward kernels read (nothing is recomputed except tanh(c)).
// All views are contiguous row-major; rows are the batch, N of them.

// LSTMCellParams runs one LSTM step (PyTorch gate order i, f, g, o):
//
//	i, f, o = σ(Gates[i|f|o] + b), g = tanh(Gates[g] + b)
//	C = f⊙CPrev + i⊙g,  H = o⊙tanh(C)
//
// where b = BiasIH + BiasHH when HasBias. Gates [N,4H] holds W_ih·x + W_hh·h
// on entry and the activations (i, f, g, o) on exit. C and H are [N,H]
// outputs and may not alias CPrev.
type LSTMCellParams struct {
	Gates          tensor.View
	BiasIH, BiasHH tensor.View // [4H] each, read when HasBias
	HasBias        bool
	CPrev          tensor.View
	C, H           tensor.View
	N, Hidden      int
}

// LSTMCellGradParams is the backward of one LSTM step, from the
// activations Act [N,4H] and cell states C, CPrev [N,H] the forward saved:
//
//	dh = DY + DHRec
//	dc = DC + dh⊙o⊙(1−tanh²C)
//	DGates = (dc⊙g⊙i(1−i), dc⊙CPrev⊙f(1−f), dc⊙i⊙(1−g²), dh⊙tanh C⊙o(1−o))
//	DC ← dc⊙f
//
// DY is the gradient reaching h from the layer output, DHRec the one from
// the next step through W_hh; DC holds dL/dC on entry and dL/dCPrev on exit.
// DGates [N,4H] is the gradient of the gate pre-activations (and of the
// biases); the caller gets dL/dh_{t−1} = DGates·W_hh and the weight
// gradients by GEMMs.
type LSTMCellGradParams struct {
	Act       tensor.View
	C, CPrev  tensor.View
	DY, DHRec tensor.View
	DC        tensor.View
	DGates    tensor.View
	N, Hidden int
}

// GRUCellParams runs one GRU step (PyTorch gate order r, z, n):
//
//	r = σ(XG[r] + b_ir + HG[r] + b_hr), z = σ(XG[z] + b_iz + HG[z] + b_hz)
//	n = tanh(XG[n] + b_in + r⊙(HG[n] + b_hn))
//	H = (1−z)⊙n + z⊙HPrev
//
// XG [N,3H] holds W_ih·x on entry and the activations (r, z, n) on exit; HG
// [N,3H] holds W_hh·h on entry, and on exit its n block holds HG[n] + b_hn
// (which the backward needs). Biases are read when HasBias. H [N,H] may not
// alias HPrev.
type GRUCellParams struct {
	XG, HG         tensor.View
	BiasIH, BiasHH tensor.View // [3H] each, read when HasBias
	HasBias        bool
	HPrev          tensor.View
	H              tensor.View
	N, Hidden      int
}

// GRUCellGradParams is the backward of one GRU step, from the activations
// Act [N,3H], the saved HG [N,3H] (its n block being W_hn·h + b_hn) and
// HPrev [N,H]:
//
//	dh = DY + DHRec
//	dn = dh⊙(1−z)⊙(1−n²),  dr = dn⊙hn⊙r(1−r),  dz = dh⊙(HPrev−n)⊙z(1−z)
//	DXG = (dr, dz, dn),  DHG = (dr, dz, dn⊙r),  DHPrev = dh⊙z
//
// DXG and DHG [N,3H] are the gradients of W_ih·x + b_ih and W_hh·h + b_hh;
// DHPrev [N,H] is the direct part of dL/dh_{t−1}, to which the caller adds
// DHG·W_hh. DHPrev may alias DHRec (each element is read before written).
type GRUCellGradParams struct {
	Act, HG   tensor.View
	HPrev     tensor.View
	DY, DHRec tensor.View
	DXG, DHG  tensor.View
	DHPrev    tensor.View
	N, Hidden int
}

// The recurrent cell kernels.
var (
	LSTMCell     = tensor.NewKernel[LSTMCellParams]("lstm_cell_fwd")
	LSTMCellGrad = tensor.NewKernel[LSTMCellGradParams]("lstm_cell_bwd")
	GRUCell      = tensor.NewKernel[GRUCellParams]("gru_cell_fwd")
	GRUCellGrad  = tensor.NewKernel[GRUCellGradParams]("gru_cell_bwd")
)
