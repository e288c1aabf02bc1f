// Package vae owns ingot's variational autoencoders (Kingma & Welling,
// "Auto-Encoding Variational Bayes", 2014): an MLP VAE and a convolutional
// VAE with a Bernoulli decoder over pixels in [0, 1], their loss, training
// on the shared loop (package train), evaluation, sampling and the pictures
// a person wants to see.
//
// # Model
//
// The encoder maps an image to the mean μ and log-variance log σ² of a
// diagonal Gaussian q(z|x); z = μ + σ·ε with ε ~ N(0, I) drawn from the
// counter-based RNG (the reparameterisation trick); the decoder maps z to
// one logit per pixel. The loss per image, in nats, is
//
//	recon + β·KL = Σ_pixels BCEWithLogits(logit, x) + β·KL(q(z|x) ‖ N(0, I))
//
// averaged over the batch. Evaluation (Evaluate) is deterministic: the
// reconstruction term with z = μ plus the KL term (β = 1), averaged over
// every image of a set.
//
// # Parameter names
//
// Names follow PyTorch, so a state_dict of the equivalent torch module
// (bench/pytorch/vae.py builds it) loads without renaming:
//
//	encoder.<i>.weight/bias   nn.Sequential: Linear (MLP) or Conv2d, ReLU, …
//	fc_mu.weight/bias         Linear hidden → latent
//	fc_logvar.weight/bias     Linear hidden → latent
//	decoder.<i>.weight/bias   nn.Sequential: Linear, ReLU, …, Linear (MLP,
//	                          then Unflatten to [C, H, W]) or Linear, ReLU,
//	                          Unflatten, ConvTranspose2d, ReLU, …
//
// The default MLP VAE is encoder.0 (Linear 784→400), fc_mu and fc_logvar
// (400→20), decoder.0 (Linear 20→400) and decoder.2 (Linear 400→784).
// Layouts are PyTorch's: Linear weight [out, in], Conv2d [out, in, kh, kw],
// ConvTranspose2d [in, out, kh, kw]. The decoder's last layer with
// parameters produces the logits; its input is the decoder's last hidden
// activation (package gan reuses the decoder as a generator from these
// names).
//
// # Weight files
//
// Save writes a .safetensors(.zst) file whose metadata holds the family
// ("vae"), the Config as JSON and the ingot version; Load rebuilds the
// model from the file alone.
//
// # Concurrency
//
// Encode, Decode, Sample, Reconstruct, Interpolate and Evaluate record no
// gradients and may run from several goroutines at once, but not while the
// model trains or loads weights.
package vae

import (
	"fmt"

	"github.com/ingotml/ingot/nn"
	"github.com/ingotml/ingot/tensor"
)

// Family is the model family recorded in weight files.
const Family = "vae"

// Model is a VAE.
type Model struct {
	nn.Base
	Config   Config
	Encoder  *nn.Sequential // image → last hidden activation
	FcMu     *nn.Linear     // hidden → μ
	FcLogvar *nn.Linear     // hidden → log σ²
	Decoder  *nn.Sequential // z → logits [N, C, H, W]
	dev      tensor.Device
}

