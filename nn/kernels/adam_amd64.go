package kernels

import "github.com/ingotml/ingot/internal/cpufeat"

// adamConsts are the broadcast operands of adamAVX512, in its order.
type adamConsts struct {
	beta1, oneMinusBeta1, beta2, oneMinusBeta2 float32
	bc2Sqrt, eps, negStepSize                  float32
}

//go:noescape
func adamAVX512(param, grad, m, v *float32, n int, c *adamConsts)

// useAVX512 reports whether the vector Adam may run: the CPU kernel path
// (INGOT_CPU or the best the CPU has) is AVX-512.
var useAVX512 = func() bool { p, _ := cpufeat.Choose(); return p == cpufeat.AVX512 }()

// adamVector updates the longest multiple-of-16 prefix of the plain Adam
// case (no weight decay, not decoupled, no AMSGrad) and returns how many
// elements it did; the caller does the rest with the scalar loop.
func adamVector(p *AdamParams, param, grad, m, v []float32) int {
	n := len(param) &^ 15
	if !useAVX512 || n == 0 || p.Decoupled || p.AMSGrad || p.WeightDecay != 0 {
		return 0
	}
	c := adamConsts{p.Beta1, p.OneMinusBeta1, p.Beta2, p.OneMinusBeta2, p.BiasCorrection2Sqrt, p.Eps, -p.StepSize}
	adamAVX512(&param[0], &grad[:n][0], &m[:n][0], &v[:n][0], n, &c)
	return n
}
