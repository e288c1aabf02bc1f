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
		devicetest.Case{Name: "nn/sgd_update", Kernels: []string{"sgd_update"}, Run: runSGD},
		devicetest.Case{Name: "nn/adam_update", Kernels: []string{"adam_update"}, Run: runAdam},
		devicetest.Case{Name: "nn/rmsprop_update", Kernels: []string{"rmsprop_update"}, Run: runRMSProp},
		devicetest.Case{Name: "nn/sum_squares", Kernels: []string{"sum_squares"}, Run: runSumSquares},
	)
}

// optimSizes include one element, odd sizes and one large enough to split
// across workers.
var optimSizes = []int{1, 7, 130, 40001}

// optimSteps is how many consecutive updates each case applies (the
// state carries over), each with fresh gradients.
const optimSteps = 3

// Updates are a few float32 operations per element; against the float64
// reference of the same formulas 1e-5 relative is ~100 ulp of margin.
const optimTol = 1e-5

type optimBufs struct {
	t []*tensor.Tensor
}

func (b *optimBufs) upload(d tensor.Device, v []float64) tensor.View {
	t, view := rnnUpload(d, v)
	b.t = append(b.t, t)
	return view
}

func (b *optimBufs) release() {
	for _, t := range b.t {
		t.Release()
	}
}

func requireState(t *testing.T, want []float64, tt *tensor.Tensor, what string, step int) {
	t.Helper()
	got := rnnRead(tt, len(want))
	for i := range want {
		require.InDeltaf(t, want[i], got[i], optimTol*(1+math.Abs(want[i])), "%s element %d after step %d", what, i, step)
	}
	// Continue from the device's values so that errors do not compound.
	copy(want, got)
}

func runSGD(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(21, 22))
	type opt struct {
		mom, damp, wd float64
		nesterov      bool
	}
	for _, n := range optimSizes {
		for _, o := range []opt{{0, 0, 0, false}, {0.9, 0, 0.01, false}, {0.9, 0, 0, true}, {0.8, 0.3, 0.1, false}} {
			t.Run(fmt.Sprintf("N%d_%+v", n, o), func(t *testing.T) {
				var bufs optimBufs
				defer bufs.release()
				p, buf := rnnRand(r, n, 1), make([]float64, n)
				pV, bV := bufs.upload(d, p), bufs.upload(d, buf)
				pT, bT := bufs.t[0], bufs.t[1]
				lr := 0.1
				for step := range optimSteps {
					g := rnnRand(r, n, 1)
					gV := bufs.upload(d, g)
					kernels.SGDUpdate.Run(d, kernels.SGDParams{Param: pV, Grad: gV, Buf: bV, N: n, LR: float32(lr),
						WeightDecay: float32(o.wd), Momentum: float32(o.mom), Dampening1: float32(1 - o.damp), Nesterov: o.nesterov, First: step == 0})
					for i := range p {
						dp := g[i] + float64(float32(o.wd))*p[i]
						if o.mom != 0 {
							if step == 0 {
								buf[i] = dp
							} else {
								buf[i] = float64(float32(o.mom))*buf[i] + float64(float32(1-o.damp))*dp
							}
							if o.nesterov {
								dp += float64(float32(o.mom)) * buf[i]
							} else {
								dp = buf[i]
							}
						}
						p[i] -= float64(float32(lr)) * dp
					}
					requireState(t, p, pT, "param", step)
					if o.mom != 0 {
						requireState(t, buf, bT, "momentum_buffer", step)
					}
				}
			})
		}
	}
}

