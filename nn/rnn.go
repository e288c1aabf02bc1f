package nn

import (
	"fmt"
	"math"

	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
)

// Recurrent layers (LSTM, GRU and their cells) share this engine. A stack
// of L layers runs time-major: for each layer, the input projection of all
// T timesteps is one GEMM into a [T,B,G·H] gate buffer (G = 4 for the LSTM,
// 3 for the GRU); each step adds the recurrent GEMM and runs one fused cell
// kernel (nn/kernels), which leaves the gate activations in that buffer for
// the backward pass. The whole stack is one autograd node: its backward
// runs the steps in reverse with the fused gradient kernels and then forms
// each weight gradient as one large GEMM over all timesteps (dW_ih =
// dGatesᵀ·X over T·B rows, dW_hh likewise against the shifted outputs),
// the bias gradients as column sums.
//
// The node's single output packs [y; h_n; c_n] as a [T+2L, B, H] tensor;
// the tensors returned to the caller are slices of it, so gradients
// reaching any of them flow back through the one node. A caller that does
// not use one of them should Release it, so that the step's memory goes
// back to the allocator when the graph is released. Saved activations are freed
// after the backward pass (a second Backward through the same forward
// panics), or never taken when nothing requires gradients.

// RNNConfig configures an LSTM or GRU.
type RNNConfig struct {
	InputSize, HiddenSize int
	NumLayers             int  // stacked layers; 0 means 1
	NoBias                bool // PyTorch's bias=False
	BatchFirst            bool // x and y are [B,T,·] instead of [T,B,·]
	// Dropout is PyTorch's dropout: in training mode, each layer's output
	// but the last's is multiplied by a mask of Bernoulli(1−p)/(1−p) from
	// the layer's RNG before it feeds the next layer. In [0, 1].
	Dropout float32
}

type rnnKind int

const (
	rnnLSTM rnnKind = iota
	rnnGRU
)

func (k rnnKind) gates() int {
	if k == rnnLSTM {
		return 4
	}
	return 3
}

func (k rnnKind) String() string {
	if k == rnnLSTM {
		return "LSTM"
	}
	return "GRU"
}

type rnnLayer struct{ wih, whh, bih, bhh *Param }

// rnnStack holds the parameters of a recurrent module and runs it.
type rnnStack struct {
	kind   rnnKind
	name   string // for messages: "nn.LSTM", "nn.GRUCell"…
	cfg    RNNConfig
	layers []rnnLayer
	base   *Base       // the module, for its training mode
	rng    *tensor.RNG // dropout masks
}

// init registers the parameters on b in PyTorch's order and names
// (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, … or, for cells,
// weight_ih, weight_hh, bias_ih, bias_hh), all drawn from U(−1/√H, 1/√H).
func (s *rnnStack) init(b *Base, d tensor.Device, rng *tensor.RNG, cell bool) {
	c := &s.cfg
	if c.NumLayers == 0 {
		c.NumLayers = 1
	}
	if c.InputSize <= 0 || c.HiddenSize <= 0 || c.NumLayers < 0 || (cell && c.NumLayers != 1) || !(c.Dropout >= 0 && c.Dropout <= 1) {
		panic(fmt.Sprintf("%s: invalid configuration %+v", s.name, *c))
	}
	s.base, s.rng = b, rng
	b.SetTraining(true) // PyTorch's default mode
	if d == nil {
		d = tensor.CPU()
	}
	H, G := c.HiddenSize, s.kind.gates()*c.HiddenSize
	k := float32(1 / math.Sqrt(float64(H)))
	draw := func(shape ...int) *tensor.Tensor { return rng.Uniform(d, -k, k, shape...) }
	for l := range c.NumLayers {
		suffix := fmt.Sprintf("_l%d", l)
		if cell {
			suffix = ""
		}
		in := c.InputSize
		if l > 0 {
			in = H
		}
		var ly rnnLayer
		ly.wih = b.AddParam("weight_ih"+suffix, draw(G, in))
		ly.whh = b.AddParam("weight_hh"+suffix, draw(G, H))
		if !c.NoBias {
			ly.bih = b.AddParam("bias_ih"+suffix, draw(G))
			ly.bhh = b.AddParam("bias_hh"+suffix, draw(G))
		}
		s.layers = append(s.layers, ly)
	}
}

