package nn

import (
	"testing"

	"github.com/ingotml/ingot/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PyTorch compatibility, against golden values made by
// testdata/layers_golden.py with Debian's python3-torch 1.13 and written by
// that script's own safetensors writer (so reading them also checks ingot
// against an independent writer). Gradients are of sum(y·gy).
//
// Tolerances: PyTorch computes in float32 with other summation orders, so
// values agree to a few float32 ulps of the largest terms: 2e-5 absolute +
// 2e-5 relative for forwards (sums of ≤ 54 products of O(1) values), 1e-4
// for gradients and batch-norm statistics.

func loadGolden(t *testing.T) map[string]*tensor.Tensor {
	t.Helper()
	g, _, err := LoadState("testdata/layers.safetensors", cpu)
	require.NoError(t, err)
	return g
}

func setParam(t *testing.T, p *Param, v *tensor.Tensor) {
	t.Helper()
	require.NoError(t, p.Set(v.Detach()))
}

func checkAgainst(t *testing.T, g map[string]*tensor.Tensor, name string, got *tensor.Tensor, tol float64) {
	t.Helper()
	want, ok := g[name]
	require.True(t, ok, "golden tensor %s", name)
	require.Equal(t, want.Shape(), got.Shape(), name)
	assertClose(t, f64(want.Float32s()), got.Float32s(), tol, tol, name)
}

func TestTorchLayers(t *testing.T) {
	g := loadGolden(t)
	rng := tensor.NewRNG(1)
	cases := []struct {
		prefix string
		layer  Layer
		w, b   func(Layer) *Param
	}{
		{"linear", NewLinear(cpu, rng, 5, 3), nil, nil},
		{"conv", NewConv2d(cpu, rng, ConvConfig{In: 3, Out: 4, Kernel: Size2{3, 2}, Stride: Size2{2, 1}, Padding: Size2{1, 0}, Dilation: Size2{1, 2}}), nil, nil},
		{"convt", NewConvTranspose2d(cpu, rng, ConvConfig{In: 3, Out: 2, Kernel: Sq(3), Stride: Sq(2), Padding: Sq(1), OutputPadding: Sq(1)}), nil, nil},
		{"convt2", NewConvTranspose2d(cpu, rng, ConvConfig{In: 2, Out: 3, Kernel: Size2{2, 3}, Stride: Size2{1, 2}, Padding: Size2{0, 1}, OutputPadding: Size2{0, 1}, Dilation: Size2{2, 1}}), nil, nil},
	}
	for _, tc := range cases {
		for _, xGrad := range []bool{true, false} {
			t.Run(tc.prefix+map[bool]string{true: "/xgrad", false: "/kernel"}[xGrad], func(t *testing.T) {
				ps := tc.layer.Params()
				require.Len(t, ps, 2)
				for _, p := range ps {
					setParam(t, p, g[tc.prefix+"."+p.Name])
					p.T.ZeroGrad() // the layer ran in the other subtest
				}
				x := g[tc.prefix+".x"].Detach().SetRequiresGrad(xGrad)
				y := tc.layer.Forward(x)
				checkAgainst(t, g, tc.prefix+".y", y, 2e-5)
				y.BackwardWith(g[tc.prefix+".gy"].Detach())
				if xGrad {
					checkAgainst(t, g, tc.prefix+".dx", x.Grad(), 1e-4)
				}
				for _, p := range ps {
					checkAgainst(t, g, tc.prefix+".d"+p.Name, p.T.Grad(), 1e-4)
				}
			})
		}
	}
}

// TestTorchBatchNorm: two training steps (outputs, gradients of the first,
// running statistics, num_batches_tracked), then eval.
func TestTorchBatchNorm(t *testing.T) {
	g := loadGolden(t)
	bn := NewBatchNorm2d(cpu, 3)
	setParam(t, bn.Weight, g["bn.weight"])
	setParam(t, bn.Bias, g["bn.bias"])
	x1 := g["bn.x1"].Detach().SetRequiresGrad(true)
	y1 := bn.Forward(x1)
	checkAgainst(t, g, "bn.y1", y1, 2e-5)
	y1.BackwardWith(g["bn.gy"].Detach())
	checkAgainst(t, g, "bn.dx", x1.Grad(), 1e-4)
	checkAgainst(t, g, "bn.dweight", bn.Weight.T.Grad(), 1e-4)
	checkAgainst(t, g, "bn.dbias", bn.Bias.T.Grad(), 1e-4)
	checkAgainst(t, g, "bn.y2", bn.Forward(g["bn.x2"]), 2e-5)
	checkAgainst(t, g, "bn.running_mean", bn.RunningMean.T, 1e-5)
	checkAgainst(t, g, "bn.running_var", bn.RunningVar.T, 1e-5)
	assert.Equal(t, g["bn.num_batches_tracked"].Int32s(), bn.NumBatchesTracked.T.Int32s())
	assert.Equal(t, g["bn.num_batches_tracked"].Shape(), bn.NumBatchesTracked.T.Shape())
	bn.SetTraining(false)
	checkAgainst(t, g, "bn.y3", bn.Forward(g["bn.x3"]), 2e-5)
}

func TestTorchLosses(t *testing.T) {
	g := loadGolden(t)
	logits := g["ce.logits"].Detach().SetRequiresGrad(true)
	target := g["ce.target"]
	ce := CrossEntropyLoss(logits, target, Mean)
	checkAgainst(t, g, "ce.mean", ce, 1e-5)
	checkAgainst(t, g, "ce.sum", CrossEntropyLoss(logits, target, Sum), 1e-5)
	checkAgainst(t, g, "ce.none", CrossEntropyLoss(logits, target, None), 1e-5)
	ce.Backward()
	checkAgainst(t, g, "ce.dlogits", logits.Grad(), 1e-6)

	x := g["bcel.x"].Detach().SetRequiresGrad(true)
	b := BCEWithLogitsLoss(x, g["bcel.t"], Mean)
	checkAgainst(t, g, "bcel.mean", b, 1e-5)
	checkAgainst(t, g, "bcel.none", BCEWithLogitsLoss(x, g["bcel.t"], None), 1e-5)
	b.Backward()
	checkAgainst(t, g, "bcel.dx", x.Grad(), 1e-6)

	checkAgainst(t, g, "bce.none", BCELoss(g["bce.p"], g["bce.t"], None), 1e-5)
	clamp := BCELoss(tensor.FromFloat32(cpu, []float32{1, 0}, 2), tensor.FromFloat32(cpu, []float32{0, 1}, 2), None)
	checkAgainst(t, g, "bce.clamp", clamp, 0)
}

// TestTorchModelFile loads a PyTorch state_dict (written by the golden
// script, num_batches_tracked as I64) into the equivalent ingot model with
// the strict Load, and checks the eval-mode outputs.
func TestTorchModelFile(t *testing.T) {
	g := loadGolden(t)
	rng := tensor.NewRNG(1)
	m := NewSequential(
		NewConv2d(cpu, rng, ConvConfig{In: 1, Out: 4, Kernel: Sq(3), Stride: Sq(2), Padding: Sq(1)}),
		NewBatchNorm2d(cpu, 4),
		NewLeakyReLU(0.2),
		&Flatten{},
		NewLinear(cpu, rng, 4*4*4, 3),
	)
	meta, err := Load("testdata/layers_model.safetensors", m)
	require.NoError(t, err)
	assert.Equal(t, "test", meta[MetaFamily])
	assert.Equal(t, []int32{3}, m.Layers[1].(*BatchNorm).NumBatchesTracked.T.Int32s())
	m.SetTraining(false)
	checkAgainst(t, g, "model.y", m.Forward(g["model.x"]), 2e-5)
}

// TestTorchBatchNorm1dLayerNorm: BatchNorm1d on [N, C, L] (a training step
// with gradients and running statistics, then eval) and LayerNorm over
// the last two dimensions.
func TestTorchBatchNorm1dLayerNorm(t *testing.T) {
	g := loadGolden(t)
	bn := NewBatchNorm1d(cpu, 4)
	setParam(t, bn.Weight, g["bn1.weight"])
	setParam(t, bn.Bias, g["bn1.bias"])
	x := g["bn1.x"].Detach().SetRequiresGrad(true)
	y := bn.Forward(x)
	checkAgainst(t, g, "bn1.y", y, 2e-5)
	y.BackwardWith(g["bn1.gy"].Detach())
	checkAgainst(t, g, "bn1.dx", x.Grad(), 1e-4)
	checkAgainst(t, g, "bn1.dweight", bn.Weight.T.Grad(), 1e-4)
	checkAgainst(t, g, "bn1.dbias", bn.Bias.T.Grad(), 1e-4)
	checkAgainst(t, g, "bn1.running_mean", bn.RunningMean.T, 1e-5)
	checkAgainst(t, g, "bn1.running_var", bn.RunningVar.T, 1e-5)
	bn.SetTraining(false)
	checkAgainst(t, g, "bn1.y2", bn.Forward(g["bn1.x2"]), 2e-5)

	ln := NewLayerNorm(cpu, 3, 4)
	setParam(t, ln.Weight, g["ln.weight"])
	setParam(t, ln.Bias, g["ln.bias"])
	x = g["ln.x"].Detach().SetRequiresGrad(true)
	y = ln.Forward(x)
	checkAgainst(t, g, "ln.y", y, 2e-5)
	y.BackwardWith(g["ln.gy"].Detach())
	checkAgainst(t, g, "ln.dx", x.Grad(), 1e-4)
	checkAgainst(t, g, "ln.dweight", ln.Weight.T.Grad(), 1e-4)
	checkAgainst(t, g, "ln.dbias", ln.Bias.T.Grad(), 1e-4)
}
