package nn

import (
	"fmt"
	"sync"

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
// (tensor.MatMul) per layer call: the column matrix folds the batch into
// its columns, (C·KH·KW) × (N·OH·OW), so the whole batch is one large
// matrix product that the device's GEMM runs efficiently.
//
// Gradients: package tensor does not (yet) let other packages record an op
// with a custom backward, so when the input of im2col (Conv2d's input) or
// of col2im (ConvTranspose2d's columns, i.e. whenever its input or weight
// needs gradients) must be recorded, the same linear map is expressed as a
// recorded tensor.Gather over a table of channels-last pixel rows (plus
// one zero row for the padding) through an index map cached per geometry.
// Gather's backward, a deterministic scatter-add, is then exactly col2im
// (respectively im2col). Inference, and a Conv2d whose input needs no
// gradient (a first layer), always take the kernel path. Both paths are
// tested against a float64 reference and against PyTorch. With a custom-op
// hook in tensor, the recorded path would become the kernels too.

// convIndex caches the int32 index map of a geometry on a device.
type convIndex struct {
	mu  sync.Mutex
	key kernels.ConvGeom
	dev tensor.Device
	idx *tensor.Tensor
}

func (c *convIndex) get(d tensor.Device, g kernels.ConvGeom, build func() ([]int32, []int)) *tensor.Tensor {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx == nil || c.key != g || c.dev != d {
		v, shape := build()
		c.idx = tensor.FromInt32(d, v, shape...)
		c.key, c.dev = g, d
	}
	return c.idx
}

func kview(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }

// Conv2d is PyTorch's nn.Conv2d (groups = 1): weight [out, in, kh, kw],
// bias [out], over NCHW input.
type Conv2d struct {
	Base
	Weight *Param
	Bias   *Param // nil without bias
	Config ConvConfig
	index  convIndex
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
	return g
}

// Forward maps [N, in, H, W] to [N, out, OH, OW].
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	g := c.geom(x)
	d := x.Device()
	o, ckk, l := c.Config.Out, g.ColRows(), g.OH*g.OW
	var y *tensor.Tensor
	if !x.RequiresGrad() {
		// One GEMM for the batch: [out, C·KH·KW] × [C·KH·KW, N·L].
		xc := x.Contiguous()
		cols := tensor.Empty(d, tensor.Float32, ckk, g.N*l)
		kernels.Im2colKernel.Run(d, kernels.Im2colParams{Cols: kview(cols), X: kview(xc), Geom: g})
		w := c.Weight.T.Reshape(o, ckk)
		y2 := tensor.MatMul(w, cols) // [out, N·L]
		y3 := y2.Reshape(o, g.N, l)
		y4 := y3.Permute(1, 0, 2)
		y = y4.Reshape(g.N, o, g.OH, g.OW) // a copy
		release(xc, x, w, y2, y3, y4)
		if !y.RequiresGrad() {
			cols.Release()
		}
	} else {
		// Channels-last gather: cols[(n, l), (kh, kw, c)], then one GEMM
		// [N·L, KH·KW·C] × [KH·KW·C, out].
		hw := g.H * g.W
		rows := x.Permute(0, 2, 3, 1).Reshape(g.N*hw, g.C)
		table := tensor.Concat(0, rows, tensor.Zeros(d, 1, g.C))
		idx := c.index.get(d, g, func() ([]int32, []int) { return im2colIndex(g), []int{g.N * l, g.KH * g.KW} })
		cols := tensor.Gather(table, idx).Reshape(g.N*l, g.KH*g.KW*g.C)
		w := c.Weight.T.Permute(0, 2, 3, 1).Reshape(o, g.KH*g.KW*g.C)
		y2 := tensor.MatMul(cols, w.T()) // [N·L, out]
		y = y2.Reshape(g.N, l, o).Permute(0, 2, 1).Reshape(g.N, o, g.OH, g.OW)
	}
	if c.Bias != nil {
		y = tensor.Add(y, c.Bias.T.Reshape(o, 1, 1))
	}
	return y
}

// release frees intermediate tensors that no graph records (t != keep).
func release(t, keep *tensor.Tensor, ts ...*tensor.Tensor) {
	if t != keep && !t.RequiresGrad() {
		t.Release()
	}
	for _, u := range ts {
		if !u.RequiresGrad() {
			u.Release()
		}
	}
}