func rnnView(t *tensor.Tensor, off int) tensor.View {
	return tensor.View{Buf: t.Buffer(), Off: t.Offset() + off}
}

// rnnRaw returns t's values as a contiguous tensor outside any graph; the
// caller releases it.
func rnnRaw(t *tensor.Tensor) *tensor.Tensor {
	v := t.Detach()
	if v.IsContiguous() {
		return v
	}
	c := v.Contiguous()
	v.Release()
	return c
}

// rnnSwap01 returns a contiguous copy of t with its first two dimensions
// swapped, outside any graph.
func rnnSwap01(t *tensor.Tensor) *tensor.Tensor {
	v := t.Detach()
	tv := v.Transpose(0, 1)
	v.Release()
	c := tv.Contiguous()
	if c != tv {
		tv.Release()
	}
	return c
}

// rnnGemm runs C = op(A)·op(B) + beta·C on d for row-major matrices.
func rnnGemm(d tensor.Device, ta, tb bool, m, n, k int, a tensor.View, lda int, b tensor.View, ldb int, beta float32, c tensor.View, ldc int) {
	tensor.GemmKernel.Run(d, tensor.GemmParams{TransA: ta, TransB: tb, M: m, N: n, K: k, Alpha: 1, Beta: beta,
		A: a, B: b, C: c, LDA: lda, LDB: ldb, LDC: ldc, Batch: 1})
}

func rnnCopy(d tensor.Device, dst, src tensor.View, n int) {
	l := tensor.Layout{Buf: src.Buf, Off: src.Off, Rank: 1}
	l.Shape[0], l.Strides[0] = n, 1
	tensor.CopyKernel.Run(d, tensor.CopyParams{Out: dst, X: l, N: n})
}

// rnnLayout is the flat layout of n contiguous elements of t.
func rnnLayout(t *tensor.Tensor, n int) tensor.Layout {
	l := tensor.Layout{Buf: t.Buffer(), Off: t.Offset(), Rank: 1}
	l.Shape[0], l.Strides[0] = n, 1
	return l
}

// rnnDropoutMask draws a [T,B,H] mask of Bernoulli(1−p)/(1−p) (zeros when
// p = 1), as nn.Dropout does.
func rnnDropoutMask(d tensor.Device, rng *tensor.RNG, p float32, T, B, H int) *tensor.Tensor {
	if p >= 1 {
		return tensor.Zeros(d, T, B, H)
	}
	m := rng.Bernoulli(d, 1-p, T, B, H)
	s := tensor.Scale(m, 1/(1-p))
	m.Release()
	return s
}

// rnnColSum sums the rows of a [rows, cols] matrix into a new [cols]
// tensor, as the GEMM ones[1,rows]·x (a strided column reduction is far
// slower on the CPU).
func rnnColSum(d tensor.Device, x, ones *tensor.Tensor, rows, cols int) *tensor.Tensor {
	out := tensor.Empty(d, tensor.Float32, cols)
	rnnGemm(d, false, false, 1, cols, rows, rnnView(ones, 0), rows, rnnView(x, 0), cols, 0, rnnView(out, 0), cols)
	return out
}

// rnnLayerState is what one layer's forward keeps for its backward.
type rnnLayerState struct {
	x   *tensor.Tensor // [T·B, in] layer input (owned unless it is the previous layer's ys)
	act *tensor.Tensor // [T,B,G·H] gate activations
	aux *tensor.Tensor // LSTM: cell states [T,B,H]; GRU: recurrent projections [T,B,3H]
	ys  *tensor.Tensor // [T,B,H] outputs, or the packed output for the last layer
	w   [4]*tensor.Tensor
	// With dropout: the scaled mask applied to ys, and the masked outputs
	// (the next layer's x).
	mask, dropped *tensor.Tensor
}

