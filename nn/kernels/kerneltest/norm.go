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
		devicetest.Case{Name: "nn/batchnorm_stats", Kernels: []string{"batchnorm_stats"}, Run: runBatchNormStats},
		devicetest.Case{Name: "nn/batchnorm_apply", Kernels: []string{"batchnorm_apply"}, Run: runBatchNormApply},
		devicetest.Case{Name: "nn/batchnorm_bwd", Kernels: []string{"batchnorm_bwd"}, Run: runBatchNormGrad},
	)
}

// bnShape is one [Outer, C, Inner] input: Inner = 1 is BatchNorm1d on
// [N, C] (the column kernels, with more than one 256-column block and, at
// 64×600, a split across workers), Inner > 1 the run kernels (4×5×1700 is
// split across workers). mean and spread set x = mean + spread·U(−1, 1):
// the large-mean shapes have a variance 10⁻⁶ of mean², which a one-pass
// E[x²] − E[x]² in float32 (or even float64 over float32 partial sums)
// would lose.
type bnShape struct {
	outer, c, inner int
	mean, spread    float64
}

var bnShapes = []bnShape{
	{2, 1, 1, 0, 1},
	{5, 3, 1, 0.5, 2},
	{7, 300, 1, 0, 1},
	{64, 600, 1, -1, 3},
	{3, 4, 5, 0, 1},
	{2, 3, 49, 2, 1},
	{1, 2, 33, 0, 1},
	{4, 5, 1700, 0, 1},
	{9, 3, 1, 1000, 0.5},
	{6, 2, 37, 1000, 0.5},
	{3, 70, 1, -300, 0.1},
}

func (s bnShape) String() string {
	return fmt.Sprintf("%dx%dx%d_mean%g", s.outer, s.c, s.inner, s.mean)
}

func (s bnShape) n() int     { return s.outer * s.inner }
func (s bnShape) total() int { return s.outer * s.c * s.inner }

// at is the index of the k-th value (k < outer·inner) of channel c.
func (s bnShape) at(k, c int) int { return ((k/s.inner)*s.c+c)*s.inner + k%s.inner }

// refBNStats is the float64 mean and biased variance of every channel.
func refBNStats(s bnShape, x []float64) (mean, variance []float64) {
	mean, variance = make([]float64, s.c), make([]float64, s.c)
	n := float64(s.n())
	for c := range s.c {
		for k := range s.n() {
			mean[c] += x[s.at(k, c)]
		}
		mean[c] /= n
		for k := range s.n() {
			d := x[s.at(k, c)] - mean[c]
			variance[c] += d * d
		}
		variance[c] /= n
	}
	return mean, variance
}

func bnInput(r *rand.Rand, s bnShape) []float64 {
	x := rnnRand(r, s.total(), s.spread)
	for i := range x {
		x[i] = float64(float32(x[i] + s.mean))
	}
	return x
}

func runBatchNormStats(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(31, 32))
	const eps, mom = 1e-5, 0.1
	for _, s := range bnShapes {
		for _, update := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v_update%v", s, update), func(t *testing.T) {
				x := bnInput(r, s)
				rm, rv := rnnRand(r, s.c, 1), rnnRand(r, s.c, 1)
				for i := range rv {
					rv[i] = 1 + math.Abs(rv[i])
				}
				xt, xV := rnnUpload(d, x)
				mt, mV := rnnEmpty(d, s.c)
				it, iV := rnnEmpty(d, s.c)
				rmt, rmV := rnnUpload(d, rm)
				rvt, rvV := rnnUpload(d, rv)
				defer func() {
					for _, tt := range []*tensor.Tensor{xt, mt, it, rmt, rvt} {
						tt.Release()
					}
				}()
				kernels.BatchNormStats.Run(d, kernels.BatchNormStatsParams{X: xV, Mean: mV, InvStd: iV, RunningMean: rmV, RunningVar: rvV,
					Outer: s.outer, C: s.c, Inner: s.inner, Eps: eps, Momentum: mom, UpdateRunning: update})
				mean, variance := refBNStats(s, x)
				gotM, gotI := rnnRead(mt, s.c), rnnRead(it, s.c)
				gotRM, gotRV := rnnRead(rmt, s.c), rnnRead(rvt, s.c)
				n := float64(s.n())
				for c := range s.c {
					sd := math.Sqrt(variance[c])
					// The mean within a few float32 roundings of |mean|,
					// plus 1e-5 of the spread (Metal's float sums of d).
					require.InDeltaf(t, mean[c], gotM[c], 5e-7*math.Abs(mean[c])+1e-5*sd, "mean[%d]", c)
					// 1/√(var+eps) to 1e-5 relative: the sums of d² are
					// of positive terms (float32 on Metal: ~log n ulp).
					want := 1 / math.Sqrt(variance[c]+float64(float32(eps)))
					require.InEpsilonf(t, want, gotI[c], 1e-5, "invstd[%d] (variance %g)", c, variance[c])
					wantRM, wantRV := rm[c], rv[c]
					if update {
						wantRM += float64(float32(mom)) * (mean[c] - rm[c])
						wantRV += float64(float32(mom)) * (variance[c]*n/(n-1) - rv[c])
					}
					// float32 updates of O(1) buffers (and of |mean|).
					require.InDeltaf(t, wantRM, gotRM[c], 1e-6*(1+math.Abs(mean[c])), "running_mean[%d]", c)
					require.InDeltaf(t, wantRV, gotRV[c], 1e-6*(1+math.Abs(wantRV)), "running_var[%d]", c)
				}
			})
		}
	}
}

