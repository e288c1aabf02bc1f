package kernels

import (
	"math"

	"github.com/ingotml/ingot/internal/parallel"
	"github.com/ingotml/ingot/tensor"
)

func init() {
	k := tensor.CPU().Kernels()
	tensor.Implement(k, SGDUpdate, cpuSGD)
	tensor.Implement(k, AdamUpdate, cpuAdam)
	tensor.Implement(k, RMSPropUpdate, cpuRMSProp)
	tensor.Implement(k, SumSquares, cpuSumSquares)
}

// optimFor runs fn over [0, n) on the worker pool when n is large.
func optimFor(n int, fn func(lo, hi int)) { parallel.For(n, 1, 64, fn) }

// The explicit float32 conversions keep each product rounded on its own
// (Go may otherwise fuse a*b+c into one FMA on some architectures), as in
// PyTorch's CPU kernels.

func cpuSGD(_ tensor.Device, p SGDParams) {
	param, grad, buf := f32(p.Param, p.N), f32(p.Grad, p.N), f32(p.Buf, p.N)
	optimFor(p.N, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d := grad[i]
			if p.WeightDecay != 0 {
				d += float32(p.WeightDecay * param[i])
			}
			if p.Momentum != 0 {
				b := d
				if !p.First {
					b = float32(buf[i]*p.Momentum) + float32(d*p.Dampening1)
				}
				buf[i] = b
				if p.Nesterov {
					d += float32(p.Momentum * b)
				} else {
					d = b
				}
			}
			param[i] += float32(-p.LR * d)
		}
	})
}

func cpuAdam(_ tensor.Device, p AdamParams) {
	param, grad := f32(p.Param, p.N), f32(p.Grad, p.N)
	m, v, vmax := f32(p.ExpAvg, p.N), f32(p.ExpAvgSq, p.N), f32(p.MaxExpAvgSq, p.N)
	optimFor(p.N, func(lo, hi int) {
		lo += adamVector(&p, param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi])
		for i := lo; i < hi; i++ {
			g := grad[i]
			if p.Decoupled {
				param[i] *= p.DecayFactor
			} else if p.WeightDecay != 0 {
				g += float32(p.WeightDecay * param[i])
			}
			mi := float32(m[i]*p.Beta1) + float32(g*p.OneMinusBeta1)
			vi := float32(v[i]*p.Beta2) + float32(float32(p.OneMinusBeta2*g)*g)
			m[i], v[i] = mi, vi
			if p.AMSGrad {
				vi = max(vmax[i], vi)
				vmax[i] = vi
			}
			denom := float32(float32(math.Sqrt(float64(vi)))/p.BiasCorrection2Sqrt) + p.Eps
			param[i] += float32(-p.StepSize*mi) / denom // addcdiv: (value·t1)/t2
		}
	})
}

func cpuRMSProp(_ tensor.Device, p RMSPropParams) {
	param, grad := f32(p.Param, p.N), f32(p.Grad, p.N)
	sq, ga, buf := f32(p.SquareAvg, p.N), f32(p.GradAvg, p.N), f32(p.Buf, p.N)
	optimFor(p.N, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := grad[i]
			if p.WeightDecay != 0 {
				g += float32(p.WeightDecay * param[i])
			}
			s := float32(sq[i]*p.Alpha) + float32(float32(p.OneMinusAlpha*g)*g)
			sq[i] = s
			var avg float32
			if p.Centered {
				a := float32(ga[i]*p.Alpha) + float32(g*p.OneMinusAlpha)
				ga[i] = a
				avg = float32(math.Sqrt(float64(s - float32(a*a))))
			} else {
				avg = float32(math.Sqrt(float64(s)))
			}
			avg += p.Eps
			if p.Momentum > 0 {
				b := float32(buf[i]*p.Momentum) + g/avg
				buf[i] = b
				param[i] += float32(-p.LR * b)
			} else {
				param[i] += float32(-p.LR*g) / avg
			}
		}
	})
}

func cpuSumSquares(_ tensor.Device, p SumSquaresParams) {
	x := f32(p.X, p.N)
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		s0 += a * a
		s1 += b * b
		s2 += c * c
		s3 += d * d
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i]) * float64(x[i])
	}
	f32(p.Out, 1)[0] = float32(s0 + s1 + s2 + s3)
}
