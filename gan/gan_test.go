package gan

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ingotml/ingot/data"
	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
	"github.com/ingotml/ingot/train"
	"github.com/ingotml/ingot/vae"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func softplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
func sigmoid(x float64) float64  { return 1 / (1 + math.Exp(-x)) }

func TestLossesByHand(t *testing.T) {
	d := tensor.CPU()
	real := []float32{2.5, -0.3, 0, 7}
	fake := []float32{-1, 0.4, -12, 3}
	for _, s := range []float32{0, 0.1, 0.5} {
		lr := tensor.FromFloat32(d, real, 4, 1)
		lf := tensor.FromFloat32(d, fake, 4, 1)
		var want, wantG float64
		for i := range real {
			// BCE(x, t) = softplus(x) − t·x
			want += (softplus(float64(real[i])) - float64(1-s)*float64(real[i])) / 4
			want += softplus(float64(fake[i])) / 4
			wantG += softplus(-float64(fake[i])) / 4
		}
		// Tolerance: float32 arithmetic on values of order 10.
		assert.InDelta(t, want, float64(DiscriminatorLoss(lr, lf, s).Item()), 1e-5, "smoothing %v", s)
		assert.InDelta(t, wantG, float64(GeneratorLoss(lf).Item()), 1e-5)
	}
	assert.Panics(t, func() { DiscriminatorLoss(tensor.Zeros(d, 1), tensor.Zeros(d, 1), 1) })
}

func TestConfusion(t *testing.T) {
	cases := []struct {
		name               string
		real, fake         []float32
		want               Confusion
		acc, prec, rec, f1 float64
	}{
		{"perfect", []float32{1, 2}, []float32{-1, -3}, Confusion{TP: 2, TN: 2}, 1, 1, 1, 1},
		{"all real", []float32{1, 2}, []float32{1, 3}, Confusion{TP: 2, FP: 2}, 0.5, 0.5, 1, 2.0 / 3},
		{"all fake", []float32{-1, 0}, []float32{-1, -3}, Confusion{FN: 2, TN: 2}, 0.5, 0, 0, 0},
		// TP 2, FN 1, FP 1, TN 2: P = 2/3, R = 2/3, F1 = 4/6.
		{"mixed", []float32{1, 2, -1}, []float32{0.5, -1, -2}, Confusion{TP: 2, FN: 1, FP: 1, TN: 2}, 4.0 / 6, 2.0 / 3, 2.0 / 3, 2.0 / 3},
		{"empty", nil, nil, Confusion{}, 0, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.real, c.fake)
			require.Equal(t, c.want, got)
			m := got.Metrics()
			assert.InDelta(t, c.acc, m["d_accuracy"], 1e-12)
			assert.InDelta(t, c.prec, m["d_precision"], 1e-12)
			assert.InDelta(t, c.rec, m["d_recall"], 1e-12)
			assert.InDelta(t, c.f1, m["d_f1"], 1e-12)
		})
	}
	assert.Equal(t, Confusion{TP: 3, FN: 1, FP: 2, TN: 4}, Confusion{TP: 1, FN: 1, FP: 2}.Add(Confusion{TP: 2, TN: 4}))
}

