package nn

import (
	"fmt"
	"slices"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
)

// Size2 is a (height, width) pair of a convolution setting.
type Size2 [2]int

// Sq is the square Size2{n, n}.
func Sq(n int) Size2 { return Size2{n, n} }

// ConvConfig configures Conv2d and ConvTranspose2d like PyTorch's
// arguments. Zero Stride and Dilation mean 1; zero Padding and
// OutputPadding mean none. OutputPadding applies to ConvTranspose2d only
// and must be smaller than the stride.
type ConvConfig struct {
	In, Out       int // channels
	Kernel        Size2
	Stride        Size2
	Padding       Size2
	Dilation      Size2
	OutputPadding Size2
	NoBias        bool
}

func (c ConvConfig) normalized(op string, transposed bool) ConvConfig {
	for i := range 2 {
		if c.Stride[i] == 0 {
			c.Stride[i] = 1
		}
		if c.Dilation[i] == 0 {
			c.Dilation[i] = 1
		}
		if c.Kernel[i] <= 0 || c.Stride[i] < 0 || c.Dilation[i] < 0 || c.Padding[i] < 0 || c.OutputPadding[i] < 0 {
			panic(fmt.Sprintf("nn.%s: invalid config %+v", op, c))
		}
		if c.OutputPadding[i] != 0 && (!transposed || c.OutputPadding[i] >= c.Stride[i]) {
			panic(fmt.Sprintf("nn.%s: output padding %v must be smaller than the stride %v (and only for transposed convolutions)", op, c.OutputPadding, c.Stride))
		}
	}
	if c.In <= 0 || c.Out <= 0 {
		panic(fmt.Sprintf("nn.%s: invalid channels in=%d out=%d", op, c.In, c.Out))
	}
	return c
}

// Convolutions run as im2col/col2im device kernels plus GEMMs. The column
// matrix folds images into its columns, (C·KH·KW) × (n·OH·OW), so a chunk
// of n images is one large matrix product. Conv2d is im2col then W·cols;
// its input gradient is col2im of Wᵀ·g and its weight gradient g·colsᵀ
// (the columns rebuilt in the backward pass). ConvTranspose2d is
// cols = Wᵀ·x then col2im; its input gradient is W·im2col(g) and its
// weight gradient x·im2col(g)ᵀ. Each layer is one autograd node.

// convChunkElems bounds the column matrix of one chunk of images on the
// CPU: built and consumed back to back, a chunk's columns stay in the L2
// cache, where a whole batch's (6 MB for the DCGAN's second layer) would go
// out to memory and back, at two to three times the cost. A GPU takes the
// whole batch at once.
var convChunkElems = 1 << 17

// convGroups is the most groups of chunks that run at once on the CPU, each
// on one thread with its own columns, so that a chunk's columns stay in its
// core's cache and threads meet once per layer rather than in every kernel.
// A weight gradient is summed per group and then across the groups in
// order: the result does not depend on the thread count.
const convGroups = 4

// convPlan splits a batch of geometry g into chunks of at most per images,
// in groups of consecutive chunks.
type convPlan struct {
	d                   tensor.Device
	g                   kernels.ConvGeom
	per, chunks, groups int
}

func planConv(d tensor.Device, g kernels.ConvGeom) convPlan {
	p := convPlan{d: d, g: g, per: max(g.N, 1), groups: 1}
	if d == tensor.CPU() {
		p.per = max(1, min(g.N, convChunkElems/(g.ColRows()*g.OH*g.OW)))
		p.groups = convGroups
	}
	p.chunks = (g.N + p.per - 1) / p.per
	p.groups = max(1, min(p.groups, p.chunks))
	return p
}

