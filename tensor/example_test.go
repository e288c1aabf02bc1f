package tensor_test

import (
	"fmt"
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/require"
)

// mlp is a 1-32-1 tanh network fitted to y = x² by gradient descent: the
// README's example.
type mlp struct {
	x, y           *tensor.Tensor
	w1, b1, w2, b2 *tensor.Tensor
}

func newMLP(d tensor.Device) *mlp {
	rng := tensor.NewRNG(1)
	x := rng.Uniform(d, -2, 2, 256, 1)
	return &mlp{
		x: x, y: tensor.Mul(x, x),
		w1: rng.Normal(d, 0, 1, 1, 32).SetRequiresGrad(true),
		b1: tensor.Zeros(d, 32).SetRequiresGrad(true),
		w2: rng.Normal(d, 0, 0.2, 32, 1).SetRequiresGrad(true),
		b2: tensor.Zeros(d, 1).SetRequiresGrad(true),
	}
}

// step runs one gradient-descent step and returns the loss before it.
func (m *mlp) step(lr float32) float32 {
	h := tensor.Tanh(tensor.Add(tensor.MatMul(m.x, m.w1), m.b1))
	pred := tensor.Add(tensor.MatMul(h, m.w2), m.b2)
	loss := tensor.Mean(tensor.PowScalar(tensor.Sub(pred, m.y), 2), false)
	loss.Backward()
	v := loss.Item()
	for _, p := range []*tensor.Tensor{m.w1, m.b1, m.w2, m.b2} {
		p.AddScaled(-lr, p.Grad())
		p.ZeroGrad()
	}
	loss.ReleaseGraph() // hand the step's memory back for the next step
	return v
}

func Example() {
	m := newMLP(tensor.CPU())
	for i := range 1001 {
		loss := m.step(0.05)
		if i%500 == 0 {
			fmt.Printf("step %4d  loss %.2f\n", i, loss)
		}
	}
	// Output:
	// step    0  loss 4.32
	// step  500  loss 0.04
	// step 1000  loss 0.01
}

func TestMLPLossGoesDown(t *testing.T) {
	m := newMLP(tensor.CPU())
	first := m.step(0.05)
	var last float32
	for range 1000 {
		last = m.step(0.05)
	}
	require.Less(t, last, first/100, "loss %v → %v", first, last)
}

// BenchmarkMLPStep shows a steady-state step allocating no device memory and
// only small graph bookkeeping from the Go heap.
func BenchmarkMLPStep(b *testing.B) {
	m := newMLP(tensor.CPU())
	m.step(0.05) // the first steps fill the allocator's free lists
	m.step(0.05)
	before := tensor.CPU().Allocator().Stats().Fresh
	b.ReportAllocs()
	for b.Loop() {
		m.step(0.05)
	}
	b.ReportMetric(float64(tensor.CPU().Allocator().Stats().Fresh-before), "new-buffers")
}