// New builds a VAE on device d with weights initialised like PyTorch's
// layers from rng.
func New(d tensor.Device, rng *tensor.RNG, cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Model{Config: cfg, dev: d}
	relu := func() nn.Layer { return &nn.ReLU{} }
	m.Encoder = nn.NewSequential()
	m.Decoder = nn.NewSequential()
	in := cfg.Pixels()
	var convShape [3]int // C, H, W after the encoder's convolutions
	if cfg.Kind == Conv {
		c, h, w := cfg.Channels, cfg.Height, cfg.Width
		for _, oc := range cfg.ConvChannels {
			m.Encoder.Append(nn.NewConv2d(d, rng, nn.ConvConfig{In: c, Out: oc, Kernel: nn.Sq(4), Stride: nn.Sq(2), Padding: nn.Sq(1)}))
			m.Encoder.Append(relu())
			c, h, w = oc, h/2, w/2
		}
		m.Encoder.Append(&nn.Flatten{})
		convShape = [3]int{c, h, w}
		in = c * h * w
	}
	for _, h := range cfg.Hidden {
		m.Encoder.Append(nn.NewLinear(d, rng, in, h))
		m.Encoder.Append(relu())
		in = h
	}
	m.FcMu = nn.NewLinear(d, rng, in, cfg.Latent)
	m.FcLogvar = nn.NewLinear(d, rng, in, cfg.Latent)

	// The decoder mirrors the encoder.
	out := cfg.Latent
	for i := len(cfg.Hidden) - 1; i >= 0; i-- {
		m.Decoder.Append(nn.NewLinear(d, rng, out, cfg.Hidden[i]))
		m.Decoder.Append(relu())
		out = cfg.Hidden[i]
	}
	if cfg.Kind == Conv {
		c, h, w := convShape[0], convShape[1], convShape[2]
		m.Decoder.Append(nn.NewLinear(d, rng, out, c*h*w))
		m.Decoder.Append(relu())
		m.Decoder.Append(nn.NewReshape(c, h, w))
		for i := len(cfg.ConvChannels) - 1; i >= 0; i-- {
			oc := cfg.Channels
			if i > 0 {
				oc = cfg.ConvChannels[i-1]
			}
			m.Decoder.Append(nn.NewConvTranspose2d(d, rng, nn.ConvConfig{In: c, Out: oc, Kernel: nn.Sq(4), Stride: nn.Sq(2), Padding: nn.Sq(1)}))
			if i > 0 {
				m.Decoder.Append(relu())
			}
			c = oc
		}
	} else {
		m.Decoder.Append(nn.NewLinear(d, rng, out, cfg.Pixels()))
		m.Decoder.Append(nn.NewReshape(cfg.Channels, cfg.Height, cfg.Width))
	}
	m.AddModule("encoder", m.Encoder)
	m.AddModule("fc_mu", m.FcMu)
	m.AddModule("fc_logvar", m.FcLogvar)
	m.AddModule("decoder", m.Decoder)
	m.SetTraining(true)
	return m, nil
}

// Device is the device holding the model's parameters.
func (m *Model) Device() tensor.Device { return m.FcMu.Weight.T.Device() }

// images checks x and returns it as [N, C, H, W] (a view).
func (m *Model) images(op string, x *tensor.Tensor) *tensor.Tensor {
	c := m.Config
	switch {
	case x.Rank() == 4 && x.Dim(1) == c.Channels && x.Dim(2) == c.Height && x.Dim(3) == c.Width:
		return x
	case x.Rank() == 2 && x.Dim(1) == c.Pixels():
		return x.Reshape(x.Dim(0), c.Channels, c.Height, c.Width)
	}
	panic(fmt.Sprintf("vae.%s: want images [N, %d, %d, %d] or [N, %d], have %v", op, c.Channels, c.Height, c.Width, c.Pixels(), x))
}

// encode runs the encoder on images x [N, C, H, W].
func encode(cfg Config, enc *nn.Sequential, mu, logvar *nn.Linear, x *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	if cfg.Kind == MLP {
		x = x.Flatten()
	}
	h := enc.Forward(x)
	return mu.Forward(h), logvar.Forward(h)
}

// Losses of a batch, each a scalar: per-image means in nats.
type Losses struct {
	Total *tensor.Tensor // Recon + β·KL, the training objective
	Recon *tensor.Tensor // Σ over pixels of BCE with logits
	KL    *tensor.Tensor // KL(q(z|x) ‖ N(0, I))
}

// Loss runs the model on images x in [0, 1] ([N, C, H, W] or [N, C·H·W])
// with z sampled by the reparameterisation trick from rng, recording the
// graph: Total.Backward() gives the gradients. eps, the noise drawn, is
// returned so the caller can release it with the graph. Training uses
// Backward, which computes the same gradients faster.
func (m *Model) Loss(x *tensor.Tensor, rng *tensor.RNG, beta float32) (l Losses, eps *tensor.Tensor) {
	x = m.images("Loss", x)
	n := x.Dim(0)
	mu, logvar := encode(m.Config, m.Encoder, m.FcMu, m.FcLogvar, x)
	eps = rng.Normal(x.Device(), 0, 1, n, m.Config.Latent)
	z := tensor.Add(mu, tensor.Mul(eps, tensor.Exp(tensor.Scale(logvar, 0.5))))
	logits := m.Decoder.Forward(z)
	l.Recon = tensor.Scale(nn.BCEWithLogitsLoss(logits, x, nn.Sum), 1/float32(n))
	l.KL = nn.GaussianKL(mu, logvar, nn.Mean)
	l.Total = tensor.Add(l.Recon, tensor.Scale(l.KL, beta))
	return l, eps
}