// run calls fn for every chunk [n0, n0+n) of the batch with the chunk's
// geometry, a column buffer of at least its size (scratch, one per group)
// and whether it is the first chunk of its group. Groups may run
// concurrently; the chunks of a group run in order.
func (p convPlan) run(fn func(group, n0, n int, first bool, gc kernels.ConvGeom, cols tensor.View)) {
	bufs := make([]*tensor.Tensor, p.groups)
	for i := range bufs {
		bufs[i] = tensor.Empty(p.d, tensor.Float32, p.g.ColRows()*p.per*p.g.OH*p.g.OW)
	}
	parallel.For(p.groups, p.g.ColRows()*p.g.N*p.g.OH*p.g.OW, 1, func(lo, hi int) {
		for grp := lo; grp < hi; grp++ {
			for c := grp * p.chunks / p.groups; c < (grp+1)*p.chunks/p.groups; c++ {
				gc := p.g
				n0 := c * p.per
				gc.N = min(p.per, p.g.N-n0)
				fn(grp, n0, gc.N, c == grp*p.chunks/p.groups, gc, kview(bufs[grp]))
			}
		}
	})
	for _, b := range bufs {
		b.Release()
	}
}

// weightGrads returns one weight-gradient sum of the given shape per group;
// the first becomes the gradient. (An empty batch has no chunks: its
// gradient is zero.)
func (p convPlan) weightGrads(shape []int) []*tensor.Tensor {
	if p.chunks == 0 {
		return []*tensor.Tensor{tensor.Zeros(p.d, shape...)}
	}
	ps := make([]*tensor.Tensor, p.groups)
	for i := range ps {
		ps[i] = tensor.Empty(p.d, tensor.Float32, shape...)
	}
	return ps
}

// sumPartials adds the other groups' sums into ps[0], in order, and frees
// them.
func sumPartials(ps []*tensor.Tensor) {
	for _, t := range ps[1:] {
		ps[0].AddScaled(1, t)
		t.Release()
	}
}

func kview(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }

// at is v advanced by off elements.
func at(v tensor.View, off int) tensor.View { return tensor.View{Buf: v.Buf, Off: v.Off + off} }

// beta is the GEMM's beta for a sum that starts at the first chunk.
func beta(first bool) float32 {
	if first {
		return 0
	}
	return 1
}

// gemmInto runs C = op(A)·op(B) + beta·C (beta 0 or 1) on raw row-major views.
func gemmInto(d tensor.Device, transA, transB bool, m, n, k int, a tensor.View, lda int, b tensor.View, ldb int, beta float32, c tensor.View, ldc int) {
	tensor.GemmKernel.Run(d, tensor.GemmParams{TransA: transA, TransB: transB, M: m, N: n, K: k, Alpha: 1, Beta: beta,
		A: a, B: b, C: c, LDA: lda, LDB: ldb, LDC: ldc, Batch: 1})
}

func im2colInto(d tensor.Device, g kernels.ConvGeom, cols, x tensor.View) {
	kernels.Im2colKernel.Run(d, kernels.Im2colParams{Cols: cols, X: x, Geom: g})
}

func col2imInto(d tensor.Device, g kernels.ConvGeom, x, cols tensor.View) {
	kernels.Col2imKernel.Run(d, kernels.Col2imParams{X: x, Cols: cols, Geom: g})
}

// recordOp attaches backward to out as one autograd node (tensor.Record):
// the convolutions, Dropout and some losses are ops of their own.
var recordOp = tensor.Record

// channelsFirst copies t [N, C, ...] (any layout) to a dense [C, N·rest]
// matrix outside the graph.
func channelsFirst(t *tensor.Tensor) *tensor.Tensor {
	n, c := t.Dim(0), t.Dim(1)
	td := t.Detach()
	tr := td.Reshape(n, c, t.Len()/max(n*c, 1))
	tp := tr.Permute(1, 0, 2)
	m := tp.Contiguous()
	out := m.Reshape(c, t.Len()/max(c, 1))
	releaseExcept(out, td, tr, tp, m)
	return out
}

// imagesFirst copies m [C, N·rest] to a dense [N, C, shape...] outside the
// graph, consuming m.
func imagesFirst(m *tensor.Tensor, n int, shape ...int) *tensor.Tensor {
	c := m.Dim(0)
	mr := m.Reshape(c, n, m.Len()/max(c*n, 1))
	mp := mr.Permute(1, 0, 2)
	out := mp.Reshape(append([]int{n, c}, shape...)...) // a copy (a view when N or C is 1)
	releaseExcept(out, m, mr, mp)
	return out
}

