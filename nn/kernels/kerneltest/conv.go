// Package kerneltest registers the conformance cases of the kernels in
// nn/kernels with tensor/devicetest. Device tests import it for its side
// effect:
//
//	import _ "github.com/ingotml/ingot/nn/kernels/kerneltest"
//
// It is separate from nn/kernels so that testify (which devicetest uses)
// never reaches user binaries.
package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/nn/kernels"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/tensor/devicetest"
	"github.com/stretchr/testify/require"
)

func init() {
	devicetest.Register(devicetest.Case{Name: "nn/im2col", Kernels: []string{"im2col"}, Run: runIm2col})
	devicetest.Register(devicetest.Case{Name: "nn/col2im", Kernels: []string{"col2im"}, Run: runCol2im})
}

// convGeoms are the geometries both cases run: odd sizes, stride, padding
// wider than the kernel reach, dilation, 1×1 kernels, non-square everything.
func convGeoms() []kernels.ConvGeom {
	type g struct{ n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw int }
	var out []kernels.ConvGeom
	for _, s := range []g{
		{1, 1, 5, 5, 3, 3, 1, 1, 0, 0, 1, 1},
		{2, 3, 7, 6, 3, 2, 2, 1, 1, 0, 1, 1},
		{3, 2, 9, 11, 4, 4, 2, 2, 1, 1, 1, 1},
		{1, 4, 8, 7, 3, 3, 1, 2, 2, 1, 2, 1},
		{2, 5, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1},
		{1, 2, 6, 5, 5, 5, 3, 2, 3, 2, 1, 1},
		{1, 17, 13, 19, 3, 3, 1, 1, 1, 1, 1, 1}, // large enough to split across workers
	} {
		geo := kernels.ConvGeom{N: s.n, C: s.c, H: s.h, W: s.w, KH: s.kh, KW: s.kw,
			StrideH: s.sh, StrideW: s.sw, PadH: s.ph, PadW: s.pw, DilH: s.dh, DilW: s.dw}
		geo.OH = kernels.OutSize(s.h, s.kh, s.sh, s.ph, s.dh)
		geo.OW = kernels.OutSize(s.w, s.kw, s.sw, s.pw, s.dw)
		out = append(out, geo)
	}
	// A grid smaller than the image allows (a transposed convolution with
	// output padding): the last image rows and columns get no window.
	small := out[2]
	small.OH--
	small.OW--
	return append(out, small)
}

// refIm2col is the float64 definition: cols[(c,kh,kw)][(n,oh,ow)].
func refIm2col(g kernels.ConvGeom, x []float64) []float64 {
	rows, l := g.ColRows(), g.OH*g.OW
	cols := make([]float64, g.N*rows*l)
	for n := range g.N {
		for c := range g.C {
			for kh := range g.KH {
				for kw := range g.KW {
					r := (c*g.KH+kh)*g.KW + kw
					for oh := range g.OH {
						for ow := range g.OW {
							ih := oh*g.StrideH - g.PadH + kh*g.DilH
							iw := ow*g.StrideW - g.PadW + kw*g.DilW
							v := 0.0
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								v = x[((n*g.C+c)*g.H+ih)*g.W+iw]
							}
							cols[r*g.N*l+n*l+oh*g.OW+ow] = v
						}
					}
				}
			}
		}
	}
	return cols
}

// refCol2im scatters the columns back (the transpose of refIm2col).
func refCol2im(g kernels.ConvGeom, cols []float64) []float64 {
	l := g.OH * g.OW
	x := make([]float64, g.N*g.C*g.H*g.W)
	for n := range g.N {
		for c := range g.C {
			for kh := range g.KH {
				for kw := range g.KW {
					r := (c*g.KH+kh)*g.KW + kw
					for oh := range g.OH {
						for ow := range g.OW {
							ih := oh*g.StrideH - g.PadH + kh*g.DilH
							iw := ow*g.StrideW - g.PadW + kw*g.DilW
							if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
								x[((n*g.C+c)*g.H+ih)*g.W+iw] += cols[r*g.N*l+n*l+oh*g.OW+ow]
							}
						}
					}
				}
			}
		}
	}
	return x
}

func randVec(r *rand.Rand, n int) ([]float32, []float64) {
	a, b := make([]float32, n), make([]float64, n)
	for i := range a {
		a[i] = float32(r.Float64()*4 - 2)
		b[i] = float64(a[i])
	}
	return a, b
}

// offsetTensor uploads v behind a few elements of junk so that kernels must
// honour View offsets.
func offsetTensor(d tensor.Device, v []float32) *tensor.Tensor {
	junk := []float32{float32(math.NaN()), 7, -7}
	t := tensor.FromFloat32(d, append(junk, v...))
	return t.Slice(0, len(junk), len(junk)+len(v))
}

func view(t *tensor.Tensor) tensor.View { return tensor.View{Buf: t.Buffer(), Off: t.Offset()} }

func runIm2col(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range convGeoms() {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_k%dx%d_s%d%d_p%d%d_d%d%d", g.N, g.C, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilH, g.DilW), func(t *testing.T) {
			x32, x64 := randVec(r, g.N*g.C*g.H*g.W)
			x := offsetTensor(d, x32)
			n := g.N * g.ColRows() * g.OH * g.OW
			cols := tensor.Full(d, float32(math.NaN()), n) // every element must be written
			kernels.Im2colKernel.Run(d, kernels.Im2colParams{Cols: view(cols), X: view(x), Geom: g})
			got := cols.Float32s()
			want := refIm2col(g, x64)
			for i := range want {
				// A pure copy: exact.
				require.Equalf(t, float32(want[i]), got[i], "im2col element %d", i)
			}
		})
	}
}

func runCol2im(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range convGeoms() {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_k%dx%d_s%d%d_p%d%d_d%d%d", g.N, g.C, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW, g.DilH, g.DilW), func(t *testing.T) {
			c32, c64 := randVec(r, g.N*g.ColRows()*g.OH*g.OW)
			cols := offsetTensor(d, c32)
			x := tensor.Full(d, float32(math.NaN()), g.N*g.C*g.H*g.W) // overwritten, not accumulated
			kernels.Col2imKernel.Run(d, kernels.Col2imParams{X: view(x), Cols: view(cols), Geom: g})
			got := x.Float32s()
			want := refCol2im(g, c64)
			// Each element sums at most KH·KW float32 terms of magnitude ≤ 2:
			// the float32 rounding error is below KH·KW·2·2⁻²³ ≈ 6e-6 here.
			for i := range want {
				require.InDeltaf(t, want[i], float64(got[i]), 1e-5, "col2im element %d", i)
			}
		})
	}
}
