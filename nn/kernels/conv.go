package kernels

import (
	"fmt"
	"sync"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/tensor"
)

// ConvGeom describes a 2-D convolution window over NCHW images: an input
// image of C×H×W, a kernel of KH×KW, and the output grid OH×OW it gives at
// the given stride, zero padding and dilation. PyTorch's formula:
//
//	OH = (H + 2·PadH − DilH·(KH−1) − 1)/StrideH + 1
//
// A smaller grid is allowed (a transposed convolution's output padding can
// make the image larger than the grid needs); every window position is
// bounds-checked against the image.
type ConvGeom struct {
	N, C, H, W       int
	KH, KW           int
	OH, OW           int
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
}

// OutSize is the convolution output size along one axis, or < 1 when the
// window does not fit.
func OutSize(in, k, stride, pad, dil int) int {
	return (in+2*pad-dil*(k-1)-1)/stride + 1
}

// Check panics with a message naming op when g is inconsistent (the
// kernels assume a checked geometry).
func (g ConvGeom) Check(op string) {
	ok := g.N >= 0 && g.C > 0 && g.H > 0 && g.W > 0 && g.KH > 0 && g.KW > 0 &&
		g.StrideH > 0 && g.StrideW > 0 && g.PadH >= 0 && g.PadW >= 0 && g.DilH > 0 && g.DilW > 0 &&
		g.OH > 0 && g.OW > 0 &&
		g.OH <= OutSize(g.H, g.KH, g.StrideH, g.PadH, g.DilH) &&
		g.OW <= OutSize(g.W, g.KW, g.StrideW, g.PadW, g.DilW)
	if !ok {
		panic(fmt.Sprintf("%s: invalid convolution geometry %+v", op, g))
	}
}

// ColRows is the number of rows of the column matrix, C·KH·KW.
func (g ConvGeom) ColRows() int { return g.C * g.KH * g.KW }

// ColCols is the number of columns of the column matrix, N·OH·OW.
func (g ConvGeom) ColCols() int { return g.N * g.OH * g.OW }

// Im2colParams: the column matrix of a batch, Cols, is (C·KH·KW) × (N·OH·OW)
// row-major — row (c, kh, kw), column (n, oh, ow), the batch folded into the
// columns so that one GEMM covers the whole batch — with
// Cols[(c,kh,kw), (n,oh,ow)] = X[n, c, oh·StrideH − PadH + kh·DilH,
// ow·StrideW − PadW + kw·DilW], or 0 where that falls in the padding. X is
// contiguous N×C×H×W. Every element of Cols is written.
type Im2colParams struct {
	Cols, X tensor.View
	Geom    ConvGeom
}

// Col2imParams is the adjoint of Im2col: X[n,c,h,w] (overwritten, not
// accumulated) = the sum of every Cols entry that Im2col would read from
// (n,c,h,w), with Cols in Im2col's layout. Each image plane sums its own
// contributions in a fixed order, so the result is deterministic without
// atomics.
type Col2imParams struct {
	X, Cols tensor.View
	Geom    ConvGeom
}

// The convolution kernels.
var (
	Im2colKernel = tensor.NewKernel[Im2colParams]("im2col")
	Col2imKernel = tensor.NewKernel[Col2imParams]("col2im")
)

func init() {
	t := tensor.CPU().Kernels()
	tensor.Implement(t, Im2colKernel, cpuIm2col)
	tensor.Implement(t, Col2imKernel, cpuCol2im)
}

// The CPU kernels work on one zero-padded image plane at a time (a few KB,
// in L1), so the window loops need no bounds tests: each output row is a
// strided read (im2col) or strided accumulation (col2im) of a padded row.

// planes recycles the padded planes.
var planes = sync.Pool{New: func() any { return new([]float32) }}

// padded returns a cleared (H+2·PadH)×(W+2·PadW) plane from the pool.
func (g ConvGeom) padded() (*[]float32, []float32, int) {
	wp := g.W + 2*g.PadW
	n := (g.H + 2*g.PadH) * wp
	b := planes.Get().(*[]float32)
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	p := (*b)[:n]
	clear(p)
	return b, p, wp
}

func cpuIm2col(_ tensor.Device, p Im2colParams) {
	g := p.Geom
	hw, l := g.H*g.W, g.OH*g.OW
	nl := g.N * l
	x := f32(p.X, g.N*g.C*hw)
	cols := f32(p.Cols, g.ColRows()*nl)
	// One task per (n, c) plane: its KH·KW rows of the column matrix, each
	// a contiguous run of OH·OW outputs.
	parallel.For(g.N*g.C, g.KH*g.KW*l, 1, func(lo, hi int) {
		b, pad, wp := g.padded()
		defer planes.Put(b)
		for nc := lo; nc < hi; nc++ {
			n, c := nc/g.C, nc%g.C
			src := x[nc*hw : (nc+1)*hw]
			for ih := range g.H {
				copy(pad[(ih+g.PadH)*wp+g.PadW:], src[ih*g.W:(ih+1)*g.W])
			}
			for kh := range g.KH {
				for kw := range g.KW {
					r := (c*g.KH+kh)*g.KW + kw
					dst := cols[r*nl+n*l : r*nl+(n+1)*l]
					gatherRows(dst, pad[kh*g.DilH*wp+kw*g.DilW:], g.OH, g.OW, g.StrideH*wp, g.StrideW)
				}
			}
		}
	})
}

func cpuCol2im(_ tensor.Device, p Col2imParams) {
	g := p.Geom
	hw, l := g.H*g.W, g.OH*g.OW
	nl := g.N * l
	x := f32(p.X, g.N*g.C*hw)
	cols := f32(p.Cols, g.ColRows()*nl)
	// One task per (n, c) plane: every element sums the window positions
	// that read it, in (kh, kw, oh, ow) order; the sums that land in the
	// padding are dropped.
	parallel.For(g.N*g.C, g.KH*g.KW*l, 1, func(lo, hi int) {
		b, pad, wp := g.padded()
		defer planes.Put(b)
		for nc := lo; nc < hi; nc++ {
			n, c := nc/g.C, nc%g.C
			if nc > lo {
				clear(pad)
			}
			for kh := range g.KH {
				for kw := range g.KW {
					r := (c*g.KH+kh)*g.KW + kw
					src := cols[r*nl+n*l : r*nl+(n+1)*l]
					scatterRows(pad[kh*g.DilH*wp+kw*g.DilW:], src, g.OH, g.OW, g.StrideH*wp, g.StrideW)
				}
			}
			dst := x[nc*hw : (nc+1)*hw]
			for ih := range g.H {
				copy(dst[ih*g.W:(ih+1)*g.W], pad[(ih+g.PadH)*wp+g.PadW:])
			}
		}
	})
}