// im2colIndex maps (n, oh, ow, kh, kw) to the channels-last pixel row
// n·H·W + ih·W + iw, or to the zero row N·H·W in the padding.
func im2colIndex(g kernels.ConvGeom) []int32 {
	zero := int32(g.N * g.H * g.W)
	idx := make([]int32, 0, g.N*g.OH*g.OW*g.KH*g.KW)
	for n := range g.N {
		for oh := range g.OH {
			for ow := range g.OW {
				for kh := range g.KH {
					for kw := range g.KW {
						ih := oh*g.StrideH - g.PadH + kh*g.DilH
						iw := ow*g.StrideW - g.PadW + kw*g.DilW
						if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
							idx = append(idx, zero)
						} else {
							idx = append(idx, int32((n*g.H+ih)*g.W+iw))
						}
					}
				}
			}
		}
	}
	return idx
}

// ConvTranspose2d is PyTorch's nn.ConvTranspose2d (groups = 1): weight
// [in, out, kh, kw], bias [out]. The output size is
// (H−1)·stride − 2·padding + dilation·(k−1) + output_padding + 1.
type ConvTranspose2d struct {
	Base
	Weight *Param
	Bias   *Param
	Config ConvConfig
	index  convIndex
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
	return g
}

// Forward maps [N, in, H, W] to [N, out, OH, OW].
func (c *ConvTranspose2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	g := c.geom(x)
	d := x.Device()
	in, o, kk, l := c.Config.In, c.Config.Out, g.KH*g.KW, g.OH*g.OW
	var y *tensor.Tensor
	if !x.RequiresGrad() && !c.Weight.T.RequiresGrad() {
		// cols [out·KH·KW, N·L] = Wᵀ·x for the whole batch, then col2im.
		xp := x.Permute(1, 0, 2, 3)
		xr := xp.Reshape(in, g.N*l) // a copy
		w := c.Weight.T.Reshape(in, o*kk)
		wt := w.T()
		cols := tensor.MatMul(wt, xr)
		y = tensor.Empty(d, tensor.Float32, g.N, o, g.H, g.W)
		kernels.Col2imKernel.Run(d, kernels.Col2imParams{X: kview(y), Cols: kview(cols), Geom: g})
		release(xp, x, xr, w, wt, cols)
	} else {
		// cols[(n, l, kh, kw), out] as rows of `out` channels from one
		// GEMM [N·L, in] × [in, KH·KW·out], summed back per output pixel
		// by a gather over (kh, kw).
		xr := x.Permute(0, 2, 3, 1).Reshape(g.N*l, in)
		w := c.Weight.T.Permute(0, 2, 3, 1).Reshape(in, kk*o)
		cols := tensor.MatMul(xr, w).Reshape(g.N*l*kk, o)
		table := tensor.Concat(0, cols, tensor.Zeros(d, 1, o))
		idx := c.index.get(d, g, func() ([]int32, []int) {
			v, taps := col2imIndex(g)
			return v, []int{g.N, g.H * g.W, taps}
		})
		sum := tensor.Sum(tensor.Gather(table, idx), false, 2) // [N, OH·OW, out]
		y = sum.Transpose(1, 2).Reshape(g.N, o, g.H, g.W)
	}
	if c.Bias != nil {
		y = tensor.Add(y, c.Bias.T.Reshape(o, 1, 1))
	}
	return y
}

// col2imIndex lists, for each (n, output pixel), the cols rows
// ((n·L + window)·KH·KW + kh·KW + kw) that contribute to it, padded with
// the zero row N·L·KH·KW to the largest count taps (with stride s only
// about 1/s² of the KH·KW positions contribute, so the gather stays small).
func col2imIndex(g kernels.ConvGeom) (idx []int32, taps int) {
	kk, l := g.KH*g.KW, g.OH*g.OW
	zero := int32(g.N * l * kk)
	var lists [][]int32
	var cur []int32
	for n := range g.N {
		for h := range g.H {
			for w := range g.W {
				cur = cur[:0]
				for kh := range g.KH {
					for kw := range g.KW {
						th, tw := h+g.PadH-kh*g.DilH, w+g.PadW-kw*g.DilW
						oh, ow := th/g.StrideH, tw/g.StrideW
						if th >= 0 && tw >= 0 && th%g.StrideH == 0 && tw%g.StrideW == 0 && oh < g.OH && ow < g.OW {
							cur = append(cur, int32(((n*l+oh*g.OW+ow)*g.KH+kh)*g.KW+kw))
						}
					}
				}
				taps = max(taps, len(cur))
				lists = append(lists, append([]int32(nil), cur...))
			}
		}
	}
	taps = max(taps, 1)
	idx = make([]int32, 0, len(lists)*taps)
	for _, li := range lists {
		idx = append(idx, li...)
		for range taps - len(li) {
			idx = append(idx, zero)
		}
	}
	return idx, taps
}