// releaseExcept releases each distinct header of ts other than keep (views
// hold their own references, so keep stays valid).
func releaseExcept(keep *tensor.Tensor, ts ...*tensor.Tensor) {
	for i, t := range ts {
		if t != keep && !slices.Contains(ts[:i], t) {
			t.Release()
		}
	}
}

// needs reports which of the inputs require gradients.
func needs(ts ...*tensor.Tensor) (any bool, each []bool) {
	each = make([]bool, len(ts))
	for i, t := range ts {
		each[i] = t.RequiresGrad()
		any = any || each[i]
	}
	return any, each
}

// addBias adds the per-channel bias (if any) to y [N, out, H, W].
func addBias(y *tensor.Tensor, bias *Param, o int) *tensor.Tensor {
	if bias == nil {
		return y
	}
	b := bias.T.Reshape(o, 1, 1)
	out := tensor.Add(y, b)
	releaseUnless(out, y, b)
	return out
}

// releaseUnless frees the intermediates ts of a computation whose result
// out needs no gradient. When out is recorded they are left alone: the
// graph may read them in its backward (a GEMM reads its other operand), and
// ReleaseGraph frees those it recorded.
func releaseUnless(out *tensor.Tensor, ts ...*tensor.Tensor) {
	if out.RequiresGrad() {
		return
	}
	for _, t := range ts {
		t.Release()
	}
}

// Conv2d is PyTorch's nn.Conv2d (groups = 1): weight [out, in, kh, kw],
// bias [out], over NCHW input.
type Conv2d struct {
	Base
	Weight *Param
	Bias   *Param // nil without bias
	Config ConvConfig
}

// NewConv2d makes a Conv2d initialised like PyTorch (see init.go).
func NewConv2d(d tensor.Device, rng *tensor.RNG, cfg ConvConfig) *Conv2d {
	cfg = cfg.normalized("NewConv2d", false)
	c := &Conv2d{Config: cfg}
	fanIn := cfg.In * cfg.Kernel[0] * cfg.Kernel[1]
	b := defaultBound(fanIn)
	c.Weight = c.AddParam("weight", UniformInit(d, rng, b, cfg.Out, cfg.In, cfg.Kernel[0], cfg.Kernel[1]))
	if !cfg.NoBias {
		c.Bias = c.AddParam("bias", UniformInit(d, rng, b, cfg.Out))
	}
	return c
}

// geom is the im2col geometry of input x.
func (c *Conv2d) geom(x *tensor.Tensor) kernels.ConvGeom {
	cfg := c.Config
	if x.Rank() != 4 || x.Dim(1) != cfg.In {
		panic(fmt.Sprintf("nn.Conv2d(%d→%d): want input [N, %d, H, W], have %v", cfg.In, cfg.Out, cfg.In, x))
	}
	g := kernels.ConvGeom{N: x.Dim(0), C: cfg.In, H: x.Dim(2), W: x.Dim(3), KH: cfg.Kernel[0], KW: cfg.Kernel[1],
		StrideH: cfg.Stride[0], StrideW: cfg.Stride[1], PadH: cfg.Padding[0], PadW: cfg.Padding[1],
		DilH: cfg.Dilation[0], DilW: cfg.Dilation[1]}
	g.OH = kernels.OutSize(g.H, g.KH, g.StrideH, g.PadH, g.DilH)
	g.OW = kernels.OutSize(g.W, g.KW, g.StrideW, g.PadW, g.DilW)
	if g.OH < 1 || g.OW < 1 {
		panic(fmt.Sprintf("nn.Conv2d: input %v is smaller than the kernel %v (dilation %v, padding %v)", x, cfg.Kernel, cfg.Dilation, cfg.Padding))
	}
	g.Check("nn.Conv2d")
	return g
}

