package vae_test

import (
	"context"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
	"github.com/ingotml/ingot/vae"
)

// tiny is a small MLP VAE over 4×4 images.
func tiny() vae.Config {
	return vae.Config{Kind: vae.MLP, Channels: 1, Height: 4, Width: 4, Latent: 3, Hidden: []int{8, 6}}
}

func tinyConv() vae.Config {
	return vae.Config{Kind: vae.Conv, Channels: 1, Height: 8, Width: 8, Latent: 3, Hidden: []int{10}, ConvChannels: []int{2, 3}}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg vae.Config
		msg string
	}{
		{vae.DefaultConfig(vae.MLP), ""},
		{vae.DefaultConfig(vae.Conv), ""},
		{vae.Config{}, ""}, // all defaults: the MLP
		{vae.Config{Kind: "gan"}, `unknown kind "gan"`},
		{vae.Config{Latent: -1}, "latent size -1"},
		{vae.Config{Hidden: []int{400, 0}}, "hidden size 0"},
		{vae.Config{Kind: vae.Conv, Height: 30}, "divisible by 4, have 30×28"},
		{vae.Config{Kind: vae.MLP, ConvChannels: []int{8}}, "conv_channels [8] given for an MLP"},
		{vae.Config{Kind: vae.Conv, ConvChannels: []int{8, -2}}, "conv channels -2"},
		{vae.Config{Channels: -1}, "image shape -1×28×28"},
	} {
		err := c.cfg.Validate()
		if c.msg == "" {
			assert.NoError(t, err, "%+v", c.cfg)
		} else {
			assert.ErrorContains(t, err, c.msg, "%+v", c.cfg)
		}
	}
	back, err := vae.ParseConfig(vae.DefaultConfig(vae.Conv).JSON())
	require.NoError(t, err)
	assert.Equal(t, vae.DefaultConfig(vae.Conv), back)
	_, err = vae.ParseConfig(`{"kind":`)
	assert.ErrorContains(t, err, "configuration")
}

// The default MLP VAE has PyTorch's parameter names and shapes.
func TestParameterNames(t *testing.T) {
	m, err := vae.New(tensor.CPU(), tensor.NewRNG(1), vae.DefaultConfig(vae.MLP))
	require.NoError(t, err)
	var got [][2]any
	for _, p := range m.Params() {
		got = append(got, [2]any{p.Name, p.T.Shape()})
	}
	assert.Equal(t, [][2]any{
		{"encoder.0.weight", []int{400, 784}}, {"encoder.0.bias", []int{400}},
		{"fc_mu.weight", []int{20, 400}}, {"fc_mu.bias", []int{20}},
		{"fc_logvar.weight", []int{20, 400}}, {"fc_logvar.bias", []int{20}},
		{"decoder.0.weight", []int{400, 20}}, {"decoder.0.bias", []int{400}},
		{"decoder.2.weight", []int{784, 400}}, {"decoder.2.bias", []int{784}},
	}, got)
	assert.Equal(t, 784*400+400+2*(400*20+20)+20*400+400+400*784+784, nn.NumParams(m))

	c, err := vae.New(tensor.CPU(), tensor.NewRNG(1), vae.DefaultConfig(vae.Conv))
	require.NoError(t, err)
	names := map[string][]int{}
	for _, p := range c.Params() {
		names[p.Name] = p.T.Shape()
	}
	assert.Equal(t, []int{32, 1, 4, 4}, names["encoder.0.weight"])
	assert.Equal(t, []int{64, 32, 4, 4}, names["encoder.2.weight"])
	assert.Equal(t, []int{256, 3136}, names["encoder.5.weight"])
	assert.Equal(t, []int{3136, 256}, names["decoder.2.weight"])
	assert.Equal(t, []int{64, 32, 4, 4}, names["decoder.5.weight"], "ConvTranspose2d weight is [in, out, kh, kw]")
	assert.Equal(t, []int{32, 1, 4, 4}, names["decoder.7.weight"])
}

func randomImages(d tensor.Device, n int, cfg vae.Config, seed uint64) *tensor.Tensor {
	return tensor.NewRNG(seed).Uniform(d, 0, 1, n, cfg.Channels, cfg.Height, cfg.Width)
}

