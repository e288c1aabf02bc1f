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
	devicetest.Register(
		devicetest.Case{Name: "nn/lstm_cell", Kernels: []string{"lstm_cell_fwd", "lstm_cell_bwd"}, Run: runLSTMCell},
		devicetest.Case{Name: "nn/gru_cell", Kernels: []string{"gru_cell_fwd", "gru_cell_bwd"}, Run: runGRUCell},
	)
}

// rnnSizes are the (rows, hidden) pairs both cells run: single elements,
// odd sizes, and one large enough to split across workers.
var rnnSizes = [][2]int{{1, 1}, {3, 7}, {5, 33}, {2, 2}, {9, 300}}

func rnnRand(r *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32((r.Float64()*2 - 1) * scale))
	}
	return v
}

func rnnF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// rnnUpload copies v to d behind a few junk elements, so that kernels must
// honour View offsets.
func rnnUpload(d tensor.Device, v []float64) (*tensor.Tensor, tensor.View) {
	junk := []float32{float32(math.NaN()), 3}
	t := tensor.FromFloat32(d, append(junk, rnnF32(v)...))
	return t, tensor.View{Buf: t.Buffer(), Off: len(junk)}
}

// rnnRead reads n elements of a view uploaded by rnnUpload or rnnEmpty.
func rnnRead(t *tensor.Tensor, n int) []float64 {
	v := t.Float32s()
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(v[len(v)-n+i])
	}
	return out
}

// rnnEmpty is an output of n elements preset to NaN (every one must be
// written), behind junk.
func rnnEmpty(d tensor.Device, n int) (*tensor.Tensor, tensor.View) {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return rnnUpload(d, v)
}

func sig(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// refLSTM is the float64 LSTM step from full pre-activations p [N,4H]
// (bias included).
func refLSTM(n, h int, p, cprev []float64) (hs, cs []float64) {
	hs, cs = make([]float64, n*h), make([]float64, n*h)
	for b := range n {
		for j := range h {
			row := p[b*4*h:]
			i, f, g, o := sig(row[j]), sig(row[h+j]), math.Tanh(row[2*h+j]), sig(row[3*h+j])
			c := f*cprev[b*h+j] + i*g
			cs[b*h+j] = c
			hs[b*h+j] = o * math.Tanh(c)
		}
	}
	return hs, cs
}

// refGRU is the float64 GRU step from xg = W_ih·x + b_ih and hg = W_hh·h +
// b_hh [N,3H].
func refGRU(n, h int, xg, hg, hprev []float64) []float64 {
	out := make([]float64, n*h)
	for b := range n {
		x, r := xg[b*3*h:], hg[b*3*h:]
		for j := range h {
			rg := sig(x[j] + r[j])
			z := sig(x[h+j] + r[h+j])
			nn := math.Tanh(x[2*h+j] + rg*r[2*h+j])
			out[b*h+j] = (1-z)*nn + z*hprev[b*h+j]
		}
	}
	return out
}

// numGrad is the central difference of f with respect to the elements of
// x; on large inputs only every 41st element is checked (NaN elsewhere,
// which requireClose skips) to keep the suite fast.
func numGrad(x []float64, f func() float64) []float64 {
	g := make([]float64, len(x))
	step := 1
	if len(x) > 2000 {
		step = 41
	}
	for i := range x {
		if i%step != 0 {
			g[i] = math.NaN()
			continue
		}
		old := x[i]
		e := 1e-6 * math.Max(1, math.Abs(old))
		x[i] = old + e
		fp := f()
		x[i] = old - e
		fm := f()
		x[i] = old
		g[i] = (fp - fm) / (2 * e)
	}
	return g
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Tolerances: forward outputs are a handful of float32 operations on
// float32 inputs (a few ulp, < 1e-6 for values of size ~1); gradients are
// products of float32 activations, compared with float64 central
// differences whose own error is ~1e-9, so 1e-5 relative leaves a margin of
// ~10× over the float32 rounding of up to a dozen factors.
const (
	rnnFwdTol  = 2e-6
	rnnGradTol = 1e-5
)

func requireClose(t *testing.T, want, got []float64, tol float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		if math.IsNaN(want[i]) {
			continue // not checked
		}
		require.InDeltaf(t, want[i], got[i], tol*(1+math.Abs(want[i])), "%s element %d", what, i)
	}
}

func runLSTMCell(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, sz := range rnnSizes {
		for _, bias := range []bool{true, false} {
			n, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("N%d_H%d_bias=%v", n, h, bias), func(t *testing.T) {
				g := 4 * h
				pre := rnnRand(r, n*g, 2.5)
				bih, bhh := rnnRand(r, g, 1), rnnRand(r, g, 1)
				cprev := rnnRand(r, n*h, 2)
				full := append([]float64(nil), pre...) // pre-activations with bias
				if bias {
					for b := range n {
						for j := range g {
							full[b*g+j] = float64(float32(pre[b*g+j]) + float32(bih[j]) + float32(bhh[j]))
						}
					}
				}
				gatesT, gatesV := rnnUpload(d, pre)
				_, bihV := rnnUpload(d, bih)
				_, bhhV := rnnUpload(d, bhh)
				cpT, cpV := rnnUpload(d, cprev)
				cT, cV := rnnEmpty(d, n*h)
				hT, hV := rnnEmpty(d, n*h)
				kernels.LSTMCell.Run(d, kernels.LSTMCellParams{Gates: gatesV, BiasIH: bihV, BiasHH: bhhV, HasBias: bias,
					CPrev: cpV, C: cV, H: hV, N: n, Hidden: h})
				wantH, wantC := refLSTM(n, h, full, cprev)
				requireClose(t, wantH, rnnRead(hT, n*h), rnnFwdTol, "h")
				requireClose(t, wantC, rnnRead(cT, n*h), rnnFwdTol, "c")
				act := rnnRead(gatesT, n*g)
				for b := range n {
					for j := range g {
						v := full[b*g+j]
						want := sig(v)
						if j/h == 2 {
							want = math.Tanh(v)
						}
						require.InDeltaf(t, want, act[b*g+j], rnnFwdTol, "activation %d,%d", b, j)
					}
				}

				// Backward: L = Σ wh·h + Σ wc·c, with wh split between the
				// output and the recurrent path.
				dy, dhrec, wc := rnnRand(r, n*h, 1), rnnRand(r, n*h, 1), rnnRand(r, n*h, 1)
				wh := make([]float64, n*h)
				for i := range wh {
					wh[i] = float64(float32(dy[i]) + float32(dhrec[i]))
				}
				_, dyV := rnnUpload(d, dy)
				_, dhV := rnnUpload(d, dhrec)
				dcT, dcV := rnnUpload(d, wc)
				dgT, dgV := rnnEmpty(d, n*g)
				kernels.LSTMCellGrad.Run(d, kernels.LSTMCellGradParams{Act: gatesV, C: cV, CPrev: cpV, DY: dyV, DHRec: dhV,
					DC: dcV, DGates: dgV, N: n, Hidden: h})
				loss := func() float64 {
					hs, cs := refLSTM(n, h, full, cprev)
					return dot(wh, hs) + dot(wc, cs)
				}
				requireClose(t, numGrad(full, loss), rnnRead(dgT, n*g), rnnGradTol, "dgates")
				requireClose(t, numGrad(cprev, loss), rnnRead(dcT, n*h), rnnGradTol, "dc_prev")
				for _, x := range []*tensor.Tensor{gatesT, cpT, cT, hT, dcT, dgT} {
					x.Release()
				}
			})
		}
	}
}