// Forward maps [N, in, H, W] to [N, out, OH, OW].
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	g := c.geom(x)
	d := x.Device()
	o, ckk, l := c.Config.Out, g.ColRows(), g.OH*g.OW
	xc := x.Contiguous()
	w := c.Weight.T
	wv, xv := kview(w), kview(xc)
	y2 := tensor.Empty(d, tensor.Float32, o, g.N*l) // [out, N·L]
	planConv(d, g).run(func(_, n0, n int, _ bool, gc kernels.ConvGeom, cols tensor.View) {
		im2colInto(d, gc, cols, at(xv, n0*g.C*g.H*g.W))
		gemmInto(d, false, false, o, n*l, ckk, wv, ckk, cols, n*l, 0, at(kview(y2), n0*l), g.N*l)
	})
	y := imagesFirst(y2, g.N, g.OH, g.OW)
	if any, need := needs(xc, w); any {
		recordOp(y, "Conv2d", []*tensor.Tensor{xc, w}, func(gy *tensor.Tensor) []*tensor.Tensor {
			return c.backward(g, xc, gy, need[0], need[1])
		})
	} else if xc != x {
		xc.Release()
	}
	return addBias(y, c.Bias, o)
}

// backward is the gradients of the input x and weight (where needed) for
// the output gradient gy.
func (c *Conv2d) backward(g kernels.ConvGeom, x, gy *tensor.Tensor, needX, needW bool) []*tensor.Tensor {
	d := gy.Device()
	o, ckk, l := c.Config.Out, g.ColRows(), g.OH*g.OW
	g2 := channelsFirst(gy) // [out, N·L]
	defer g2.Release()
	p := planConv(d, g)
	var gx, gw *tensor.Tensor
	var gws []*tensor.Tensor
	if needX {
		gx = tensor.Empty(d, tensor.Float32, g.N, g.C, g.H, g.W)
	}
	if needW {
		gws = p.weightGrads(c.Weight.T.Shape())
		gw = gws[0]
	}
	p.run(func(grp, n0, n int, first bool, gc kernels.ConvGeom, cols tensor.View) {
		gv := at(kview(g2), n0*l)
		if needW { // gW += g·colsᵀ
			im2colInto(d, gc, cols, at(kview(x), n0*g.C*g.H*g.W))
			gemmInto(d, false, true, o, ckk, n*l, gv, g.N*l, cols, n*l, beta(first), kview(gws[grp]), ckk)
		}
		if needX { // gx = col2im(Wᵀ·g)
			gemmInto(d, true, false, ckk, n*l, o, kview(c.Weight.T), ckk, gv, g.N*l, 0, cols, n*l)
			col2imInto(d, gc, at(kview(gx), n0*g.C*g.H*g.W), cols)
		}
	})
	if needW {
		sumPartials(gws)
	}
	return []*tensor.Tensor{gx, gw}
}

// ConvTranspose2d is PyTorch's nn.ConvTranspose2d (groups = 1): weight
// [in, out, kh, kw], bias [out]. The output size is
// (H−1)·stride − 2·padding + dilation·(k−1) + output_padding + 1.
type ConvTranspose2d struct {
	Base
	Weight *Param
	Bias   *Param
	Config ConvConfig
}

// NewConvTranspose2d makes a ConvTranspose2d initialised like PyTorch
// (fan_in = out·kh·kw, see init.go).
func NewConvTranspose2d(d tensor.Device, rng *tensor.RNG, cfg ConvConfig) *ConvTranspose2d {
	cfg = cfg.normalized("NewConvTranspose2d", true)
	c := &ConvTranspose2d{Config: cfg}
	fanIn := cfg.Out * cfg.Kernel[0] * cfg.Kernel[1]
	b := defaultBound(fanIn)
	c.Weight = c.AddParam("weight", UniformInit(d, rng, b, cfg.In, cfg.Out, cfg.Kernel[0], cfg.Kernel[1]))
	if !cfg.NoBias {
		c.Bias = c.AddParam("bias", UniformInit(d, rng, b, cfg.Out))
	}
	return c
}