// Loss agrees with a float64 evaluation of the same network and noise.
func TestLossMatchesFloat64Reference(t *testing.T) {
	d := tensor.CPU()
	cfg := tiny()
	m, err := vae.New(d, tensor.NewRNG(3), cfg)
	require.NoError(t, err)
	x := randomImages(d, 5, cfg, 4)
	l, eps := m.Loss(x, tensor.NewRNG(5), 0.7)

	f64 := func(t *tensor.Tensor) []float64 {
		var out []float64
		for _, v := range t.Float32s() {
			out = append(out, float64(v))
		}
		return out
	}
	lin := func(lay *nn.Linear, in []float64, relu bool) []float64 {
		w, b := f64(lay.Weight.T), f64(lay.Bias.T)
		out := make([]float64, lay.Out)
		for o := range out {
			s := b[o]
			for i, v := range in {
				s += w[o*lay.In+i] * v
			}
			if relu {
				s = math.Max(s, 0)
			}
			out[o] = s
		}
		return out
	}
	xs, es := f64(x), f64(eps)
	var recon, kl float64
	for n := range 5 {
		h := xs[n*16 : (n+1)*16]
		h = lin(m.Encoder.Layers[0].(*nn.Linear), h, true)
		h = lin(m.Encoder.Layers[2].(*nn.Linear), h, true)
		mu, lv := lin(m.FcMu, h, false), lin(m.FcLogvar, h, false)
		z := make([]float64, 3)
		for j := range z {
			z[j] = mu[j] + es[n*3+j]*math.Exp(lv[j]/2)
			kl += -0.5 * (1 + lv[j] - mu[j]*mu[j] - math.Exp(lv[j]))
		}
		g := lin(m.Decoder.Layers[0].(*nn.Linear), z, true)
		g = lin(m.Decoder.Layers[2].(*nn.Linear), g, true)
		logit := lin(m.Decoder.Layers[4].(*nn.Linear), g, false)
		for p, v := range logit {
			recon += math.Max(v, 0) - v*xs[n*16+p] + math.Log1p(math.Exp(-math.Abs(v)))
		}
	}
	recon, kl = recon/5, kl/5
	// float32 sums of ~100 terms of size ~1: relative error well below 1e-5.
	assert.InEpsilon(t, recon, float64(l.Recon.Item()), 1e-5)
	assert.InEpsilon(t, kl, float64(l.KL.Item()), 1e-4)
	assert.InEpsilon(t, recon+0.7*kl, float64(l.Total.Item()), 1e-5)
}

// Backward's two-stage pass gives Loss's autograd gradients and values.
func TestBackwardMatchesAutograd(t *testing.T) {
	for _, cfg := range []vae.Config{tiny(), tinyConv()} {
		t.Run(cfg.Kind, func(t *testing.T) {
			d := tensor.CPU()
			m, err := vae.New(d, tensor.NewRNG(3), cfg)
			require.NoError(t, err)
			x := randomImages(d, 6, cfg, 4)
			l, _ := m.Loss(x, tensor.NewRNG(9), 0.5)
			l.Total.Backward()
			want := map[string][]float32{}
			for _, p := range nn.Trainable(m) {
				want[p.Name] = p.T.Grad().Float32s()
			}
			wantVals := []float32{l.Total.Item(), l.Recon.Item(), l.KL.Item()}
			nn.ZeroGrad(m)
			vals := m.Backward(x, tensor.NewRNG(9), 0.5).Float32s()
			assert.InDeltaSlice(t, wantVals, vals, 1e-4)
			for _, p := range nn.Trainable(m) {
				got := p.T.Grad().Float32s()
				for i := range got {
					// Same math, different float32 summation order.
					require.InDelta(t, want[p.Name][i], got[i], 1e-5+1e-4*math.Abs(float64(want[p.Name][i])), "%s[%d]", p.Name, i)
				}
			}
		})
	}
}

func subset(t *testing.T, split data.Split, n int) *data.Images {
	set, err := data.Default(split)
	require.NoError(t, err)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i * (set.N / n)
	}
	return set.Subset(idx)
}

// A short run on real images lowers the test loss and writes every output.
func TestTrainLearnsAndWritesOutputs(t *testing.T) {
	ds := &data.Dataset{Train: subset(t, data.Train, 1200), Test: subset(t, data.Test, 200)}
	dir := t.TempDir()
	cfg := vae.TrainConfig{Model: vae.Config{Hidden: []int{64}, Latent: 8}, Epochs: 3, Batch: 50, LR: 3e-3, Dir: dir, Device: tensor.CPU()}
	res, err := vae.Train(context.Background(), ds, cfg)
	require.NoError(t, err)
	h := res.History
	require.Len(t, h.Epochs, 3)
	e1, e3 := h.Epochs[0], h.Epochs[2]
	// Pixels in [0, 1]: an untrained decoder (logits ≈ 0) costs 784·ln 2 ≈ 543 nats.
	assert.Less(t, e3.Test["loss"], e1.Test["loss"])
	assert.Less(t, e3.Train["loss"], 0.8*543.4)
	assert.InDelta(t, e3.Test["recon"]+e3.Test["kl"], e3.Test["loss"], 1e-9)
	assert.Equal(t, e3.Test["loss"], res.Test.Loss)
	for _, f := range []string{vae.SamplesFile, vae.ReconstructionsFile, vae.InterpolationFile, vae.LossPlotFile} {
		fh, err := os.Open(filepath.Join(dir, f))
		require.NoError(t, err, f)
		img, err := png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
		assert.Greater(t, img.Bounds().Dx(), 100, f)
	}
	m, err := vae.Load(filepath.Join(dir, vae.WeightsFile), tensor.CPU())
	require.NoError(t, err)
	e, err := vae.Evaluate(context.Background(), m, ds.Test)
	require.NoError(t, err)
	assert.Equal(t, res.Test.Loss, e.Loss, "the weight file is the final model")
	m, err = vae.Load(filepath.Join(dir, train.CheckpointFile), tensor.CPU())
	require.NoError(t, err, "a checkpoint loads as a model too")
	e, err = vae.Evaluate(context.Background(), m, ds.Test)
	require.NoError(t, err)
	assert.Equal(t, res.Test.Loss, e.Loss)
}

