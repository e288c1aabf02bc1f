package metal_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/ingotml/ingot/metal"
	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every GEMM variant matches the CPU device on odd and aligned shapes, and
// each shape reaches the kernel GemmVariant names: aligned shapes the
// simdgroup-matrix tile kernel, M or N = 1 the GEMV, small outputs with a
// long K the split-K path.
func TestGemmVariants(t *testing.T) {
	d := device(t)
	cpu := tensor.CPU()
	rng := tensor.NewRNG(3)
	for _, c := range []struct {
		m, n, k int
		ta, tb  bool
		variant string
		splitK  bool
	}{
		{64, 64, 16, false, false, "gemm_nn_aligned", false},
		{128, 64, 32, true, false, "gemm_tn_aligned", false},
		{64, 128, 48, false, true, "gemm_nt_aligned", false},
		{64, 64, 64, true, true, "gemm_tt_aligned", false},
		{67, 33, 17, false, false, "gemm_nn_edge", false},
		{7, 129, 5, true, true, "gemm_tt_edge", false},
		{65, 3, 31, true, false, "gemm_tn_edge", false},
		{1, 67, 129, false, true, "gemv", false},
		{33, 1, 70, true, false, "gemv", false},
		{32, 24, 1040, false, false, "gemm_nn_edge", true},
		{64, 64, 1024, false, true, "gemm_nt_aligned", true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d/%v%v", c.m, c.n, c.k, c.ta, c.tb), func(t *testing.T) {
			p := tensor.GemmParams{M: c.m, N: c.n, K: c.k, TransA: c.ta, TransB: c.tb, Batch: 1}
			require.Equal(t, c.variant, metal.GemmVariant(p))
			ashape, bshape := []int{c.m, c.k}, []int{c.k, c.n}
			if c.ta {
				ashape = []int{c.k, c.m}
			}
			if c.tb {
				bshape = []int{c.n, c.k}
			}
			a := rng.Normal(cpu, 0, 1, ashape...)
			b := rng.Normal(cpu, 0, 1, bshape...)
			av, bv := a, b
			if c.ta {
				av = a.T()
			}
			if c.tb {
				bv = b.T()
			}
			want := tensor.MatMul(av, bv).Float32s()
			ga, gb := a.To(d), b.To(d)
			if c.ta {
				ga = ga.T()
			}
			if c.tb {
				gb = gb.T()
			}
			before, reduces := d.KernelCount(c.variant), d.KernelCount("gemm_splitk_reduce")
			got := tensor.MatMul(ga, gb).Float32s()
			assert.Equal(t, before+1, d.KernelCount(c.variant), "dispatched to %s", c.variant)
			if c.splitK {
				assert.Equal(t, reduces+1, d.KernelCount("gemm_splitk_reduce"), "split-K reduction")
			}
			for i := range want {
				// fp32 accumulation in a different order: k·ε·Σ|ab| with |ab| ~ 1.
				require.InDelta(t, want[i], got[i], 4*float64(c.k)*1.2e-7*math.Sqrt(float64(c.k))+1e-5, "element %d", i)
			}
		})
	}
}

// A small MLP's training steps on the emulated device match the CPU's, and
// each step — forward, backward, parameter update — runs in one command
// buffer: the host's read of the loss is the only commit.
func TestTrainingStepMatchesCPUInOneCommandBuffer(t *testing.T) { checkTrainingSteps(t, device(t)) }

func checkTrainingSteps(t *testing.T, d *metal.Device) {
	run := func(dev tensor.Device, steps int, each func()) []float32 {
		rng := tensor.NewRNG(11)
		x := rng.Uniform(dev, -2, 2, 64, 3)
		y := tensor.Sum(tensor.Mul(x, x), true, 1)
		w1 := rng.Normal(dev, 0, 0.5, 3, 16).SetRequiresGrad(true)
		b1 := tensor.Zeros(dev, 16).SetRequiresGrad(true)
		w2 := rng.Normal(dev, 0, 0.5, 16, 1).SetRequiresGrad(true)
		var losses []float32
		for range steps {
			h := tensor.Tanh(tensor.Add(tensor.MatMul(x, w1), b1))
			loss := tensor.Mean(tensor.PowScalar(tensor.Sub(tensor.MatMul(h, w2), y), 2), false)
			loss.Backward()
			for _, p := range []*tensor.Tensor{w1, b1, w2} {
				p.AddScaled(-0.05, p.Grad())
				p.ZeroGrad()
			}
			losses = append(losses, loss.Item())
			loss.ReleaseGraph()
			each()
		}
		return losses
	}
	want := run(tensor.CPU(), 5, func() {})
	require.NoError(t, d.Sync())
	var commits []int64
	got := run(d, 5, func() { commits = append(commits, d.Stats().Commits) })
	for i := range want {
		assert.InEpsilon(t, want[i], got[i], 1e-4, "step %d", i)
	}
	assert.Less(t, got[4], got[0])
	for i := 1; i < len(commits); i++ {
		assert.Equal(t, int64(1), commits[i]-commits[i-1], "commits in step %d", i)
	}
}

// An out-of-range index is a Go error from Sync, not garbage.
func TestIndexErrorsSurface(t *testing.T) {
	d := device(t)
	require.NoError(t, d.Sync())
	table := tensor.Ones(d, 4, 2)
	out := tensor.Gather(table, tensor.FromInt32(d, []int32{1, 9}))
	err := d.Sync()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "index was out of range")
	out.Release()
	require.NoError(t, d.Sync(), "the error is reported once")
}
