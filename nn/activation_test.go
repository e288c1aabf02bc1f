package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
)

// TestActivations checks each activation module against its float64
// definition and its gradient against finite differences. Inputs avoid
// the kinks of ReLU/LeakyReLU (|x| ≥ 0.05). Tolerance 1e-6 relative on the
// forward (float32 transcendental functions), 1e-4 on gradients.
func TestActivations(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for _, tc := range []struct {
		name string
		l    Layer
		f    func(float64) float64
	}{
		{"ReLU", &ReLU{}, func(x float64) float64 { return math.Max(x, 0) }},
		{"LeakyReLU", NewLeakyReLU(0.2), func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0.2 * x
		}},
		{"Tanh", &Tanh{}, math.Tanh},
		{"Sigmoid", &Sigmoid{}, sig},
		{"Softplus", &Softplus{}, func(x float64) float64 { return math.Log1p(math.Exp(x)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 3))
			x32, x64 := randF(r, 30, -4, 4)
			for i := range x32 {
				if math.Abs(x64[i]) < 0.05 {
					x32[i], x64[i] = 0.5, 0.5
				}
			}
			ref := func(v [][]float64) []float64 {
				y := make([]float64, len(v[0]))
				for i, a := range v[0] {
					y[i] = tc.f(a)
				}
				return y
			}
			x := tensor.FromFloat32(cpu, x32, 5, 6).SetRequiresGrad(true)
			y := tc.l.Forward(x)
			assertClose(t, ref([][]float64{x64}), y.Float32s(), 1e-7, 1e-6, "y")
			_, gy := randF(r, 30, -1, 1)
			backwardWith(y, gy)
			assertClose(t, fdGrad(ref, [][]float64{x64}, gy, 0), x.Grad().Float32s(), 1e-5, 1e-4, "dx")
			assert.Empty(t, tc.l.Params())
		})
	}
}