// Resuming a VAE run continues it exactly (the CPU device is deterministic).
func TestResumeExact(t *testing.T) {
	ds := &data.Dataset{Train: subset(t, data.Train, 600), Test: subset(t, data.Test, 100)}
	cfg := vae.TrainConfig{Model: vae.Config{Hidden: []int{32}, Latent: 4}, Epochs: 3, Batch: 100, Device: tensor.CPU()}
	cfg.Dir = t.TempDir()
	want, err := vae.Train(context.Background(), ds, cfg)
	require.NoError(t, err)

	cfg.Dir, cfg.Epochs = t.TempDir(), 1
	_, err = vae.Train(context.Background(), ds, cfg)
	require.NoError(t, err)
	cfg.Epochs, cfg.Resume = 3, true
	got, err := vae.Train(context.Background(), ds, cfg)
	require.NoError(t, err)
	for i := range want.History.Epochs {
		assert.Equal(t, want.History.Epochs[i].Train, got.History.Epochs[i].Train, "epoch %d", i+1)
		assert.Equal(t, want.History.Epochs[i].Test, got.History.Epochs[i].Test, "epoch %d", i+1)
	}
	assert.Equal(t, want.History.Train, got.History.Train)

	cfg.LR = 0.01 // other settings: refused
	_, err = vae.Train(context.Background(), ds, cfg)
	assert.ErrorContains(t, err, "other settings")
}

// Save and Load round-trip the model: same reconstructions and samples,
// bit for bit, and the metadata names the family and configuration.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, cfg := range []vae.Config{tiny(), tinyConv()} {
		t.Run(cfg.Kind, func(t *testing.T) {
			d := tensor.CPU()
			m, err := vae.New(d, tensor.NewRNG(8), cfg)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "m.safetensors.zst")
			require.NoError(t, m.Save(path, map[string]string{"note": "x", nn.MetaFamily: "not overridden"}))
			meta, err := nn.ReadMeta(path)
			require.NoError(t, err)
			assert.Equal(t, "vae", meta[nn.MetaFamily])
			assert.Equal(t, cfg.JSON(), meta[nn.MetaConfig])
			assert.Equal(t, nn.Version, meta[nn.MetaVersion])
			assert.Equal(t, "x", meta["note"])

			back, err := vae.Load(path, d)
			require.NoError(t, err)
			assert.Equal(t, m.Config, back.Config)
			x := randomImages(d, 4, cfg, 2)
			assert.Equal(t, m.Reconstruct(x).Float32s(), back.Reconstruct(x).Float32s())
			assert.Equal(t, m.Sample(tensor.NewRNG(1), 3).Float32s(), back.Sample(tensor.NewRNG(1), 3).Float32s())
		})
	}
	// Files that are not VAEs.
	dir := t.TempDir()
	other := filepath.Join(dir, "lin.safetensors")
	require.NoError(t, nn.Save(other, nn.NewLinear(tensor.CPU(), tensor.NewRNG(1), 2, 2), map[string]string{nn.MetaFamily: "gan"}))
	_, err := vae.Load(other, tensor.CPU())
	assert.ErrorContains(t, err, `holds a "gan" model, not a VAE`)
	require.NoError(t, nn.Save(other, nn.NewLinear(tensor.CPU(), tensor.NewRNG(1), 2, 2), nil))
	_, err = vae.Load(other, tensor.CPU())
	assert.ErrorContains(t, err, "not an ingot weight file with a model family")
	require.NoError(t, nn.Save(other, nn.NewLinear(tensor.CPU(), tensor.NewRNG(1), 2, 2), map[string]string{nn.MetaFamily: "vae", nn.MetaConfig: tiny().JSON()}))
	_, err = vae.Load(other, tensor.CPU())
	assert.ErrorContains(t, err, "missing")
	_, err = vae.Load(filepath.Join(dir, "nope.safetensors"), tensor.CPU())
	assert.Error(t, err)
}