func runGRUCell(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(13, 17))
	for _, sz := range rnnSizes {
		for _, bias := range []bool{true, false} {
			n, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("N%d_H%d_bias=%v", n, h, bias), func(t *testing.T) {
				g := 3 * h
				xpre, hpre := rnnRand(r, n*g, 2.5), rnnRand(r, n*g, 2.5)
				bih, bhh := rnnRand(r, g, 1), rnnRand(r, g, 1)
				hprev := rnnRand(r, n*h, 1)
				xfull, hfull := append([]float64(nil), xpre...), append([]float64(nil), hpre...)
				if bias {
					for b := range n {
						for j := range g {
							xfull[b*g+j] = float64(float32(xpre[b*g+j]) + float32(bih[j]))
							hfull[b*g+j] = float64(float32(hpre[b*g+j]) + float32(bhh[j]))
						}
					}
				}
				xgT, xgV := rnnUpload(d, xpre)
				hgT, hgV := rnnUpload(d, hpre)
				_, bihV := rnnUpload(d, bih)
				_, bhhV := rnnUpload(d, bhh)
				_, hpV := rnnUpload(d, hprev)
				hT, hV := rnnEmpty(d, n*h)
				kernels.GRUCell.Run(d, kernels.GRUCellParams{XG: xgV, HG: hgV, BiasIH: bihV, BiasHH: bhhV, HasBias: bias,
					HPrev: hpV, H: hV, N: n, Hidden: h})
				requireClose(t, refGRU(n, h, xfull, hfull, hprev), rnnRead(hT, n*h), rnnFwdTol, "h")
				hgOut := rnnRead(hgT, n*g)
				for b := range n {
					for j := 2 * h; j < g; j++ {
						require.InDeltaf(t, hfull[b*g+j], hgOut[b*g+j], rnnFwdTol, "saved hn %d,%d", b, j)
					}
				}

				dy, dhrec := rnnRand(r, n*h, 1), rnnRand(r, n*h, 1)
				wh := make([]float64, n*h)
				for i := range wh {
					wh[i] = float64(float32(dy[i]) + float32(dhrec[i]))
				}
				_, dyV := rnnUpload(d, dy)
				dhT, dhV := rnnUpload(d, dhrec)
				dxT, dxV := rnnEmpty(d, n*g)
				dhgT, dhgV := rnnEmpty(d, n*g)
				// DHPrev aliases DHRec, as the layers use it.
				kernels.GRUCellGrad.Run(d, kernels.GRUCellGradParams{Act: xgV, HG: hgV, HPrev: hpV, DY: dyV, DHRec: dhV,
					DXG: dxV, DHG: dhgV, DHPrev: dhV, N: n, Hidden: h})
				loss := func() float64 { return dot(wh, refGRU(n, h, xfull, hfull, hprev)) }
				requireClose(t, numGrad(xfull, loss), rnnRead(dxT, n*g), rnnGradTol, "dxg")
				requireClose(t, numGrad(hfull, loss), rnnRead(dhgT, n*g), rnnGradTol, "dhg")
				requireClose(t, numGrad(hprev, loss), rnnRead(dhT, n*h), rnnGradTol, "dh_prev")
				for _, x := range []*tensor.Tensor{xgT, hgT, hT, dhT, dxT, dhgT} {
					x.Release()
				}
			})
		}
	}
}