// run is the stack's forward: x is [T,B,I] (or [B,T,I] when batch-first),
// h0 and c0 are [L,B,H] or nil for zeros (c0 only for the LSTM). It returns
// y [T,B,H] (or [B,T,H]), h_n and c_n [L,B,H] (c_n nil for the GRU).
func (s *rnnStack) run(x, h0, c0 *tensor.Tensor) (y, hn, cn *tensor.Tensor) {
	cfg := s.cfg
	if x.DType() != tensor.Float32 || x.Rank() != 3 || x.Dim(2) != cfg.InputSize {
		panic(fmt.Sprintf("%s: input %v, want float32 [T B %d] (or [B T %d] batch-first)", s.name, x, cfg.InputSize, cfg.InputSize))
	}
	T, B := x.Dim(0), x.Dim(1)
	if cfg.BatchFirst {
		T, B = B, T
	}
	if T == 0 || B == 0 {
		panic(fmt.Sprintf("%s: empty input %v", s.name, x))
	}
	L, H, G := cfg.NumLayers, cfg.HiddenSize, s.kind.gates()*cfg.HiddenSize
	d := x.Device()
	for _, st := range []*tensor.Tensor{h0, c0} {
		if st == nil {
			continue
		}
		if st.DType() != tensor.Float32 || st.Rank() != 3 || st.Dim(0) != L || st.Dim(1) != B || st.Dim(2) != H || st.Device() != d {
			panic(fmt.Sprintf("%s: initial state %v, want float32 [%d %d %d] on %s", s.name, st, L, B, H, d.Name()))
		}
	}
	inputs := []*tensor.Tensor{x}
	if h0 != nil {
		inputs = append(inputs, h0)
	}
	if c0 != nil {
		inputs = append(inputs, c0)
	}
	var params []*tensor.Tensor
	for _, ly := range s.layers {
		for _, p := range []*Param{ly.wih, ly.whh, ly.bih, ly.bhh} {
			if p != nil {
				if p.T.Device() != d {
					panic(fmt.Sprintf("%s: parameter %s is on %s, input on %s", s.name, p.Name, p.T.Device().Name(), d.Name()))
				}
				params = append(params, p.T)
			}
		}
	}
	inputs = append(inputs, params...)
	grad := false
	for _, in := range inputs {
		grad = grad || in.RequiresGrad()
	}

	TBH, LBH, BH := T*B*H, L*B*H, B*H
	rows := T + L // z is [y; h_n; c_n] stacked along the first axis
	if s.kind == rnnLSTM {
		rows += L
	}
	z := tensor.Empty(d, tensor.Float32, rows, B, H)

	var xin *tensor.Tensor
	if cfg.BatchFirst {
		xin = rnnSwap01(x)
	} else {
		xin = rnnRaw(x)
	}
	var h0r, c0r *tensor.Tensor
	if h0 != nil {
		h0r = rnnRaw(h0)
	}
	if c0 != nil {
		c0r = rnnRaw(c0)
	}
	dropout := cfg.Dropout > 0 && L > 1 && s.base.Training()
	zeros := tensor.Zeros(d, B, H)
	state0 := func(t *tensor.Tensor, l int) tensor.View {
		if t == nil {
			return rnnView(zeros, 0)
		}
		return rnnView(t, l*BH)
	}

	layers := make([]rnnLayerState, L)
	for l, ly := range s.layers {
		st := &layers[l]
		st.x = xin
		in := cfg.InputSize
		if l > 0 {
			st.x, in = layers[l-1].ys, H
			if layers[l-1].dropped != nil {
				st.x = layers[l-1].dropped
			}
		}
		for i, p := range []*Param{ly.wih, ly.whh, ly.bih, ly.bhh} {
			if p != nil {
				st.w[i] = rnnRaw(p.T)
			}
		}
		if l == L-1 {
			st.ys = z
		} else {
			st.ys = tensor.Empty(d, tensor.Float32, T, B, H)
		}
		st.act = tensor.Empty(d, tensor.Float32, T, B, G)
		if s.kind == rnnLSTM {
			st.aux = tensor.Empty(d, tensor.Float32, T, B, H)
		} else {
			st.aux = tensor.Empty(d, tensor.Float32, T, B, G)
		}
		wih, whh := rnnView(st.w[0], 0), rnnView(st.w[1], 0)
		var bih, bhh tensor.View
		if st.w[2] != nil {
			bih, bhh = rnnView(st.w[2], 0), rnnView(st.w[3], 0)
		}
		// Input projection of every timestep: [T·B, in]·W_ihᵀ.
		rnnGemm(d, false, true, T*B, G, in, rnnView(st.x, 0), in, wih, in, 0, rnnView(st.act, 0), G)
		for t := range T {
			hprev := state0(h0r, l)
			if t > 0 {
				hprev = rnnView(st.ys, (t-1)*BH)
			}
			gates := rnnView(st.act, t*B*G)
			switch s.kind {
			case rnnLSTM:
				if t > 0 || h0r != nil {
					rnnGemm(d, false, true, B, G, H, hprev, H, whh, H, 1, gates, G)
				}
				cprev := state0(c0r, l)
				if t > 0 {
					cprev = rnnView(st.aux, (t-1)*BH)
				}
				kernels.LSTMCell.Run(d, kernels.LSTMCellParams{Gates: gates, BiasIH: bih, BiasHH: bhh, HasBias: st.w[2] != nil,
					CPrev: cprev, C: rnnView(st.aux, t*BH), H: rnnView(st.ys, t*BH), N: B, Hidden: H})
			case rnnGRU:
				hg := rnnView(st.aux, t*B*G)
				if t > 0 || h0r != nil {
					rnnGemm(d, false, true, B, G, H, hprev, H, whh, H, 0, hg, G)
				} else {
					tensor.FillKernel.Run(d, tensor.FillParams{Out: hg, N: B * G})
				}
				kernels.GRUCell.Run(d, kernels.GRUCellParams{XG: gates, HG: hg, BiasIH: bih, BiasHH: bhh, HasBias: st.w[2] != nil,
					HPrev: hprev, H: rnnView(st.ys, t*BH), N: B, Hidden: H})
			}
		}
		// Final states into the packed output.
		rnnCopy(d, rnnView(z, TBH+l*BH), rnnView(st.ys, (T-1)*BH), BH)
		if s.kind == rnnLSTM {
			rnnCopy(d, rnnView(z, TBH+LBH+l*BH), rnnView(st.aux, (T-1)*BH), BH)
		}
		if l < L-1 && dropout {
			st.mask = rnnDropoutMask(d, s.rng, cfg.Dropout, T, B, H)
			st.dropped = tensor.Mul(st.ys, st.mask) // neither requires gradients: not recorded
		}
	}

	release := func() {
		xin.Release()
		for _, t := range []*tensor.Tensor{h0r, c0r, zeros} {
			if t != nil {
				t.Release()
			}
		}
		for l := range layers {
			st := &layers[l]
			st.act.Release()
			st.aux.Release()
			if st.mask != nil {
				st.mask.Release()
				st.dropped.Release()
			}
			if l < L-1 {
				st.ys.Release()
			}
			for _, w := range st.w {
				if w != nil {
					w.Release()
				}
			}
		}
		layers = nil
	}
	if grad {
		rnnRecord(z, s.kind.String(), inputs, func(g *tensor.Tensor) []*tensor.Tensor {
			if layers == nil {
				panic(fmt.Sprintf("%s: backward through the same forward pass twice (its saved activations were freed)", s.name))
			}
			gs := s.backward(g, inputs, layers, xin, h0r, c0r, zeros, T, B)
			release()
			return gs
		})
	} else {
		release()
	}

	// The caller's views of the packed output: one recorded Slice each, so
	// a view nobody uses can be released without touching the others.
	y = z.Slice(0, 0, T)
	if cfg.BatchFirst {
		yt := y.Transpose(0, 1)
		if !grad {
			y.Release()
		}
		y = yt
	}
	hn = z.Slice(0, T, T+L)
	if s.kind == rnnLSTM {
		cn = z.Slice(0, T+L, T+2*L)
	}
	if !grad {
		z.Release() // the views hold the storage
	}
	return y, hn, cn
}