// geom is the col2im geometry: the image is the output, the window grid
// the input.
func (c *ConvTranspose2d) geom(x *tensor.Tensor) kernels.ConvGeom {
	cfg := c.Config
	if x.Rank() != 4 || x.Dim(1) != cfg.In {
		panic(fmt.Sprintf("nn.ConvTranspose2d(%d→%d): want input [N, %d, H, W], have %v", cfg.In, cfg.Out, cfg.In, x))
	}
	outSize := func(in, i int) int {
		return (in-1)*cfg.Stride[i] - 2*cfg.Padding[i] + cfg.Dilation[i]*(cfg.Kernel[i]-1) + cfg.OutputPadding[i] + 1
	}
	g := kernels.ConvGeom{N: x.Dim(0), C: cfg.Out, H: outSize(x.Dim(2), 0), W: outSize(x.Dim(3), 1),
		KH: cfg.Kernel[0], KW: cfg.Kernel[1], OH: x.Dim(2), OW: x.Dim(3),
		StrideH: cfg.Stride[0], StrideW: cfg.Stride[1], PadH: cfg.Padding[0], PadW: cfg.Padding[1],
		DilH: cfg.Dilation[0], DilW: cfg.Dilation[1]}
	if g.H < 1 || g.W < 1 {
		panic(fmt.Sprintf("nn.ConvTranspose2d: input %v gives an empty output (padding %v)", x, cfg.Padding))
	}
	g.Check("nn.ConvTranspose2d")
	return g
}

// Forward maps [N, in, H, W] to [N, out, OH, OW].
func (c *ConvTranspose2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	g := c.geom(x)
	d := x.Device()
	in, okk, l := c.Config.In, g.ColRows(), g.OH*g.OW
	w := c.Weight.T
	xr := channelsFirst(x) // [in, N·L]
	y := tensor.Empty(d, tensor.Float32, g.N, g.C, g.H, g.W)
	planConv(d, g).run(func(_, n0, n int, _ bool, gc kernels.ConvGeom, cols tensor.View) {
		gemmInto(d, true, false, okk, n*l, in, kview(w), okk, at(kview(xr), n0*l), g.N*l, 0, cols, n*l)
		col2imInto(d, gc, at(kview(y), n0*g.C*g.H*g.W), cols)
	})
	if any, need := needs(x, w); any {
		recordOp(y, "ConvTranspose2d", []*tensor.Tensor{x, w}, func(gy *tensor.Tensor) []*tensor.Tensor {
			if xr == nil {
				panic("nn.ConvTranspose2d: backward through the same forward pass twice (its saved input was freed)")
			}
			grads := c.backward(g, xr, gy, need[0], need[1])
			xr.Release()
			xr = nil
			return grads
		})
	} else {
		xr.Release()
	}
	return addBias(y, c.Bias, c.Config.Out)
}

// backward is the gradients of the input (from its [in, N·L] copy xr) and
// weight (where needed) for the output gradient gy.
func (c *ConvTranspose2d) backward(g kernels.ConvGeom, xr, gy *tensor.Tensor, needX, needW bool) []*tensor.Tensor {
	d := gy.Device()
	in, okk, l := c.Config.In, g.ColRows(), g.OH*g.OW
	gyc := gy.Contiguous()
	if gyc != gy {
		defer gyc.Release()
	}
	p := planConv(d, g)
	var gxr, gw *tensor.Tensor
	var gws []*tensor.Tensor
	if needX {
		gxr = tensor.Empty(d, tensor.Float32, in, g.N*l)
	}
	if needW {
		gws = p.weightGrads(c.Weight.T.Shape())
		gw = gws[0]
	}
	p.run(func(grp, n0, n int, first bool, gc kernels.ConvGeom, cols tensor.View) {
		im2colInto(d, gc, cols, at(kview(gyc), n0*g.C*g.H*g.W))
		if needX { // gx = W·im2col(g)
			gemmInto(d, false, false, in, n*l, okk, kview(c.Weight.T), okk, cols, n*l, 0, at(kview(gxr), n0*l), g.N*l)
		}
		if needW { // gW += x·im2col(g)ᵀ
			gemmInto(d, false, true, in, okk, n*l, at(kview(xr), n0*l), g.N*l, cols, n*l, beta(first), kview(gws[grp]), okk)
		}
	})
	if needW {
		sumPartials(gws)
	}
	var gx *tensor.Tensor
	if needX {
		gx = imagesFirst(gxr, g.N, g.OH, g.OW)
	}
	return []*tensor.Tensor{gx, gw}
}