// bnChannelParams draws per-channel mean, invstd, weight and bias near
// what the stats of a shape would give (weights of either sign).
func bnChannelParams(r *rand.Rand, s bnShape) (mean, invstd, w, b []float64) {
	mean = rnnRand(r, s.c, s.spread*0.3)
	invstd = rnnRand(r, s.c, 0.5)
	for c := range s.c {
		mean[c] = float64(float32(mean[c] + s.mean))
		invstd[c] = float64(float32((1 + math.Abs(invstd[c])) / s.spread))
	}
	return mean, invstd, rnnRand(r, s.c, 2), rnnRand(r, s.c, 1)
}

func runBatchNormApply(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(33, 34))
	for i, s := range bnShapes {
		inPlace := i%3 == 1
		t.Run(fmt.Sprintf("%v_inplace%v", s, inPlace), func(t *testing.T) {
			x := bnInput(r, s)
			mean, invstd, w, b := bnChannelParams(r, s)
			xt, xV := rnnUpload(d, x)
			yt, yV := rnnEmpty(d, s.total())
			if inPlace {
				yt, yV = xt, xV
			}
			var ts []*tensor.Tensor
			views := make([]tensor.View, 4)
			for j, v := range [][]float64{mean, invstd, w, b} {
				tt, vv := rnnUpload(d, v)
				ts, views[j] = append(ts, tt), vv
			}
			defer func() {
				for _, tt := range append(ts, xt, yt) {
					tt.Release()
				}
			}()
			kernels.BatchNormApply.Run(d, kernels.BatchNormApplyParams{Y: yV, X: xV, Mean: views[0], InvStd: views[1], Weight: views[2], Bias: views[3],
				Outer: s.outer, C: s.c, Inner: s.inner})
			got := rnnRead(yt, s.total())
			for c := range s.c {
				sc := invstd[c] * w[c]
				for k := range s.n() {
					j := s.at(k, c)
					xh := (x[j] - mean[c]) * sc
					// A few float32 roundings of the terms.
					require.InDeltaf(t, xh+b[c], got[j], 1e-6*(math.Abs(xh)+math.Abs(b[c]))+1e-7, "y[%d] (channel %d)", j, c)
				}
			}
		})
	}
}

func runBatchNormGrad(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(35, 36))
	type need struct{ dx, dw, db, alias bool }
	needs := []need{{true, true, true, false}, {true, false, false, true}, {false, true, true, false}, {false, false, true, false}}
	for i, s := range bnShapes {
		for _, nd := range needs {
			if nd.alias && i%2 == 0 { // aliasing on half the shapes
				continue
			}
			t.Run(fmt.Sprintf("%v_%+v", s, nd), func(t *testing.T) {
				x := bnInput(r, s)
				g := rnnRand(r, s.total(), 1)
				mean, invstd, w, _ := bnChannelParams(r, s)
				var ts []*tensor.Tensor
				up := func(v []float64) tensor.View {
					tt, vv := rnnUpload(d, v)
					ts = append(ts, tt)
					return vv
				}
				out := func(n int) (*tensor.Tensor, tensor.View) {
					tt, vv := rnnEmpty(d, n)
					ts = append(ts, tt)
					return tt, vv
				}
				defer func() {
					for _, tt := range ts {
						tt.Release()
					}
				}()
				p := kernels.BatchNormGradParams{DY: up(g), X: up(x), Mean: up(mean), InvStd: up(invstd), Weight: up(w),
					Outer: s.outer, C: s.c, Inner: s.inner, NeedDX: nd.dx, NeedDWeight: nd.dw, NeedDBias: nd.db}
				var dxT, dwT, dbT *tensor.Tensor
				if nd.dx {
					if nd.alias {
						dxT, p.DX = ts[0], p.DY
					} else {
						dxT, p.DX = out(s.total())
					}
				}
				if nd.dw {
					dwT, p.DWeight = out(s.c)
				}
				if nd.db {
					dbT, p.DBias = out(s.c)
				}
				kernels.BatchNormGrad.Run(d, p)
				n := float64(s.n())
				var gotDX, gotDW, gotDB []float64
				if nd.dx {
					gotDX = rnnRead(dxT, s.total())
				}
				if nd.dw {
					gotDW = rnnRead(dwT, s.c)
				}
				if nd.db {
					gotDB = rnnRead(dbT, s.c)
				}
				for c := range s.c {
					var sg, sgd, ag, agd float64
					for k := range s.n() {
						j := s.at(k, c)
						xc := x[j] - mean[c]
						sg += g[j]
						sgd += g[j] * xc
						ag += math.Abs(g[j])
						agd += math.Abs(g[j] * xc)
					}
					// Sums to 1e-5 of the sums of magnitudes (Metal adds
					// in float; the CPU rounds a float64 sum once).
					if nd.dw {
						require.InDeltaf(t, sgd*invstd[c], gotDW[c], 1e-5*agd*invstd[c]+1e-7, "dweight[%d]", c)
					}
					if nd.db {
						require.InDeltaf(t, sg, gotDB[c], 1e-5*ag+1e-7, "dbias[%d]", c)
					}
					if !nd.dx {
						continue
					}
					a, k1, k2 := w[c]*invstd[c], sg/n, sgd*invstd[c]*invstd[c]/n
					ak1, ak2 := ag/n, agd*invstd[c]*invstd[c]/n
					for k := range s.n() {
						j := s.at(k, c)
						xc := x[j] - mean[c]
						want := a * (g[j] - k1 - xc*k2)
						// Each of the three terms to 2e-5 of its bound.
						tol := 2e-5*math.Abs(a)*(math.Abs(g[j])+ak1+math.Abs(xc)*ak2) + 1e-7
						require.InDeltaf(t, want, gotDX[j], tol, "dx[%d] (channel %d)", j, c)
					}
				}
			})
		}
	}
}