// TestStepByHand runs one adversarial step on a linear generator and a
// linear discriminator and checks the losses and both Adam updates against
// a float64 computation.
func TestStepByHand(t *testing.T) {
	for _, tc := range []struct {
		name   string
		smooth float64
		dsteps int
	}{{"plain", 0, 1}, {"smoothed", 0.1, 1}, {"no G update", 0, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			d := tensor.CPU()
			rng := tensor.NewRNG(7)
			G := nn.NewSequential(nn.NewLinear(d, rng, 2, 3))
			D := nn.NewSequential(nn.NewLinear(d, rng, 3, 1))
			zv := []float32{0.3, -1.2, 0.8, 0.5}
			xv := []float32{0.1, -0.4, 0.9, -0.7, 0.2, 0.05}
			z := tensor.FromFloat32(d, zv, 2, 2)
			players := Players{Generator: G, Discriminator: D,
				Generate: func(n int) *tensor.Tensor { return G.Forward(z) }, Discriminate: D.Forward}
			adam := DefaultAdam()
			adam.LR = 0.01
			adv, err := NewAdversarial(players, StepConfig{LabelSmoothing: tc.smooth, DSteps: tc.dsteps}, adam, nil)
			require.NoError(t, err)

			f64 := func(p *nn.Param) []float64 {
				var o []float64
				for _, v := range p.T.Float32s() {
					o = append(o, float64(v))
				}
				return o
			}
			gl := G.Layers[0].(*nn.Linear)
			dl := D.Layers[0].(*nn.Linear)
			gw, gb, dw, db := f64(gl.Weight), f64(gl.Bias), f64(dl.Weight), f64(dl.Bias)
			// Fakes: x̃ = z·Wᵀ + b.
			fake := make([][]float64, 2)
			for i := range 2 {
				fake[i] = make([]float64, 3)
				for o := range 3 {
					fake[i][o] = gb[o] + gw[o*2]*float64(zv[i*2]) + gw[o*2+1]*float64(zv[i*2+1])
				}
			}
			realx := [][]float64{{0.1, -0.4, 0.9}, {-0.7, 0.2, 0.05}}
			logit := func(w []float64, b float64, x []float64) float64 { return b + w[0]*x[0] + w[1]*x[1] + w[2]*x[2] }
			// D loss and its gradient.
			tr := 1 - tc.smooth
			var dLoss, dReal, dFake float64
			gW := make([]float64, 3)
			var gB float64
			for i := range 2 {
				lr, lf := logit(dw, db[0], realx[i]), logit(dw, db[0], fake[i])
				dLoss += (softplus(lr) - tr*lr + softplus(lf)) / 2
				dReal += sigmoid(lr) / 2
				dFake += sigmoid(lf) / 2
				for k := range 3 {
					gW[k] += ((sigmoid(lr)-tr)*realx[i][k] + sigmoid(lf)*fake[i][k]) / 2
				}
				gB += (sigmoid(lr) - tr + sigmoid(lf)) / 2
			}
			// Adam's first step moves each parameter by lr·g/(|g|+eps).
			adamStep := func(p, g float64) float64 { return p - 0.01*g/(math.Abs(g)+1e-8) }
			dw2 := make([]float64, 3)
			for k := range 3 {
				dw2[k] = adamStep(dw[k], gW[k])
			}
			db2 := adamStep(db[0], gB)
			var gLoss float64
			gGW := make([]float64, 6)
			gGB := make([]float64, 3)
			if tc.dsteps == 1 {
				for i := range 2 {
					l := logit(dw2, db2, fake[i])
					gLoss += softplus(-l) / 2
					for o := range 3 {
						// d/dx̃ of softplus(−l) is (σ(l) − 1)·w.
						g := (sigmoid(l) - 1) * dw2[o] / 2
						gGB[o] += g
						gGW[o*2] += g * float64(zv[i*2])
						gGW[o*2+1] += g * float64(zv[i*2+1])
					}
				}
			} else {
				for i := range 2 {
					gLoss += softplus(-logit(dw, db[0], fake[i])) / 2
				}
			}

			real := tensor.FromFloat32(d, xv, 2, 3)
			s, err := adv.Step(0, real)
			require.NoError(t, err)
			// Tolerances: float32 arithmetic on O(1) values; Adam's first
			// step is ±lr up to rounding, so parameters agree to ~1e-6.
			assert.InDelta(t, dLoss, s.DLoss, 1e-5)
			assert.InDelta(t, dReal, s.DReal, 1e-5)
			assert.InDelta(t, dFake, s.DFake, 1e-5)
			assert.InDelta(t, gLoss, s.GLoss, 1e-5)
			assert.Equal(t, tc.dsteps == 1, s.GUpdated)
			assert.InDeltaSlice(t, dw2, f64(dl.Weight), 1e-6)
			assert.InDelta(t, db2, f64(dl.Bias)[0], 1e-6)
			if tc.dsteps == 1 {
				for k := range 6 {
					assert.InDelta(t, adamStep(gw[k], gGW[k]), f64(gl.Weight)[k], 1e-6, "G weight %d", k)
				}
				for k := range 3 {
					assert.InDelta(t, adamStep(gb[k], gGB[k]), f64(gl.Bias)[k], 1e-6, "G bias %d", k)
				}
			} else {
				assert.Equal(t, gw, f64(gl.Weight), "the generator must not move on a D-only step")
			}
		})
	}
}

func TestStepConfig(t *testing.T) {
	c := StepConfig{DSteps: 3, InstanceNoise: 0.2, NoiseDecaySteps: 10}
	require.NoError(t, c.Validate())
	assert.False(t, c.UpdatesGenerator(0))
	assert.False(t, c.UpdatesGenerator(1))
	assert.True(t, c.UpdatesGenerator(2))
	assert.InDelta(t, 0.2, c.NoiseStd(0), 1e-12)
	assert.InDelta(t, 0.1, c.NoiseStd(5), 1e-12)
	assert.Equal(t, 0.0, c.NoiseStd(20))
	for _, bad := range []StepConfig{{DSteps: -1}, {GSteps: 1000}, {LabelSmoothing: 1}, {InstanceNoise: math.NaN()}, {NoiseDecaySteps: -2}} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
}