// Evaluate is deterministic and equals Encode/DecodeLogits computed
// independently.
func TestEvaluate(t *testing.T) {
	d := tensor.CPU()
	cfg := vae.Config{Hidden: []int{16}, Latent: 4}
	m, err := vae.New(d, tensor.NewRNG(2), cfg)
	require.NoError(t, err)
	test := subset(t, data.Test, 600) // two batches of EvalBatch, the second short
	a, err := vae.Evaluate(context.Background(), m, test)
	require.NoError(t, err)
	b, err := vae.Evaluate(context.Background(), m, test)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, 600, a.Images)

	var recon, kl float64
	for i := range test.N {
		px := test.Image(i)
		x := make([]float32, len(px))
		for j, p := range px {
			x[j] = float32(p) / 255
		}
		mu, lv := m.Encode(tensor.FromFloat32(d, x, 1, 784))
		lg := m.DecodeLogits(mu).Float32s()
		for j, v := range lg {
			v, t := float64(v), float64(x[j])
			recon += math.Max(v, 0) - v*t + math.Log1p(math.Exp(-math.Abs(v)))
		}
		mus, lvs := mu.Float32s(), lv.Float32s()
		for j := range mus {
			m, l := float64(mus[j]), float64(lvs[j])
			kl += -0.5 * (1 + l - m*m - math.Exp(l))
		}
	}
	assert.InEpsilon(t, recon/600, a.Recon, 1e-5)
	assert.InEpsilon(t, kl/600, a.KL, 1e-4)
	assert.InDelta(t, a.Recon+a.KL, a.Loss, 1e-9)

	bad := &data.Images{N: 1, Rows: 5, Cols: 5, Pixels: make([]uint8, 25), Labels: []int32{0}}
	_, err = vae.Evaluate(context.Background(), m, bad)
	assert.ErrorContains(t, err, "the data has 1×5×5")
}

func TestTrainConfigErrors(t *testing.T) {
	ds := &data.Dataset{Train: subset(t, data.Train, 100), Test: subset(t, data.Test, 100)}
	for _, c := range []struct {
		cfg vae.TrainConfig
		msg string
	}{
		{vae.TrainConfig{Batch: 200}, "batch size 200 is larger than the 100 training images"},
		{vae.TrainConfig{LR: math.NaN()}, "learning rate NaN"},
		{vae.TrainConfig{Beta: -1}, "beta -1"},
		{vae.TrainConfig{Model: vae.Config{Height: 32, Width: 32}}, "the data has 1×28×28"},
	} {
		c.cfg.Dir, c.cfg.Device = t.TempDir(), tensor.CPU()
		_, err := vae.Train(context.Background(), ds, c.cfg)
		assert.ErrorContains(t, err, c.msg)
	}
}

// Grids come out as the expected PNG sizes.
func TestPictures(t *testing.T) {
	d := tensor.CPU()
	m, err := vae.New(d, tensor.NewRNG(2), vae.Config{Hidden: []int{16}, Latent: 4})
	require.NoError(t, err)
	test := subset(t, data.Test, 100)
	dir := t.TempDir()
	require.NoError(t, vae.WriteReconstructions(filepath.Join(dir, "r.png"), m, test, 16))
	require.NoError(t, vae.WriteInterpolations(filepath.Join(dir, "i.png"), m, test, 7))
	size := func(name string) (int, int) {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		img, err := png.Decode(f)
		require.NoError(t, err)
		return img.Bounds().Dx(), img.Bounds().Dy()
	}
	w, h := size("r.png")
	assert.Equal(t, [2]int{8*58 + 2, 4*58 + 2}, [2]int{w, h}, "8 columns, 2 image rows + 2 reconstruction rows, 56 px + 2 padding")
	w, h = size("i.png")
	assert.Equal(t, [2]int{7*58 + 2, 5*58 + 2}, [2]int{w, h}, "5 class pairs of 7 steps")
	it := m.Interpolate(tensor.Zeros(d, 784), tensor.Ones(d, 1, 1, 28, 28), 3)
	assert.Equal(t, []int{3, 1, 28, 28}, it.Shape())
	ends := m.Reconstruct(tensor.Concat(0, tensor.Zeros(d, 1, 784), tensor.Ones(d, 1, 784)))
	assert.InDeltaSlice(t, ends.Slice(0, 0, 1).Float32s(), it.Slice(0, 0, 1).Float32s(), 1e-6, "t = 0 is the first reconstruction")
	assert.InDeltaSlice(t, ends.Slice(0, 1, 2).Float32s(), it.Slice(0, 2, 3).Float32s(), 1e-6, "t = 1 is the second")
}
