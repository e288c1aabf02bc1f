package kernels

import (
	"fmt"

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

func convF32(v tensor.View, n int) []float32 {
	if n == 0 {
		return nil
	}
	return v.Buf.Float32s(v.Off + n)[v.Off:]
}

// validRange is the range [lo, hi) of output positions o in [0, n) whose
// input index o·stride + base falls inside [0, size): the window positions
// that read the image rather than its zero padding.
func validRange(n, stride, base, size int) (lo, hi int) {
	if base < 0 {
		lo = (-base + stride - 1) / stride
	}
	if last := size - 1 - base; last < 0 {
		hi = 0
	} else {
		hi = min(n, last/stride+1)
	}
	return min(lo, hi), hi
}

func cpuIm2col(_ tensor.Device, p Im2colParams) {
	g := p.Geom
	hw, l := g.H*g.W, g.OH*g.OW
	nl := g.N * l
	x := convF32(p.X, g.N*g.C*hw)
	cols := convF32(p.Cols, g.ColRows()*nl)
	// One task per (row, image): a contiguous run of OH·OW outputs.
	convParallelFor(g.ColRows()*g.N, l, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			r, n := t/g.N, t%g.N
			c, k := r/(g.KH*g.KW), r%(g.KH*g.KW)
			kh, kw := k/g.KW, k%g.KW
			src := x[(n*g.C+c)*hw : (n*g.C+c+1)*hw]
			dst := cols[r*nl+n*l : r*nl+(n+1)*l]
			ohLo, ohHi := validRange(g.OH, g.StrideH, kh*g.DilH-g.PadH, g.H)
			owLo, owHi := validRange(g.OW, g.StrideW, kw*g.DilW-g.PadW, g.W)
			clear(dst[:ohLo*g.OW])
			clear(dst[ohHi*g.OW:])
			for oh := ohLo; oh < ohHi; oh++ {
				row := dst[oh*g.OW : (oh+1)*g.OW]
				clear(row[:owLo])
				clear(row[owHi:])
				ih := oh*g.StrideH - g.PadH + kh*g.DilH
				iw := owLo*g.StrideW - g.PadW + kw*g.DilW
				srow := src[ih*g.W+iw : (ih+1)*g.W]
				run := row[owLo:owHi]
				if g.StrideW == 1 {
					copy(run, srow)
					continue
				}
				for j := range run {
					run[j] = srow[j*g.StrideW]
				}
			}
		}
	})
}

func cpuCol2im(_ tensor.Device, p Col2imParams) {
	g := p.Geom
	hw, l := g.H*g.W, g.OH*g.OW
	nl := g.N * l
	x := convF32(p.X, g.N*g.C*hw)
	cols := convF32(p.Cols, g.ColRows()*nl)
	// One task per (n, c) plane: every element sums the window positions
	// that read it, in (kh, kw, oh, ow) order.
	convParallelFor(g.N*g.C, g.KH*g.KW*l, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/g.C, nc%g.C
			dst := x[nc*hw : (nc+1)*hw]
			clear(dst)
			for kh := range g.KH {
				ohLo, ohHi := validRange(g.OH, g.StrideH, kh*g.DilH-g.PadH, g.H)
				for kw := range g.KW {
					owLo, owHi := validRange(g.OW, g.StrideW, kw*g.DilW-g.PadW, g.W)
					if owLo >= owHi {
						continue
					}
					r := (c*g.KH+kh)*g.KW + kw
					src := cols[r*nl+n*l : r*nl+(n+1)*l]
					for oh := ohLo; oh < ohHi; oh++ {
						ih := oh*g.StrideH - g.PadH + kh*g.DilH
						iw := owLo*g.StrideW - g.PadW + kw*g.DilW
						drow := dst[ih*g.W+iw : (ih+1)*g.W]
						srow := src[oh*g.OW+owLo : oh*g.OW+owHi]
						if g.StrideW == 1 {
							drow = drow[:len(srow)]
							for j, v := range srow {
								drow[j] += v
							}
							continue
						}
						for j, v := range srow {
							drow[j*g.StrideW] += v
						}
					}
				}
			}
		}
	})
}