func runAdam(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(23, 24))
	type opt struct {
		wd                 float64
		decoupled, amsgrad bool
	}
	const lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
	for _, n := range optimSizes {
		for _, o := range []opt{{0, false, false}, {0.1, false, false}, {0.1, true, false}, {0.01, true, true}, {0, false, true}} {
			t.Run(fmt.Sprintf("N%d_%+v", n, o), func(t *testing.T) {
				var bufs optimBufs
				defer bufs.release()
				p, m, v, vmax := rnnRand(r, n, 1), make([]float64, n), make([]float64, n), make([]float64, n)
				pV, mV, vV, xV := bufs.upload(d, p), bufs.upload(d, m), bufs.upload(d, v), bufs.upload(d, vmax)
				pT, mT, vT, xT := bufs.t[0], bufs.t[1], bufs.t[2], bufs.t[3]
				for step := 1; step <= optimSteps; step++ {
					g := rnnRand(r, n, 1)
					gV := bufs.upload(d, g)
					bc1, bc2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
					kernels.AdamUpdate.Run(d, kernels.AdamParams{Param: pV, Grad: gV, ExpAvg: mV, ExpAvgSq: vV, MaxExpAvgSq: xV, N: n,
						Beta1: b1, OneMinusBeta1: 1 - b1, Beta2: b2, OneMinusBeta2: 1 - b2, Eps: eps, WeightDecay: float32(o.wd),
						DecayFactor: float32(1 - lr*o.wd), StepSize: float32(lr / bc1), BiasCorrection2Sqrt: float32(math.Sqrt(bc2)),
						Decoupled: o.decoupled, AMSGrad: o.amsgrad})
					for i := range p {
						gi := g[i]
						if o.decoupled {
							p[i] *= float64(float32(1 - lr*o.wd))
						} else {
							gi += float64(float32(o.wd)) * p[i]
						}
						m[i] = float64(float32(b1))*m[i] + float64(float32(1-b1))*gi
						v[i] = float64(float32(b2))*v[i] + float64(float32(1-b2))*gi*gi
						vi := v[i]
						if o.amsgrad {
							vmax[i] = math.Max(vmax[i], v[i])
							vi = vmax[i]
						}
						denom := math.Sqrt(vi)/float64(float32(math.Sqrt(bc2))) + float64(float32(eps))
						p[i] -= float64(float32(lr/bc1)) * m[i] / denom
					}
					requireState(t, p, pT, "param", step)
					requireState(t, m, mT, "exp_avg", step)
					requireState(t, v, vT, "exp_avg_sq", step)
					if o.amsgrad {
						requireState(t, vmax, xT, "max_exp_avg_sq", step)
					}
				}
			})
		}
	}
}

func runRMSProp(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(25, 26))
	type opt struct {
		mom, wd  float64
		centered bool
	}
	const lr, alpha, eps = 0.01, 0.99, 1e-8
	for _, n := range optimSizes {
		for _, o := range []opt{{0, 0, false}, {0.9, 0.1, false}, {0, 0, true}, {0.5, 0.01, true}} {
			t.Run(fmt.Sprintf("N%d_%+v", n, o), func(t *testing.T) {
				var bufs optimBufs
				defer bufs.release()
				p, sq, ga, buf := rnnRand(r, n, 1), make([]float64, n), make([]float64, n), make([]float64, n)
				pV, sV, aV, bV := bufs.upload(d, p), bufs.upload(d, sq), bufs.upload(d, ga), bufs.upload(d, buf)
				pT, sT, aT, bT := bufs.t[0], bufs.t[1], bufs.t[2], bufs.t[3]
				for step := range optimSteps {
					g := rnnRand(r, n, 1)
					gV := bufs.upload(d, g)
					kernels.RMSPropUpdate.Run(d, kernels.RMSPropParams{Param: pV, Grad: gV, SquareAvg: sV, GradAvg: aV, Buf: bV, N: n,
						LR: lr, Alpha: alpha, OneMinusAlpha: 1 - alpha, Eps: eps, WeightDecay: float32(o.wd), Momentum: float32(o.mom),
						Centered: o.centered})
					a, a1 := float64(float32(alpha)), float64(float32(1-alpha))
					for i := range p {
						gi := g[i] + float64(float32(o.wd))*p[i]
						sq[i] = a*sq[i] + a1*gi*gi
						var avg float64
						if o.centered {
							ga[i] = a*ga[i] + a1*gi
							avg = math.Sqrt(sq[i] - ga[i]*ga[i])
						} else {
							avg = math.Sqrt(sq[i])
						}
						avg += float64(float32(eps))
						if o.mom > 0 {
							buf[i] = float64(float32(o.mom))*buf[i] + gi/avg
							p[i] -= float64(float32(lr)) * buf[i]
						} else {
							p[i] -= float64(float32(lr)) * gi / avg
						}
					}
					requireState(t, p, pT, "param", step)
					requireState(t, sq, sT, "square_avg", step)
					if o.centered {
						requireState(t, ga, aT, "grad_avg", step)
					}
					if o.mom > 0 {
						requireState(t, buf, bT, "momentum_buffer", step)
					}
				}
			})
		}
	}
}

func runSumSquares(t *testing.T, d tensor.Device) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, n := range append([]int{0}, optimSizes...) {
		x := rnnRand(r, n, 3)
		xt, xV := rnnUpload(d, x)
		out, oV := rnnEmpty(d, 1)
		kernels.SumSquares.Run(d, kernels.SumSquaresParams{Out: oV, X: xV, N: n})
		want := 0.0
		for _, v := range x {
			want += v * v
		}
		// One float32 rounding of a float64 sum.
		require.InDelta(t, want, rnnRead(out, 1)[0], 1e-6*(1+want), "N=%d", n)
		xt.Release()
		out.Release()
	}
}