// smallData is a few hundred embedded images, for quick runs.
func smallData(t testing.TB, ntrain, ntest int) *data.Dataset {
	tr, err := data.Default(data.Train)
	require.NoError(t, err)
	te, err := data.Default(data.Test)
	require.NoError(t, err)
	idx := func(n, stride int) []int {
		o := make([]int, n)
		for i := range o {
			o[i] = i * stride
		}
		return o
	}
	return &data.Dataset{Train: tr.Subset(idx(ntrain, tr.N/ntrain)), Test: te.Subset(idx(ntest, te.N/ntest))}
}

func readMetrics(t *testing.T, dir string) train.History {
	b, err := os.ReadFile(filepath.Join(dir, train.MetricsFile))
	require.NoError(t, err)
	var h train.History
	require.NoError(t, json.Unmarshal(b, &h))
	return h
}

func TestShortRunAndResume(t *testing.T) {
	ds := smallData(t, 256, 100)
	for _, arch := range []string{ArchMLP, ArchDCGAN} {
		t.Run(arch, func(t *testing.T) {
			mc := Config{Arch: arch, Noise: 16, GHidden: []int{32}, DHidden: []int{32}, Features: 4}
			cfg := TrainConfig{Model: mc, Epochs: 2, Batch: 32, Seed: 3, Dir: t.TempDir(), Device: tensor.CPU(), Quiet: true,
				Step: StepConfig{LabelSmoothing: 0.1, InstanceNoise: 0.1, NoiseDecaySteps: 10}, EvalImages: 100}
			res, err := Train(context.Background(), ds, cfg)
			require.NoError(t, err)
			h := readMetrics(t, cfg.Dir)
			require.Len(t, h.Epochs, 2)
			for _, e := range h.Epochs {
				for _, k := range []string{"d_loss", "g_loss", "d_real", "d_fake"} {
					v, ok := e.Train[k]
					require.True(t, ok, k)
					assert.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s = %v", k, v)
				}
				for _, k := range []string{"d_accuracy", "d_precision", "d_recall", "d_f1"} {
					v, ok := e.Test[k]
					require.True(t, ok, k)
					assert.True(t, v >= 0 && v <= 1, "%s = %v", k, v)
				}
			}
			// Samples change between epochs.
			a, err := os.ReadFile(filepath.Join(cfg.Dir, "samples_001.png"))
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(cfg.Dir, "samples_002.png"))
			require.NoError(t, err)
			assert.NotEqual(t, a, b)
			for _, f := range []string{WeightsFile, SamplesFile, LossPlotFile, DPlotFile, train.CheckpointFile} {
				assert.FileExists(t, filepath.Join(cfg.Dir, f))
			}

			// One epoch, then resume to two: the same weights, bit for bit.
			cfg1 := cfg
			cfg1.Dir, cfg1.Epochs = t.TempDir(), 1
			_, err = Train(context.Background(), ds, cfg1)
			require.NoError(t, err)
			cfg1.Epochs, cfg1.Resume = 2, true
			res2, err := Train(context.Background(), ds, cfg1)
			require.NoError(t, err)
			want, _ := nn.StateDict(res.Model)
			got, _ := nn.StateDict(res2.Model)
			for k, w := range want {
				if w.DType() == tensor.Float32 {
					require.Equal(t, w.Float32s(), got[k].Float32s(), "tensor %s after resume", k)
				}
			}
			assert.Equal(t, h.Epochs[1].Train, readMetrics(t, cfg1.Dir).Epochs[1].Train)

			// The weight file rebuilds the model.
			m, err := Load(filepath.Join(cfg.Dir, WeightsFile), tensor.CPU())
			require.NoError(t, err)
			z := m.Noise(tensor.NewRNG(1), 4)
			assert.Equal(t, res.Model.Sample(z).Float32s(), m.Sample(z).Float32s())
		})
	}
}

// TestInitFromVAE checks that the generator built from a VAE reproduces the
// decoder's images at step 0: G(z) = 2·Decode(z) − 1.
func TestInitFromVAE(t *testing.T) {
	d := tensor.CPU()
	for _, kind := range []string{vae.MLP, vae.Conv} {
		t.Run(kind, func(t *testing.T) {
			vc := vae.Config{Kind: kind, Latent: 5, Hidden: []int{16}}
			if kind == vae.Conv {
				vc.ConvChannels = []int{4, 8}
			}
			vm, err := vae.New(d, tensor.NewRNG(11), vc)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "vae.safetensors.zst")
			require.NoError(t, vm.Save(path, nil))

			m, err := NewFromVAE(d, tensor.NewRNG(1), path, Config{})
			require.NoError(t, err)
			assert.Equal(t, 5, m.Config.Noise)
			assert.Equal(t, ArchVAE, m.Config.Arch)
			// Names map decoder.<i> → generator.<i>.
			dec, _ := nn.StateDict(vm.Decoder)
			gen, _ := nn.StateDict(m.Generator)
			require.Len(t, gen, len(dec))
			for k := range dec {
				require.Contains(t, gen, k)
			}
			z := tensor.NewRNG(5).Normal(d, 0, 1, 6, 5)
			want := vm.Decode(z).Float32s()
			got := m.Sample(z).Float32s()
			require.Len(t, got, len(want))
			for i := range want {
				// tanh(ℓ/2) and 2σ(ℓ)−1 agree to float32 rounding (~1e-7
				// relative); 2e-6 absolute covers both evaluations.
				require.InDelta(t, 2*float64(want[i])-1, float64(got[i]), 2e-6, "pixel %d", i)
			}

			// Saved and reloaded from its own file (family gan, arch vae).
			p2 := filepath.Join(t.TempDir(), "gan.safetensors.zst")
			require.NoError(t, m.Save(p2))
			m2, err := Load(p2, d)
			require.NoError(t, err)
			assert.Equal(t, got, m2.Sample(z).Float32s())
		})
	}
	_, err := NewFromVAE(d, tensor.NewRNG(1), filepath.Join(t.TempDir(), "missing.safetensors.zst"), Config{})
	assert.Error(t, err)
}