// Backward computes the loss of images x as Loss does, adds its gradients
// to the parameters' Grad and releases the step's graph. It returns the
// per-image loss, recon and kl as a [3] tensor, not yet read, so an
// asynchronous device runs the whole step before the host waits.
//
// It runs the backward pass in two stages to keep every large gradient
// dense: the decoder starts from a detached copy of z and gets the
// reconstruction gradient (σ(logits) − x)/N directly (logits.BackwardWith),
// instead of autograd's chain of broadcast softplus, multiply and sum
// backward ops; then the encoder gets Σ z·∂z plus β·KL. The gradients equal
// Loss's (a test checks it).
func (m *Model) Backward(x *tensor.Tensor, rng *tensor.RNG, beta float32) *tensor.Tensor {
	x = m.images("Backward", x)
	n := x.Dim(0)
	d := x.Device()
	mu, logvar := encode(m.Config, m.Encoder, m.FcMu, m.FcLogvar, x)
	eps := rng.Normal(d, 0, 1, n, m.Config.Latent)
	z := tensor.Add(mu, tensor.Mul(eps, tensor.Exp(tensor.Scale(logvar, 0.5))))

	// Stage 1: the decoder, from a leaf copy of z.
	zl := z.Detach().SetRequiresGrad(true)
	logits := m.Decoder.Forward(zl)
	lg := logits.Detach()
	scale := 1 / float32(n)
	sig := tensor.Sigmoid(lg)
	diff := tensor.Sub(sig, x)
	logits.BackwardWith(tensor.Scale(diff, scale))
	// recon = Σ softplus(l) − l·x, the value only.
	sp := tensor.Softplus(lg)
	lx := tensor.Mul(lg, x)
	per := tensor.Sub(sp, lx)
	sum := tensor.Sum(per, false)
	recon := tensor.Scale(sum, scale)
	for _, t := range []*tensor.Tensor{sig, diff, sp, lx, per, sum} {
		t.Release()
	}
	logits.ReleaseGraph()
	lg.Release()

	// Stage 2: the encoder, through z, plus the KL term.
	kl := nn.GaussianKL(mu, logvar, nn.Mean)
	zg := zl.Grad()
	enc := tensor.Add(tensor.Sum(tensor.Mul(z, zg), false), tensor.Scale(kl, beta))
	enc.Backward()
	klv := kl.Detach()
	total := tensor.Add(recon, tensor.Scale(klv, beta))
	vals := tensor.Concat(0, total.Reshape(1), recon.Reshape(1), klv.Reshape(1))
	enc.ReleaseGraph()
	for _, t := range []*tensor.Tensor{zg, zl, eps, klv, total, recon} {
		t.Release()
	}
	return vals
}

// frozen returns a copy of the model's layers whose parameters are
// detached views of the same memory: running it records no graph, and it
// sees every in-place optimizer update.
func (m *Model) frozen() *Model {
	return &Model{Config: m.Config, Encoder: frozenSeq(m.Encoder), FcMu: frozenLinear(m.FcMu),
		FcLogvar: frozenLinear(m.FcLogvar), Decoder: frozenSeq(m.Decoder), dev: m.dev}
}

func frozenParam(p *nn.Param) *nn.Param {
	if p == nil {
		return nil
	}
	return &nn.Param{Name: p.Name, T: p.T.Detach()}
}

func frozenLinear(l *nn.Linear) *nn.Linear {
	return &nn.Linear{Weight: frozenParam(l.Weight), Bias: frozenParam(l.Bias), In: l.In, Out: l.Out}
}

