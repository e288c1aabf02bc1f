package kernels

import (
	"fmt"
	"testing"

	"github.com/ingotml/ingot/tensor"
)

// BenchmarkIm2col and BenchmarkCol2im time the kernels on the DCGAN's
// geometries (batch 64, 4×4 windows, stride 2, padding 1): 1→32 channels
// on 28×28 and 32→64 on 14×14.
func convBenchGeoms() []ConvGeom {
	var gs []ConvGeom
	for _, s := range [][2]int{{1, 28}, {32, 14}} {
		g := ConvGeom{N: 64, C: s[0], H: s[1], W: s[1], KH: 4, KW: 4, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, DilH: 1, DilW: 1}
		g.OH, g.OW = OutSize(g.H, 4, 2, 1, 1), OutSize(g.W, 4, 2, 1, 1)
		gs = append(gs, g)
	}
	return gs
}

func BenchmarkIm2col(b *testing.B) {
	d := tensor.CPU()
	for _, g := range convBenchGeoms() {
		b.Run(fmt.Sprintf("C%d_H%d", g.C, g.H), func(b *testing.B) {
			x := tensor.Zeros(d, g.N, g.C, g.H, g.W)
			cols := tensor.Zeros(d, g.ColRows(), g.ColCols())
			p := Im2colParams{Cols: tensor.View{Buf: cols.Buffer(), Off: 0}, X: tensor.View{Buf: x.Buffer()}, Geom: g}
			b.SetBytes(int64(4 * g.ColRows() * g.ColCols()))
			for b.Loop() {
				Im2colKernel.Run(d, p)
			}
		})
	}
}

func BenchmarkCol2im(b *testing.B) {
	d := tensor.CPU()
	for _, g := range convBenchGeoms() {
		b.Run(fmt.Sprintf("C%d_H%d", g.C, g.H), func(b *testing.B) {
			x := tensor.Zeros(d, g.N, g.C, g.H, g.W)
			cols := tensor.Zeros(d, g.ColRows(), g.ColCols())
			p := Col2imParams{X: tensor.View{Buf: x.Buffer()}, Cols: tensor.View{Buf: cols.Buffer()}, Geom: g}
			b.SetBytes(int64(4 * g.ColRows() * g.ColCols()))
			for b.Loop() {
				Col2imKernel.Run(d, p)
			}
		})
	}
}