// backward returns the gradients of the node's inputs (x, h0?, c0?, the
// parameters layer by layer) from g, the gradient of the packed output.
func (s *rnnStack) backward(g *tensor.Tensor, inputs []*tensor.Tensor, layers []rnnLayerState, xin, h0r, c0r, zeros *tensor.Tensor, T, B int) []*tensor.Tensor {
	cfg := s.cfg
	L, H, G := cfg.NumLayers, cfg.HiddenSize, s.kind.gates()*cfg.HiddenSize
	TBH, LBH, BH := T*B*H, L*B*H, B*H
	d := g.Device()
	gr := rnnRaw(g)
	defer gr.Release()

	x := inputs[0]
	next := 1
	var h0in, c0in *tensor.Tensor
	if h0r != nil {
		h0in = inputs[next]
		next++
	}
	if c0r != nil {
		c0in = inputs[next]
		next++
	}
	out := make([]*tensor.Tensor, len(inputs))
	var dh0, dc0 *tensor.Tensor
	if h0in != nil && h0in.RequiresGrad() {
		dh0 = tensor.Empty(d, tensor.Float32, L, B, H)
		out[1] = dh0
	}
	if c0in != nil && c0in.RequiresGrad() {
		dc0 = tensor.Empty(d, tensor.Float32, L, B, H)
		out[next-1] = dc0
	}
	// Parameter slots, in the order run appended them.
	pslot := make([][4]int, L)
	slot := next
	for l, ly := range s.layers {
		for i, p := range []*Param{ly.wih, ly.whh, ly.bih, ly.bhh} {
			pslot[l][i] = -1
			if p != nil {
				pslot[l][i] = slot
				slot++
			}
		}
	}
	needX := x.RequiresGrad()

	dh := tensor.Empty(d, tensor.Float32, B, H)
	dc := tensor.Empty(d, tensor.Float32, B, H)
	defer dh.Release()
	defer dc.Release()
	var ones *tensor.Tensor // for the bias gradients, made on first use
	var dY *tensor.Tensor   // gradient of this layer's output sequence, [T·B·H]
	dYv := rnnView(gr, 0)
	for l := L - 1; l >= 0; l-- {
		st := &layers[l]
		in := cfg.InputSize
		if l > 0 {
			in = H
		}
		dact := tensor.Empty(d, tensor.Float32, T, B, G)
		var dhg *tensor.Tensor // GRU: gradient of the recurrent projections
		if s.kind == rnnGRU {
			dhg = tensor.Empty(d, tensor.Float32, T, B, G)
		}
		whh := rnnView(st.w[1], 0)
		rnnCopy(d, rnnView(dh, 0), rnnView(gr, TBH+l*BH), BH)
		if s.kind == rnnLSTM {
			rnnCopy(d, rnnView(dc, 0), rnnView(gr, TBH+LBH+l*BH), BH)
		}
		needH0 := dh0 != nil
		for t := T - 1; t >= 0; t-- {
			dyt := tensor.View{Buf: dYv.Buf, Off: dYv.Off + t*BH}
			switch s.kind {
			case rnnLSTM:
				cprev := rnnView(zeros, 0)
				if t > 0 {
					cprev = rnnView(st.aux, (t-1)*BH)
				} else if c0r != nil {
					cprev = rnnView(c0r, l*BH)
				}
				kernels.LSTMCellGrad.Run(d, kernels.LSTMCellGradParams{Act: rnnView(st.act, t*B*G), C: rnnView(st.aux, t*BH),
					CPrev: cprev, DY: dyt, DHRec: rnnView(dh, 0), DC: rnnView(dc, 0), DGates: rnnView(dact, t*B*G), N: B, Hidden: H})
				if t > 0 || needH0 {
					rnnGemm(d, false, false, B, H, G, rnnView(dact, t*B*G), G, whh, H, 0, rnnView(dh, 0), H)
				}
			case rnnGRU:
				hprev := rnnView(zeros, 0)
				if t > 0 {
					hprev = rnnView(st.ys, (t-1)*BH)
				} else if h0r != nil {
					hprev = rnnView(h0r, l*BH)
				}
				kernels.GRUCellGrad.Run(d, kernels.GRUCellGradParams{Act: rnnView(st.act, t*B*G), HG: rnnView(st.aux, t*B*G),
					HPrev: hprev, DY: dyt, DHRec: rnnView(dh, 0), DXG: rnnView(dact, t*B*G), DHG: rnnView(dhg, t*B*G),
					DHPrev: rnnView(dh, 0), N: B, Hidden: H})
				if t > 0 || needH0 {
					rnnGemm(d, false, false, B, H, G, rnnView(dhg, t*B*G), G, whh, H, 1, rnnView(dh, 0), H)
				}
			}
		}
		if dh0 != nil {
			rnnCopy(d, rnnView(dh0, l*BH), rnnView(dh, 0), BH)
		}
		if dc0 != nil {
			rnnCopy(d, rnnView(dc0, l*BH), rnnView(dc, 0), BH)
		}
		// The recurrent-side gradient: the LSTM's gates see the same
		// pre-activation through both projections.
		drec := dact
		if dhg != nil {
			drec = dhg
		}
		ly := s.layers[l]
		if ly.wih.T.RequiresGrad() {
			gw := tensor.Empty(d, tensor.Float32, G, in)
			rnnGemm(d, true, false, G, in, T*B, rnnView(dact, 0), G, rnnView(st.x, 0), in, 0, rnnView(gw, 0), in)
			out[pslot[l][0]] = gw
		}
		if ly.whh.T.RequiresGrad() {
			gw := tensor.Empty(d, tensor.Float32, G, H)
			beta := float32(0)
			if T > 1 {
				rnnGemm(d, true, false, G, H, (T-1)*B, rnnView(drec, B*G), G, rnnView(st.ys, 0), H, 0, rnnView(gw, 0), H)
				beta = 1
			}
			if h0r != nil {
				rnnGemm(d, true, false, G, H, B, rnnView(drec, 0), G, rnnView(h0r, l*BH), H, beta, rnnView(gw, 0), H)
			} else if T == 1 {
				tensor.FillKernel.Run(d, tensor.FillParams{Out: rnnView(gw, 0), N: G * H})
			}
			out[pslot[l][1]] = gw
		}
		if ly.bih != nil && (ly.bih.T.RequiresGrad() || ly.bhh.T.RequiresGrad()) {
			if ones == nil {
				ones = tensor.Ones(d, T*B)
				defer ones.Release()
			}
			db := rnnColSum(d, dact, ones, T*B, G)
			if ly.bih.T.RequiresGrad() {
				out[pslot[l][2]] = db
			}
			if ly.bhh.T.RequiresGrad() {
				switch {
				case drec != dact:
					out[pslot[l][3]] = rnnColSum(d, drec, ones, T*B, G)
				case ly.bih.T.RequiresGrad(): // the LSTM's two biases get the same gradient
					c := tensor.Empty(d, tensor.Float32, G)
					rnnCopy(d, rnnView(c, 0), rnnView(db, 0), G)
					out[pslot[l][3]] = c
				default:
					out[pslot[l][3]] = db
				}
			}
			if !ly.bih.T.RequiresGrad() && out[pslot[l][3]] != db {
				db.Release()
			}
		}
		// Gradient of the layer input, the output of the layer below.
		var dx *tensor.Tensor
		if l > 0 || needX {
			dx = tensor.Empty(d, tensor.Float32, T*B, in)
			rnnGemm(d, false, false, T*B, in, G, rnnView(dact, 0), G, rnnView(st.w[0], 0), in, 0, rnnView(dx, 0), in)
		}
		dact.Release()
		if dhg != nil {
			dhg.Release()
		}
		if dY != nil {
			dY.Release()
		}
		if l > 0 && layers[l-1].mask != nil {
			// dx is the gradient of the dropped outputs of layer l−1.
			m := layers[l-1].mask
			tensor.BinaryKernel.Run(d, tensor.BinaryParams{Op: tensor.OpMul, Out: rnnView(dx, 0),
				A: rnnLayout(dx, T*B*H), B: rnnLayout(m, T*B*H), N: T * B * H})
		}
		dY = dx
		if dx != nil {
			dYv = rnnView(dx, 0)
		}
	}
	if needX {
		dx := dY.Reshape(T, B, cfg.InputSize)
		dY.Release()
		if cfg.BatchFirst {
			out[0] = rnnSwap01(dx)
			dx.Release()
		} else {
			out[0] = dx
		}
	}
	return out
}
