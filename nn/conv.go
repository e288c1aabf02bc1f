package nn

import (
	"fmt"

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

// Convolutions run as im2col/col2im device kernels plus one GEMM
// (tensor.MatMul) per call: the column matrix folds the batch into its
// columns, (C·KH·KW) × (N·OH·OW), so the whole batch is one large matrix
// product. Conv2d is im2col then W·cols; its input gradient is col2im of
// Wᵀ·g. ConvTranspose2d is cols = Wᵀ·x then col2im; its input gradient
// goes through im2col of g. The GEMMs' gradients come from tensor.MatMul.

// recordOp attaches backward to out as one autograd node (tensor.Record):
// the convolutions, Dropout and some losses are ops of their own.
var recordOp = tensor.Record

func kview(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }

// im2col returns the [C·KH·KW, N·OH·OW] column matrix of x (contiguous
// NCHW), recorded when x requires gradients (backward: col2im).
func im2col(x *tensor.Tensor, g kernels.ConvGeom) *tensor.Tensor {
	d := x.Device()
	cols := tensor.Empty(d, tensor.Float32, g.ColRows(), g.ColCols())
	kernels.Im2colKernel.Run(d, kernels.Im2colParams{Cols: kview(cols), X: kview(x), Geom: g})
	if x.RequiresGrad() {
		recordOp(cols, "Im2col", []*tensor.Tensor{x}, func(gc *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{col2imRaw(gc, g)}
		})
	}
	return cols
}

// col2im returns the [N, C, H, W] image summed from a column matrix,
// recorded when cols requires gradients (backward: im2col).
func col2im(cols *tensor.Tensor, g kernels.ConvGeom) *tensor.Tensor {
	y := col2imRaw(cols, g)
	if cols.RequiresGrad() {
		recordOp(y, "Col2im", []*tensor.Tensor{cols}, func(gy *tensor.Tensor) []*tensor.Tensor {
			gc := gy.Contiguous()
			out := tensor.Empty(gc.Device(), tensor.Float32, g.ColRows(), g.ColCols())
			kernels.Im2colKernel.Run(gc.Device(), kernels.Im2colParams{Cols: kview(out), X: kview(gc), Geom: g})
			if gc != gy {
				gc.Release()
			}
			return []*tensor.Tensor{out}
		})
	}
	return y
}

// col2imRaw runs the col2im kernel without recording.
func col2imRaw(cols *tensor.Tensor, g kernels.ConvGeom) *tensor.Tensor {
	c := cols.Contiguous()
	d := c.Device()
	y := tensor.Empty(d, tensor.Float32, g.N, g.C, g.H, g.W)
	kernels.Col2imKernel.Run(d, kernels.Col2imParams{X: kview(y), Cols: kview(c), Geom: g})
	if c != cols {
		c.Release() // the recorded node (if any) refers to cols, not c
	}
	return y
}

// matmulOwned is a·b for an a that needs gradients and a temporary b that
// does not (the column matrix of a first layer, whose input is data): the
// product's backward computes a's gradient g·bᵀ and then frees b, so b goes
// back to the allocator every step instead of waiting for the garbage
// collector. As in PyTorch without retain_graph, a second backward pass
// through the same forward pass panics.
func matmulOwned(op string, a, b *tensor.Tensor) *tensor.Tensor {
	ad := a.Detach()
	y := tensor.MatMul(ad, b)
	ad.Release()
	recordOp(y, op, []*tensor.Tensor{a}, func(g *tensor.Tensor) []*tensor.Tensor {
		if b == nil {
			panic(fmt.Sprintf("nn.%s: backward through the same forward pass twice (its saved columns were freed)", op))
		}
		bt := b.T()
		ga := tensor.MatMul(g, bt)
		bt.Release()
		b.Release()
		b = nil
		return []*tensor.Tensor{ga}
	})
	return y
}

// gemm is a·b, handing b to the result when only a needs gradients.
func gemm(op string, a, b *tensor.Tensor) *tensor.Tensor {
	if a.RequiresGrad() && !b.RequiresGrad() {
		return matmulOwned(op, a, b)
	}
	return tensor.MatMul(a, b)
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
	o, ckk, l := c.Config.Out, g.ColRows(), g.OH*g.OW
	xc := x.Contiguous()
	cols := im2col(xc, g)
	w := c.Weight.T.Reshape(o, ckk)
	y2 := gemm("Conv2d", w, cols) // [out, N·L]: one GEMM for the batch
	y3 := y2.Reshape(o, g.N, l)
	y4 := y3.Permute(1, 0, 2)
	y := y4.Reshape(g.N, o, g.OH, g.OW) // a copy (a view when N or out is 1)
	if xc != x {
		releaseUnless(y, xc)
	}
	releaseUnless(y, cols, w, y2, y3, y4)
	return addBias(y, c.Bias, o)
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
	in, o, kk, l := c.Config.In, c.Config.Out, g.KH*g.KW, g.OH*g.OW
	xp := x.Permute(1, 0, 2, 3)
	xr := xp.Reshape(in, g.N*l) // a copy (a view when N or in is 1)
	w := c.Weight.T.Reshape(in, o*kk)
	wt := w.T()
	cols := gemm("ConvTranspose2d", wt, xr) // [out·KH·KW, N·L]: one GEMM for the batch
	y := col2im(cols, g)
	releaseUnless(y, xp, xr, w, wt, cols)
	return addBias(y, c.Bias, o)
}