func TestConfigValidation(t *testing.T) {
	for _, bad := range []Config{{Arch: "rnn"}, {Noise: -1}, {Arch: ArchDCGAN, Height: 30, Width: 28}, {GHidden: []int{0}}, {Slope: 1}, {Arch: ArchVAE}} {
		assert.Error(t, bad.Validate(), "%+v", bad)
	}
	require.NoError(t, Config{}.Validate())
	c, err := ParseConfig(DefaultConfig(ArchDCGAN).JSON())
	require.NoError(t, err)
	assert.Equal(t, DefaultConfig(ArchDCGAN).JSON(), c.JSON())
	_, err = ParseConfig("{")
	assert.Error(t, err)
}

// FuzzParseConfig feeds arbitrary metadata to the configuration decoder:
// it must return an error or a valid configuration that round-trips.
func FuzzParseConfig(f *testing.F) {
	for _, a := range []string{ArchMLP, ArchDCGAN} {
		f.Add(DefaultConfig(a).JSON())
	}
	f.Add(`{"arch":"vae","vae":"{}"}`)
	f.Add(`{"arch":"dcgan","height":30}`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig(s)
		if err != nil {
			return
		}
		require.NoError(t, c.Validate())
		c2, err := ParseConfig(c.JSON())
		require.NoError(t, err)
		require.Equal(t, c.JSON(), c2.JSON())
	})
}

// TestDCGANGradients checks the gradient of the generator's loss through
// both DCGAN networks (convolutions, transposed convolutions, BatchNorm in
// training mode) against central finite differences, on a tiny model.
func TestDCGANGradients(t *testing.T) {
	d := tensor.CPU()
	m, err := New(d, tensor.NewRNG(2), Config{Arch: ArchDCGAN, Noise: 3, Height: 8, Width: 8, Features: 2})
	require.NoError(t, err)
	// O(1) weights, so that few pre-activations sit near a LeakyReLU or
	// ReLU kink, where finite differences mislead.
	wr := tensor.NewRNG(4)
	for _, p := range nn.Trainable(m) {
		require.NoError(t, p.Set(wr.Normal(d, 0, 0.7, p.T.Shape()...)))
	}
	z := tensor.NewRNG(9).Normal(d, 0, 1, 4, 3)
	loss := func() float64 {
		l := GeneratorLoss(m.Discriminate(m.Generate(z)))
		v := float64(l.Item())
		l.ReleaseGraph()
		return v
	}
	l := GeneratorLoss(m.Discriminate(m.Generate(z)))
	l.Backward()
	l.ReleaseGraph()
	checked := 0
	for _, p := range nn.Trainable(m) {
		g := p.T.Grad()
		require.NotNil(t, g, p.Name)
		gv := g.Float32s()
		v := p.T.Float32s()
		for _, i := range []int{0, len(v) / 2, len(v) - 1} {
			// Central differences in float32 with a step of 1e-3: the
			// rounding error of the O(1) loss (~1e-7) gives ~1e-4 in the
			// quotient; the step is small so that few pre-activations of
			// the (DCGAN-initialised, near-zero) LeakyReLUs cross their kink.
			// Tolerance 2e-3 absolute + 5% relative.
			const h = 1e-3
			orig := v[i]
			v[i] = orig + h
			p.T.CopyFrom(v)
			up := loss()
			v[i] = orig - h
			p.T.CopyFrom(v)
			down := loss()
			v[i] = orig
			p.T.CopyFrom(v)
			fd := (up - down) / (2 * h)
			assert.InDelta(t, fd, float64(gv[i]), 2e-3+0.05*math.Abs(fd), "%s[%d]", p.Name, i)
			checked++
		}
	}
	assert.Greater(t, checked, 20)
}