func frozenSeq(s *nn.Sequential) *nn.Sequential {
	out := &nn.Sequential{}
	for _, l := range s.Layers {
		switch l := l.(type) {
		case *nn.Linear:
			out.Layers = append(out.Layers, frozenLinear(l))
		case *nn.Conv2d:
			out.Layers = append(out.Layers, &nn.Conv2d{Weight: frozenParam(l.Weight), Bias: frozenParam(l.Bias), Config: l.Config})
		case *nn.ConvTranspose2d:
			out.Layers = append(out.Layers, &nn.ConvTranspose2d{Weight: frozenParam(l.Weight), Bias: frozenParam(l.Bias), Config: l.Config})
		default:
			out.Layers = append(out.Layers, l) // parameterless
		}
	}
	return out
}

// run applies s's layers, releasing each intermediate result.
func run(s *nn.Sequential, x *tensor.Tensor) *tensor.Tensor {
	in := x
	for _, l := range s.Layers {
		y := l.Forward(x)
		if x != in {
			x.Release()
		}
		x = y
	}
	return x
}

// Encode returns the mean and log-variance of q(z|x) for images x in
// [0, 1] ([N, C, H, W] or [N, C·H·W]), each [N, Latent].
func (m *Model) Encode(x *tensor.Tensor) (mu, logvar *tensor.Tensor) {
	f := m.frozen()
	x = m.images("Encode", x).Detach()
	if m.Config.Kind == MLP {
		x = x.Flatten()
	}
	h := run(f.Encoder, x)
	mu, logvar = f.FcMu.Forward(h), f.FcLogvar.Forward(h)
	h.Release()
	return mu, logvar
}

// DecodeLogits maps latent codes z [N, Latent] to pixel logits [N, C, H, W].
func (m *Model) DecodeLogits(z *tensor.Tensor) *tensor.Tensor {
	if z.Rank() != 2 || z.Dim(1) != m.Config.Latent {
		panic(fmt.Sprintf("vae.Decode: want latent codes [N, %d], have %v", m.Config.Latent, z))
	}
	return run(m.frozen().Decoder, z.Detach())
}

// Decode maps latent codes z [N, Latent] to images [N, C, H, W] of pixel
// probabilities (the Bernoulli means) in [0, 1].
func (m *Model) Decode(z *tensor.Tensor) *tensor.Tensor {
	l := m.DecodeLogits(z)
	p := tensor.Sigmoid(l)
	l.Release()
	return p
}

// Sample draws n images from the model: z ~ N(0, I) from rng, decoded.
func (m *Model) Sample(rng *tensor.RNG, n int) *tensor.Tensor {
	z := rng.Normal(m.Device(), 0, 1, n, m.Config.Latent)
	x := m.Decode(z)
	z.Release()
	return x
}

// Reconstruct encodes images x and decodes the mean code: Decode(μ(x)).
func (m *Model) Reconstruct(x *tensor.Tensor) *tensor.Tensor {
	mu, logvar := m.Encode(x)
	logvar.Release()
	y := m.Decode(mu)
	mu.Release()
	return y
}

// Interpolate decodes steps codes evenly spaced on the line from μ(a) to
// μ(b), for single images a and b ([C, H, W], [1, C, H, W] or [C·H·W]);
// the first and last images are their reconstructions. It returns
// [steps, C, H, W].
func (m *Model) Interpolate(a, b *tensor.Tensor, steps int) *tensor.Tensor {
	if steps < 2 {
		panic(fmt.Sprintf("vae.Interpolate: %d steps, want at least 2", steps))
	}
	pair := tensor.Concat(0, a.Reshape(1, m.Config.Pixels()), b.Reshape(1, m.Config.Pixels()))
	mu, logvar := m.Encode(pair)
	logvar.Release()
	d := m.Device()
	t := make([]float32, steps)
	for i := range t {
		t[i] = float32(i) / float32(steps-1)
	}
	tt := tensor.FromFloat32(d, t, steps, 1)
	za, zb := mu.Slice(0, 0, 1), mu.Slice(0, 1, 2)
	z := tensor.Add(za, tensor.Mul(tt, tensor.Sub(zb, za))) // za + t·(zb − za)
	return m.Decode(z)
}
